"""Delivery: claiming a queued message and handing it to the provider, settling ambiguous
sends (reconcile), giving up and retrying by hand."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from integrations.messaging import (
    EmailMessage,
    InvalidNumber,
    NotSupported,
    OptedOut,
    ProviderError,
    RateLimited,
    TransientError,
    is_ambiguous,
    twilio_error_explanation,
)
from messaging import selectors, timeline_kinds
from messaging.email_consent import CAN_EMAIL_OFF_REASON, email_opt_out_reason, normalize_email
from messaging.email_layout import email_render
from messaging.models import (
    Channel,
    Direction,
    Message,
    MessageEvent,
    MessageStatus,
    OptOutSource,
)
from messaging.send_context import send_context, send_context_drop
from messaging.send_limits import rate_for, send_waits
from messaging.services.answers import mark_sent_at_once, mark_sent_statement, sent_timeline
from messaging.services.common import (
    EMAIL_ACTIVITY_SETTLE_S,
    OPTED_OUT_CODE,
    CannotSend,
    DeliveryOutcome,
    DeliveryResult,
    _channel_label,
    _enqueue,
    _enqueue_reconcile,
    _opt_out_reason,
    _timeline,
)
from messaging.services.email_envelope import email_envelope, sandbox_email_wire
from messaging.services.optouts import opt_out_lock
from messaging.services.sending import sandbox_sms_wire

logger = logging.getLogger(__name__)


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

    What every send of the organization reads the same (providers, callback URL, reply domain)
    comes from its :mod:`messaging.send_context`. A message its provider account has no room
    for this second (:mod:`messaging.send_limits`) stays queued: THROTTLED says how long to
    wait. Not atomic on purpose: the claim commits before the HTTP call so a crash mid-call
    leaves ``sending`` (reconciled, never resent blindly) rather than ``queued``.
    """
    return dict(_deliver(organization, [message_id], isolate=False))[message_id]


def messages_deliver(
    *, organization, message_ids: Iterable[int]
) -> Iterator[tuple[int, DeliveryResult]]:
    """Deliver several queued messages of the organization, each exactly as
    :func:`message_deliver` does (its own claim, committed before its provider call; its own
    provider account's turn; its own answer written in one transaction), yielding each id's
    result as soon as it is known. A message's claim commits with the previous one's answer
    when that one was sent (one commit instead of two). The messages and the opt-out ledgers of their addresses are
    read once for all of them: an opt-out written after that read cancels the queued messages
    it concerns, so their claims find nothing to send. An unexpected error on one message is
    logged (ERROR: the recovery sweep settles it) and the others go on; a lost database
    connection stops them all (the caller's task is tried again: what was sent is no longer
    queued)."""
    return _deliver(organization, message_ids, isolate=True)


def _deliver(organization, message_ids: Iterable[int], *, isolate: bool):
    ids = list(dict.fromkeys(int(pk) for pk in message_ids))
    messages = {
        message.pk: message
        for message in Message.objects.select_related("candidate").filter(
            organization=organization, pk__in=ids, status=MessageStatus.QUEUED
        )
    }
    locked = _locked_addresses(organization, list(messages.values()))
    present = [pk for pk in ids if pk in messages]
    following_of = dict(zip(present, present[1:], strict=False))
    turns = _Turns(organization, [messages[pk] for pk in present])
    # The next message's turn and claim, taken with the previous one's answer (one commit).
    ahead: dict[int, _Admission | DeliveryResult] = {}
    for message_id in ids:
        message = messages.get(message_id)
        if message is None:
            yield message_id, DeliveryResult(DeliveryOutcome.NOT_CLAIMED)
            continue
        known = ahead.pop(message_id, None)
        if isinstance(known, DeliveryResult):
            yield message_id, known
            continue
        following = messages.get(following_of.get(message_id, 0))
        try:
            result, next_known = _deliver_one(
                organization, message, locked, turns, known, following
            )
            if following is not None and next_known is not None:
                ahead[following.pk] = next_known
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            if not isolate:
                raise
            logger.exception("Delivering message %s failed", message_id)
            result = DeliveryResult(DeliveryOutcome.ERROR)
        yield message_id, result


def _locked_addresses(organization, messages: list[Message]) -> set[tuple[str, str]]:
    """``(channel, address)`` of the messages' addresses that are locked (e-mail addresses
    normalized)."""
    return selectors.locked_addresses(
        organization=organization,
        phones={m.to_address for m in messages if m.channel == Channel.SMS},
        emails={m.to_address for m in messages if m.channel == Channel.EMAIL},
    )


@dataclass
class _Admission:
    """A message's provider and its turn in the provider account's rate; ``claimed_at`` once
    its claim committed."""

    context: Any
    provider: Any
    not_configured: Exception | None
    claimed_at: datetime | None = None


