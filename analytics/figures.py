"""What one day adds up to: the figures of one organization's day, computed from the domains'
own rows (messages, opt-outs, journey runs and step runs, scheduling requests and bookings,
the timeline). ``day_figures`` is used both by the rollup (for a past day, then stored) and by
the page for today (never stored). It runs a fixed number of queries whatever the volume.

Which row counts on which day (in the organization's time zone):

- sent / delivered / failed: an outbound message on the day it was handed to the provider
  (``sent_at``), or — failed before that — the day it was written. Its *current* status
  counts: a text delivered and later reported failed counts as failed, not delivered.
- replied: an inbound message on the day it arrived; opt-outs: a lock in the ledger.
- Journeys: a run and its funnel (steps reached, how it ended, booked) on the day it started;
  held and skipped steps on the day they were due.
- Scheduling: requests on the day sent, bookings on the day made (time to schedule = booked −
  sent), cancellations on the day cancelled, reschedules on the day moved, expiries on the
  day the link expired unbooked, interviews on the day they take place (once per attendee).
- Responsiveness: the ATS change (the transition as observed) → run start, and → the run's
  first message handed to the provider, on the day the run started, by source.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q

from candidates.models import Application, TimelineEvent
from journeys.models import JourneyRun, StepRun, StepRunStatus
from messaging.models import Direction, Message, MessageStatus, OptOutAction, OptOutEntry
from scheduling.models import BookedSlot, Booking, BookingStatus, RequestStatus, SchedulingRequest

from .histogram import bucket_of

# Metric names, grouped by card.
SENT, DELIVERED, FAILED, REPLIED, OPT_OUTS = "sent", "delivered", "failed", "replied", "opt_outs"
RUNS_ENTERED, STEP_REACHED, RUNS_ENDED, RUNS_BOOKED = (
    "runs_entered",
    "step_reached",
    "runs_ended",
    "runs_booked",
)
STEPS_HELD, STEPS_SKIPPED_OPT_OUT, RUNS_FAILED = (
    "steps_held",
    "steps_skipped_opt_out",
    "runs_failed",
)
REQUESTS_SENT, BOOKED, TIME_TO_SCHEDULE = "requests_sent", "booked", "time_to_schedule"
RESCHEDULES, CANCELLATIONS, EXPIRED, INTERVIEWS = (
    "reschedules",
    "cancellations",
    "expired",
    "interviews",
)
LATENCY_START, LATENCY_FIRST_MESSAGE = "latency_start", "latency_first_message"

# Metrics a card charts per day (the others are read as sums over the period).
DAILY_METRICS = frozenset(
    {SENT, DELIVERED, FAILED, REPLIED, RUNS_ENTERED, STEPS_HELD, STEPS_SKIPPED_OPT_OUT}
    | {RUNS_FAILED, REQUESTS_SENT, BOOKED, INTERVIEWS}
)
# Which filters apply to which metric. A filter a metric has no dimension for leaves it whole
# (the page says so), rather than showing a misleading zero.
MEMBER_METRICS = frozenset(
    {SENT, DELIVERED, FAILED, REPLIED, REQUESTS_SENT, BOOKED, TIME_TO_SCHEDULE}
    | {RESCHEDULES, CANCELLATIONS, EXPIRED, INTERVIEWS}
)
CHANNEL_METRICS = frozenset({SENT, DELIVERED, FAILED, REPLIED, OPT_OUTS})
# Dimensions the organization-total rows keep, because a card breaks the metric down by them.
TOTAL_KEEPS_JOURNEY = frozenset({RUNS_ENTERED, STEP_REACHED, RUNS_ENDED, RUNS_BOOKED, OPT_OUTS})
TOTAL_KEEPS_MEMBER = frozenset({INTERVIEWS})
TOTAL_KEEPS_CHANNEL = frozenset({OPT_OUTS, SENT})

HANDED_OVER = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.READ,
    MessageStatus.OPENED,
    MessageStatus.UNDELIVERED,
    MessageStatus.FAILED,
    MessageStatus.UNKNOWN,
)
DELIVERED_STATUSES = (MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.OPENED)
FAILED_STATUSES = (MessageStatus.FAILED, MessageStatus.UNDELIVERED)
REACHED_STEP = (
    StepRunStatus.RUNNING,
    StepRunStatus.DONE,
    StepRunStatus.HELD,
    StepRunStatus.SKIPPED,
    StepRunStatus.FAILED,
    StepRunStatus.UNKNOWN,
)
OPT_OUT_WORDS = "opted out"
RESCHEDULED_KIND = "rescheduled"
# How far back an opt-out looks for the journey message it answers.
OPT_OUT_LOOKBACK = timedelta(days=30)


@dataclass(frozen=True)
class Figure:
    metric: str
    key: str = ""
    job_id: int | None = None
    journey_id: int | None = None
    channel: str = ""
    member_id: int | None = None
    label: str = ""


def organization_zone(organization) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(organization.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def day_bounds(organization, day: date) -> tuple[datetime, datetime]:
    """The instants a day of the organization's calendar starts and ends (daylight saving
    days are 23 or 25 hours long)."""
    zone = organization_zone(organization)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def _in(field: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


class _JobOf:
    """A candidate's job when a row names none: the job of their latest application."""

    def __init__(self, organization, candidate_ids) -> None:
        latest: dict[int, tuple] = {}
        rows = Application.objects.filter(
            organization=organization, candidate_id__in=set(candidate_ids)
        ).values_list("candidate_id", "job_id", "applied_at", "id")
        for candidate_id, job_id, applied_at, pk in rows:
            rank = (applied_at or datetime.min.replace(tzinfo=zoneinfo.ZoneInfo("UTC")), pk)
            if candidate_id not in latest or rank > latest[candidate_id][0]:
                latest[candidate_id] = (rank, job_id)
        self._jobs = {candidate_id: job for candidate_id, (_, job) in latest.items()}

    def __call__(self, candidate_id) -> int | None:
        return self._jobs.get(candidate_id)


