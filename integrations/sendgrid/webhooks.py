"""SendGrid Event Webhook: ECDSA signature check over the raw body, and event parsing.

SendGrid signs ``timestamp + raw body`` with its private P-256 key; we verify with the public
key shown in Mail Settings (base64 DER, no PEM armour). The SDK's ``EventWebhook`` does the
maths but not freshness, so a replayed request is refused here by its timestamp.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sendgrid.helpers.eventwebhook import EventWebhook

from integrations.messaging import (
    MESSAGE_ID_KEY,
    DeliveryStatus,
    DeliveryUpdate,
    EmailOptOutChange,
    InboundEmail,
)
from integrations.sendgrid import inbound

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
DEFAULT_TOLERANCE_S = 300

EVENT_STATUSES: dict[str, DeliveryStatus] = {
    "processed": "queued",
    "delivered": "delivered",
    "deferred": "deferred",
    "bounce": "bounced",
    "dropped": "dropped",
    "open": "opened",
    "click": "clicked",
    "spamreport": "spam_report",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
}

DROP_REASONS = {
    "bounced address": "Not sent: this address bounced before, so SendGrid suppresses it.",
    "unsubscribed address": "Not sent: the recipient unsubscribed from these e-mails.",
    "spam reporting address": "Not sent: the recipient marked an earlier e-mail as spam.",
    "invalid": "Not sent: SendGrid considers the address invalid.",
}


class InvalidPayload(ValueError):
    """The body is not a SendGrid event batch."""


def _clean_public_key(public_key: str) -> str:
    """The base64 DER body of the key, whether pasted bare or with PEM armour/line breaks."""
    lines = [
        line.strip()
        for line in public_key.strip().splitlines()
        if line.strip() and not line.strip().startswith("-----")
    ]
    return "".join(lines)


def verify_event_webhook(
    raw_body: bytes,
    signature: str | None,
    timestamp: str | None,
    public_key: str | None,
    *,
    now: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when ``signature`` (header ``X-Twilio-Email-Event-Webhook-Signature``) is SendGrid's
    ECDSA signature of ``timestamp + raw_body`` and ``timestamp`` is within ``tolerance``
    seconds of ``now``. Missing parts, a stale timestamp or a malformed signature give False.

    Pass the raw request bytes (``request.body``), never re-serialised JSON.
    """
    if not raw_body or not signature or not timestamp or not public_key:
        return False
    timestamp = timestamp.strip()
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        return False
    try:
        payload = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        verifier = EventWebhook(_clean_public_key(public_key))
    except (ValueError, TypeError):
        logger.warning("The SendGrid event webhook public key is not a valid EC public key.")
        return False
    try:
        return bool(verifier.verify_signature(payload, signature.strip(), timestamp))
    except (binascii.Error, ValueError, TypeError):
        return False


