"""Writes of the messaging domain: the outbox, delivery, callbacks, inbound texts, opt-outs.

Sending is "durable before async": :func:`message_send` writes the Message row and commits;
the Celery task :func:`messaging.tasks.message_deliver` then claims it with a conditional
UPDATE (queued → sending) and calls the provider through :func:`message_deliver`. A send that
may have reached the provider (an ambiguous timeout, a 5xx) ends ``unknown`` and is never
resent blindly: :func:`message_reconcile` asks the provider whether it has the text and either
adopts it or puts the message back to ``queued``. One that provably did not reach it is put back
to ``queued`` for a retry, and marked ``failed`` (with :func:`message_retry` as the way back)
when the retries run out.

Provider callbacks arrive through :mod:`messaging.webhooks`: each is stored raw
(:func:`webhook_event_store`) and then applied once (:func:`webhook_event_apply`).
"""

from __future__ import annotations

import contextlib
import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import QueryDict
from django.utils import timezone

from candidates.models import Candidate, TimelineEvent
from integrations.messaging import (
    E164,
    DeliveryUpdate,
    EmailMessage,
    InboundSMS,
    InvalidNumber,
    NotSupported,
    OptedOut,
    OptOutChange,
    ProviderError,
    RateLimited,
    TransientError,
    is_ambiguous,
    should_apply,
    sms_segments,
    twilio_error_explanation,
)
from integrations.sendgrid import webhooks as sendgrid_webhooks
from integrations.textus import webhooks as textus_webhooks
from integrations.twilio import webhooks as twilio_webhooks
from messaging import selectors
from messaging.email_layout import email_render
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
    ProviderWebhookEvent,
    WebhookProvider,
)
from messaging.quiet_hours import next_window_opening
from recruitflow.tenancy import tenant_scope

logger = logging.getLogger(__name__)

# How long after an ambiguous send the provider is asked whether it has the text: long enough
# for a request still in flight to have landed.
RECONCILE_AFTER_S = 60
# SendGrid's Email Activity may show an accepted e-mail only after a while: "not found" there
# proves it was never accepted only this long after the send.
EMAIL_ACTIVITY_SETTLE_S = 15 * 60

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
    REQUEUED = "requeued"


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