def _journey_messages(organization, message_ids) -> dict[int, tuple[int, int | None]]:
    """message id → (journey id, the run's job id) for messages a journey step sent."""
    rows = StepRun.objects.filter(
        organization=organization, message_id__in=set(message_ids)
    ).values_list("message_id", "run__journey_id", "run__application__job_id")
    return {message_id: (journey_id, job_id) for message_id, journey_id, job_id in rows}


class Days:
    """Figures by day of the organization's calendar."""

    def __init__(self, zone: zoneinfo.ZoneInfo) -> None:
        self.zone = zone
        self.by_day: dict[date, Counter[Figure]] = {}

    def add(self, at: datetime, figure: Figure) -> None:
        day = at.astimezone(self.zone).date()
        self.by_day.setdefault(day, Counter())[figure] += 1


def range_figures(organization, first: date, last: date) -> dict[date, Counter[Figure]]:
    """Every figure of the days ``first`` to ``last`` (included) at the detail grain (one
    count per metric, key and dimension combination present), by day: one set of queries for
    the whole range."""
    start, end = day_bounds(organization, first)[0], day_bounds(organization, last)[1]
    days = Days(organization_zone(organization))
    _messaging(organization, start, end, days)
    _journeys(organization, start, end, days)
    _scheduling(organization, start, end, days)
    return days.by_day


def day_figures(organization, day: date) -> Counter[Figure]:
    """Every figure of ``day`` at the detail grain."""
    return range_figures(organization, day, day).get(day, Counter())


