"""E-mail and SMS capability interfaces, the records adapters exchange, and SMS helpers.

The docstrings of :class:`EmailProvider` and :class:`SMSProvider` are the contract the outbox,
the webhook views and the settings screens rely on. No Django here: adapters are plain classes;
the Django layer passes credentials and callbacks (``on_call``) in, builds a
:class:`WebhookRequest` from the incoming request and persists what comes out.

Idempotency lives in our outbox (a row with a unique business key, committed before the call),
not at the provider: neither Twilio, SendGrid nor TextUs documents an idempotency key.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from integrations.http import (
    AuthError,
    CallRecord,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    Unreachable,
    ValidationFailed,
)

__all__ = [
    "AuthError",
    "CallRecord",
    "DeliveryStatus",
    "E164",
    "DeliveryUpdate",
    "EmailMessage",
    "EmailProvider",
    "EmailOptOutChange",
    "InboundEmail",
    "InboundSMS",
    "InvalidNumber",
    "MESSAGE_ID_KEY",
    "MessagingTransientError",
    "NotFound",
    "NotSupported",
    "OptOutChange",
    "OptedOut",
    "PermissionDenied",
    "ProviderError",
    "RateLimited",
    "SMSProvider",
    "SMS_TERMINAL_STATUSES",
    "SendResult",
    "TWILIO_ERROR_EXPLANATIONS",
    "TransientError",
    "Unreachable",
    "ValidationFailed",
    "WebhookEvent",
    "WebhookRequest",
    "classify_keyword",
    "config_value",
    "header_value",
    "is_ambiguous",
    "is_terminal",
    "should_apply",
    "sms_segments",
    "twilio_error_explanation",
]

E164 = re.compile(r"^\+[1-9]\d{1,14}$")

# Our id travels with every e-mail as a SendGrid custom arg and comes back as a top-level key of
# every event; for SMS it rides on the status-callback URL as a query parameter.
MESSAGE_ID_KEY = "recruitflow_message_id"

DeliveryStatus = Literal[
    "queued",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "opened",
    "clicked",
    "bounced",
    "dropped",
    "deferred",
    "spam_report",
    "unsubscribed",
    "canceled",
    "unknown",
]
Keyword = Literal["stop", "start", "help"]


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class NotSupported(ProviderError):
    """The provider has no equivalent of this operation (e.g. an opt-out list on Twilio)."""


class OptedOut(ProviderError):
    """The recipient opted out of texts from this sender (Twilio 21610, TextUs opt-out).

    Permanent: mark the contact opted out and never resend until *they* opt back in.
    """

    def __init__(self, message: str, *, phone: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.phone = phone


class InvalidNumber(ProviderError):
    """The number cannot receive texts (not E.164, a landline, To == From; Twilio 21211)."""

    def __init__(self, message: str, *, phone: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.phone = phone


class MessagingTransientError(TransientError):
    """A send failed in a way that may pass (5xx, timeout, connection lost).

    ``ambiguous`` is True when the request may have reached the provider and been acted on
    (a read timeout, a 500): the caller must *not* resend blindly but reconcile first (wait for
    the status callback / delivery event or look the message up). False means the provider
    provably never processed it (connection refused, 429), so resending is safe.
    """

    def __init__(self, message: str, *, ambiguous: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.ambiguous = ambiguous


def is_ambiguous(error: BaseException) -> bool:
    """True when a failed send may nevertheless have been processed (see above).

    Any error without the flag (RateLimited, permanent errors) was not processed.
    """
    return bool(getattr(error, "ambiguous", False))


# --------------------------------------------------------------------------------------------
# Records (all datetimes timezone-aware UTC; phone numbers E.164)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EmailMessage:
    """One e-mail to one recipient.

    ``message_id`` is *our* id (the outbox row); providers send it along (SendGrid
    ``custom_args``) so delivery events map back to the row. ``from_*``/``reply_to`` left
    empty fall back to the provider's configured defaults. ``attachments`` are
    ``(filename, content bytes, mime type)``. Keyword-only, so fields can never be swapped.
    """

    to_email: str
    to_name: str | None = None
    from_email: str | None = None
    from_name: str | None = None
    reply_to: str | None = None
    subject: str
    html: str | None = None
    text: str | None = None
    message_id: str | None = None
    categories: Sequence[str] = ()
    attachments: Sequence[tuple[str, bytes, str]] = ()
    # Extra MIME headers, e.g. ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058).
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it took the message.

    ``status`` is the provider's initial state, normalized: "queued" (SendGrid, Twilio without
    a Messaging Service), "accepted" (Twilio with a service), "scheduled", "sent". Store
    ``provider_message_id`` on the outbox row: callbacks and events refer to it.
    """

    provider_message_id: str
    status: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, kw_only=True)
