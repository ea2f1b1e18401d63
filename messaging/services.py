"""Writes of the messaging domain: the outbox, delivery, callbacks, inbound texts, opt-outs.

Sending is "durable before async": :func:`message_send` writes the Message row and commits;
the Celery task :func:`messaging.tasks.message_deliver` then claims it with a conditional
UPDATE (queued → sending) and calls the provider through :func:`message_deliver`. A send that
may have reached the provider (an ambiguous timeout) ends ``unknown`` and is never resent
automatically; one that provably did not is put back to ``queued`` for a retry.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from candidates.models import Candidate, TimelineEvent
from integrations.messaging import (
    E164,
    DeliveryUpdate,
    EmailMessage,
    InboundSMS,
    InvalidNumber,
    OptedOut,
    ProviderError,
    RateLimited,
    TransientError,
    is_ambiguous,
    should_apply,
    sms_segments,
    twilio_error_explanation,
)
from messaging import selectors
from messaging.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    MessageEvent,
    MessageStatus,
    OptOutAction,
    OptOutEntry,
    OptOutSource,
)
from messaging.quiet_hours import next_window_opening

logger = logging.getLogger(__name__)

# Where Twilio posts status callbacks; the webhook view that serves it comes with the inbox.
TWILIO_STATUS_CALLBACK_PATH = "/webhooks/twilio/status/"

# Provider statuses (normalized DeliveryStatus) → ours. Anything else is history only.
DELIVERY_STATUS_MAP: dict[str, str] = {
    "queued": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "opened": MessageStatus.OPENED,
    "clicked": MessageStatus.OPENED,
    "undelivered": MessageStatus.UNDELIVERED,
    "bounced": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "dropped": MessageStatus.FAILED,
    "canceled": MessageStatus.CANCELED,
}
OPTED_OUT_CODE = "21610"


class CannotSend(Exception):
    """The message cannot go out; ``reason`` says why, in words for a recruiter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeliveryOutcome(enum.StrEnum):
    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"
    UNKNOWN = "unknown"
    CANCELED = "canceled"
    NOT_CLAIMED = "not_claimed"


@dataclass(frozen=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    retry_after: float | None = None


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _timeline(*, organization, candidate, kind: str, summary: str, detail: str = "", **data):
    if candidate is None:
        return None
    return TimelineEvent.objects.create(
        organization=organization,
        candidate=candidate,
        kind=kind,
        summary=summary[:500],
        detail=detail,
        data=data,
        occurred_at=timezone.now(),
    )


def _conversation_for(*, organization, candidate: Candidate) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        organization=organization, candidate=candidate
    )
    return conversation


def _enqueue(message: Message) -> None:
    from messaging.tasks import message_deliver as deliver_task

    organization_id, message_id = message.organization_id, message.pk
    transaction.on_commit(lambda: deliver_task.delay(organization_id, message_id))


def _channel_label(channel: str) -> str:
    return "Text" if channel == Channel.SMS else "E-mail"


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


def _cancel_queued_texts(*, organization, phone: str, reason: str) -> int:
    now = timezone.now()
    return Message.objects.filter(
        organization=organization,
        channel=Channel.SMS,
        direction=Direction.OUTBOUND,
        to_address=phone,
        status__in=[MessageStatus.QUEUED, MessageStatus.HELD],
    ).update(status=MessageStatus.CANCELED, error_message=reason, status_updated_at=now)


def _opt_out_reason(organization, phone: str) -> str:
    entry = selectors.opt_out_latest(organization=organization, phone=phone)
    when = entry.created_at.date().isoformat() if entry else "an earlier date"
    how = (
        f"by texting {entry.keyword.upper() or 'STOP'}"
        if entry and entry.source == OptOutSource.KEYWORD
        else {
            OptOutSource.PROVIDER_ERROR_21610: "by texting STOP (reported by the provider)",
            OptOutSource.MANUAL: "(marked by a team member)",
            OptOutSource.PROVIDER_WEBHOOK: "(reported by the texting provider)",
        }.get(entry.source if entry else "", "by texting STOP")
    )
    return f"{phone} opted out on {when} {how}; they get no texts until they reply START."