def _messaging(organization, start, end, days: Days) -> None:
    outbound = list(
        Message.objects.filter(organization=organization, direction=Direction.OUTBOUND)
        .filter(
            _in("sent_at", start, end)
            | (Q(sent_at__isnull=True, status__in=FAILED_STATUSES) & _in("created_at", start, end))
        )
        .values_list(
            "id",
            "channel",
            "status",
            "error_code",
            "error_message",
            "sent_by_id",
            "candidate_id",
            "sent_at",
            "created_at",
        )
    )
    inbound = list(
        Message.objects.filter(organization=organization, direction=Direction.INBOUND)
        .filter(_in("created_at", start, end))
        .values_list("id", "channel", "candidate_id", "conversation__assigned_to_id", "created_at")
    )
    opt_outs = list(
        OptOutEntry.objects.filter(organization=organization, action=OptOutAction.LOCK)
        .filter(_in("created_at", start, end))
        .values_list("phone", "created_at")
    )
    # The journey each opt-out answers: the latest outbound text to that number before it.
    phones = {phone for phone, _ in opt_outs}
    texts: dict[str, list[tuple]] = {}
    for message_id, to_address, created_at, candidate_id in Message.objects.filter(
        organization=organization,
        direction=Direction.OUTBOUND,
        channel="sms",
        to_address__in=phones,
        created_at__gte=start - OPT_OUT_LOOKBACK,
        created_at__lt=end,
    ).values_list("id", "to_address", "created_at", "candidate_id"):
        texts.setdefault(to_address, []).append((message_id, created_at, candidate_id))
    last_text: dict[tuple, tuple] = {}
    for phone, opted_out_at in opt_outs:
        before = [text for text in texts.get(phone, ()) if text[1] <= opted_out_at]
        if before:
            last_text[(phone, opted_out_at)] = max(before, key=lambda text: text[1])
    journeys = _journey_messages(
        organization,
        [row[0] for row in outbound] + [row[0] for row in last_text.values()],
    )
    job_of = _JobOf(
        organization,
        [row[6] for row in outbound]
        + [row[2] for row in inbound]
        + [row[2] for row in last_text.values()],
    )
    for row in outbound:
        message_id, channel, status, code, explanation, member_id, candidate_id, sent, created = row
        when = sent or created
        journey_id, job_id = journeys.get(message_id, (None, None))
        dims = {
            "job_id": job_id or job_of(candidate_id),
            "journey_id": journey_id,
            "channel": channel,
            "member_id": member_id,
        }
        if sent is not None and status in HANDED_OVER:
            days.add(when, Figure(SENT, **dims))
        if status in DELIVERED_STATUSES:
            days.add(when, Figure(DELIVERED, **dims))
        elif status in FAILED_STATUSES:
            days.add(when, Figure(FAILED, key=code or "", label=explanation[:300], **dims))
    for _message_id, channel, candidate_id, member_id, created in inbound:
        days.add(
            created,
            Figure(REPLIED, job_id=job_of(candidate_id), channel=channel, member_id=member_id),
        )
    for phone, opted_out_at in opt_outs:
        message_id, _, candidate_id = last_text.get((phone, opted_out_at), (None, None, None))
        journey_id, job_id = journeys.get(message_id, (None, None)) if message_id else (None, None)
        days.add(
            opted_out_at,
            Figure(
                OPT_OUTS,
                job_id=job_id or (job_of(candidate_id) if candidate_id else None),
                journey_id=journey_id,
                channel="sms",
            ),
        )