class DeliveryUpdate:
    """A message moved to ``status`` (see :data:`DeliveryStatus`).

    ``our_message_id`` is set when the provider echoed it back. ``error_message`` is written
    for a recruiter ("The phone was switched off or out of coverage"), ``error_code`` is the
    vendor's code. ``event_id`` is the dedupe key (store it with a unique constraint);
    providers may deliver the same event twice and out of order. Keyword-only.
    """

    provider_message_id: str
    our_message_id: str | None = None
    status: DeliveryStatus
    error_code: str | None = None
    error_message: str | None = None
    occurred_at: datetime
    event_id: str | None = None
    recipient: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class InboundSMS:
    """A text a candidate sent us. ``opt_out_keyword`` is set when the whole message is an
    opt-out/opt-in/help keyword (see :func:`classify_keyword`)."""

    provider_message_id: str
    from_e164: str
    to_e164: str
    body: str
    received_at: datetime
    opt_out_keyword: Keyword | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class OptOutChange:
    """``phone`` opted out (True) or back in (False). ``source`` says how we learned it, e.g.
    "twilio:keyword" or "textus:webhook"; ``sender`` is the number/service the block is for,
    when the provider scopes opt-outs per sender."""

    phone: str
    opted_out: bool
    source: str
    sender: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class InboundEmail:
    """An e-mail someone sent to one of our reply addresses (a candidate answering).

    ``message_id`` is the e-mail's ``Message-ID`` header (or a digest of it when it had none):
    the dedupe key, since the provider retries. ``recipients`` are the envelope's (else the
    headers') addresses it was delivered to, lower-cased, so the plus-addressed reply token
    can be read from them. ``text`` is the plain-text part as written (quoted text included),
    ``html`` the HTML part. ``attachments`` are ``(filename, mime type, size in bytes)``.
    """

    message_id: str
    from_email: str
    from_name: str = ""
    recipients: Sequence[str] = ()
    subject: str = ""
    text: str = ""
    html: str = ""
    in_reply_to: str = ""
    received_at: datetime
    attachments: Sequence[tuple[str, str, int]] = ()
    spam_score: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, kw_only=True)
class EmailOptOutChange:
    """``email`` may no longer be e-mailed (the recipient unsubscribed, reported spam, or the
    address bounced for good). ``reason`` is one of "unsubscribe", "spam_report", "bounce";
    ``detail`` says it in words for a recruiter; ``event_id`` is the provider's id of the
    event that said so."""

    email: str
    reason: Literal["unsubscribe", "spam_report", "bounce"]
    detail: str = ""
    event_id: str | None = None
    our_message_id: str | None = None
    occurred_at: datetime


WebhookEvent = DeliveryUpdate | InboundSMS | OptOutChange


@dataclass(frozen=True)
class WebhookRequest:
    """The parts of an incoming webhook request an adapter needs, without Django.

    Build it in the view: ``url=request.build_absolute_uri()`` (with the proxy headers set up
    so scheme and host are the public ones), ``headers=request.headers``,
    ``raw_body=request.body``, ``params=request.POST`` (a QueryDict is fine).
    """

    url: str
    headers: Mapping[str, str]
    raw_body: bytes = b""
    params: Mapping[str, Any] = field(default_factory=dict)


