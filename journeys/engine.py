"""The Journeys engine: matching stage transitions to journeys, runs, steps and exit rules.

How a candidate goes through a journey:

1. **Matching** (:func:`transitions_match`). The ATS mirror writes StageTransition rows and,
   after its transaction commits, sends the task ``journeys.match_transitions`` by name
   (candidates never imports journeys). Each transition yields trigger kinds (entered a stage,
   application created, rejected, hired); the trigger index (JourneyTriggerKey: organization,
   trigger, lower-cased stage name or "" for any stage) is read with one query per batch, the
   remaining criteria are checked in memory, and JourneyRun rows are inserted with
   ``ignore_conflicts`` on (journey, transition): a transition that arrives twice (webhook and
   poll, or the safety sweep) starts one run. Matching of one organization is serialized on its
   MatchCursor row, so "which runs did this call create" is exact.
2. **Exit rules on ATS changes** are applied in the same call: a later transition of the same
   application that leaves the run's trigger stage, rejects or hires cancels the pending steps of
   active runs whose journey has that rule, at once.
3. **Steps** are StepRun rows created one at a time: the first right away (and executed right
   after commit: by the ``journeys.match_transitions`` task itself when it started a few, as a
   webhook's stage change does, else through ``journeys.run_steps`` tasks in chunks; the
   dispatcher runs any left pending), each next one when its predecessor
   finishes, with ``due_at`` = when it may run (a wait's row is due when the wait ends). First
   steps are claimed and loaded in batches (:func:`step_runs_execute`); due rows are claimed by
   the dispatcher with ``select_for_update(skip_locked=True)`` and a conditional
   UPDATE pending → running that commits before the step does anything.
4. **At most once toward a candidate.** A send step renders its Library template and calls
   ``messaging.services.message_send`` with the idempotency key ``journey-step:<id>``; the outbox
   row is the record of the send. A step found ``running`` after
   ``JOURNEYS_STEP_TIMEOUT_SECONDS`` lost its worker: a send step is run again (the key makes
   the second run find the first message, so nothing goes out twice) up to
   ``MAX_STEP_ATTEMPTS`` times; another step that contacts the candidate becomes ``unknown``
   (the run stops there); one that does not (wait, condition) is simply retried. A step follows
   its message: when the provider settles it, the step (and the timeline) say what happened.
5. **Exit rules on candidate events** (replied, booked, opted out): checked before every step,
   and a sweep on each dispatcher tick reads new "replied"/"booked" timeline events and opt-out
   locks since the last tick and cancels the matching runs at once.

Step kinds are handled by a registry (``journeys.registry.STEP_HANDLERS``). A higher app
(scheduling, video interviews) plugs a whole step kind in with ``register_step_kind``: its runner, what the
builder offers to choose from, how a step reads, and what stops a journey using it from being
activated (``STEP_KINDS``). Journeys never imports those apps; a kind nobody registered is
refused by ``journey_activate``.

This module holds matching, runs and step execution; the triggers, criteria and match cursor
are in ``journeys.triggers``, the step-kind registry and the run's timeline entries in
``journeys.registry``, the built-in step kinds in ``journeys.steps``, the exit rules in
``journeys.exits``, the beat sweeps in ``journeys.dispatcher`` and the Celery tasks in
``journeys.tasks`` (queued from here by name, so this module never imports them).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from candidates.models import (
    Job,
    StageTransition,
    TimelineEvent,
)
from journeys import exits, timeline_kinds
from journeys.models import (
    JourneyRun,
    JourneyStep,
    JourneyTriggerKey,
    JourneyVersion,
    RunStatus,
    StepKind,
    StepRun,
    StepRunStatus,
)
from journeys.registry import STEP_HANDLERS, StepContext, StepOutcome, run_event, write_events
from journeys.services import stage_key
from journeys.triggers import (
    ANY_JOB,
    chunked,
    criteria_match,
    id_strings,
    job_relations,
    lock_cursor,
    transition_triggers,
    trigger_reason,
)
from messaging.selectors import candidate_time_zone
from recruitflow.tasks import task_named

logger = logging.getLogger(__name__)


MATCH_BATCH = 500
# How many times a step whose worker died is run again before it is declared "unknown".
MAX_STEP_ATTEMPTS = 3
RUN_STEPS_CHUNK = 50
# First steps claimed and loaded together (as small as the dispatcher's batches: a claimed row
# counts as running from its claim, so a batch must finish well within the step timeout).
EXECUTE_BATCH = 25
# The longest chain of steps one call executes back to back (a journey has at most 50 steps).
MAX_CHAIN = 60


def step_timeout() -> timedelta:
    return timedelta(seconds=getattr(settings, "JOURNEYS_STEP_TIMEOUT_SECONDS", 120))


# --------------------------------------------------------------------------------------------
# Waits
# --------------------------------------------------------------------------------------------


def wait_end(base: datetime, config: dict, *, zone: str | None) -> datetime:
    """When a wait that starts at ``base`` ends: after a duration, or at the next chosen weekday
    and time in ``zone`` (the candidate's)."""
    if config.get("mode", "duration") == "until":
        hours, _, minutes = str(config.get("time") or "09:00").partition(":")
        at = time(int(hours), int(minutes or 0))
        weekdays = {int(d) for d in config.get("weekdays") or range(7)}
        tz = ZoneInfo(zone or "UTC")
        local = base.astimezone(tz)
        for offset in range(0, 8):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in weekdays:
                continue
            moment = datetime.combine(day, at, tzinfo=tz).astimezone(ZoneInfo("UTC"))
            if moment > base:
                return moment
        return base + timedelta(days=7)
    return base + timedelta(
        days=int(config.get("days") or 0),
        hours=int(config.get("hours") or 0),
        minutes=int(config.get("minutes") or 0),
    )


def _zone_for(organization, candidate) -> str:
    return candidate_time_zone(organization=organization, candidate=candidate).zone


def _due_at(organization, step: JourneyStep, base: datetime, candidate) -> datetime:
    if step.kind != StepKind.WAIT:
        return base
    zone = _zone_for(organization, candidate) if step.config.get("mode") == "until" else None
    return wait_end(base, step.config, zone=zone)


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


@dataclass
class MatchResult:
    transitions: int = 0
    runs_created: int = 0
    runs_exited: int = 0
    first_steps: list[int] = field(default_factory=list)

    def add(self, other: MatchResult) -> None:
        self.transitions += other.transitions
        self.runs_created += other.runs_created
        self.runs_exited += other.runs_exited
        self.first_steps.extend(other.first_steps)


def transitions_match(
    *, organization, transition_ids: Iterable[int], queue_first_steps: bool = True
) -> MatchResult:
    """Match stage transitions against the organization's active journeys: start at most one
    run per (journey, transition), apply the exit rules the transitions fire, and queue the new
    runs' first steps to run right after commit (``queue_first_steps=False``: the caller runs
    ``result.first_steps`` itself once this returned; the dispatcher runs any it does not).
    Safe to call again with the same ids."""
    ids = sorted({int(i) for i in transition_ids})
    result = MatchResult()
    for chunk in chunked(ids, MATCH_BATCH):
        with transaction.atomic():
            lock_cursor(organization)
            transitions = list(
                StageTransition.objects.filter(pk__in=chunk)
                .select_related("application", "candidate")
                .order_by("pk")
            )
            # Exits first: they concern runs started by earlier transitions, and the runs this
            # batch starts need not be read back for them.
            exited = exits.exit_on_transitions(organization, transitions)
            batch = _match_batch(organization, transitions, queue_first_steps=queue_first_steps)
            batch.runs_exited += exited
            batch.transitions = len(transitions)
        result.add(batch)
    return result


def _match_batch(
    organization, transitions: list[StageTransition], *, queue_first_steps: bool = True
) -> MatchResult:
    fired = {t.pk: transition_triggers(t) for t in transitions}
    triggers = {trigger for kinds in fired.values() for trigger in kinds}
    if not triggers:
        return MatchResult()
    keys = {stage_key(t.to_stage_name) for t in transitions} | {""}
    # (trigger, stage key) → job id (or ANY_JOB) → versions: a transition is checked only
    # against the journeys of its trigger, its stage and its job.
    index: dict[tuple[str, str], dict[str, list[JourneyVersion]]] = defaultdict(
        lambda: defaultdict(list)
    )
    versions: dict[int, JourneyVersion] = {}
    for key in JourneyTriggerKey.objects.filter(
        trigger__in=triggers, stage_key__in=keys, version__journey__is_active=True
    ).select_related("version__journey"):
        version = key.version
        if version.journey.current_version_id != version.pk:
            continue
        versions[version.pk] = version
        for job in id_strings(version.job_ids) or {ANY_JOB}:
            index[(key.trigger, key.stage_key)][job].append(version)
    if not index:
        return MatchResult()
    job_offices, job_departments = job_relations(
        (t.job_id or t.application.job_id for t in transitions),
        offices=any(v.office_ids for v in versions.values()),
        departments=any(v.department_ids for v in versions.values()),
    )
    wanted: list[tuple[JourneyVersion, StageTransition, str]] = []
    for t in transitions:
        application, candidate = t.application, t.candidate
        if application.deleted_at or candidate.deleted_at:
            continue
        seen = set()
        job = str(t.job_id or application.job_id)
        for trigger in fired[t.pk]:
            for key in (stage_key(t.to_stage_name), ""):
                by_job = index.get((trigger, key))
                if not by_job:
                    continue
                for version in (*by_job.get(job, ()), *by_job.get(ANY_JOB, ())):
                    if version.journey_id in seen or _before_activation(version, t.observed_at):
                        continue
                    if criteria_match(
                        version,
                        transition=t,
                        application=application,
                        candidate=candidate,
                        job_offices=job_offices,
                        job_departments=job_departments,
                    ):
                        seen.add(version.journey_id)
                        wanted.append((version, t, trigger))
    return start_runs(organization, wanted, queue_first_steps=queue_first_steps)


def _before_activation(version: JourneyVersion, moment) -> bool:
    """Journeys start for what happens from their activation on: a transition observed earlier
    (replayed by the safety sweep, or while the journey was paused) never starts one."""
    activated_at = version.journey.activated_at
    return activated_at is not None and moment < activated_at


def start_runs(
    organization,
    wanted: list[tuple[JourneyVersion, StageTransition, str]],
    *,
    queue_first_steps: bool = True,
) -> MatchResult:
    """Insert the runs (once per journey and transition), their first step rows and the
    "entered" timeline events; queue the first steps that are due now (unless the caller runs
    ``result.first_steps`` itself). Call inside the organization's cursor lock."""
    result = MatchResult()
    if not wanted:
        return result
    now = timezone.now()
    existing = set(
        JourneyRun.objects.filter(
            transition_id__in={t.pk for _, t, _ in wanted},
            journey_id__in={v.journey_id for v, _, _ in wanted},
        ).values_list("journey_id", "transition_id")
    )
    fresh = [(v, t, trig) for v, t, trig in wanted if (v.journey_id, t.pk) not in existing]
    if not fresh:
        return result
    JourneyRun.objects.bulk_create(
        [
            JourneyRun(
                organization=organization,
                journey_id=v.journey_id,
                version=v,
                transition=t,
                application_id=t.application_id,
                candidate_id=t.candidate_id,
                status=RunStatus.ACTIVE,
                started_at=now,
            )
            for v, t, _ in fresh
        ],
        ignore_conflicts=True,
    )
    run_ids = {
        (journey_id, transition_id): pk
        for pk, journey_id, transition_id in JourneyRun.objects.filter(
            transition_id__in={t.pk for _, t, _ in fresh},
            journey_id__in={v.journey_id for v, _, _ in fresh},
        ).values_list("pk", "journey_id", "transition_id")
    }
    job_names = dict(
        Job.objects.filter(pk__in={t.job_id for _, t, _ in fresh if t.job_id}).values_list(
            "pk", "name"
        )
    )
    first_steps: dict[int, JourneyStep] = {}
    for step in JourneyStep.objects.filter(version_id__in={v.pk for v, _, _ in fresh}).order_by(
        "version_id", "-position", "-id"
    ):
        first_steps[step.version_id] = step  # the last one written is the lowest position
    step_runs, events, empty_runs = [], [], []
    for version, t, trigger in fresh:
        run_id = run_ids.get((version.journey_id, t.pk))
        if run_id is None:
            continue
        result.runs_created += 1
        job_name = job_names.get(t.job_id, "")
        why = trigger_reason(
            trigger, transition=t, job_name=job_name, stale_days=version.stale_days
        )
        events.append(
            TimelineEvent(
                organization=organization,
                candidate_id=t.candidate_id,
                application_id=t.application_id,
                kind=timeline_kinds.JOURNEY_ENTERED,
                summary=f"Entered journey “{version.journey.name}”: {why}"[:500],
                data={
                    "journey_id": version.journey_id,
                    "journey": version.journey.name,
                    "run_id": run_id,
                    "version": version.number,
                    "trigger": trigger,
                    "transition_id": t.pk,
                },
                occurred_at=now,
            )
        )
        step = first_steps.get(version.pk)
        if step is None:
            empty_runs.append(run_id)
            continue
        step_runs.append(
            StepRun(
                organization=organization,
                run_id=run_id,
                step=step,
                position=step.position,
                status=StepRunStatus.PENDING,
                due_at=_due_at(organization, step, now, t.candidate),
            )
        )
    StepRun.objects.bulk_create(step_runs, ignore_conflicts=True)
    TimelineEvent.objects.bulk_create(events)
    if empty_runs:
        JourneyRun.objects.filter(pk__in=empty_runs).update(
            status=RunStatus.COMPLETED, reason="The journey has no steps.", finished_at=now
        )
    due_now = list(
        StepRun.objects.filter(
            run_id__in=[s.run_id for s in step_runs], status=StepRunStatus.PENDING, due_at__lte=now
        ).values_list("pk", flat=True)
    )
    result.first_steps = due_now
    if queue_first_steps:
        first_steps_queue(organization, due_now)
    return result


def first_steps_queue(organization, step_run_ids: list[int]) -> None:
    """Queue ``journeys.run_steps`` for these first steps, in chunks, once committed."""
    organization_id = organization.pk
    for chunk in chunked(step_run_ids, RUN_STEPS_CHUNK):
        transaction.on_commit(
            lambda ids=chunk: task_named("journeys.run_steps").delay(organization_id, ids)
        )


# --------------------------------------------------------------------------------------------
# Executing steps
# --------------------------------------------------------------------------------------------


def _claim(pk: int, now: datetime) -> bool:
    """pending → running for one due row (a plain conditional UPDATE by primary key: whoever
    moves it runs it). A run that ended or a paused journey is checked after loading."""
    return bool(
        StepRun.objects.filter(pk=pk, status=StepRunStatus.PENDING, due_at__lte=now).update(
            status=StepRunStatus.RUNNING, started_at=now, attempts=F("attempts") + 1
        )
    )


def step_runs_execute(*, organization, step_run_ids: Iterable[int]) -> int:
    """Claim and execute the given step rows that are due (the first steps of new runs, right
    after their commit), in batches: one claim and two reads per batch, then each step. Rows
    already claimed elsewhere, not yet due, or of a paused journey are left alone. Returns how
    many steps ran, chains included."""
    executed = 0
    for chunk in chunked(sorted({int(pk) for pk in step_run_ids}), EXECUTE_BATCH):
        claimed = _claim_batch(chunk, timezone.now())
        loaded = _load_many(claimed)
        for pk in claimed:
            executed += execute_claimed(
                organization=organization, step_run_id=pk, step_run=loaded.get(pk)
            )
    return executed


def _claim_batch(ids: list[int], now: datetime) -> list[int]:
    """pending → running for the due rows among ``ids``, committed before any of them runs
    (``skip_locked``: rows another worker is claiming are its own). Like the dispatcher's
    claim, a claimed row counts as running from here: a worker that dies mid-batch leaves the
    rest to the recovery sweep, which runs a send step again (its idempotency key finds the
    message already queued) and never sends twice."""
    if not ids:
        return []
    with transaction.atomic():
        rows = list(
            StepRun.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=ids, status=StepRunStatus.PENDING, due_at__lte=now)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if rows:
            StepRun.objects.filter(pk__in=rows).update(
                status=StepRunStatus.RUNNING, started_at=now, attempts=F("attempts") + 1
            )
    return rows


def execute_claimed(*, organization, step_run_id: int, step_run: StepRun | None = None) -> int:
    """Execute a step already claimed (``running``, committed) and then every following step
    that is due at once. Returns how many steps ran. ``step_run``: the row already loaded
    (:func:`_load_many`)."""
    executed = 0
    current: int | None = step_run_id
    while current is not None and executed < MAX_CHAIN:
        executed += 1
        current = _execute_one(organization, current, step_run if executed == 1 else None)
    return executed


def _load(step_run_id: int) -> StepRun:
    # Two small joins plan much faster than one across eight tables (Postgres plans every
    # statement: Django binds parameters client-side).
    step_run = StepRun.objects.select_related("step__message_template").get(pk=step_run_id)
    step_run.run = JourneyRun.objects.select_related(
        "journey", "version", "transition", "application", "candidate"
    ).get(pk=step_run.run_id)
    return step_run


def _load_many(ids: list[int]) -> dict[int, StepRun]:
    """:func:`_load` for a batch: the same two reads for all of ``ids``."""
    if not ids:
        return {}
    step_runs = list(StepRun.objects.select_related("step__message_template").filter(pk__in=ids))
    runs = JourneyRun.objects.select_related(
        "journey", "version", "transition", "application", "candidate"
    ).in_bulk({s.run_id for s in step_runs})
    for step_run in step_runs:
        step_run.run = runs[step_run.run_id]
    return {step_run.pk: step_run for step_run in step_runs}


def _execute_one(organization, step_run_id: int, loaded: StepRun | None = None) -> int | None:
    step_run = loaded if loaded is not None else _load(step_run_id)
    run, step = step_run.run, step_run.step
    now = timezone.now()
    if step_run.status != StepRunStatus.RUNNING:
        return None
    if run.status != RunStatus.ACTIVE:
        return _record(
            organization, step_run, StepOutcome(StepRunStatus.CANCELED, "The run had ended."), now
        )
    if not run.journey.is_active:  # paused: the step waits for the journey to be activated
        StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.RUNNING).update(
            status=StepRunStatus.PENDING
        )
        return None
    found = exits.exit_check(organization, run)
    if found:
        rule, reason = found
        StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.RUNNING).update(
            status=StepRunStatus.PENDING
        )
        exits.runs_exit(organization, [(run, rule, reason)])
        return None
    handler = STEP_HANDLERS.get(step.kind)
    if handler is None:
        reason = (
            f"Step {step.position} ({step.get_kind_display()}) can't run: that kind of step is "
            "not available yet."
        )
        outcome = StepOutcome(
            StepRunStatus.FAILED,
            reason,
            end=RunStatus.FAILED,
            events=[
                run_event(
                    run,
                    timeline_kinds.JOURNEY_STEP_FAILED,
                    f"Journey “{run.journey.name}” stopped",
                    reason,
                )
            ],
        )
        return _record(organization, step_run, outcome, now)
    try:
        outcome = handler.run(
            StepContext(organization=organization, step_run=step_run, step=step, run=run, now=now)
        )
    except Exception:
        logger.exception("Step run %s of run %s crashed", step_run.pk, run.pk)
        if handler.contacts_candidate:
            # Left running: the recovery sweep runs a send step again (its idempotency key
            # finds any message already queued) or marks another kind unknown.
            return None
        outcome = StepOutcome(
            StepRunStatus.FAILED,
            f"Step {step.position} failed with an unexpected error; the journey stopped here.",
            end=RunStatus.FAILED,
        )
    return _record(organization, step_run, outcome, now)