# --------------------------------------------------------------------------------------------
# Opt-out ledger
# --------------------------------------------------------------------------------------------


@transaction.atomic
def opt_out_lock(
    *,
    organization,
    phone: str,
    source: str,
    actor=None,
    keyword: str = "",
    message: Message | None = None,
) -> OptOutEntry:
    """Lock ``phone``: a new ledger entry (history is never rewritten) and every queued or held
    text to it canceled."""
    entry = OptOutEntry.objects.create(
        organization=organization,
        phone=phone,
        locked=True,
        action=OptOutAction.LOCK,
        source=source,
        keyword=keyword,
        actor=actor,
        message=message,
    )
    _cancel_queued_texts(
        organization=organization,
        phone=phone,
        reason=f"Canceled: {phone} opted out of texts.",
    )
    return entry


@transaction.atomic
def opt_out_unlock(
    *,
    organization,
    phone: str,
    source: str,
    actor=None,
    keyword: str = "",
    message: Message | None = None,
) -> OptOutEntry:
    """Unlock ``phone`` (the candidate opted back in): a new ledger entry."""
    return OptOutEntry.objects.create(
        organization=organization,
        phone=phone,
        locked=False,
        action=OptOutAction.UNLOCK,
        source=source,
        keyword=keyword,
        actor=actor,
        message=message,
    )


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------


def _skip(*, organization, candidate, channel: str, reason: str, source: str) -> CannotSend:
    with transaction.atomic():
        _timeline(
            organization=organization,
            candidate=candidate,
            kind="message_skipped",
            summary=f"{_channel_label(channel)} not sent: {reason}",
            channel=channel,
            source=source,
            reason=reason,
        )
    return CannotSend(reason)