class _Turns:
    """The turns of a batch's messages in their provider accounts' rates
    (:mod:`messaging.send_limits`), taken together for every message still to go (one cache
    round trip) with the organization's sending context, and taken again for those left when
    the second has turned: a turn is spent in the second it was taken (the message claimed
    with the previous answer goes right after it, as a message sent alone does), never
    carried into a later one. Turns of messages that end up not sent (canceled, taken by
    another worker) stay counted: a batch may leave some of its account's rate unused, never
    go past it. The context is read with each take (one cache round trip): a settings change
    reaches the next batch, and a batch within a second."""

    def __init__(self, organization, messages: list[Message]) -> None:
        self.organization = organization
        self.messages = messages
        self.window: int | None = None
        self.taken: dict[int, _Admission | DeliveryResult] = {}

    def admit(self, message: Message) -> _Admission | DeliveryResult:
        """The message's provider and its turn: THROTTLED when its account has no room now."""
        now = time.time()
        if int(now) != self.window or message.pk not in self.taken:
            self._take(self.messages[self.messages.index(message) :], now)
        return self.taken.pop(message.pk)

    def _take(self, messages: list[Message], now: float) -> None:
        context = send_context(self.organization)
        self.window, self.taken = int(now), {}
        wanted: dict[str, list] = {}  # account → [rate, its messages]
        for message in messages:
            provider, not_configured = None, None
            try:
                provider = (
                    context.sms_provider()
                    if message.channel == Channel.SMS
                    else context.email_provider()
                )
            except selectors.MessagingNotConfigured as exc:
                not_configured = exc
            self.taken[message.pk] = _Admission(context, provider, not_configured)
            if provider is not None:
                account = context.account(message.channel)
                wanted.setdefault(account, [rate_for(provider.identifier), []])[1].append(message)
        waits = send_waits(
            {account: (rate, len(batch)) for account, (rate, batch) in wanted.items()}, now=now
        )
        for account, (_rate, batch) in wanted.items():
            for message, wait in zip(batch, waits[account], strict=True):
                if wait:
                    self.taken[message.pk] = DeliveryResult(
                        DeliveryOutcome.THROTTLED, retry_after=wait
                    )


def _claim(organization, message: Message) -> datetime | None:
    """queued → sending (the conditional UPDATE only one caller wins); when, or None."""
    now = timezone.now()
    claimed = Message.objects.filter(
        organization=organization, pk=message.pk, status=MessageStatus.QUEUED
    ).update(status=MessageStatus.SENDING, status_updated_at=now, attempts=F("attempts") + 1)
    return now if claimed else None