def _journeys(organization, start, end, days: Days) -> None:
    runs = list(
        JourneyRun.objects.filter(organization=organization)
        .filter(_in("started_at", start, end))
        .values_list(
            "id",
            "journey_id",
            "application__job_id",
            "candidate_id",
            "status",
            "exit_rule",
            "started_at",
            "transition__observed_at",
            "transition__source",
        )
    )
    run_ids = [row[0] for row in runs]
    steps = list(
        StepRun.objects.filter(organization=organization, run_id__in=run_ids).values_list(
            "id", "run_id", "position", "status", "message__sent_at"
        )
    )
    booked_step_runs = set(
        Booking.objects.filter(
            organization=organization, request__step_run_id__in=[row[0] for row in steps]
        ).values_list("request__step_run_id", flat=True)
    )
    job_of = _JobOf(organization, [row[3] for row in runs if row[2] is None])
    reached: dict[int, set[int]] = {}
    first_sent: dict[int, datetime] = {}
    booked_runs: set[int] = set()
    for step_id, run_id, position, status, sent_at in steps:
        if status in REACHED_STEP:
            reached.setdefault(run_id, set()).add(position)
        if sent_at is not None and (run_id not in first_sent or sent_at < first_sent[run_id]):
            first_sent[run_id] = sent_at
        if step_id in booked_step_runs:
            booked_runs.add(run_id)
    for (
        run_id,
        journey_id,
        job_id,
        candidate_id,
        status,
        exit_rule,
        started,
        observed,
        source,
    ) in runs:
        dims = {"job_id": job_id or job_of(candidate_id), "journey_id": journey_id}
        days.add(started, Figure(RUNS_ENTERED, **dims))
        for position in reached.get(run_id, ()):
            days.add(started, Figure(STEP_REACHED, key=str(position), **dims))
        if status != "active":
            ended = exit_rule if status == "exited" and exit_rule else status
            days.add(started, Figure(RUNS_ENDED, key=ended, **dims))
        if status == "failed":
            days.add(started, Figure(RUNS_FAILED, **dims))
        if run_id in booked_runs:
            days.add(started, Figure(RUNS_BOOKED, **dims))
        if observed is not None:
            latency = max(0.0, (started - observed).total_seconds())
            days.add(started, Figure(LATENCY_START, key=f"{source}:{bucket_of(latency)}", **dims))
            if run_id in first_sent:
                latency = max(0.0, (first_sent[run_id] - observed).total_seconds())
                days.add(
                    started,
                    Figure(LATENCY_FIRST_MESSAGE, key=f"{source}:{bucket_of(latency)}", **dims),
                )
    due = StepRun.objects.filter(organization=organization).filter(_in("due_at", start, end))
    for status, held_until, reason, journey_id, job_id, due_at in due.filter(
        Q(held_until__isnull=False)
        | Q(status=StepRunStatus.SKIPPED, reason__icontains=OPT_OUT_WORDS)
    ).values_list(
        "status", "held_until", "reason", "run__journey_id", "run__application__job_id", "due_at"
    ):
        dims = {"job_id": job_id, "journey_id": journey_id}
        if held_until is not None:
            days.add(due_at, Figure(STEPS_HELD, **dims))
        if status == StepRunStatus.SKIPPED and OPT_OUT_WORDS in reason.lower():
            days.add(due_at, Figure(STEPS_SKIPPED_OPT_OUT, **dims))