def _record(organization, step_run: StepRun, outcome: StepOutcome, now: datetime) -> int | None:
    """Store what a step did and create the next step's row; return the next row's id when it
    is due now and was claimed (the caller runs it at once)."""
    run = step_run.run
    with transaction.atomic():
        updated = StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.RUNNING).update(
            status=outcome.status,
            reason=outcome.reason[:500],
            message=outcome.message,
            held_until=outcome.held_until,
            finished_at=now,
        )
        if not updated:
            return None  # declared lost meanwhile (it took longer than the step timeout)
        # The step's timeline entries, and "finished the journey" when this was its last step,
        # are written together.
        events = list(outcome.events)
        if outcome.status == StepRunStatus.CANCELED:
            write_events(organization, run, events, now)
            return None
        if outcome.end:
            JourneyRun.objects.filter(pk=run.pk, status=RunStatus.ACTIVE).update(
                status=outcome.end,
                reason=outcome.reason[:500],
                exit_rule=outcome.exit_rule,
                finished_at=now,
            )
            if outcome.end == RunStatus.COMPLETED:
                events.append(_completed_event(run))
            write_events(organization, run, events, now)
            return None
        following, due = following_step_create(
            organization,
            run,
            step_run.position,
            base=outcome.continue_at or now,
            now=now,
            events=events,
        )
        write_events(organization, run, events, now)
        if following is None:
            return None
    if due > timezone.now():
        return None
    nxt = (
        StepRun.objects.filter(run_id=run.pk, position=following.position)
        .values_list("pk", flat=True)
        .first()
    )
    now = timezone.now()
    if nxt and _claim(nxt, now):
        return nxt
    return None