def _occurred_at(event: Mapping[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(event["timestamp"]), tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


def _provider_message_id(event: Mapping[str, Any]) -> str | None:
    # sg_message_id is "<X-Message-Id>.<filter…>"; the prefix is what send() returned.
    sg_id = event.get("sg_message_id")
    if isinstance(sg_id, str) and sg_id:
        return sg_id.split(".", 1)[0]
    smtp_id = event.get("smtp-id")
    if isinstance(smtp_id, str) and smtp_id.strip("<> "):
        return smtp_id.strip("<> ")
    return None


def _explain(name: str, event: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(error_code, human message) for events that mean something went wrong."""
    reason = str(event.get("reason") or event.get("response") or "").strip()
    code = str(event.get("status") or "").strip() or None
    if name == "bounce":
        if str(event.get("type") or "").lower() == "blocked":
            return code or "blocked", (
                "The recipient's mail server blocked the e-mail (often a spam filter); "
                f"it may accept later ones. {reason}".strip()
            )
        return code or "bounce", (
            f"The address does not accept e-mail, so it bounced. {reason}".strip()
        )
    if name == "dropped":
        text = DROP_REASONS.get(reason.lower(), f"Not sent by SendGrid: {reason or 'no reason'}.")
        return reason or "dropped", text
    if name == "deferred":
        attempt = event.get("attempt")
        tries = f" (attempt {attempt})" if attempt else ""
        return code, (
            "The recipient's mail server asked SendGrid to try again later; it keeps retrying"
            f"{tries}. {reason}".strip()
        )
    if name == "spamreport":
        return None, "The recipient marked the e-mail as spam; they get no more e-mails."
    if name in ("unsubscribe", "group_unsubscribe"):
        return None, "The recipient unsubscribed."
    return None, None


def parse_events(raw_body: bytes | str) -> list[DeliveryUpdate]:
    """The events of one webhook POST (a JSON array) as :class:`DeliveryUpdate` records.

    ``our_message_id`` comes from the ``recruitflow_message_id`` custom arg (a top-level key of
    each event), ``event_id`` is ``sg_event_id`` (dedupe on it: SendGrid retries for 24 h).
    Event types we do not track (``group_resubscribe``, account events) are skipped.
    """
    try:
        batch = json.loads(raw_body)
    except (TypeError, ValueError) as exc:
        raise InvalidPayload(f"The SendGrid webhook body is not JSON ({exc}).") from exc
    if isinstance(batch, Mapping):
        batch = [batch]
    if not isinstance(batch, list):
        raise InvalidPayload("The SendGrid webhook body is not a list of events.")
    updates: list[DeliveryUpdate] = []
    for event in batch:
        if not isinstance(event, Mapping):
            continue
        name = str(event.get("event") or "").lower()
        status = EVENT_STATUSES.get(name)
        message_id = _provider_message_id(event)
        if status is None or message_id is None:
            continue
        our_id = event.get(MESSAGE_ID_KEY)
        error_code, error_message = _explain(name, event)
        updates.append(
            DeliveryUpdate(
                provider_message_id=message_id,
                status=status,
                occurred_at=_occurred_at(event),
                our_message_id=str(our_id) if our_id not in (None, "") else None,
                error_code=error_code,
                error_message=error_message,
                event_id=str(event["sg_event_id"]) if event.get("sg_event_id") else None,
                recipient=event.get("email"),
                raw=dict(event),
            )
        )
    return updates


def sign_for_tests(private_key: Any, raw_body: bytes, timestamp: str) -> str:
    """Base64 DER ECDSA-SHA256 signature of ``timestamp + raw_body`` (what SendGrid sends).

    For tests and the sandbox; ``private_key`` is a ``cryptography`` EC private key.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    signature = private_key.sign(timestamp.encode("utf-8") + raw_body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode("ascii")


# Events after which SendGrid suppresses the address (it drops every later e-mail to it), so
# we stop e-mailing it too. A "blocked" bounce is the receiving server's mood, not the address.
OPT_OUT_REASONS = {
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
    "spamreport": "spam_report",
    "bounce": "bounce",
}


def opt_out_changes(raw_body: bytes | str) -> list[EmailOptOutChange]:
    """The addresses a batch says may no longer be e-mailed: ``unsubscribe`` and
    ``group_unsubscribe``, ``spamreport`` and a hard ``bounce`` (not ``type: blocked``)."""
    changes: list[EmailOptOutChange] = []
    for update in parse_events(raw_body):
        event = update.raw
        name = str(event.get("event") or "").lower()
        reason = OPT_OUT_REASONS.get(name)
        if reason is None or not update.recipient:
            continue
        if name == "bounce" and str(event.get("type") or "").lower() == "blocked":
            continue
        changes.append(
            EmailOptOutChange(
                email=str(update.recipient).strip().lower(),
                reason=reason,  # type: ignore[arg-type]
                detail=update.error_message or "",
                event_id=update.event_id,
                our_message_id=update.our_message_id,
                occurred_at=update.occurred_at,
            )
        )
    return changes


def parse_stored(
    raw_body: str, *, url: str, received_at: datetime, event_id: str = ""
) -> list[DeliveryUpdate | EmailOptOutChange | InboundEmail]:
    """A stored delivery as vendor-neutral records: an Event Webhook batch gives its
    :class:`DeliveryUpdate` records (see :func:`parse_events`) and an
    :class:`EmailOptOutChange` for each event that suppresses an address; an Inbound Parse
    POST (stored by its endpoint as :func:`inbound.stored_body`) gives its
    :class:`InboundEmail`."""
    try:
        body = json.loads(raw_body)
    except (TypeError, ValueError) as exc:
        raise InvalidPayload(f"The stored SendGrid delivery is not JSON ({exc}).") from exc
    if inbound.is_stored_inbound(body):
        return [inbound.inbound_from_stored(body, received_at=received_at, event_id=event_id)]
    records: list[DeliveryUpdate | EmailOptOutChange | InboundEmail] = []
    records.extend(parse_events(raw_body))
    records.extend(opt_out_changes(raw_body))
    return records