def message_send(
    *,
    organization,
    candidate: Candidate,
    channel: str,
    body: str,
    subject: str = "",
    html: str = "",
    source: str,
    sent_by=None,
    idempotency_key: str = "",
    at: datetime | None = None,
    respect_quiet_hours: bool = True,
) -> Message:
    """Queue a text or e-mail to ``candidate`` (the outbox row is committed before any provider
    call). Outside the quiet-hours window the row is ``held`` until the window opens. ``at`` is
    the earliest send time (default now). Raises :class:`CannotSend` with the reason when the
    candidate has no address or opted out (recorded as ``message_skipped`` on the timeline).
    The same ``idempotency_key`` returns the first Message."""
    if idempotency_key:
        existing = Message.objects.filter(
            organization=organization, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing
    if channel == Channel.SMS:
        to_address = (candidate.mobile_phone or "").strip()
        if not E164.match(to_address):
            raise _skip(
                organization=organization,
                candidate=candidate,
                channel=channel,
                reason="No mobile number"
                if not to_address
                else f"{to_address} is not a full international mobile number",
                source=source,
            )
        if selectors.is_locked(organization, to_address):
            raise _skip(
                organization=organization,
                candidate=candidate,
                channel=channel,
                reason=_opt_out_reason(organization, to_address),
                source=source,
            )
    elif channel == Channel.EMAIL:
        to_address = (candidate.primary_email or "").strip()
        if not to_address:
            raise _skip(
                organization=organization,
                candidate=candidate,
                channel=channel,
                reason="No email address",
                source=source,
            )
    else:
        raise ValueError(f"Unknown channel {channel!r}.")

    now = timezone.now()
    earliest = max(at, now) if at else now
    hold_until, zone_guess = None, None
    window = selectors.preferences_for(organization=organization).window(channel)
    if respect_quiet_hours and window is not None:
        zone_guess = selectors.candidate_time_zone(organization=organization, candidate=candidate)
        start, end, days = window
        hold_until = next_window_opening(
            now=earliest, zone=zone_guess.zone, start=start, end=end, days=days
        )
    if hold_until is None and earliest > now:
        hold_until = earliest
    encoding, segments = "", 0
    if channel == Channel.SMS:
        encoding, segments, _ = sms_segments(body)

    try:
        with transaction.atomic():
            message = Message.objects.create(
                organization=organization,
                conversation=_conversation_for(organization=organization, candidate=candidate),
                candidate=candidate,
                channel=channel,
                direction=Direction.OUTBOUND,
                to_address=to_address,
                subject=subject,
                body=body,
                html=html,
                status=MessageStatus.HELD if hold_until else MessageStatus.QUEUED,
                hold_until=hold_until,
                idempotency_key=idempotency_key,
                segments=segments,
                encoding=encoding,
                sent_by=sent_by,
                source=source,
                status_updated_at=now,
            )
            Conversation.objects.filter(pk=message.conversation_id).update(last_message_at=now)
            if hold_until:
                zone = zone_guess.zone if zone_guess else "UTC"
                _timeline(
                    organization=organization,
                    candidate=candidate,
                    kind="message_held",
                    summary=f"{_channel_label(channel)} held until "
                    f"{_local(hold_until, zone)} ({zone}): quiet hours",
                    detail=f"Candidate's time zone: {zone_guess.evidence}" if zone_guess else "",
                    message_id=message.pk,
                    hold_until=hold_until.isoformat(),
                )
            else:
                _enqueue(message)
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent call with the same key won the race: theirs is the message.
        return Message.objects.get(organization=organization, idempotency_key=idempotency_key)
    return message


def messages_release_held(*, now: datetime | None = None) -> int:
    """Beat, every minute: held messages whose hold has passed go back to queued and are
    enqueued. Crosses organizations on purpose. Returns how many were released."""
    from recruitflow.tenancy import scopes_disabled

    now = now or timezone.now()
    released = 0
    with scopes_disabled():
        due = list(
            Message.objects.filter(status=MessageStatus.HELD, hold_until__lte=now).values_list(
                "pk", "organization_id"
            )
        )
        for pk, _organization_id in due:
            with transaction.atomic():
                claimed = Message.objects.filter(pk=pk, status=MessageStatus.HELD).update(
                    status=MessageStatus.QUEUED, status_updated_at=now
                )
                if claimed:
                    released += 1
                    _enqueue(Message.objects.get(pk=pk))
    return released


def _status_callback_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + TWILIO_STATUS_CALLBACK_PATH


def _finish(message: Message, *, status: str, event_raw: dict | None = None, **fields) -> None:
    now = timezone.now()
    for name, value in fields.items():
        setattr(message, name, value)
    message.status = status
    message.status_updated_at = now
    message.save()
    MessageEvent.objects.create(
        organization_id=message.organization_id,
        message=message,
        status=status,
        error_code=message.error_code if status != MessageStatus.SENT else "",
        raw=event_raw or {},
        occurred_at=now,
    )


def message_deliver(*, organization, message_id: int) -> DeliveryResult:
    """Claim a queued message and hand it to the provider. Safe to run twice: only the caller
    whose conditional UPDATE moved it queued → sending calls the provider.

    Not atomic on purpose: the claim commits before the HTTP call so a crash mid-call leaves
    ``sending`` (reconciled, never resent blindly) rather than ``queued``.
    """
    now = timezone.now()
    claimed = Message.objects.filter(
        organization=organization, pk=message_id, status=MessageStatus.QUEUED
    ).update(status=MessageStatus.SENDING, status_updated_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return DeliveryResult(DeliveryOutcome.NOT_CLAIMED)
    message = Message.objects.select_related("candidate").get(pk=message_id)

    if message.channel == Channel.SMS and selectors.is_locked(organization, message.to_address):
        _finish(
            message,
            status=MessageStatus.CANCELED,
            error_message=_opt_out_reason(organization, message.to_address),
        )
        return DeliveryResult(DeliveryOutcome.CANCELED)

    try:
        if message.channel == Channel.SMS:
            provider = selectors.sms_provider_for(organization)
            result = provider.send(
                message.to_address,
                message.body,
                our_message_id=str(message.pk),
                status_callback=_status_callback_url(),
            )
        else:
            provider = selectors.email_provider_for(organization)
            candidate = message.candidate
            result = provider.send(
                EmailMessage(
                    to_email=message.to_address,
                    to_name=candidate.full_name if candidate else None,
                    subject=message.subject,
                    text=message.body,
                    html=message.html or None,
                    message_id=str(message.pk),
                )
            )
    except selectors.MessagingNotConfigured as exc:
        _finish(message, status=MessageStatus.FAILED, error_message=str(exc))
        return DeliveryResult(DeliveryOutcome.FAILED)
    except OptedOut as exc:
        with transaction.atomic():
            _finish(
                message,
                status=MessageStatus.FAILED,
                error_code=OPTED_OUT_CODE,
                error_message=twilio_error_explanation(OPTED_OUT_CODE) or exc.message,
            )
            opt_out_lock(
                organization=organization,
                phone=message.to_address,
                source=OptOutSource.PROVIDER_ERROR_21610,
                message=message,
            )
        return DeliveryResult(DeliveryOutcome.FAILED)
    except InvalidNumber as exc:
        _finish(
            message,
            status=MessageStatus.FAILED,
            error_code=str(exc.code or ""),
            error_message=exc.message,
        )
        return DeliveryResult(DeliveryOutcome.FAILED)
    except ProviderError as exc:
        if is_ambiguous(exc):
            # It may be on its way: never resend automatically; callbacks will tell.
            _finish(
                message,
                status=MessageStatus.UNKNOWN,
                error_code=str(exc.code or ""),
                error_message=exc.message,
            )
            return DeliveryResult(DeliveryOutcome.UNKNOWN)
        if isinstance(exc, TransientError):
            _finish(
                message,
                status=MessageStatus.QUEUED,
                error_code=str(exc.code or ""),
                error_message=exc.message,
            )
            retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
            return DeliveryResult(DeliveryOutcome.RETRY, retry_after=retry_after)
        _finish(
            message,
            status=MessageStatus.FAILED,
            error_code=str(exc.code or ""),
            error_message=exc.message,
        )
        return DeliveryResult(DeliveryOutcome.FAILED)

    with transaction.atomic():
        _finish(
            message,
            status=MessageStatus.SENT,
            event_raw=dict(result.raw),
            provider=provider.identifier,
            provider_message_id=result.provider_message_id,
            from_address=str(result.raw.get("from") or ""),
            error_code="",
            error_message="",
            sent_at=timezone.now(),
        )
        _timeline(
            organization=organization,
            candidate=message.candidate,
            kind="message_sent",
            summary=f"{_channel_label(message.channel)} sent: {message.subject or message.body}"[
                :500
            ],
            message_id=message.pk,
            channel=message.channel,
            source=message.source,
        )
    return DeliveryResult(DeliveryOutcome.SENT)


# --------------------------------------------------------------------------------------------
# Callbacks and inbound
# --------------------------------------------------------------------------------------------


@transaction.atomic
def message_status_apply(*, organization, update: DeliveryUpdate) -> Message | None:
    """Apply a delivery callback. Duplicates (same event id) are ignored; a terminal state only
    moves on delivered → read. Twilio 21610 locks the number. None when the message is not ours."""
    message = selectors.message_find(
        organization=organization,
        our_id=update.our_message_id,
        provider_message_id=update.provider_message_id,
    )
    if message is None:
        return None
    message = Message.objects.select_for_update().get(pk=message.pk)
    event_id = update.event_id or ""
    if (
        event_id
        and MessageEvent.objects.filter(
            organization=organization, provider_event_id=event_id
        ).exists()
    ):
        return message
    MessageEvent.objects.create(
        organization=organization,
        message=message,
        status=update.status,
        error_code=update.error_code or "",
        provider_event_id=event_id,
        raw=dict(update.raw),
        occurred_at=update.occurred_at,
    )
    new_status = DELIVERY_STATUS_MAP.get(update.status)
    # Our "sending"/"unknown" mean "handed over, no word yet": any provider news is progress.
    current = "queued" if message.status in (MessageStatus.SENDING, "unknown") else message.status
    if new_status and should_apply(current, new_status):
        message.status = new_status
        message.status_updated_at = timezone.now()
        if not message.provider_message_id:
            message.provider_message_id = update.provider_message_id
        if new_status == MessageStatus.DELIVERED:
            message.delivered_at = update.occurred_at
        if update.error_code:
            message.error_code = update.error_code
            message.error_message = (
                update.error_message
                or twilio_error_explanation(update.error_code)
                or f"The provider reported error {update.error_code}."
            )
        message.save()
    if (
        update.error_code == OPTED_OUT_CODE
        and message.channel == Channel.SMS
        and not selectors.is_locked(organization, message.to_address)
    ):
        opt_out_lock(
            organization=organization,
            phone=message.to_address,
            source=OptOutSource.PROVIDER_ERROR_21610,
            message=message,
        )
    return message


@transaction.atomic
def inbound_sms_receive(*, organization, inbound: InboundSMS) -> Message:
    """Store a text from a candidate (matched by mobile number; unmatched texts are kept
    without a conversation), count it unread, and act on STOP / START / HELP."""
    existing = Message.objects.filter(
        organization=organization,
        direction=Direction.INBOUND,
        provider_message_id=inbound.provider_message_id,
    ).first()
    if existing is not None:  # the provider retried the webhook
        return existing
    candidate = (
        Candidate.objects.filter(
            organization=organization, mobile_phone=inbound.from_e164, deleted_at__isnull=True
        )
        .order_by("-remote_updated_at", "-id")
        .first()
    )
    conversation = (
        _conversation_for(organization=organization, candidate=candidate) if candidate else None
    )
    encoding, segments, _ = sms_segments(inbound.body)
    message = Message.objects.create(
        organization=organization,
        conversation=conversation,
        candidate=candidate,
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        to_address=inbound.to_e164,
        from_address=inbound.from_e164,
        body=inbound.body,
        status=MessageStatus.RECEIVED,
        provider_message_id=inbound.provider_message_id,
        segments=segments,
        encoding=encoding,
        source="inbound",
        status_updated_at=inbound.received_at,
    )
    MessageEvent.objects.create(
        organization=organization,
        message=message,
        status=MessageStatus.RECEIVED,
        raw=dict(inbound.raw),
        occurred_at=inbound.received_at,
    )
    if conversation is not None:
        Conversation.objects.filter(pk=conversation.pk).update(
            unread_count=F("unread_count") + 1, last_message_at=inbound.received_at
        )
    keyword = inbound.opt_out_keyword
    phone = inbound.from_e164
    if keyword == "stop":
        if not selectors.is_locked(organization, phone):
            opt_out_lock(
                organization=organization,
                phone=phone,
                source=OptOutSource.KEYWORD,
                keyword=inbound.body.strip(),
                message=message,
            )
    elif keyword == "start":
        if selectors.is_locked(organization, phone):
            opt_out_unlock(
                organization=organization,
                phone=phone,
                source=OptOutSource.KEYWORD,
                keyword=inbound.body.strip(),
                message=message,
            )
    elif keyword == "help" and candidate is not None:
        # A locked number gets no help reply either; the skip is on the timeline.
        with contextlib.suppress(CannotSend):
            message_send(
                organization=organization,
                candidate=candidate,
                channel=Channel.SMS,
                body=selectors.preferences_for(organization=organization).help_reply,
                source="auto_reply",
                idempotency_key=f"help-reply:{inbound.provider_message_id}",
                respect_quiet_hours=False,  # they just wrote to us
            )
    _timeline(
        organization=organization,
        candidate=candidate,
        kind="replied",
        summary=f"Replied by text: {inbound.body}"[:500],
        message_id=message.pk,
        channel=Channel.SMS,
        keyword=keyword or "",
    )
    return message
