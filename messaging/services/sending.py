"""Sending: the outbox row (held for quiet hours or queued), releasing held messages,
wiring the sandbox number."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from candidates.models import Candidate
from integrations.messaging import (
    E164,
    ProviderError,
    sms_segments,
)
from messaging import selectors, timeline_kinds
from messaging.email_consent import CAN_EMAIL_OFF_REASON, email_is_locked, email_opt_out_reason
from messaging.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    MessageStatus,
)
from messaging.quiet_hours import next_window_opening
from messaging.send_context import send_context
from messaging.services.common import (
    DELIVERY_BATCH,
    CannotSend,
    _channel_label,
    _conversation_for,
    _enqueue,
    _local,
    _opt_out_reason,
    _timeline,
    messages_enqueue,
)
from recruitflow.tenancy import scopes_disabled

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------


def _skip(*, organization, candidate, channel: str, reason: str, source: str) -> CannotSend:
    with transaction.atomic():
        _timeline(
            organization=organization,
            candidate=candidate,
            kind=timeline_kinds.MESSAGE_SKIPPED,
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
    An e-mail is refused the same way when the ATS forbids e-mailing the candidate
    (``can_email``) or the address is on the e-mail opt-out ledger.
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
        if not candidate.can_email:
            raise _skip(
                organization=organization,
                candidate=candidate,
                channel=channel,
                reason=CAN_EMAIL_OFF_REASON,
                source=source,
            )
        if email_is_locked(organization, to_address):
            raise _skip(
                organization=organization,
                candidate=candidate,
                channel=channel,
                reason=email_opt_out_reason(organization, to_address),
                source=source,
            )
    else:
        raise ValueError(f"Unknown channel {channel!r}.")

    now = timezone.now()
    earliest = max(at, now) if at else now
    hold_until, zone_guess = None, None
    window = send_context(organization).preferences().window(channel)
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
                    kind=timeline_kinds.MESSAGE_HELD,
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
    enqueued, up to :data:`DELIVERY_BATCH` of an organization released in one transaction and
    handed to one delivery task once it commits. Crosses organizations on purpose. Returns how
    many were released."""
    now = now or timezone.now()
    released = 0
    with scopes_disabled():
        due: dict[int, list[int]] = {}
        for pk, organization_id in (
            Message.objects.filter(status=MessageStatus.HELD, hold_until__lte=now)
            .order_by("pk")
            .values_list("pk", "organization_id")
        ):
            due.setdefault(organization_id, []).append(pk)
        for organization_id, ids in due.items():
            for start in range(0, len(ids), DELIVERY_BATCH):
                with transaction.atomic():
                    claimed = list(
                        Message.objects.select_for_update()
                        .filter(
                            pk__in=ids[start : start + DELIVERY_BATCH], status=MessageStatus.HELD
                        )
                        .order_by("pk")
                        .values_list("pk", flat=True)
                    )
                    if not claimed:
                        continue
                    Message.objects.filter(pk__in=claimed).update(
                        status=MessageStatus.QUEUED, status_updated_at=now
                    )
                    messages_enqueue(organization_id=organization_id, message_ids=claimed)
                released += len(claimed)
    return released


def sandbox_sms_wire(*, organization) -> dict | None:
    """Point the sandbox number ``organization`` texts from at its owner's incoming-text URL
    (creating the number on the sandbox account first), through the sandbox vendor's
    phone-number API — what an admin does for a real number in the vendor's console.
    The owner is the tree's root on the default sandbox, else the organization whose texting
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
    inbound_url = selectors.incoming_text_url(organization=owner, provider=provider.identifier)
    try:
        return provider.configure_incoming_number(number, sms_url=inbound_url, provision=True)
    except ProviderError as exc:
        logger.warning("Could not wire the sandbox number %s to %s: %s", number, inbound_url, exc)
        return None
