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
   steps are claimed in batches (:func:`step_runs_execute`); due rows are claimed by
   the dispatcher with ``select_for_update(skip_locked=True)`` and a conditional
   UPDATE pending → running that commits before the step does anything. Either way the claimed
   rows of an organization run as a batch (``journeys.execution``): read together, each step
   on its own, recorded together, their messages handed to delivery together.
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

This module holds matching and runs, and is where callers take step execution from (it lives
in ``journeys.execution``: claims, batches, waits, recording a step); the triggers, criteria
and match cursor are in ``journeys.triggers``, the step-kind registry and the run's timeline entries in
``journeys.registry``, the built-in step kinds in ``journeys.steps``, the exit rules in
``journeys.exits``, the beat sweeps in ``journeys.dispatcher`` and the Celery tasks in
``journeys.tasks`` (queued from here by name, so this module never imports them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from candidates.models import (
    Job,
    StageTransition,
    TimelineEvent,
)
from journeys import exits, timeline_kinds
from journeys.execution import (  # noqa: F401  (the entry points callers import from here)
    EXECUTE_BATCH,
    _due_at,
    complete_if_finished,
    execute_claimed,
    execute_claimed_many,
    following_step_create,
    step_runs_execute,
    wait_end,
)
from journeys.models import (
    JourneyRun,
    JourneyStep,
    JourneyTriggerKey,
    JourneyVersion,
    RunStatus,
    StepRun,
    StepRunStatus,
)
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
from recruitflow.tasks import task_named

MATCH_BATCH = 500
# How many times a step whose worker died is run again before it is declared "unknown".
MAX_STEP_ATTEMPTS = 3
RUN_STEPS_CHUNK = 50


def step_timeout() -> timedelta:
    return timedelta(seconds=getattr(settings, "JOURNEYS_STEP_TIMEOUT_SECONDS", 120))


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