def config_value(config: Any, key: str, default: Any = None) -> Any:
    """``config[key]`` for a mapping, ``config.key`` for a settings object."""
    if isinstance(config, Mapping):
        return config.get(key, default)
    return getattr(config, key, default)


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (Django's ``request.headers`` already is)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


# --------------------------------------------------------------------------------------------
# Status rules
# --------------------------------------------------------------------------------------------

# A message in one of these states never changes again (Twilio: delivered, undelivered,
# failed, read, canceled). "opened" is what a Twilio read receipt normalizes to.
SMS_TERMINAL_STATUSES = frozenset(
    {"delivered", "undelivered", "failed", "read", "canceled", "opened"}
)


def is_terminal(status: str | None) -> bool:
    """True when an SMS in ``status`` (raw Twilio or normalized) can no longer change."""
    return (status or "").lower() in SMS_TERMINAL_STATUSES


def should_apply(current: str | None, new: str) -> bool:
    """Whether an SMS callback saying ``new`` may overwrite ``current``.

    Callbacks arrive duplicated and out of order: a late "sent" must not undo "delivered".
    The one move allowed out of a terminal state is delivered -> read/opened (a read receipt
    is more news, not a contradiction).
    """
    current = (current or "").lower()
    new = new.lower()
    if current == new:
        return False
    if not is_terminal(current):
        # "sent" after "queued" is progress; "queued" after "sent" is a stale duplicate.
        return not (new == "queued" and current == "sent")
    return current == "delivered" and new in ("read", "opened")


# --------------------------------------------------------------------------------------------
# Twilio error codes, in words a recruiter understands
# --------------------------------------------------------------------------------------------

TWILIO_ERROR_EXPLANATIONS: dict[int, str] = {
    20003: "Twilio rejected the Account SID or Auth Token. Check them in the Twilio settings.",
    20429: "Twilio is handling too many requests from this account; the text will be retried.",
    21211: "The phone number is not valid. Check it and include the country code (e.g. +44…).",
    21408: "Texting this country is not enabled on the Twilio account (Geo Permissions).",
    21606: "The sending number cannot send texts to this destination.",
    21610: "The candidate replied STOP to this number; they get no texts until they reply START.",
    21612: "Twilio cannot carry texts between the sending number and this number.",
    21614: "The number is not a mobile number, so it cannot receive texts.",
    30001: "Twilio's sending queue was full, so the text was not sent.",
    30002: "The Twilio account is suspended.",
    30003: "The phone was switched off or out of coverage",
    30004: "The recipient has blocked texts from this number.",
    30005: "The number does not exist or is no longer in service.",
    30006: "Landline or unreachable carrier",
    30007: "Filtered by the carrier as spam",
    30008: "The carrier could not deliver the text and gave no reason.",
    30034: "The sending number is not registered for US A2P 10DLC texting.",
}


def twilio_error_explanation(code: int | str | None) -> str | None:
    """The plain-English explanation for a Twilio error code, or a generic one; None for none."""
    if code in (None, "", 0, "0"):
        return None
    try:
        number = int(str(code))
    except ValueError:
        return f"Twilio reported error {code}."
    return TWILIO_ERROR_EXPLANATIONS.get(
        number, f"Twilio reported error {number} (https://www.twilio.com/docs/errors/{number})."
    )


# --------------------------------------------------------------------------------------------
# Keywords
# --------------------------------------------------------------------------------------------

KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), "stop"
    ),
    **dict.fromkeys(("START", "UNSTOP", "YES"), "start"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}


def classify_keyword(body: str | None) -> Keyword | None:
    """ "stop", "start" or "help" when the whole message is one such keyword, else None.

    Carriers and Twilio only act on a single word ("OPT OUT" and "please stop" do not count);
    case and surrounding whitespace are ignored, and so is trailing "." or "!" — a candidate
    who wrote "Stop!" must not get another text from us even if the carrier let it pass.
    """
    if not body:
        return None
    word = body.strip().rstrip(".!").strip()
    if not word or any(ch.isspace() for ch in word):
        return None
    return KEYWORDS.get(word.upper())


# --------------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------------

# GSM 03.38 default alphabet (the escape 0x1B itself is not a character) and its extension
# table, whose characters cost two septets (escape + code).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153  # septets; 7 go to the concatenation header
UCS2_SINGLE, UCS2_MULTI = 70, 67  # UTF-16 code units


def sms_segments(text: str) -> tuple[Literal["GSM-7", "UCS-2"], int, int]:
    """``(encoding, segments, chars)`` for an SMS body.

    ``chars`` counts in the encoding's units, which is what the limits are measured in:
    septets for GSM-7 (an extension character such as "€" counts 2) and UTF-16 code units for
    UCS-2 (an emoji counts 2). One character outside GSM-7 switches the whole text to UCS-2.
    Long texts split into 153-septet / 67-unit parts; an escape pair or a surrogate pair is
    never split across parts, so the count matches what the carrier bills.
    """
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        encoding: Literal["GSM-7", "UCS-2"] = "GSM-7"
        single, multi = GSM7_SINGLE, GSM7_MULTI
    else:
        units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        encoding = "UCS-2"
        single, multi = UCS2_SINGLE, UCS2_MULTI
    total = sum(units)
    if total == 0:
        return encoding, 0, 0
    if total <= single:
        return encoding, 1, total
    segments, used = 1, 0
    for size in units:
        if used + size > multi:
            segments += 1
            used = 0
        used += size
    return encoding, segments, total


