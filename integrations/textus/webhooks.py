"""TextUs Next webhooks: ``X-TextUs-Signature`` check and delivery parsing.

TextUs Next signs the raw body: ``X-TextUs-Signature`` = hex HMAC-SHA256(signing secret, body)
(apidocs.next.textus.com/overview/webhooks, "Signature Verification"; the legacy v2 API, whose
help article signs ``timestamp + "." + body`` with the timestamp read from the body, is not
what TextUs Next sends). TextUs sends no timestamp header; every delivery carries its
``timestamp`` (ISO 8601) inside the signed body, so :func:`verify_delivery` also refuses a
delivery whose timestamp is missing or more than five minutes from now: a captured request
cannot be replayed later (within the window, a replay repeats a delivery id already stored and
changes nothing). A delivery is
``{"@type": "WebhookDelivery", "id": "/integrations/…/deliveries/…", "timestamp", "action",
"webHook", "conversation": {…}, …}``. The documented envelope stops there, so the message or
contact is looked for under the keys TextUs uses for its resources (``message``, ``contact``,
``optOut``) and, failing that, in the envelope itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from integrations.base import parse_iso_datetime
from integrations.messaging import (
    DeliveryStatus,
    DeliveryUpdate,
    InboundSMS,
    OptOutChange,
    WebhookEvent,
    classify_keyword,
)

SIGNATURE_HEADER = "X-TextUs-Signature"
# How far a delivery's signed timestamp may be from now (either way, for clock skew).
FRESHNESS_S = 300

MESSAGE_ACTIONS: dict[str, DeliveryStatus] = {
    "message.delivered": "delivered",
    "message.failed": "failed",
    "message.unknown": "unknown",
}
OPT_OUT_ACTIONS = {"contact.opted_out": True, "contact.opted-out": True, "contact.opted_in": False}
OPT_IN_ALIASES = ("contact.opted-in",)

# deliveryState values seen on TextUs messages, normalized. Not fully documented: anything
# else is "unknown" rather than a guess.
DELIVERY_STATES: dict[str, DeliveryStatus] = {
    "created": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "dispatched": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "failed_transient": "failed",
    "unknown": "unknown",
}


class InvalidPayload(ValueError):
    """The body is not a TextUs webhook delivery."""


def compute_signature(raw_body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, signature_hex: str | None, secret: str | None) -> bool:
    """True when ``signature_hex`` is the hex HMAC-SHA256 of the raw body under ``secret``.

    Constant-time; case of the hex digits and an optional ``sha256=`` prefix are ignored.
    """
    if not signature_hex or not secret:
        return False
    supplied = signature_hex.strip()
    if supplied.lower().startswith("sha256="):
        supplied = supplied[len("sha256=") :]
    expected = compute_signature(raw_body, secret)
    return hmac.compare_digest(
        expected.encode("ascii"), supplied.lower().encode("ascii", "replace")
    )


def delivery_times(raw_body: bytes | str) -> list[datetime] | None:
    """The ``timestamp`` of each delivery in the body, or None when the body is not
    deliveries or any of them has no readable timestamp."""
    try:
        data = json.loads(raw_body)
    except (TypeError, ValueError):
        return None
    deliveries = data if isinstance(data, list) else [data]
    times = []
    for delivery in deliveries:
        stamp = delivery.get("timestamp") if isinstance(delivery, Mapping) else None
        moment = parse_iso_datetime(stamp) if isinstance(stamp, str) else None
        if moment is None:
            return None
        times.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return times or None


def verify_delivery(
    raw_body: bytes,
    signature_hex: str | None,
    secret: str | None,
    *,
    now: datetime | None = None,
    tolerance_s: float = FRESHNESS_S,
) -> bool:
    """True when the body is signed with ``secret`` (:func:`verify_signature`) and every
    delivery's signed ``timestamp`` is within ``tolerance_s`` of ``now``."""
    if not verify_signature(raw_body, signature_hex, secret):
        return False
    times = delivery_times(raw_body)
    if times is None:
        return False
    current = now or datetime.now(UTC)
    return all(abs((current - moment).total_seconds()) <= tolerance_s for moment in times)


def normalize_delivery_state(state: str | None) -> DeliveryStatus:
    return DELIVERY_STATES.get((state or "").strip().lower(), "unknown")


PHONE_KEYS = ("phoneNumber", "phone", "number", "formattedPhoneNumber")


def _text(record: Any, *keys: str) -> str | None:
    """The first non-empty string among ``keys`` of ``record``."""
    if not isinstance(record, Mapping):
        return None
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _phone(record: Any) -> str | None:
    """A phone number on a resource: its own ``phoneNumber`` or the first of its ``phones``
    (a list or a Hydra collection ``{"members": [...]}``)."""
    phone = _text(record, *PHONE_KEYS)
    if phone or not isinstance(record, Mapping):
        return phone
    numbers = record.get("phones") or record.get("phoneNumbers")
    if isinstance(numbers, Mapping):
        numbers = numbers.get("members")
    for item in numbers if isinstance(numbers, list) else []:
        phone = item.strip() if isinstance(item, str) else _text(item, *PHONE_KEYS)
        if phone:
            return phone
    return None


