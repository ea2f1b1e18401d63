"""The rows of the demo history (see :mod:`analytics.demo`): what one candidate's move into
"Onsite Interview" leads to, written with bulk inserts in dependency order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import models

from accounts.models import Membership, Role
from candidates.models import Application, Stage, StageTransition, TimelineEvent
from journeys.demo import DEMO_JOURNEY_NAME
from journeys.models import Journey, JourneyRun, StepRun
from journeys.timeline_kinds import BOOKED, JOURNEY_ENTERED
from messaging.models import Conversation, Message, OptOutEntry
from messaging.timeline_kinds import MESSAGE_SENT, REPLIED
from scheduling.demo import DEMO_SCHEDULING_TEMPLATE
from scheduling.models import BookedSlot, Booking, SchedulingRequest, SchedulingTemplate
from scheduling.timeline_kinds import BOOKING_CANCELLED, RESCHEDULED

from .figures import organization_zone

HISTORY_TAG = "demo-history"
STAGES = ["Application Review", "Phone Interview", "Onsite Interview", "Offer"]
TRIGGER_STAGE = "Onsite Interview"
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


def _stage_paths(h: History) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for job_id, name in (
        Stage.objects.filter(organization=h.org, job__isnull=False)
        .order_by("job_id", "position")
        .values_list("job_id", "name")
    ):
        names.setdefault(job_id, []).append(name)
    return names


def write_history(h: History) -> None:
    rng, org, now = h.rng, h.org, h.now
    applications = list(
        Application.objects.filter(organization=h.org, deleted_at__isnull=True, job__isnull=False)
        .select_related("candidate", "job")
        .order_by("id")[:240]
    )
    paths = _stage_paths(h)
    journey_jobs = set(h.journey.current_version.job_ids or []) if h.journey else set()
    # Stage changes: each application moves one to three stages along its job, on days of
    # the last ``days``; a third of the Sales Rep ones reach "Onsite Interview".
    transitions: list[StageTransition] = []
    for n, application in enumerate(applications):
        stages = paths.get(application.job_id) or STAGES
        moves = rng.randint(1, min(3, len(stages) - 1))
        start = rng.randint(0, max(0, len(stages) - 1 - moves))
        if TRIGGER_STAGE in stages and rng.random() < 0.55:
            target = stages.index(TRIGGER_STAGE)
            start = max(0, target - moves)
            moves = target - start
        moment = now - timedelta(days=rng.uniform(2, h.days - 1))
        for step in range(moves):
            moment = h.at(moment + timedelta(hours=rng.uniform(2, 96)))
            webhook = rng.random() < 0.8
            transitions.append(
                StageTransition(
                    organization=org,
                    provider=application.provider,
                    application=application,
                    candidate=application.candidate,
                    job=application.job,
                    from_stage_name=stages[start + step],
                    to_stage_name=stages[start + step + 1],
                    to_status="active",
                    observed_at=moment,
                    source="webhook" if webhook else "poll",
                    provider_event_id=f"{HISTORY_TAG}-{n}-{step}",
                )
            )
    StageTransition.objects.bulk_create(transitions)
    h.counts.transitions = len(transitions)
    conversations = {c.candidate_id: c for c in Conversation.objects.filter(organization=org)}
    missing = {t.candidate_id: t.candidate for t in transitions}.keys() - conversations.keys()
    for conversation in Conversation.objects.bulk_create(
        Conversation(organization=org, candidate_id=pk, created_at=now - timedelta(days=h.days))
        for pk in missing
    ):
        conversations[conversation.candidate_id] = conversation
    rows = _Rows()
    for transition in transitions:
        in_journey = (
            h.journey is not None
            and transition.to_stage_name == TRIGGER_STAGE
            and (not journey_jobs or transition.job_id in journey_jobs)
        )
        if in_journey:
            _run(h, rows, transition, conversations[transition.candidate_id])
        elif rng.random() < 0.35 and h.user is not None:
            _recruiter_message(h, rows, transition, conversations[transition.candidate_id])
    rows.save(h)
    Conversation.objects.bulk_update(list(conversations.values()), ["last_message_at"])


class _Rows:
    """Rows waiting for their insert, with the links between them kept as Python objects."""

    def __init__(self) -> None:
        self.runs: list[JourneyRun] = []
        self.messages: list[Message] = []
        self.step_runs: list[tuple[StepRun, Message | None]] = []
        self.requests: list[tuple[SchedulingRequest, StepRun]] = []
        self.bookings: list[tuple[Booking, SchedulingRequest]] = []
        self.events: list[TimelineEvent] = []
        self.opt_outs: list[tuple[OptOutEntry, Message]] = []

    def save(self, h: History) -> None:
        JourneyRun.objects.bulk_create(self.runs)
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
        for event in self.events:
            moved = getattr(event, "_booking", None)
            if moved is not None:
                event.data = {**event.data, "booking_id": moved.pk}
        TimelineEvent.objects.bulk_create(self.events, batch_size=500)
        h.counts.runs = len(self.runs)
        h.counts.messages = len(self.messages)
        h.counts.bookings = len(self.bookings)


def _message(h, rows, conversation, candidate, *, channel, at, body, by=None, inbound=False):
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
        subject="" if channel == "sms" else "Your interview with us",
        status=status,
        provider="sandbox",
        error_code=code,
        error_message=explanation,
        sent_by=by,
        source="" if inbound else ("journey" if by is None else "inbox"),
        segments=1 if channel == "sms" else 0,
        created_at=at,
        sent_at=None if inbound else at,
        delivered_at=at + timedelta(seconds=4) if status in ("delivered", "opened") else None,
        status_updated_at=at + timedelta(seconds=4),
    )
    rows.messages.append(message)
    rows.events.append(
        TimelineEvent(
            organization=h.org,
            candidate=candidate,
            kind=REPLIED if inbound else MESSAGE_SENT,
            summary=(
                f"Replied: {body}"
                if inbound
                else f"{'Text' if channel == 'sms' else 'E-mail'} sent"
            )[:500],
            occurred_at=at,
        )
    )
    if conversation.last_message_at is None or at > conversation.last_message_at:
        conversation.last_message_at = at
    return message


def _recruiter_message(h, rows, transition, conversation) -> None:
    at = h.at(transition.observed_at + timedelta(minutes=h.rng.uniform(10, 600)))
    channel = "email" if h.rng.random() < 0.6 else "sms"
    _message(
        h,
        rows,
        conversation,
        transition.candidate,
        channel=channel,
        at=at,
        body=f"Thanks for your time — next up: {transition.to_stage_name}.",
        by=h.user.user,
    )
    if h.rng.random() < 0.3:
        _message(
            h,
            rows,
            conversation,
            transition.candidate,
            channel=channel,
            at=h.at(at + timedelta(hours=h.rng.uniform(0.2, 20))),
            body="Thank you! Looking forward to it.",
            inbound=True,
        )


def _run(h: History, rows: _Rows, transition, conversation) -> None:
    rng = h.rng
    candidate = transition.candidate
    webhook = transition.source == "webhook"
    started = h.at(
        transition.observed_at
        + timedelta(seconds=rng.uniform(0.3, 1.8) if webhook else rng.uniform(15, 800))
    )
    run = JourneyRun(
        organization=h.org,
        journey=h.journey,
        version=h.journey.current_version,
        transition=transition,
        application=transition.application,
        candidate=candidate,
        status="completed",
        started_at=started,
    )
    rows.runs.append(run)
    rows.events.append(
        TimelineEvent(
            organization=h.org,
            candidate=candidate,
            kind=JOURNEY_ENTERED,
            summary=f"Entered the journey “{h.journey.name}”",
            occurred_at=started,
        )
    )
    moment = started
    opted_out = False
    for step in h.steps:
        step_run = StepRun(
            organization=h.org,
            run=run,
            step=step,
            position=step.position,
            status="done",
            due_at=moment,
            started_at=moment,
        )
        message = None
        if opted_out:
            step_run.status = "canceled"
            rows.step_runs.append((step_run, None))
            continue
        if step.kind in ("send_sms", "send_email"):
            channel = "sms" if step.kind == "send_sms" else "email"
            send_at = moment + timedelta(seconds=rng.uniform(0.2, 1.2))
            if channel == "sms" and rng.random() < 0.12:
                # Outside the candidate's sending window: held until the next morning.
                local = send_at.astimezone(h.zone)
                opens = datetime.combine(local.date() + timedelta(days=1), time(8, 0))
                step_run.held_until = opens.replace(tzinfo=h.zone)
                send_at = step_run.held_until
            if send_at >= h.now:
                step_run.status, step_run.started_at = "pending", None
                run.status = "active"
                rows.step_runs.append((step_run, None))
                break
            message = _message(
                h,
                rows,
                conversation,
                candidate,
                channel=channel,
                at=send_at,
                body="Hi! We'd love to invite you to an onsite interview.",
            )
            step_run.finished_at = send_at
            if message.status in ("failed", "undelivered"):
                step_run.status = "done"
            if channel == "sms" and rng.random() < 0.33:
                reply_at = send_at + timedelta(minutes=rng.uniform(3, 900))
                if reply_at < h.now:
                    stop = rng.random() < 0.08
                    reply = _message(
                        h,
                        rows,
                        conversation,
                        candidate,
                        channel="sms",
                        at=reply_at,
                        body="STOP" if stop else "Sounds great, thanks!",
                        inbound=True,
                    )
                    if stop:
                        rows.opt_outs.append(
                            (
                                OptOutEntry(
                                    organization=h.org,
                                    phone=candidate.mobile_phone,
                                    locked=True,
                                    action="lock",
                                    source="keyword",
                                    keyword="STOP",
                                    created_at=reply_at,
                                ),
                                reply,
                            )
                        )
                        run.status, run.exit_rule = "exited", "opted_out"
                        run.reason = "Candidate opted out of texts"
                        run.finished_at = reply_at
                        opted_out = True
            moment = send_at
        elif step.kind == "send_scheduling_request" and h.template is not None:
            created = moment + timedelta(seconds=rng.uniform(0.5, 2))
            _request(h, rows, step_run, candidate, transition, created)
        rows.step_runs.append((step_run, message))
    if run.status == "completed":
        run.finished_at = moment


def _request(h: History, rows: _Rows, step_run, candidate, transition, created) -> None:
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
            candidate_time_zone=candidate.time_zone or "UTC",
        )
        rows.bookings.append((booking, request))
        rows.events.append(
            TimelineEvent(
                organization=h.org,
                candidate=candidate,
                kind=BOOKED,
                summary=f"Booked {booking.title}",
                occurred_at=booked_at,
            )
        )
        later = booked_at + timedelta(hours=rng.uniform(1, 30))
        if rng.random() < 0.1 and later < h.now:
            booking.reschedule_count, booking.sequence = 1, 1
            booking.start = h.business_slot(later)
            booking.end = booking.start + timedelta(minutes=h.template.duration_minutes)
            event = TimelineEvent(
                organization=h.org,
                candidate=candidate,
                kind=RESCHEDULED,
                summary=f"Rescheduled {booking.title}",
                occurred_at=later,
            )
            event._booking = booking  # type: ignore[attr-defined]
            rows.events.append(event)
        elif rng.random() < 0.08 and later < h.now:
            request.status = "cancelled"
            booking.status, booking.cancelled_at = "cancelled", later
            booking.cancelled_by = rng.choice(["candidate", "interviewer"])
            rows.events.append(
                TimelineEvent(
                    organization=h.org,
                    candidate=candidate,
                    kind=BOOKING_CANCELLED,
                    summary=f"Cancelled {booking.title}",
                    occurred_at=later,
                )
            )
    elif chance < 0.8 and request.expires_at < h.now:
        request.status = "expired"