def _scheduling(organization, start, end, days: Days) -> None:
    requests = list(
        SchedulingRequest.objects.filter(organization=organization)
        .filter(
            _in("created_at", start, end)
            | (Q(status=RequestStatus.EXPIRED) & _in("expires_at", start, end))
        )
        .values_list(
            "id",
            "created_at",
            "status",
            "expires_at",
            "created_by_id",
            "application__job_id",
            "candidate_id",
            "step_run_id",
        )
    )
    bookings = list(
        Booking.objects.filter(organization=organization)
        .filter(
            _in("created_at", start, end)
            | (Q(status=BookingStatus.CANCELLED) & _in("cancelled_at", start, end))
        )
        .values_list(
            "id",
            "created_at",
            "cancelled_at",
            "cancelled_by",
            "status",
            "request__created_at",
            "request__created_by_id",
            "request__application__job_id",
            "candidate_id",
            "request__step_run_id",
        )
    )
    rescheduled = list(
        TimelineEvent.objects.filter(organization=organization, kind=RESCHEDULED_KIND)
        .filter(_in("occurred_at", start, end))
        .values_list("data", "candidate_id", "occurred_at")
    )
    moved_ids = {data.get("booking_id") for data, _, _ in rescheduled if isinstance(data, dict)}
    moved = {
        row[0]: row[1:]
        for row in Booking.objects.filter(organization=organization, pk__in=moved_ids).values_list(
            "id", "request__created_by_id", "request__application__job_id", "request__step_run_id"
        )
    }
    interviews = list(
        BookedSlot.objects.filter(
            organization=organization, active=True, booking__status=BookingStatus.CONFIRMED
        )
        .filter(_in("start", start, end))
        .values_list(
            "user_id",
            "booking__request__application__job_id",
            "booking__candidate_id",
            "booking__request__step_run_id",
            "start",
        )
    )
    step_run_ids = (
        [row[7] for row in requests]
        + [row[9] for row in bookings]
        + [row[3] for row in interviews]
        + [row[2] for row in moved.values()]
    )
    journey_of = dict(
        StepRun.objects.filter(
            organization=organization, pk__in={pk for pk in step_run_ids if pk}
        ).values_list("id", "run__journey_id")
    )
    job_of = _JobOf(
        organization,
        [row[6] for row in requests]
        + [row[8] for row in bookings]
        + [row[2] for row in interviews]
        + [candidate for _, candidate, _ in rescheduled],
    )
    for _pk, created, status, expires, member_id, job_id, candidate_id, step_run_id in requests:
        dims = {
            "job_id": job_id or job_of(candidate_id),
            "journey_id": journey_of.get(step_run_id),
            "member_id": member_id,
        }
        if start <= created < end:
            days.add(created, Figure(REQUESTS_SENT, **dims))
        if status == RequestStatus.EXPIRED and start <= expires < end:
            days.add(expires, Figure(EXPIRED, **dims))
    for row in bookings:
        _pk, created, cancelled_at, by, status, requested, member_id, job_id, candidate, step = row
        dims = {
            "job_id": job_id or job_of(candidate),
            "journey_id": journey_of.get(step),
            "member_id": member_id,
        }
        if start <= created < end:
            days.add(created, Figure(BOOKED, **dims))
            waited = max(0.0, (created - requested).total_seconds())
            days.add(created, Figure(TIME_TO_SCHEDULE, key=str(bucket_of(waited)), **dims))
        if status == BookingStatus.CANCELLED and cancelled_at and start <= cancelled_at < end:
            days.add(cancelled_at, Figure(CANCELLATIONS, key=by or "recruiter", **dims))
    for data, candidate_id, occurred_at in rescheduled:
        booking_id = data.get("booking_id") if isinstance(data, dict) else None
        member_id, job_id, step = moved.get(booking_id, (None, None, None))
        # Only the candidate's booking page moves an interview.
        days.add(
            occurred_at,
            Figure(
                RESCHEDULES,
                key="candidate",
                job_id=job_id or job_of(candidate_id),
                journey_id=journey_of.get(step),
                member_id=member_id,
            ),
        )
    for user_id, job_id, candidate_id, step, interview_start in interviews:
        days.add(
            interview_start,
            Figure(
                INTERVIEWS,
                job_id=job_id or job_of(candidate_id),
                journey_id=journey_of.get(step),
                member_id=user_id,
            ),
        )


def total_figures(detail: Counter[Figure]) -> Counter[Figure]:
    """The organization-total grain: dimensions summed away except those a card breaks the
    metric down by."""
    totals: Counter[Figure] = Counter()
    for figure, value in detail.items():
        totals[
            Figure(
                figure.metric,
                key=figure.key,
                label=figure.label,
                journey_id=figure.journey_id if figure.metric in TOTAL_KEEPS_JOURNEY else None,
                member_id=figure.member_id if figure.metric in TOTAL_KEEPS_MEMBER else None,
                channel=figure.channel if figure.metric in TOTAL_KEEPS_CHANNEL else "",
            )
        ] += value
    return totals