def _deliver_one(
    organization,
    message: Message,
    locked: set[tuple[str, str]],
    turns: _Turns,
    admission: _Admission | None = None,
    following: Message | None = None,
) -> tuple[DeliveryResult, _Admission | DeliveryResult | None]:
    """Send one message, and when it is sent take the ``following`` one's turn and claim it in
    the same commit as this one's answer (its claim still commits before its provider call).
    Returns the result and what is known of the following message."""
    if admission is None or admission.claimed_at is None:
        if admission is None:
            admitted = turns.admit(message)
            if isinstance(admitted, DeliveryResult):
                return admitted, None
            admission = admitted
        admission.claimed_at = _claim(organization, message)
        if admission.claimed_at is None:
            return DeliveryResult(DeliveryOutcome.NOT_CLAIMED), None
    context, provider, not_configured = (
        admission.context,
        admission.provider,
        admission.not_configured,
    )
    message.status, message.status_updated_at = MessageStatus.SENDING, admission.claimed_at
    message.attempts += 1

    if message.channel == Channel.SMS and (Channel.SMS, message.to_address) in locked:
        _finish(
            message,
            status=MessageStatus.CANCELED,
            error_message=_opt_out_reason(organization, message.to_address),
        )
        return DeliveryResult(DeliveryOutcome.CANCELED), None
    email_locked = (Channel.EMAIL, normalize_email(message.to_address)) in locked
    if message.channel == Channel.EMAIL and (
        email_locked or (message.candidate is not None and not message.candidate.can_email)
    ):
        _finish(
            message,
            status=MessageStatus.CANCELED,
            error_message=email_opt_out_reason(organization, message.to_address)
            if email_locked
            else f"Not sent: {CAN_EMAIL_OFF_REASON}.",
        )
        return DeliveryResult(DeliveryOutcome.CANCELED), None
    if provider is None:
        _finish(message, status=MessageStatus.FAILED, error_message=str(not_configured))
        return DeliveryResult(DeliveryOutcome.FAILED), None

    try:
        if message.channel == Channel.SMS:
            if context.sms_sandbox_sender() is not None:
                sandbox_sms_wire(organization=organization)
            status_callback = context.status_callback(provider.identifier)
            result = provider.send(
                message.to_address,
                message.body,
                our_message_id=str(message.pk),
                status_callback=status_callback,
            )
        else:
            sandbox_email_wire(organization=organization, provider=provider)
            candidate = message.candidate
            envelope = email_envelope(
                organization=organization, message=message, reply_domain=context.reply_domain()
            )
            rendered = email_render(
                organization=organization,
                subject=message.subject,
                html=envelope.html,
                text=envelope.text,
            )
            result = provider.send(
                EmailMessage(
                    to_email=message.to_address,
                    to_name=candidate.full_name if candidate else None,
                    reply_to=envelope.reply_to,
                    headers=envelope.headers,
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
        return DeliveryResult(DeliveryOutcome.FAILED), None
    except InvalidNumber as exc:
        _finish(
            message,
            status=MessageStatus.FAILED,
            error_code=str(exc.code or ""),
            error_message=exc.message,
        )
        return DeliveryResult(DeliveryOutcome.FAILED), None
    except ProviderError as exc:
        # The next attempt reads the organization's settings again, in case they were fixed.
        send_context_drop(organization.pk)
        if is_ambiguous(exc):
            # It may be on its way: never resend blindly. Callbacks will tell, and the
            # provider is asked once the request can no longer be in flight.
            with transaction.atomic():
                current = Message.objects.select_for_update().get(pk=message.pk)
                if current.status != MessageStatus.SENDING:
                    # A status callback got here first: the provider has it.
                    return DeliveryResult(DeliveryOutcome.SENT), None
                _finish(
                    current,
                    status=MessageStatus.UNKNOWN,
                    error_code=str(exc.code or ""),
                    error_message=exc.message,
                )
                _enqueue_reconcile(current)
            return DeliveryResult(DeliveryOutcome.UNKNOWN), None
        if isinstance(exc, TransientError):
            _finish(
                message,
                status=MessageStatus.QUEUED,
                error_code=str(exc.code or ""),
                error_message=exc.message,
            )
            retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
            return DeliveryResult(DeliveryOutcome.RETRY, retry_after=retry_after), None
        _finish(
            message,
            status=MessageStatus.FAILED,
            error_code=str(exc.code or ""),
            error_message=exc.message,
        )
        return DeliveryResult(DeliveryOutcome.FAILED), None

    following_known: _Admission | DeliveryResult | None = None
    if following is not None:
        try:
            following_known = turns.admit(following)
        except Exception:  # this one's answer first: the following one is asked again alone
            following_known = None
    claimed_at = _mark_sent(
        organization,
        message,
        provider_identifier=provider.identifier,
        result=result,
        claim=following if isinstance(following_known, _Admission) else None,
    )
    if isinstance(following_known, _Admission):
        following_known.claimed_at = claimed_at
        if claimed_at is None:  # taken meanwhile (or no longer queued): nothing to send
            following_known = DeliveryResult(DeliveryOutcome.NOT_CLAIMED)
    return DeliveryResult(DeliveryOutcome.SENT), following_known


def _mark_sent(
    organization,
    message: Message,
    *,
    provider_identifier: str,
    result,
    claim: Message | None = None,
) -> datetime | None:
    """Record the provider's answer to a send. A status callback can overtake that answer
    (an e-mail vendor may post its first events at once): its news is kept, never set back to "sent".
    The usual case — still sending, nothing recorded yet — is one conditional UPDATE with the
    message event and the timeline entry; on Postgres the three are one statement
    (:func:`mark_sent_statement`). ``claim``: the next message of the batch, claimed
    (queued → sending) in the same transaction; when it was claimed is returned once
    committed (None: it was not queued any more)."""
    if connection.vendor == "postgresql":
        sent, claimed_at = mark_sent_statement(
            organization, message, provider_identifier=provider_identifier, result=result,
            claim=claim,
        )  # fmt: skip
        if sent:
            return claimed_at
        claim = None  # its claim is committed; the answer is written below, in the long way
    else:
        claimed_at = None
    with transaction.atomic():
        if mark_sent_at_once(message, provider_identifier=provider_identifier, result=result):
            sent_timeline(organization, message)
            return _claim(organization, claim) if claim is not None else claimed_at
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
        sent_timeline(organization, message)
        return _claim(organization, claim) if claim is not None else claimed_at


def message_reconcile(*, organization, message_id: int) -> DeliveryResult:
    """Settle a message left ``unknown`` by an ambiguous send (or by a worker that died while
    sending): ask the provider whether it has it. Found → the message is ``sent`` with the
    provider's id (its callbacks take it from there). Not found → the provider provably never
    created it, so it goes back to ``queued`` and is sent once more.

    Texts: the texting vendor's message log, a text to this number with this body since the
    message was due that is not one we already know (texting APIs take no idempotency key).
    E-mails: the e-mail vendor's activity search, by the id every e-mail carries; its activity
    may lag, so "not found" counts only :data:`EMAIL_ACTIVITY_SETTLE_S` after the send.
    Providers that cannot be asked (no message log, or an account without the activity add-on)
    leave it ``unknown`` until their callbacks say otherwise (delivery events carry the same id)
    or a recruiter retries. A lookup that fails returns RETRY."""
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
            kind=timeline_kinds.MESSAGE_FAILED,
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