def _message(delivery: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in ("message", "payload", "data", "object"):
        value = delivery.get(key)
        if isinstance(value, Mapping):
            return value
    return delivery


def _contact_phone(delivery: Mapping[str, Any]) -> str | None:
    for key in ("optOut", "opt_out", "optIn", "opt_in", "contact"):
        phone = _phone(delivery.get(key))
        if phone:
            return phone
    conversation = delivery.get("conversation")
    return _phone(conversation) or _phone(
        conversation.get("assignedContact") if isinstance(conversation, Mapping) else None
    )


def _parse_one(delivery: Mapping[str, Any]) -> list[WebhookEvent]:
    action = str(delivery.get("action") or "").strip().lower()
    delivery_id = _text(delivery, "id")
    occurred_at = parse_iso_datetime(_text(delivery, "timestamp")) or datetime.now(UTC)
    conversation = delivery.get("conversation")
    conversation = conversation if isinstance(conversation, Mapping) else None

    if action in OPT_OUT_ACTIONS or action in OPT_IN_ALIASES:
        phone = _contact_phone(delivery)
        if not phone:
            raise InvalidPayload(f"The TextUs {action} delivery names no phone number.")
        return [
            OptOutChange(
                phone=phone,
                opted_out=OPT_OUT_ACTIONS.get(action, False),
                source="textus:webhook",
                sender=_text(conversation, "accountPhoneNumber")
                or _text(delivery, "account")
                or _text(conversation, "account"),
                occurred_at=occurred_at,
            )
        ]

    message = _message(delivery)
    message_id = _text(message, "id") if message is not delivery else _text(delivery, "message")
    if action == "message.received":
        body = _text(message, "body", "formattedBody", "text") or ""
        keyword = classify_keyword(body)
        # The conversation's phoneNumber is the contact's; "sender" is a Contact resource.
        from_phone = _text(message, "from") or _contact_phone(delivery) or ""
        to_phone = (
            _text(message, "to", "accountPhoneNumber")
            or _text(conversation, "accountPhoneNumber")
            or ""
        )
        events: list[WebhookEvent] = [
            InboundSMS(
                provider_message_id=message_id or delivery_id or "",
                from_e164=from_phone,
                to_e164=to_phone,
                body=body,
                received_at=occurred_at,
                opt_out_keyword=keyword,
                raw=dict(delivery),
            )
        ]
        if keyword in ("stop", "start") and from_phone:
            # TextUs records keyword opt-outs itself and sends contact.opted_out too; both
            # arriving is harmless (an opt-out is idempotent).
            events.append(
                OptOutChange(
                    phone=from_phone,
                    opted_out=keyword == "stop",
                    source="textus:keyword",
                    sender=to_phone or None,
                    occurred_at=occurred_at,
                )
            )
        return events

    if action in MESSAGE_ACTIONS:
        if not message_id:
            raise InvalidPayload(f"The TextUs {action} delivery names no message.")
        status = MESSAGE_ACTIONS[action]
        state = _text(message, "deliveryState")
        error_code = _text(message, "errorCode", "error_code")
        error_message = _text(message, "errorMessage", "error_message", "failureReason")
        if status == "failed" and not error_message:
            error_message = "TextUs could not deliver the text."
        elif status == "unknown" and not error_message:
            error_message = "The carrier did not confirm delivery; the text may not have arrived."
        return [
            DeliveryUpdate(
                provider_message_id=message_id,
                status=status,
                occurred_at=occurred_at,
                error_code=error_code or (state if status != "delivered" else None),
                error_message=error_message,
                event_id=delivery_id,
                recipient=_text(message, "to") or _phone(conversation),
                raw=dict(delivery),
            )
        ]
    return []  # phone_call.completed, contact.created, future actions


def parse_delivery(raw_body: bytes | str) -> list[WebhookEvent]:
    """A webhook body (one delivery, or a list of them) as records.

    ``message.delivered|failed|unknown`` → :class:`DeliveryUpdate` (``event_id`` = the
    delivery id, for dedupe); ``message.received`` → :class:`InboundSMS` (+
    :class:`OptOutChange` for STOP/START); ``contact.opted_out`` / ``contact.opted-out`` /
    ``contact.opted_in`` → :class:`OptOutChange`. Other actions yield nothing.
    """
    try:
        data = json.loads(raw_body)
    except (TypeError, ValueError) as exc:
        raise InvalidPayload("The TextUs webhook body is not JSON.") from exc
    deliveries = data if isinstance(data, list) else [data]
    events: list[WebhookEvent] = []
    for delivery in deliveries:
        if not isinstance(delivery, Mapping) or "action" not in delivery:
            raise InvalidPayload("The TextUs webhook body has no action.")
        events.extend(_parse_one(delivery))
    return events


def parse_stored(
    raw_body: str, *, url: str, received_at: datetime, event_id: str = ""
) -> list[WebhookEvent]:
    """A stored delivery as vendor-neutral records (see :func:`parse_delivery`)."""
    return parse_delivery(raw_body)