def _enqueue_reconcile(message: Message, *, countdown: float = RECONCILE_AFTER_S) -> None:
    from messaging.tasks import message_reconcile as reconcile_task

    organization_id, message_id = message.organization_id, message.pk
    transaction.on_commit(
        lambda: reconcile_task.apply_async((organization_id, message_id), countdown=countdown)
    )


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
    entry = _opt_out_record(
        organization=organization,
        phone=phone,
        locked=True,
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
    return _opt_out_record(
        organization=organization,
        phone=phone,
        locked=False,
        source=source,
        keyword=keyword,
        actor=actor,
        message=message,
    )


def _opt_out_record(*, organization, phone: str, locked: bool, **fields) -> OptOutEntry:
    """One ledger row (the ledger is append-only: history is never rewritten)."""
    action = OptOutAction.LOCK if locked else OptOutAction.UNLOCK
    return OptOutEntry.objects.create(
        organization=organization, phone=phone, locked=locked, action=action, **fields
    )


def messages_withdraw_held(*, organization, message_ids, reason: str) -> int:
    """Cancel those of ``message_ids`` still held for quiet hours (a guarded update: a message
    that went out meanwhile is left alone). Returns how many were withdrawn."""
    return Message.objects.filter(
        organization=organization, pk__in=list(message_ids), status=MessageStatus.HELD
    ).update(
        status=MessageStatus.CANCELED, error_message=reason[:1000], status_updated_at=timezone.now()
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
    attachments: list[dict] | None = None,
) -> Message:
    """Queue a text or e-mail to ``candidate`` (the outbox row is committed before any provider
    call). Outside the quiet-hours window the row is ``held`` until the window opens. ``at`` is
    the earliest send time (default now). Raises :class:`CannotSend` with the reason when the
    candidate has no address or opted out (recorded as ``message_skipped`` on the timeline).
    The same ``idempotency_key`` returns the first Message. ``attachments`` (e-mail only):
    ``[{"filename", "mimetype", "content"}]`` with text content."""
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
                attachments=list(attachments or []) if channel == Channel.EMAIL else [],
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


def sandbox_sms_wire(*, organization) -> dict | None:
    """Point the sandbox number ``organization`` texts from at its owner's incoming-text URL
    (creating the number on the sandbox account first), through the sandbox Twilio's
    IncomingPhoneNumbers API — what an admin does for a real number in the Twilio Console.
    The owner is the tree's root on the default sandbox, else the organization whose Twilio
    settings point at the sandbox (see ``selectors.sandbox_sms_sender``).

    Run before every text sent through the sandbox (the sandbox keeps its numbers in memory, so
    a restart forgets them; the check is one local call). Never raises: a sandbox that cannot
    be reached is logged, and the send that follows reports it. Returns the number's record,
    or None when texting does not run on the sandbox or the sandbox did not answer.
    """
    sender = selectors.sandbox_sms_sender(organization)
    if sender is None:
        return None
    owner, number = sender
    provider = selectors.sms_provider_for(organization)
    inbound_url = selectors.callback_urls(organization=owner).twilio_inbound
    try:
        return provider.configure_incoming_number(number, sms_url=inbound_url, provision=True)
    except ProviderError as exc:
        logger.warning("Could not wire the sandbox number %s to %s: %s", number, inbound_url, exc)
        return None


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
            sandbox_sms_wire(organization=organization)
            status_callback = (
                selectors.callback_urls(organization=organization).twilio_status
                if provider.identifier == "twilio"
                else None  # TextUs reports deliveries to the account's webhook instead
            )
            result = provider.send(
                message.to_address,
                message.body,
                our_message_id=str(message.pk),
                status_callback=status_callback,
            )
        else:
            provider = selectors.email_provider_for(organization)
            candidate = message.candidate
            rendered = email_render(
                organization=organization,
                subject=message.subject,
                html=message.html,
                text=message.body,
            )
            result = provider.send(
                EmailMessage(
                    to_email=message.to_address,
                    to_name=candidate.full_name if candidate else None,
                    subject=message.subject,
                    text=rendered.text,
                    html=rendered.html,
                    message_id=str(message.pk),
                    attachments=[
                        (a["filename"], a["content"].encode(), a["mimetype"])
                        for a in message.attachments or []
                    ],
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
            # It may be on its way: never resend blindly. Callbacks will tell, and the
            # provider is asked once the request can no longer be in flight.
            with transaction.atomic():
                current = Message.objects.select_for_update().get(pk=message.pk)
                if current.status != MessageStatus.SENDING:
                    # A status callback got here first: the provider has it.
                    return DeliveryResult(DeliveryOutcome.SENT)
                _finish(
                    current,
                    status=MessageStatus.UNKNOWN,
                    error_code=str(exc.code or ""),
                    error_message=exc.message,
                )
                _enqueue_reconcile(current)
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

    _mark_sent(organization, message, provider_identifier=provider.identifier, result=result)
    return DeliveryResult(DeliveryOutcome.SENT)


def _mark_sent(organization, message: Message, *, provider_identifier: str, result) -> None:
    """Record the provider's answer to a send. A status callback can overtake that answer
    (SendGrid posts its first events at once): its news is kept, never set back to "sent"."""
    with transaction.atomic():
        current = Message.objects.select_for_update().get(pk=message.pk)
        fields = {
            "provider": provider_identifier,
            "provider_message_id": current.provider_message_id or result.provider_message_id,
            "from_address": str(result.raw.get("from") or "") or current.from_address,
            "sent_at": current.sent_at or timezone.now(),
        }
        if current.status in (MessageStatus.SENDING, MessageStatus.UNKNOWN):
            _finish(
                current,
                status=MessageStatus.SENT,
                event_raw=dict(result.raw),
                error_code="",
                error_message="",
                **fields,
            )
        else:
            for name, value in fields.items():
                setattr(current, name, value)
            current.save(update_fields=[*fields])
        for name in ("status", *fields):
            setattr(message, name, getattr(current, name))
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


def message_reconcile(*, organization, message_id: int) -> DeliveryResult:
    """Settle a message left ``unknown`` by an ambiguous send (or by a worker that died while
    sending): ask the provider whether it has it. Found → the message is ``sent`` with the
    provider's id (its callbacks take it from there). Not found → the provider provably never
    created it, so it goes back to ``queued`` and is sent once more.

    Texts: Twilio's message log, a text to this number with this body since the message was due
    that is not one we already know (Twilio has no idempotency key). E-mails: SendGrid's Email
    Activity API, by the ``custom_args`` id every e-mail carries; its activity may lag, so "not
    found" counts only :data:`EMAIL_ACTIVITY_SETTLE_S` after the send. Providers that cannot be
    asked (TextUs; SendGrid without the Email Activity add-on) leave it ``unknown`` until their
    callbacks say otherwise (SendGrid's events carry the same id) or a recruiter retries. A
    lookup that fails returns RETRY."""
    message = Message.objects.filter(organization=organization, pk=message_id).first()
    if message is None or message.status != MessageStatus.UNKNOWN:
        return DeliveryResult(DeliveryOutcome.NOT_CLAIMED)
    try:
        provider = (
            selectors.sms_provider_for(organization)
            if message.channel == Channel.SMS
            else selectors.email_provider_for(organization)
        )
    except selectors.MessagingNotConfigured:
        return DeliveryResult(DeliveryOutcome.UNKNOWN)
    if message.channel == Channel.SMS:
        find_recent = getattr(provider, "find_recent", None)
        if find_recent is None:
            return DeliveryResult(DeliveryOutcome.UNKNOWN)
        due = message.hold_until or message.created_at
        known = set(
            Message.objects.filter(
                organization=organization, channel=Channel.SMS, to_address=message.to_address
            )
            .exclude(pk=message.pk)
            .exclude(provider_message_id="")
            .values_list("provider_message_id", flat=True)
        )

        def ask():
            return find_recent(
                message.to_address, message.body, since=due - timedelta(minutes=1), exclude=known
            )
    else:
        find_sent = getattr(provider, "find_sent", None)
        if find_sent is None:
            return DeliveryResult(DeliveryOutcome.UNKNOWN)

        def ask():
            return find_sent(str(message.pk))

    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(provider_checked_at=now)
    try:
        found = ask()
    except NotSupported:
        return DeliveryResult(DeliveryOutcome.UNKNOWN)
    except ProviderError as exc:
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        return DeliveryResult(DeliveryOutcome.RETRY, retry_after=retry_after)
    label = "text" if message.channel == Channel.SMS else "e-mail"
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.status != MessageStatus.UNKNOWN:  # a callback settled it meanwhile
            return DeliveryResult(DeliveryOutcome.NOT_CLAIMED)
        if found is not None:
            _mark_sent(organization, message, provider_identifier=provider.identifier, result=found)
            return DeliveryResult(DeliveryOutcome.SENT)
        attempted = message.status_updated_at or message.created_at
        if message.channel == Channel.EMAIL and now - attempted < timedelta(
            seconds=EMAIL_ACTIVITY_SETTLE_S
        ):
            # Not in the activity yet may only mean not indexed yet: ask again later.
            return DeliveryResult(DeliveryOutcome.RETRY, retry_after=EMAIL_ACTIVITY_SETTLE_S)
        _finish(
            message,
            status=MessageStatus.QUEUED,
            event_raw={"reconciled": f"{provider.display_name} has no such {label}"},
            error_message=f"{provider.display_name} never received this {label}; sending it again.",
        )
        _enqueue(message)
    return DeliveryResult(DeliveryOutcome.REQUEUED)


def message_give_up(*, organization, message_id: int) -> Message | None:
    """The retries of a queued message ran out: mark it ``failed`` with the last error, so the
    recruiter sees it and can retry it (:func:`message_retry`). None when it is no longer
    queued."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(organization=organization, pk=message_id, status=MessageStatus.QUEUED)
            .first()
        )
        if message is None:
            return None
        last = message.error_message or "The provider could not be reached."
        _finish(
            message,
            status=MessageStatus.FAILED,
            error_message=(
                f"Not sent after {message.attempts} attempts: {last} Use Retry to send it again."
            ),
        )
        _timeline(
            organization=organization,
            candidate=message.candidate,
            kind="message_failed",
            summary=f"{_channel_label(message.channel)} not sent: {last}",
            message_id=message.pk,
            channel=message.channel,
        )
    return message


def message_retry(*, organization, message_id: int, actor=None) -> Message:
    """Send a ``failed`` or ``unknown`` message again (a recruiter's "Retry"). An ``unknown``
    text is first looked up at the provider, so a text that did go out is never sent twice.
    Raises :class:`CannotSend` with the reason when the message cannot be retried (another
    state, or the number opted out since)."""
    message = Message.objects.filter(organization=organization, pk=message_id).first()
    if message is None or message.direction != Direction.OUTBOUND:
        raise CannotSend("There is no such outgoing message.")
    if message.status not in (MessageStatus.FAILED, MessageStatus.UNKNOWN):
        raise CannotSend(
            f"Only messages that failed or whose fate is unknown can be retried; this one is "
            f"{message.get_status_display().lower()}."
        )
    if message.channel == Channel.SMS and selectors.is_locked(organization, message.to_address):
        raise CannotSend(_opt_out_reason(organization, message.to_address))
    if message.status == MessageStatus.UNKNOWN:
        outcome = message_reconcile(organization=organization, message_id=message.pk).outcome
        if outcome in (DeliveryOutcome.SENT, DeliveryOutcome.REQUEUED):
            message.refresh_from_db()
            return message
        if outcome == DeliveryOutcome.RETRY:
            label = "text" if message.channel == Channel.SMS else "e-mail"
            raise CannotSend(
                f"The provider could not yet tell whether this {label} went out, so it was not "
                "sent again. Try again in a few minutes."
            )
    with transaction.atomic():
        claimed = Message.objects.filter(
            pk=message.pk, status__in=[MessageStatus.FAILED, MessageStatus.UNKNOWN]
        ).update(status=MessageStatus.QUEUED, status_updated_at=timezone.now())
        if claimed:
            message.refresh_from_db()
            MessageEvent.objects.create(
                organization=organization,
                message=message,
                status=MessageStatus.QUEUED,
                raw={"retried_by": getattr(actor, "pk", None)},
                occurred_at=timezone.now(),
            )
            _enqueue(message)
    message.refresh_from_db()
    return message


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
def inbound_sms_receive(*, organization, inbound: InboundSMS, provider: str = "") -> Message:
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
        provider=provider,
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
                keyword=inbound.body.strip()[:40],
                message=message,
            )
    elif keyword == "start":
        if selectors.is_locked(organization, phone):
            opt_out_unlock(
                organization=organization,
                phone=phone,
                source=OptOutSource.KEYWORD,
                keyword=inbound.body.strip()[:40],
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


# --------------------------------------------------------------------------------------------
# Callbacks to a tree of accounts
# --------------------------------------------------------------------------------------------


def _inbound_target(*, organization, subtree: list, inbound: InboundSMS):
    """Which organization a text that arrived on ``organization``'s number belongs to.

    The rule, for a number shared by an organization and its sub-accounts:
    1. Only organizations of the tree (``organization`` and its sub-accounts at any depth)
       with a candidate whose mobile number is the sender's are considered.
    2. Of those, the one that most recently texted that candidate wins — preferring texts sent
       from the number the reply arrived on — because a reply answers the last text.
    3. No texts yet: ``organization`` itself when it has the candidate, else the organization
       whose matching candidate changed most recently in the ATS.
    4. No candidate anywhere in the tree: ``organization`` keeps it, unmatched.
    """
    from_phone = inbound.from_e164
    by_id = {org.pk: org for org in subtree}
    with_candidate = list(
        dict.fromkeys(
            Candidate.unscoped.filter(
                organization_id__in=by_id, mobile_phone=from_phone, deleted_at__isnull=True
            )
            .order_by("-remote_updated_at", "-id")
            .values_list("organization_id", flat=True)
        )
    )
    if not with_candidate:
        return organization
    latest = selectors.latest_outbound_text(
        organizations=[by_id[pk] for pk in with_candidate],
        phone=from_phone,
        sender=inbound.to_e164,
    )
    if latest is not None:
        return by_id[latest.organization_id]
    if organization.pk in with_candidate:
        return organization
    return by_id[with_candidate[0]]


def _opt_out_everywhere(
    *, organizations: list, phone: str, lock: bool, source: str, keyword: str = ""
) -> int:
    """Lock (or unlock) ``phone`` in each of ``organizations`` where it is not already so.
    Returns how many ledgers changed."""
    changed = 0
    for org in organizations:
        with tenant_scope(org):
            if selectors.is_locked(org, phone) == lock:
                continue
            if lock:
                opt_out_lock(organization=org, phone=phone, source=source, keyword=keyword)
            else:
                opt_out_unlock(organization=org, phone=phone, source=source, keyword=keyword)
            changed += 1
    return changed


def inbound_sms_accept(*, organization, inbound: InboundSMS, provider: str = "") -> Message:
    """A text that arrived at ``organization``'s incoming-text URL: stored once in the
    organization it belongs to (see :func:`_inbound_target`), and a STOP or START applied to
    every organization of the tree that texts from the same sender — the provider blocks the
    sender for all of them, so none of them may text the number."""
    subtree = selectors.organization_subtree(organization)
    if inbound.provider_message_id:
        existing = Message.unscoped.filter(
            organization_id__in=[org.pk for org in subtree],
            direction=Direction.INBOUND,
            provider_message_id=inbound.provider_message_id,
        ).first()
        if existing is not None:  # a retry of a text already stored
            return existing
    target = _inbound_target(organization=organization, subtree=subtree, inbound=inbound)
    with tenant_scope(target):
        try:
            message = inbound_sms_receive(organization=target, inbound=inbound, provider=provider)
        except IntegrityError:
            # The same text, stored by a concurrent delivery of the webhook.
            return Message.unscoped.get(
                organization_id=target.pk,
                direction=Direction.INBOUND,
                provider_message_id=inbound.provider_message_id,
            )
    if inbound.opt_out_keyword in ("stop", "start"):
        sharing = selectors.organizations_sharing_sms_sender(
            organization=organization, among=subtree
        )
        _opt_out_everywhere(
            organizations=[org for org in sharing if org.pk != target.pk],
            phone=inbound.from_e164,
            lock=inbound.opt_out_keyword == "stop",
            source=OptOutSource.KEYWORD,
            keyword=inbound.body.strip()[:40],
        )
    return message


def opt_out_change_apply(*, organization, change: OptOutChange) -> int:
    """The provider reports that ``change.phone`` opted out or back in (TextUs
    ``contact.opted_out`` / ``contact.opted_in``): applied to every organization of the tree
    that texts from the same sender. Changes that come with an inbound keyword text are left to
    that text (:func:`inbound_sms_accept`). Returns how many ledgers changed."""
    if change.source.endswith(":keyword") or not E164.match(change.phone or ""):
        return 0
    subtree = selectors.organization_subtree(organization)
    sharing = selectors.organizations_sharing_sms_sender(organization=organization, among=subtree)
    return _opt_out_everywhere(
        organizations=sharing,
        phone=change.phone,
        lock=change.opted_out,
        source=OptOutSource.PROVIDER_WEBHOOK,
    )


def message_status_route(*, organization, update: DeliveryUpdate) -> Message | None:
    """Apply a delivery callback that arrived at ``organization``'s URL to the message it is
    about — in the organization or one of its sub-accounts, whose texts and e-mails go out
    through the same provider account. None when no message of the tree matches."""
    subtree = selectors.organization_subtree(organization)
    message = selectors.message_find(
        organization=organization,
        organizations=subtree,
        our_id=update.our_message_id,
        provider_message_id=update.provider_message_id,
    )
    if message is None:
        return None
    owner = next(org for org in subtree if org.pk == message.organization_id)
    with tenant_scope(owner):
        return message_status_apply(organization=owner, update=update)


# --------------------------------------------------------------------------------------------
# Stored provider callbacks
# --------------------------------------------------------------------------------------------


def webhook_event_store(
    *,
    organization,
    provider: str,
    kind: str,
    dedupe_key: str,
    url: str,
    headers: dict,
    raw_body: bytes,
    error: str = "",
) -> tuple[ProviderWebhookEvent, bool]:
    """Store a verified callback as received. ``(event, False)`` when the provider already
    delivered it (same ``dedupe_key``): nothing new is written."""
    dedupe_key = _fit_id(dedupe_key, 200)
    try:
        with transaction.atomic():
            event = ProviderWebhookEvent.objects.create(
                organization=organization,
                provider=provider,
                kind=kind,
                dedupe_key=dedupe_key,
                url=_without_nul(url),
                headers=_without_nul(headers),
                # NUL cannot be stored in a text column (PostgreSQL); nothing signed needs it
                # again, the signature having been checked over the bytes received.
                raw_body=_without_nul(raw_body.decode("utf-8", errors="replace")),
                received_at=timezone.now(),
                error=_without_nul(error),
            )
        return event, True
    except IntegrityError:
        event = ProviderWebhookEvent.objects.get(
            organization=organization, provider=provider, dedupe_key=dedupe_key
        )
        return event, False


def callback_records(event: ProviderWebhookEvent) -> list:
    """The records in a stored callback, parsed by its provider's integration."""
    if event.provider == WebhookProvider.TWILIO:
        return twilio_webhooks.parse_webhook(
            QueryDict(event.raw_body), url=event.url, now=event.received_at
        )
    if event.provider == WebhookProvider.TEXTUS:
        return textus_webhooks.parse_delivery(event.raw_body)
    if event.provider == WebhookProvider.SENDGRID:
        return sendgrid_webhooks.parse_events(event.raw_body)
    raise ValueError(f"Unknown provider {event.provider!r}.")


_NUL = "\x00"


def _without_nul(value):
    """``value`` with NUL characters taken out of every string in it: PostgreSQL text and
    jsonb columns cannot hold them, and no message or address needs one."""
    if isinstance(value, str):
        return value.replace(_NUL, "")
    if isinstance(value, dict):
        return {_without_nul(str(key)): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(item) for item in value]
    return value


def _fit_id(value: str | None, max_length: int) -> str:
    """A provider identifier for a column of ``max_length``: itself when it fits, else a
    digest of it — still the same for the same identifier, so deduplication keeps working."""
    import hashlib

    value = _without_nul(value or "")
    if len(value) <= max_length:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _fit_text(value: str | None, max_length: int) -> str:
    return _without_nul(value or "")[:max_length]


def _callback_record_fitted(record):
    """``record`` fitted to the columns it is stored in (identifiers longer than their column
    digested, codes and addresses cut, NULs removed), so one odd value cannot fail it."""
    from dataclasses import replace

    if isinstance(record, DeliveryUpdate):
        our_id = str(record.our_message_id or "")
        return replace(
            record,
            provider_message_id=_fit_id(record.provider_message_id, 100),
            our_message_id=our_id if our_id.isdigit() and len(our_id) <= 18 else None,
            error_code=_fit_text(record.error_code, 40) or None,
            error_message=_without_nul(record.error_message),
            event_id=_fit_id(record.event_id, 200) or None,
            recipient=_fit_text(record.recipient, 254) or None,
            raw=_without_nul(dict(record.raw)),
        )
    if isinstance(record, InboundSMS):
        return replace(
            record,
            provider_message_id=_fit_id(record.provider_message_id, 100),
            from_e164=_fit_text(record.from_e164, 254),
            to_e164=_fit_text(record.to_e164, 254),
            body=_without_nul(record.body),
            raw=_without_nul(dict(record.raw)),
        )
    if isinstance(record, OptOutChange):
        return replace(
            record, phone=_fit_text(record.phone, 32), sender=_without_nul(record.sender)
        )
    return record


def _callback_record_apply(*, organization, record, provider: str) -> None:
    if isinstance(record, DeliveryUpdate):
        message_status_route(organization=organization, update=record)
    elif isinstance(record, InboundSMS):
        inbound_sms_accept(organization=organization, inbound=record, provider=provider)
    elif isinstance(record, OptOutChange):
        opt_out_change_apply(organization=organization, change=record)


def _callback_apply(*, organization, event: ProviderWebhookEvent) -> list[str]:
    """Apply each record of a stored callback in its own savepoint, so one that fails (a
    value the database refuses, a bug) leaves the others applied. Returns what failed."""
    failures = []
    records = callback_records(event)
    for number, record in enumerate(records, start=1):
        try:
            with transaction.atomic():
                _callback_record_apply(
                    organization=organization,
                    record=_callback_record_fitted(record),
                    provider=event.provider,
                )
        except Exception as exc:
            logger.exception("Record %s of provider callback %s failed", number, event.pk)
            failures.append(f"record {number} of {len(records)}: {type(exc).__name__}: {exc}")
    return failures


def webhook_event_apply(*, organization, event_id: int) -> bool:
    """Apply a stored callback, once: a second call (a provider retry, the retry task) finds
    it processed and does nothing. Records are applied one by one; when some fail, the others
    stay applied, the event keeps the errors and stays unprocessed, and False is returned so it
    is tried again (applied records are recognised by their ids and not applied twice)."""
    try:
        with transaction.atomic():
            event = ProviderWebhookEvent.objects.select_for_update().get(
                organization=organization, pk=event_id
            )
            if event.processed_at is not None:
                return True
            failures = _callback_apply(organization=organization, event=event)
            if failures:
                ProviderWebhookEvent.objects.filter(pk=event.pk).update(
                    error=_without_nul("; ".join(failures))[:2000],
                    attempts=F("attempts") + 1,
                )
                return False
            ProviderWebhookEvent.objects.filter(pk=event.pk).update(
                processed_at=timezone.now(), error="", attempts=F("attempts") + 1
            )
        return True
    except Exception as exc:  # the row keeps the error; the caller schedules another try
        logger.exception("Applying provider callback %s failed", event_id)
        ProviderWebhookEvent.objects.filter(organization=organization, pk=event_id).update(
            error=_without_nul(f"{type(exc).__name__}: {exc}")[:2000],
            attempts=F("attempts") + 1,
        )
        return False
