"""The reader: what happened (timeline events the domains write, opt-out entries) → outbox rows
through the organization's rules.

Runs on beat every few seconds per organization with ATS activity on. It reads past a
per-organization :class:`WritebackCursor` and advances it only over rows older than the settle
window (``WRITEBACK_SETTLE_SECONDS``), so a row whose transaction commits behind a newer one is
still read; reading a row twice is harmless because each outbox row has a unique dedupe key
derived from what it records (``event:<id>``, ``videofield:<id>``, ``texts:<conversation>:<window>``,
``optout:<entry>:<candidate>``, ``emailoptout:<entry>:<candidate>``) and a batch of texts records each event once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from candidates.models import Candidate, TimelineEvent
from journeys import timeline_kinds as journey_kinds
from messaging import timeline_kinds as messaging_kinds
from messaging.models import (
    Channel,
    Direction,
    EmailOptOutEntry,
    EmailOptOutSource,
    Message,
    OptOutEntry,
)
from scheduling import timeline_kinds as scheduling_kinds
from writeback.models import ActivityWrite, WritebackCursor, WritebackRules, WriteKind, WriteStatus
from writeback.selectors import rules_for
from writeback.services import cursor_ensure, when_text, write_enqueue
from writeback.video_interviews import video_interview_read

BOOKING_KINDS = {
    journey_kinds.BOOKED: "Interview booked",
    scheduling_kinds.RESCHEDULED: "Interview rescheduled",
    scheduling_kinds.BOOKING_CANCELLED: "Interview cancelled",
}
JOURNEY_KINDS = {
    journey_kinds.JOURNEY_ENTERED: "Entered a journey",
    journey_kinds.JOURNEY_COMPLETED: "Finished a journey",
    journey_kinds.JOURNEY_EXITED: "Left a journey",
}
MESSAGE_KINDS = {
    messaging_kinds.MESSAGE_SENT,
    messaging_kinds.MESSAGE_FAILED,
    messaging_kinds.REPLIED,
}
READ_KINDS = sorted(
    {*BOOKING_KINDS, *JOURNEY_KINDS, *MESSAGE_KINDS, journey_kinds.VIDEO_INTERVIEW_COMPLETED}
)
READ_BATCH = 500


def _settle() -> timedelta:
    return timedelta(seconds=getattr(settings, "WRITEBACK_SETTLE_SECONDS", 10))


@dataclass(frozen=True)
class ReadResult:
    events: int = 0
    opt_outs: int = 0
    email_opt_outs: int = 0


def activity_read_pending(*, organization, limit: int = READ_BATCH) -> ReadResult:
    """Turn the organization's new timeline events and opt-out entries into outbox rows.
    While ATS activity is off the cursor still moves: switching it on does not write the
    past."""
    cursor = cursor_ensure(organization=organization)
    rules = rules_for(organization).rules
    settled = timezone.now() - _settle()
    events = list(
        TimelineEvent.objects.filter(pk__gt=cursor.last_event_id, kind__in=READ_KINDS)
        .select_related("candidate")
        .order_by("pk")[:limit]
    )
    last_event, settling = cursor.last_event_id, False
    for event in events:
        if rules.enabled:
            event_read(organization=organization, rules=rules, event=event)
        # The cursor moves over the settled prefix only; later rows are read again next tick.
        settling = settling or event.occurred_at > settled
        if not settling:
            last_event = event.pk
    entries = list(
        OptOutEntry.objects.filter(pk__gt=cursor.last_opt_out_id)
        .select_related("message")
        .order_by("pk")[:limit]
    )
    last_entry, settling = cursor.last_opt_out_id, False
    for entry in entries:
        if rules.enabled:
            opt_out_read(organization=organization, rules=rules, entry=entry)
        settling = settling or entry.created_at > settled
        if not settling:
            last_entry = entry.pk
    emails = list(
        EmailOptOutEntry.objects.filter(pk__gt=cursor.last_email_opt_out_id)
        .select_related("message", "actor")
        .order_by("pk")[:limit]
    )
    last_email, settling = cursor.last_email_opt_out_id, False
    for email_entry in emails:
        if rules.enabled:
            email_opt_out_read(organization=organization, rules=rules, entry=email_entry)
        settling = settling or email_entry.created_at > settled
        if not settling:
            last_email = email_entry.pk
    if (
        last_event > cursor.last_event_id
        or last_entry > cursor.last_opt_out_id
        or last_email > cursor.last_email_opt_out_id
    ):
        WritebackCursor.objects.filter(organization=organization).update(
            last_event_id=max(last_event, cursor.last_event_id),
            last_opt_out_id=max(last_entry, cursor.last_opt_out_id),
            last_email_opt_out_id=max(last_email, cursor.last_email_opt_out_id),
        )
    return ReadResult(events=len(events), opt_outs=len(entries), email_opt_outs=len(emails))


# --------------------------------------------------------------------------------------------
# One event
# --------------------------------------------------------------------------------------------


def _rule_off(organization, event: TimelineEvent, kind: str, what: str) -> None:
    write_enqueue(
        organization=organization,
        candidate_id=event.candidate_id,
        kind=kind,
        dedupe_key=f"event:{event.pk}",
        occurred_at=event.occurred_at,
        events=[event.pk],
        subject=event.summary,
        status=WriteStatus.RULE_OFF,
        reason=f"“{what}” is off",
    )


def _note(organization, rules, event: TimelineEvent, kind: str, title: str) -> None:
    body = f"{title} — {when_text(organization, event.occurred_at)}\n{event.summary}"
    if event.detail:
        body += f"\n{event.detail}"
    write_enqueue(
        organization=organization,
        candidate_id=event.candidate_id,
        kind=kind,
        dedupe_key=f"event:{event.pk}",
        occurred_at=event.occurred_at,
        events=[event.pk],
        subject=title,
        body=body,
        visibility=rules.note_visibility,
    )


def event_read(*, organization, rules: WritebackRules, event: TimelineEvent) -> None:
    """The outbox row(s) one timeline event makes under ``rules`` (idempotent)."""
    if event.kind == journey_kinds.VIDEO_INTERVIEW_COMPLETED:
        return video_interview_read(organization=organization, rules=rules, event=event)
    if event.kind in BOOKING_KINDS:
        if not rules.bookings:
            return _rule_off(organization, event, WriteKind.BOOKING, "Bookings")
        return _note(organization, rules, event, WriteKind.BOOKING, BOOKING_KINDS[event.kind])
    if event.kind in JOURNEY_KINDS:
        if not rules.journey_events:
            return _rule_off(organization, event, WriteKind.JOURNEY, "Journey events")
        return _note(organization, rules, event, WriteKind.JOURNEY, JOURNEY_KINDS[event.kind])
    message = None
    message_id = (event.data or {}).get("message_id")
    if message_id:
        message = Message.objects.filter(pk=message_id).select_related("candidate").first()
    if message is None:
        return None
    if event.kind == messaging_kinds.MESSAGE_FAILED:
        rule = rules.outbound_texts if message.channel == Channel.SMS else rules.outbound_emails
        label = "Outbound texts" if message.channel == Channel.SMS else "Outbound e-mails"
        if not rule:
            return _rule_off(organization, event, WriteKind.DELIVERY, label)
        return _note(organization, rules, event, WriteKind.DELIVERY, "Message not delivered")
    inbound = event.kind == messaging_kinds.REPLIED
    if inbound:
        first = not Message.objects.filter(
            conversation_id=message.conversation_id,
            direction=Direction.INBOUND,
            pk__lt=message.pk,
        ).exists()
        allowed, label = (
            (rules.first_reply, "First reply") if first else (rules.later_replies, "Later replies")
        )
    elif message.channel == Channel.SMS:
        allowed, label = rules.outbound_texts, "Outbound texts"
    else:
        allowed, label = rules.outbound_emails, "Outbound e-mails"
    kind = WriteKind.REPLY if inbound else (
        WriteKind.TEXTS if message.channel == Channel.SMS else WriteKind.EMAIL
    )  # fmt: skip
    if not allowed:
        return _rule_off(organization, event, kind, label)
    if message.channel == Channel.SMS:
        return _text_line(organization, rules, event, message)
    return _email(organization, rules, event, message, inbound=inbound)


def _email(organization, rules, event, message: Message, *, inbound: bool) -> None:
    candidate = message.candidate
    who = candidate.full_name if candidate else message.from_address
    heading = (
        f"E-mail from {who} — {when_text(organization, event.occurred_at)}"
        if inbound
        else f"E-mail to {who} — {when_text(organization, event.occurred_at)}"
    )
    write_enqueue(
        organization=organization,
        candidate_id=event.candidate_id,
        kind=WriteKind.REPLY if inbound else WriteKind.EMAIL,
        dedupe_key=f"event:{event.pk}",
        occurred_at=event.occurred_at,
        events=[event.pk],
        subject=message.subject or ("Reply" if inbound else "E-mail"),
        body=message.body or heading,
        visibility=rules.note_visibility,
        email_to=message.to_address,
        email_from=message.from_address,
    )


def _text_line(organization, rules, event: TimelineEvent, message: Message) -> None:
    """Add the text to its conversation's note for the batch window (one note per
    conversation per ``text_batch_minutes``); a window already written gets a note of its own
    for a late text."""
    candidate = message.candidate
    name = candidate.full_name if candidate else message.from_address
    moment = event.occurred_at
    if message.direction == Direction.INBOUND:
        line = (
            f"[{when_text(organization, moment)}] {name} ({message.from_address}): {message.body}"
        )
    else:
        line = (
            f"[{when_text(organization, moment)}] To {name} ({message.to_address}): {message.body}"
        )
    minutes = rules.text_batch_minutes
    subject = f"Text conversation with {name}"
    if not minutes:
        write_enqueue(
            organization=organization,
            candidate_id=event.candidate_id,
            kind=WriteKind.TEXTS,
            dedupe_key=f"event:{event.pk}",
            occurred_at=moment,
            events=[event.pk],
            subject=subject,
            body=f"{subject}\n{line}",
            visibility=rules.note_visibility,
            conversation_id=message.conversation_id,
        )
        return
    span = minutes * 60
    window = int(moment.timestamp()) // span
    window_end = datetime.fromtimestamp((window + 1) * span, tz=moment.tzinfo)
    key = f"texts:{message.conversation_id}:{minutes}:{window}"
    with transaction.atomic():
        row = (
            ActivityWrite.objects.select_for_update()
            .defer("data")
            .filter(organization=organization, dedupe_key=key)
            .first()
        )
        if row is None:
            write_enqueue(
                organization=organization,
                candidate_id=event.candidate_id,
                kind=WriteKind.TEXTS,
                dedupe_key=key,
                occurred_at=moment,
                events=[event.pk],
                subject=subject,
                body=f"{subject}\n{line}",
                visibility=rules.note_visibility,
                conversation_id=message.conversation_id,
                due_at=window_end,
            )
            return
        if event.pk in (row.events or []):
            return
        if row.status in (WriteStatus.PENDING, WriteStatus.PAUSED):
            row.events = [*row.events, event.pk]
            row.body = f"{row.body}\n{line}"
            row.save(update_fields=["events", "body", "updated_at"])
            return
    # The window's note is written (or being written): this late text gets its own.
    write_enqueue(
        organization=organization,
        candidate_id=event.candidate_id,
        kind=WriteKind.TEXTS,
        dedupe_key=f"{key}:{event.pk}",
        occurred_at=moment,
        events=[event.pk],
        subject=subject,
        body=f"{subject}\n{line}",
        visibility=rules.note_visibility,
        conversation_id=message.conversation_id,
    )


# --------------------------------------------------------------------------------------------
# Opt-outs
# --------------------------------------------------------------------------------------------


def opt_out_read(*, organization, rules: WritebackRules, entry: OptOutEntry) -> None:
    """An opt-out (or opt-in) of a number: a note on each candidate with that mobile number
    (the one whose text carried the keyword when known)."""
    if entry.message_id and entry.message and entry.message.candidate_id:
        candidate_ids = [entry.message.candidate_id]
    else:
        candidate_ids = list(
            Candidate.objects.filter(mobile_phone=entry.phone, deleted_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:20]
        )
    title = "Opted out of texts" if entry.locked else "Opted back in to texts"
    how = f" (texted {entry.keyword})" if entry.keyword else f" ({entry.get_source_display()})"
    body = f"{title}{how} — {when_text(organization, entry.created_at)}\nNumber: {entry.phone}"
    _opt_out_notes(organization, rules, entry, f"optout:{entry.pk}", candidate_ids, title, body)


# How each e-mail ledger source reads in the ATS note ("Unsubscribed from e-mail (…)").
EMAIL_LOCK_TITLES: dict[str, str] = {
    EmailOptOutSource.UNSUBSCRIBE_LINK: "Unsubscribed from e-mail (link in an e-mail)",
    EmailOptOutSource.ONE_CLICK: "Unsubscribed from e-mail (one-click in their mail app)",
    EmailOptOutSource.PROVIDER_UNSUBSCRIBE: "Unsubscribed from e-mail (reported by the e-mail "
    "provider)",
    EmailOptOutSource.SPAM_REPORT: "Stopped e-mail: marked an e-mail as spam",
    EmailOptOutSource.BOUNCE: "Stopped e-mail: the address bounced",
    EmailOptOutSource.MANUAL: "E-mail locked by a team member",
}


def email_opt_out_read(*, organization, rules: WritebackRules, entry: EmailOptOutEntry) -> None:
    """An opt-out (or opt-in) of an e-mail address: a note on each candidate with that address
    (the one the e-mail that carried the unsubscribe went to, when known)."""
    if entry.message_id and entry.message and entry.message.candidate_id:
        candidate_ids = [entry.message.candidate_id]
    else:
        candidate_ids = list(
            Candidate.objects.filter(primary_email__iexact=entry.email, deleted_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:20]
        )
    if entry.locked:
        title = EMAIL_LOCK_TITLES.get(entry.source, "Unsubscribed from e-mail")
    else:
        title = "Opted back in to e-mail (by a team member)"
    who = ""
    if entry.actor_id and entry.actor:
        who = entry.actor.get_full_name() or entry.actor.email
    body = f"{title} — {when_text(organization, entry.created_at)}\nAddress: {entry.email}"
    if who:
        body += f"\nBy: {who}"
    if entry.detail:
        body += f"\n{'Reason' if not entry.locked else 'Detail'}: {entry.detail}"
    _opt_out_notes(
        organization, rules, entry, f"emailoptout:{entry.pk}", candidate_ids, title, body
    )


def _opt_out_notes(organization, rules, entry, key: str, candidate_ids, title, body) -> None:
    for candidate_id in candidate_ids:
        write_enqueue(
            organization=organization,
            candidate_id=candidate_id,
            kind=WriteKind.OPT_OUT,
            dedupe_key=f"{key}:{candidate_id}",
            occurred_at=entry.created_at,
            subject=title,
            body=body,
            visibility=rules.note_visibility,
            status=WriteStatus.PENDING if rules.opt_outs else WriteStatus.RULE_OFF,
            reason="" if rules.opt_outs else "“Opt-outs” is off",
        )
