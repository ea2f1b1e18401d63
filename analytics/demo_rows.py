"""The rows of the demo history (see :mod:`analytics.demo`): the generator's state, the rows
waiting for their insert (written with bulk inserts in dependency order), messages with their
delivery outcomes, the recruiters' own messages, scheduling requests and their bookings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import models

from accounts.models import Membership, Role
from candidates.models import TimelineEvent
from journeys.demo import DEMO_JOURNEY_NAME
from journeys.models import Journey, JourneyRun, StepRun
from journeys.timeline_kinds import BOOKED
from messaging.models import Message, OptOutEntry
from messaging.timeline_kinds import MESSAGE_FAILED, MESSAGE_SENT, REPLIED
from scheduling.demo import DEMO_SCHEDULING_TEMPLATE
from scheduling.models import BookedSlot, Booking, SchedulingRequest, SchedulingTemplate
from scheduling.timeline_kinds import BOOKING_CANCELLED, RESCHEDULED
from scheduling.words import when_short

from .demo_stages import office_moment
from .figures import organization_zone

HISTORY_TAG = "demo-history"
STAGES = ["Application Review", "Phone Interview", "Onsite Interview", "Offer"]
MIRROR_JOBS = [
    ("Sales Rep", "New York", "Sales"),
    ("Customer Success Manager", "London", "Customer Success"),
]
FIRST = ["Olivia", "Liam", "Priya", "Noah", "Mei", "Omar", "Chloe", "Jonas", "Amara", "Diego"]
LAST = ["Smith", "Okafor", "Patel", "Chen", "Murphy", "Larsen", "Rossi", "Nguyen", "Kim", "Shah"]
TEXT_FAILURES = [
    ("undelivered", "30003", "The phone was switched off or out of coverage"),
    ("undelivered", "30005", "The number does not exist or is no longer in service."),
    ("undelivered", "30007", "Filtered by the carrier as spam"),
    ("failed", "30006", "Landline or unreachable carrier"),
]


@dataclass
class HistoryCounts:
    transitions: int = 0
    runs: int = 0
    messages: int = 0
    bookings: int = 0
    events: int = 0


@contextmanager
def timestamps_kept(*model_classes) -> Iterator[None]:
    """bulk_create with the history's own times: auto_now(_add) fields keep the given value."""
    fields = [
        f
        for model in model_classes
        for f in model._meta.concrete_fields
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


class History:
    """The generator: collects rows, then inserts them in dependency order."""

    def __init__(self, organization, now, rng, days) -> None:
        self.org = organization
        self.now = now
        self.rng = rng
        self.days = days
        self.zone = organization_zone(organization)
        self.user = (
            Membership.objects.filter(organization=organization, role=Role.OWNER)
            .select_related("user")
            .order_by("id")
            .first()
        )
        self.journey = (
            Journey.objects.filter(organization=organization, name=DEMO_JOURNEY_NAME)
            .select_related("current_version")
            .first()
        )
        self.steps = (
            list(self.journey.current_version.steps.order_by("position"))
            if self.journey and self.journey.current_version
            else []
        )
        self.template = SchedulingTemplate.objects.filter(
            organization=organization, name=DEMO_SCHEDULING_TEMPLATE
        ).first()
        self.used_slots: set[datetime] = set()
        self.opted_out: dict[str, datetime] = {}  # phone → when it texted STOP
        self.counts = HistoryCounts()

    def at(self, moment: datetime) -> datetime:
        return min(moment, self.now - timedelta(seconds=1))

    def business_slot(self, after: datetime) -> datetime:
        """A free half-hour interview slot on a weekday between 9:00 and 17:00 local time."""
        for _ in range(50):
            day = (after + timedelta(days=self.rng.randint(1, 6))).astimezone(self.zone).date()
            if day.weekday() >= 5:
                continue
            local = datetime.combine(day, time(self.rng.randint(9, 16), self.rng.choice([0, 30])))
            start = local.replace(tzinfo=self.zone)
            if start not in self.used_slots:
                self.used_slots.add(start)
                return start
        return after + timedelta(days=30, minutes=len(self.used_slots) * 30)


class Rows:
    """Rows waiting for their insert, with the links between them kept as Python objects."""

    def __init__(self) -> None:
        self.runs: list[JourneyRun] = []
        self.messages: list[Message] = []
        self.step_runs: list[tuple[StepRun, Message | None]] = []
        self.requests: list[tuple[SchedulingRequest, StepRun]] = []
        self.bookings: list[tuple[Booking, SchedulingRequest]] = []
        self.events: list[tuple[TimelineEvent, dict]] = []
        self.opt_outs: list[tuple[OptOutEntry, Message]] = []

    def event(self, event: TimelineEvent, **links) -> None:
        """A timeline entry; ``links``: data keys (``message_id`` …) → rows inserted later."""
        self.events.append((event, links))

    def save(self, h: History) -> None:
        JourneyRun.objects.bulk_create(self.runs, batch_size=500)
        Message.objects.bulk_create(self.messages, batch_size=500)
        for step_run, message in self.step_runs:
            step_run.run_id = step_run.run.pk
            step_run.message = message
        StepRun.objects.bulk_create([s for s, _ in self.step_runs], batch_size=500)
        for request, step_run in self.requests:
            request.step_run_id = step_run.pk if step_run else None
        SchedulingRequest.objects.bulk_create([r for r, _ in self.requests])
        for booking, request in self.bookings:
            booking.request = request
        Booking.objects.bulk_create([b for b, _ in self.bookings])
        BookedSlot.objects.bulk_create(
            BookedSlot(
                organization=h.org,
                booking=booking,
                user_id=user_id,
                start=booking.start,
                end=booking.end,
                active=booking.status == "confirmed",
            )
            for booking, _ in self.bookings
            for user_id in booking.attendee_ids
        )
        for entry, message in self.opt_outs:
            entry.message = message
        OptOutEntry.objects.bulk_create([e for e, _ in self.opt_outs])
        for event, links in self.events:
            if links:
                event.data = {**event.data, **{key: row.pk for key, row in links.items()}}
        TimelineEvent.objects.bulk_create([e for e, _ in self.events], batch_size=500)
        h.counts.runs = len(self.runs)
        h.counts.messages = len(self.messages)
        h.counts.bookings = len(self.bookings)
        h.counts.events = len(self.events)


def message_add(
    h,
    rows,
    conversation,
    candidate,
    *,
    channel,
    at,
    body,
    subject="",
    by=None,
    inbound=False,
    source="",
):
    """A text or e-mail with its delivery outcome (a few fail), and its timeline entry."""
    rng = h.rng
    status, code, explanation = ("delivered", "", "")
    if inbound:
        status = "received"
    elif channel == "sms" and rng.random() < 0.07:
        status, code, explanation = rng.choice(TEXT_FAILURES)
    elif channel == "email" and rng.random() < 0.03:
        status, code, explanation = ("failed", "bounce", "The mailbox does not exist (bounced).")
    elif channel == "email" and rng.random() < 0.4:
        status = "opened"
    message = Message(
        organization=h.org,
        conversation=conversation,
        candidate=candidate,
        channel=channel,
        direction="inbound" if inbound else "outbound",
        to_address=(candidate.mobile_phone if channel == "sms" else candidate.primary_email)
        if not inbound
        else "+12125550100",
        from_address=candidate.mobile_phone if inbound else "",
        body=body,
        subject="" if channel == "sms" else (subject or "Your application"),
        status=status,
        provider="sandbox",
        error_code=code,
        error_message=explanation,
        sent_by=by,
        source="" if inbound else (source or ("journey" if by is None else "inbox")),
        segments=1 if channel == "sms" else 0,
        created_at=at,
        sent_at=None if inbound else at,
        delivered_at=at + timedelta(seconds=4) if status in ("delivered", "opened") else None,
        status_updated_at=at + timedelta(seconds=4),
    )
    rows.messages.append(message)
    label = "Text" if channel == "sms" else "E-mail"
    if inbound:
        rows.event(
            TimelineEvent(
                organization=h.org,
                candidate=candidate,
                kind=REPLIED,
                summary=f"Replied by text: {body}"[:500],
                data={"channel": channel},
                occurred_at=at,
            ),
            message_id=message,
        )
    else:
        rows.event(
            TimelineEvent(
                organization=h.org,
                candidate=candidate,
                kind=MESSAGE_SENT,
                summary=f"{label} sent: {message.subject or body}"[:500],
                data={"channel": channel, "source": message.source},
                occurred_at=at,
            ),
            message_id=message,
        )
    if status in ("failed", "undelivered"):
        rows.event(
            TimelineEvent(
                organization=h.org,
                candidate=candidate,
                kind=MESSAGE_FAILED,
                summary=f"{label} not delivered: {explanation}"[:500],
                data={"channel": channel},
                occurred_at=at + timedelta(seconds=4),
            ),
            message_id=message,
        )
    if conversation.last_message_at is None or at > conversation.last_message_at:
        conversation.last_message_at = at
    return message


def recruiter_message(h, rows, transition, conversation) -> None:
    """A recruiter's own message about a stage change, in office hours; sometimes answered."""
    seen = transition.observed_at
    at = office_moment(
        h.rng, h.zone, seen + timedelta(minutes=10), min(h.now, seen + timedelta(days=2))
    ) or h.at(seen + timedelta(minutes=h.rng.uniform(10, 240)))
    channel = "email" if h.rng.random() < 0.6 else "sms"
    phone = transition.candidate.mobile_phone
    if channel == "sms" and (not phone or h.opted_out.get(phone, at) < at):
        channel = "email"  # they texted STOP earlier: the Inbox would refuse a text
    stage = transition.to_stage_name
    message_add(
        h,
        rows,
        conversation,
        transition.candidate,
        channel=channel,
        at=at,
        body=f"Hi {transition.candidate.first_name or 'there'}, thanks for your time — "
        f"next up: {stage}.",
        subject=f"Next step: {stage}",
        by=h.user.user,
    )
    if channel == "sms" and h.rng.random() < 0.3:
        message_add(
            h,
            rows,
            conversation,
            transition.candidate,
            channel=channel,
            at=h.at(at + timedelta(hours=h.rng.uniform(0.2, 20))),
            body="Thank you! Looking forward to it.",
            inbound=True,
        )


def scheduling_request_add(h: History, rows: Rows, step_run, candidate, transition, created):
    """A scheduling request sent by the journey; most are booked, a few moved or cancelled."""
    rng = h.rng
    request = SchedulingRequest(
        organization=h.org,
        template=h.template,
        candidate=candidate,
        application=transition.application,
        source="journey",
        status="pending",
        created_at=created,
        updated_at=created,
        expires_at=created + timedelta(days=7),
    )
    rows.requests.append((request, step_run))
    chance = rng.random()
    if chance < 0.62:
        booked_at = h.at(created + timedelta(hours=rng.lognormvariate(2.3, 1.0)))
        start = h.business_slot(booked_at)
        request.status = "booked"
        zone = candidate.time_zone or h.zone.key
        booking = Booking(
            organization=h.org,
            template=h.template,
            candidate=candidate,
            start=start,
            end=start + timedelta(minutes=h.template.duration_minutes),
            title=f"Onsite interview · {candidate.full_name}",
            status="confirmed",
            attendee_ids=[h.user.user_id] if h.user else [],
            created_at=booked_at,
            updated_at=booked_at,
            candidate_time_zone=zone,
        )
        rows.bookings.append((booking, request))
        rows.event(
            TimelineEvent(
                organization=h.org,
                candidate=candidate,
                application=transition.application,
                kind=BOOKED,
                summary=f"Booked {booking.title} for {when_short(booking.start, booking.end, zone)}",
                data={"start": booking.start.isoformat(), "end": booking.end.isoformat()},
                occurred_at=booked_at,
            ),
            booking_id=booking,
            request_id=request,
        )
        later = booked_at + timedelta(hours=rng.uniform(1, 30))
        if rng.random() < 0.1 and later < h.now:
            old = when_short(booking.start, booking.end, zone)
            booking.reschedule_count, booking.sequence = 1, 1
            booking.start = h.business_slot(later)
            booking.end = booking.start + timedelta(minutes=h.template.duration_minutes)
            rows.event(
                TimelineEvent(
                    organization=h.org,
                    candidate=candidate,
                    application=transition.application,
                    kind=RESCHEDULED,
                    summary=f"Rescheduled {booking.title} from {old} to "
                    f"{when_short(booking.start, booking.end, zone)}",
                    occurred_at=later,
                ),
                booking_id=booking,
                request_id=request,
            )
        elif rng.random() < 0.12 and later < min(h.now, booking.start):
            request.status = "cancelled"
            booking.status, booking.cancelled_at = "cancelled", later
            booking.cancelled_by = rng.choice(["candidate", "interviewer"])
            who = "The candidate" if booking.cancelled_by == "candidate" else "A team member"
            rows.event(
                TimelineEvent(
                    organization=h.org,
                    candidate=candidate,
                    application=transition.application,
                    kind=BOOKING_CANCELLED,
                    summary=f"{who} cancelled {booking.title} "
                    f"({when_short(booking.start, booking.end, zone)})",
                    data={"cancelled_by": booking.cancelled_by},
                    occurred_at=later,
                ),
                booking_id=booking,
                request_id=request,
            )
    elif chance < 0.8 and request.expires_at < h.now:
        request.status = "expired"
    return request