def following_step_create(
    organization,
    run: JourneyRun,
    position: int,
    *,
    base: datetime,
    now: datetime,
    events: list[dict] | None = None,
):
    """Create the row of the step after ``position`` (due from ``base``), or complete the run
    when there is none (the step at ``position`` ran: it was the last). Returns ``(step,
    due_at)``, ``(None, None)`` at the end. Inside the caller's transaction. ``events``: the
    caller writes the timeline entries, "finished the journey" included."""
    following = (
        JourneyStep.objects.filter(version_id=run.version_id, position__gt=position)
        .order_by("position", "id")
        .first()
    )
    if following is None:
        complete_if_finished(organization, run, now, last_step_ran=True, events=events)
        return None, None
    due = _due_at(organization, following, base, run.candidate)
    StepRun.objects.bulk_create(
        [
            StepRun(
                organization_id=run.organization_id,
                run_id=run.pk,
                step=following,
                position=following.position,
                status=StepRunStatus.PENDING,
                due_at=due,
            )
        ],
        ignore_conflicts=True,
    )
    return following, due


def _completed_event(run: JourneyRun) -> dict:
    return run_event(
        run, timeline_kinds.JOURNEY_COMPLETED, f"Finished journey “{run.journey.name}”"
    )


def complete_if_finished(
    organization,
    run: JourneyRun,
    now: datetime,
    *,
    last_step_ran: bool = False,
    events: list[dict] | None = None,
) -> bool:
    """Complete a run whose last step ran, unless a send of it is still held for quiet hours:
    until that text or e-mail goes out the run stays active, so its exit rules can still
    withdraw it. ``last_step_ran``: the caller just recorded the last step (nothing to look
    up); ``events``: "finished the journey" is added to them instead of written here."""
    open_steps = StepRun.objects.filter(
        run_id=run.pk,
        status__in=[StepRunStatus.PENDING, StepRunStatus.RUNNING, StepRunStatus.HELD],
    )
    if open_steps.exists():
        return False
    if not last_step_ran:
        last = (
            JourneyStep.objects.filter(version_id=run.version_id)
            .order_by("-position")
            .values_list("position", flat=True)
            .first()
        )
        if last is not None and not StepRun.objects.filter(run_id=run.pk, position=last).exists():
            return False
    if JourneyRun.objects.filter(pk=run.pk, status=RunStatus.ACTIVE).update(
        status=RunStatus.COMPLETED, reason="Every step ran.", finished_at=now
    ):
        if events is not None:
            events.append(_completed_event(run))
        else:
            write_events(organization, run, [_completed_event(run)], now)
        return True
    return False