# --------------------------------------------------------------------------------------------
# The interfaces
# --------------------------------------------------------------------------------------------


class EmailProvider(abc.ABC):
    """An e-mail sending service connection for one organization.

    ``send`` raises :class:`ProviderError` subclasses: permanent ones (ValidationFailed,
    AuthError, PermissionDenied) need a person — show ``message`` next to the message or on the
    connection; RateLimited means not processed, retry after ``retry_after``;
    :class:`MessagingTransientError` may be retried, but when ``ambiguous`` is True the e-mail
    may already be on its way, so wait for its delivery events before resending.
    """

    identifier: ClassVar[str]
    display_name: ClassVar[str]

    @abc.abstractmethod
    def send(self, message: EmailMessage) -> SendResult:
        """Hand one e-mail to the provider; returns its message id and initial status.

        ``message.message_id`` (our id) must come back on every delivery event.
        """

    @abc.abstractmethod
    def verify_webhook(self, request: WebhookRequest) -> bool:
        """True when the delivery-event request is authentic and fresh. Never raises for a bad
        signature: a False answer means reply 400/403 and process nothing."""

    base_url: str = ""  # the API address the connection talks to ("" when none)

    def configure_inbound(self, *, hostname: str, url: str) -> bool:
        """Have the provider parse mail to ``hostname`` and post it to ``url`` (credentials in
        the URL's ``user:password@``); True when it did. False for a provider with no inbound
        parsing this connection can set up; raises :class:`ProviderError` when the provider
        refused."""
        return False

    @abc.abstractmethod
    def parse_webhook(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        """Delivery events in the (already verified) request; unknown event types are skipped.

        Deduplicate on ``event_id``; do not assume ordering.
        """


class SMSProvider(abc.ABC):
    """A texting service connection for one organization.

    ``send`` raises OptedOut / InvalidNumber (permanent, about the recipient: flag the contact,
    do not retry), AuthError / PermissionDenied / ValidationFailed (permanent, about the
    connection or the message), RateLimited (not processed: retry later) and
    :class:`MessagingTransientError` (retry, but reconcile first when ``ambiguous``).
    Check our own opt-out mirror before calling ``send``; the provider's refusal is the
    backstop, not the rule.
    """

    identifier: ClassVar[str]
    display_name: ClassVar[str]

    @abc.abstractmethod
    def send(
        self,
        to_e164: str,
        body: str,
        *,
        our_message_id: str | None = None,
        status_callback: str | None = None,
        sender: str | None = None,
    ) -> SendResult:
        """Text ``body`` to ``to_e164``.

        ``sender`` overrides the configured sending number/service; ``status_callback`` is
        where delivery callbacks go (when the provider supports a per-message URL); our id is
        attached so callbacks map back to the outbox row.
        """

    @abc.abstractmethod
    def get_status(self, provider_message_id: str) -> DeliveryUpdate:
        """The message's current state, for reconciling when callbacks are late or missing."""

    @abc.abstractmethod
    def is_opted_out(self, phone: str) -> bool | None:
        """Whether the provider blocks texts to ``phone``; None when it cannot tell (then our
        mirror of opt-outs, fed by webhooks, is the only source)."""

    def record_opt_out(self, phone: str) -> bool:
        """Tell the provider ``phone`` opted out through another channel (a call, an e-mail).

        Returns True when the provider stored it, False when it keeps no opt-out list we can
        write to (keep our own record then). Never undo an opt-out on the candidate's behalf.
        """
        return False

    @abc.abstractmethod
    def verify_webhook(self, request: WebhookRequest) -> bool:
        """True when the callback is authentic. Never raises for a bad signature."""

    @abc.abstractmethod
    def parse_webhook(self, request: WebhookRequest) -> list[WebhookEvent]:
        """Status updates, inbound texts and opt-out changes in the (verified) request.

        An inbound keyword such as STOP yields the :class:`InboundSMS` *and* an
        :class:`OptOutChange`. Apply status updates only when :func:`should_apply` agrees.
        """
