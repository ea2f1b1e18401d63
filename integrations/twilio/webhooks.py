"""Twilio messaging webhooks: ``X-Twilio-Signature`` check, status callbacks and inbound texts.

Twilio signs the full URL it called plus every POST parameter (sorted, multi-values sorted
too), so verify over *all* received parameters — Twilio adds new ones without notice — and
with the public URL Twilio called: the deployment's public base URL plus the request's path and
query (``messaging.webhooks`` does this), not whatever scheme and host a proxy hands the app.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from twilio.request_validator import RequestValidator

from integrations.messaging import (
    MESSAGE_ID_KEY,
    SMS_TERMINAL_STATUSES,
    DeliveryStatus,
    DeliveryUpdate,
    InboundSMS,
    OptOutChange,
    WebhookEvent,
    classify_keyword,
    is_terminal,
    should_apply,
    twilio_error_explanation,
)

__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "SMS_TERMINAL_STATUSES",
    "is_inbound",
    "is_terminal",
    "normalize_status",
    "parse_inbound",
    "parse_status_callback",
    "parse_webhook",
    "should_apply",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
# Same value on Twilio's retries of one webhook: the natural dedupe key when present.
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"

STATUSES: dict[str, DeliveryStatus] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "read": "opened",
    "canceled": "canceled",
}
INBOUND_STATUSES = frozenset({"receiving", "received"})
OPT_OUT_TYPES = {"STOP": "stop", "START": "start", "HELP": "help"}


class _MultiParams:
    """Adapts any mapping to what RequestValidator expects: QueryDicts and MultiDicts keep all
    their values; a plain dict may hold a string or a list of strings per name."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self._params = params

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def getlist(self, name: str) -> list[str]:
        for method in ("getlist", "getall"):
            getter = getattr(self._params, method, None)
            if callable(getter):
                return [str(v) for v in getter(name)]
        value = self._params[name]
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [str(value)]


def _value(params: Mapping[str, Any], name: str) -> str | None:
    """One parameter as a string (the first when repeated), None when absent or empty."""
    value = params.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None or value == "":
        return None
    return str(value)


def verify_signature(
    url: str,
    params: Mapping[str, Any] | str | None,
    signature: str | None,
    auth_token: str | None,
    *,
    algorithm: str | None = None,
) -> bool:
    """True when ``signature`` (the ``X-Twilio-Signature`` header) signs ``url`` + ``params``.

    ``params`` is ``request.POST`` (QueryDict is fine; every value of a repeated name counts)
    or, for JSON-bodied webhooks whose URL carries ``bodySHA256``, the raw body as text.
    ``algorithm`` is for webhooks signed with a shared key (header
    ``X-Twilio-Webhooks-Signature-Settings``); the default is the Auth Token HMAC-SHA1. The SDK
    tries the URL with and without the default port, as Twilio's signing is inconsistent.
    """
    if not signature or not auth_token or not url:
        return False
    checked: Any = params if isinstance(params, str) else _MultiParams(params or {})
    try:
        return bool(RequestValidator(auth_token).validate(url, checked, signature, algorithm))
    except (TypeError, ValueError):
        return False


def normalize_status(status: str | None) -> DeliveryStatus:
    """A Twilio ``MessageStatus`` as a :data:`DeliveryStatus` ("unknown" when new to us)."""
    return STATUSES.get((status or "").strip().lower(), "unknown")


def is_inbound(params: Mapping[str, Any]) -> bool:
    """True for an incoming-message webhook (as opposed to a status callback)."""
    status = (_value(params, "SmsStatus") or _value(params, "MessageStatus") or "").lower()
    if status in INBOUND_STATUSES:
        return True
    return _value(params, "MessageStatus") is None and "Body" in params


def our_message_id_from_url(url: str | None) -> str | None:
    """Our message id, which :meth:`TwilioSMSProvider.send` puts on the status-callback URL."""
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get(MESSAGE_ID_KEY)
    return values[0] if values else None


def parse_status_callback(
    params: Mapping[str, Any],
    *,
    url: str | None = None,
    idempotency_token: str | None = None,
    now: datetime | None = None,
) -> DeliveryUpdate:
    """A status callback as a :class:`DeliveryUpdate`.

    Twilio sends no timestamp, so ``occurred_at`` is ``now`` (arrival). ``event_id`` is the
    ``I-Twilio-Idempotency-Token`` header when given, else ``<sid>:<status>`` — a repeat of the
    same transition is a duplicate either way. Apply it only when :func:`should_apply` says
    so: callbacks come duplicated and out of order, and a terminal state never changes.
    """
    sid = _value(params, "MessageSid") or _value(params, "SmsSid")
    if not sid:
        raise ValueError("The Twilio callback has no MessageSid.")
    raw_status = _value(params, "MessageStatus") or _value(params, "SmsStatus")
    status = normalize_status(raw_status)
    error_code = _value(params, "ErrorCode")
    if error_code == "0":
        error_code = None
    return DeliveryUpdate(
        provider_message_id=sid,
        status=status,
        occurred_at=now or datetime.now(UTC),
        our_message_id=our_message_id_from_url(url),
        error_code=error_code,
        error_message=twilio_error_explanation(error_code),
        event_id=idempotency_token or f"{sid}:{(raw_status or status).lower()}",
        recipient=_value(params, "To"),
        raw={key: _value(params, key) for key in params},
    )


def parse_inbound(params: Mapping[str, Any], *, now: datetime | None = None) -> InboundSMS:
    """An incoming text. ``opt_out_keyword`` honours Twilio's ``OptOutType`` (Advanced
    Opt-Out, custom keywords) and otherwise applies the default keyword list."""
    sid = _value(params, "MessageSid") or _value(params, "SmsSid")
    if not sid:
        raise ValueError("The Twilio webhook has no MessageSid.")
    body = _value(params, "Body") or ""
    opt_out_type = (_value(params, "OptOutType") or "").upper()
    keyword = OPT_OUT_TYPES.get(opt_out_type) or classify_keyword(body)
    return InboundSMS(
        provider_message_id=sid,
        from_e164=_value(params, "From") or "",
        to_e164=_value(params, "To") or "",
        body=body,
        received_at=now or datetime.now(UTC),
        opt_out_keyword=keyword,  # type: ignore[arg-type]
        raw={key: _value(params, key) for key in params},
    )


def parse_webhook(
    params: Mapping[str, Any],
    *,
    url: str | None = None,
    idempotency_token: str | None = None,
    now: datetime | None = None,
) -> list[WebhookEvent]:
    """Any Twilio messaging webhook as records: an inbound text (plus an
    :class:`OptOutChange` for STOP/START keywords) or one status update."""
    if not is_inbound(params):
        return [
            parse_status_callback(params, url=url, idempotency_token=idempotency_token, now=now)
        ]
    inbound = parse_inbound(params, now=now)
    events: list[WebhookEvent] = [inbound]
    if inbound.opt_out_keyword in ("stop", "start"):
        # Twilio blocks per sender, or per Messaging Service when the number is in one.
        sender = _value(params, "MessagingServiceSid") or inbound.to_e164 or None
        events.append(
            OptOutChange(
                phone=inbound.from_e164,
                opted_out=inbound.opt_out_keyword == "stop",
                source="twilio:keyword",
                sender=sender,
                occurred_at=inbound.received_at,
            )
        )
    return events


def parse_stored(
    raw_body: str, *, url: str, received_at: datetime, event_id: str = ""
) -> list[WebhookEvent]:
    """A stored callback (the form-encoded body as received) as vendor-neutral records."""
    # The last of repeated parameters, as Django's QueryDict gives them to the endpoint.
    params = dict(parse_qsl(raw_body, keep_blank_values=True))
    return parse_webhook(params, url=url, now=received_at)
