"""Executing journey steps: claiming due rows, running them in batches (each step on its own,
what a batch needs read once for all of it, its records written together), waits, and
recording what a step did. How this fits the rest of a run is told in :mod:`journeys.engine`,
which is also where callers import these entry points from."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import BigIntegerField, Case, F, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from candidates.models import TimelineEvent
from journeys import exits, timeline_kinds
from journeys.models import (
    JourneyRun,
    JourneyStep,
    RunStatus,
    StepKind,
    StepRun,
    StepRunStatus,
)
from journeys.registry import (
    STEP_HANDLERS,
    StepContext,
    StepOutcome,
    run_event,
    send_key,
    timeline_entries,
    write_events,
)
from journeys.triggers import chunked
from library import templating
from messaging.selectors import candidate_time_zone
from messaging.services import messages_batched, messages_prepared

logger = logging.getLogger(__name__)

# Steps claimed and loaded together (as small as the dispatcher's batches: a claimed row
# counts as running from its claim, so a batch must finish well within the step timeout).
EXECUTE_BATCH = 25
# The longest chain of steps one call executes back to back (a journey has at most 50 steps).
MAX_CHAIN = 60


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
    after their commit), in batches (:func:`execute_claimed_many`). Rows already claimed
    elsewhere, not yet due, or of a paused journey are left alone. Their messages are handed
    to delivery together, ahead of the stage-change path: someone is waiting for each. Returns
    how many steps ran, chains included."""
    executed = 0
    for chunk in chunked(sorted({int(pk) for pk in step_run_ids}), EXECUTE_BATCH):
        with messages_batched(urgent=True):
            executed += execute_claimed_many(
                organization=organization, step_run_ids=_claim_batch(chunk, timezone.now())
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


def execute_claimed(*, organization, step_run_id: int) -> int:
    """Execute a step already claimed (``running``, committed) and then every following step
    that is due at once. Returns how many steps ran."""
    return execute_claimed_many(organization=organization, step_run_ids=[step_run_id])


def execute_claimed_many(*, organization, step_run_ids: list[int]) -> int:
    """Execute steps of the organization already claimed (``running``, committed), together,
    and then the steps following them that are due at once, as the next batch. Returns how many
    steps ran.

    A batch reads its rows with two queries, the next steps of their journeys with one, what
    its runs' exit rules check (:func:`journeys.exits.exit_check_many`), and for its sends what
    every send checks (:func:`messaging.services.messages_prepared`) and their templates' merge
    values (:func:`library.templating.merge_contexts_prepared`); each step then runs on its own
    (its exit rule applied, its handler, its message) in a savepoint of its own, the steps'
    writes commit together, and then the steps that did not end or leave their
    run are recorded together in one transaction. A step whose handler fails is logged and left
    running (the recovery sweep runs it again or marks it unknown, as for a worker that died),
    the others are recorded; a failed joint record falls back to one record per step."""
    executed = 0
    ids = list(step_run_ids)
    for _ in range(MAX_CHAIN):
        if not ids:
            break
        executed += len(ids)
        ids = _execute_batch(organization, ids)
    return executed


def _load_many(ids: list[int]) -> dict[int, StepRun]:
    """The claimed rows with their step, template and run (journey, version, transition,
    application, candidate). Two small joins plan much faster than one across eight tables
    (Postgres plans every statement: Django binds parameters client-side)."""
    if not ids:
        return {}
    step_runs = list(StepRun.objects.select_related("step__message_template").filter(pk__in=ids))
    runs = JourneyRun.objects.select_related(
        "journey", "version", "transition", "application", "candidate"
    ).in_bulk({s.run_id for s in step_runs})
    for step_run in step_runs:
        step_run.run = runs[step_run.run_id]
    return {step_run.pk: step_run for step_run in step_runs}


def _following_steps(step_runs) -> dict[tuple[int, int], JourneyStep]:
    """(version id, position) → the step after that position in that version, for the versions
    of ``step_runs`` (one query)."""
    by_version: dict[int, list[JourneyStep]] = defaultdict(list)
    for step in JourneyStep.objects.filter(
        version_id__in={s.run.version_id for s in step_runs}
    ).order_by("version_id", "position", "id"):
        by_version[step.version_id].append(step)
    following = {}
    for step_run in step_runs:
        later = [
            step
            for step in by_version[step_run.run.version_id]
            if step.position > step_run.position
        ]
        if later:
            following[(step_run.run.version_id, step_run.position)] = later[0]
    return following


def _execute_batch(organization, ids: list[int]) -> list[int]:
    """Run the claimed steps ``ids``; returns the following steps due now, claimed."""
    loaded = _load_many(ids)
    contacting = [
        s
        for s in loaded.values()
        if (handler := STEP_HANDLERS.get(s.step.kind)) is not None and handler.contacts_candidate
    ]
    outcomes: list[tuple[StepRun, StepOutcome, datetime]] = []
    # The steps' own writes (their messages above all) commit together, each step's in a
    # savepoint of its own, before any step is recorded: one commit for the batch's messages
    # instead of one each. A worker that dies before it commits leaves no message and every
    # step running, for the recovery sweep to run again.
    with (
        messages_prepared(
            organization=organization,
            candidates={s.run.candidate_id: s.run.candidate for s in contacting}.values(),
            idempotency_keys=[send_key(s.pk) for s in contacting],
        ),
        templating.merge_contexts_prepared(
            organization=organization,
            application_ids=[s.run.application_id for s in contacting],
        ),
        transaction.atomic(),
    ):
        exit_found = dict(
            zip(
                loaded,
                exits.exit_check_many(organization, [s.run for s in loaded.values()]),
                strict=True,
            )
        )
        for pk in ids:
            step_run = loaded.get(pk)
            if step_run is None:
                continue
            now = timezone.now()
            try:
                with transaction.atomic():
                    outcome = _outcome(organization, step_run, now, exit_found[pk])
            except Exception:  # one broken run must not stop the others
                logger.exception("Step run %s of run %s failed", pk, step_run.run_id)
                continue
            if outcome is not None:
                outcomes.append((step_run, outcome, now))
    following = _following_steps([step_run for step_run, _, _ in outcomes])
    together, alone = [], []
    for step_run, outcome, now in outcomes:
        if outcome.end or outcome.status == StepRunStatus.CANCELED:
            alone.append((step_run, outcome, now))
        else:
            nxt = following.get((step_run.run.version_id, step_run.position))
            together.append((step_run, outcome, now, nxt))
    due_next: list[int] = []
    if together:
        try:
            due_next.extend(_record_together(organization, together))
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            logger.exception("Recording %s steps together failed; recording each", len(together))
            alone.extend((step_run, outcome, now) for step_run, outcome, now, _ in together)
    for step_run, outcome, now in alone:
        try:
            nxt_id = _record(organization, step_run, outcome, now)
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            logger.exception("Recording step run %s failed", step_run.pk)
            continue
        if nxt_id is not None:
            due_next.append(nxt_id)
    return due_next


def _outcome(
    organization, step_run: StepRun, now: datetime, exit_found: tuple[str, str] | None
) -> StepOutcome | None:
    """Run a claimed step: what it did, or None when there is nothing to record (no longer
    running, journey paused, an exit rule ended the run, a step that contacts the candidate
    crashed and is left running for the recovery sweep). ``exit_found``: the exit rule that
    holds for its run, read for the whole batch (:func:`journeys.exits.exit_check_many`)."""
    run, step = step_run.run, step_run.step
    if step_run.status != StepRunStatus.RUNNING:
        return None
    if run.status != RunStatus.ACTIVE:
        return StepOutcome(StepRunStatus.CANCELED, "The run had ended.")
    if not run.journey.is_active:  # paused: the step waits for the journey to be activated
        StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.RUNNING).update(
            status=StepRunStatus.PENDING
        )
        return None
    if exit_found:
        rule, reason = exit_found
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
        return StepOutcome(
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
    try:
        return handler.run(
            StepContext(organization=organization, step_run=step_run, step=step, run=run, now=now)
        )
    except Exception:
        logger.exception("Step run %s of run %s crashed", step_run.pk, run.pk)
        if handler.contacts_candidate:
            # Left running: the recovery sweep runs a send step again (its idempotency key
            # finds any message already queued) or marks another kind unknown.
            return None
        return StepOutcome(
            StepRunStatus.FAILED,
            f"Step {step.position} failed with an unexpected error; the journey stopped here.",
            end=RunStatus.FAILED,
        )


def _record_together(organization, items) -> list[int]:
    """:func:`_record` for steps that neither ended their run nor were canceled, in one
    transaction: their rows (those still running: one declared lost meanwhile is left alone),
    the next steps' rows, the runs whose last step this was completed (unless a send of theirs
    is still held for quiet hours, as :func:`complete_if_finished` decides) and the timeline
    entries. Returns the next steps due now, claimed."""
    # Steps that ended alike (a text handed over: done) are one UPDATE, their messages told
    # apart by id (:func:`_each_row`).
    alike: dict[tuple, dict[int, int | None]] = defaultdict(dict)
    created: list[StepRun] = []
    entries: list[TimelineEvent] = []
    last: dict[int, tuple[JourneyRun, datetime]] = {}
    due_now: set[tuple[int, int]] = set()
    with transaction.atomic():
        running = set(
            StepRun.objects.select_for_update(of=("self",))
            .filter(pk__in=[s.pk for s, _, _, _ in items], status=StepRunStatus.RUNNING)
            .values_list("pk", flat=True)
        )
        for step_run, outcome, now, nxt in items:
            if step_run.pk not in running:
                continue
            message_id = getattr(outcome.message, "pk", None)
            alike[(outcome.status, outcome.reason[:500], outcome.held_until)][step_run.pk] = (
                message_id
            )
            run = step_run.run
            entries.extend(timeline_entries(organization, run, outcome.events, now))
            if nxt is None:
                last[run.pk] = (run, now)
                continue
            due = _due_at(organization, nxt, outcome.continue_at or now, run.candidate)
            created.append(_pending_row(run, nxt, due))
            if due <= now:
                due_now.add((run.pk, nxt.position))
        finished_at = timezone.now()
        for (status, reason, held_until), messages in alike.items():
            StepRun.objects.filter(pk__in=list(messages)).update(
                status=status,
                reason=reason,
                held_until=held_until,
                finished_at=finished_at,
                message_id=_each_row(messages),
            )
        StepRun.objects.bulk_create(created, ignore_conflicts=True)
        entries.extend(_runs_complete(organization, last, finished_at))
        TimelineEvent.objects.bulk_create(entries)
    if not due_now:
        return []
    ids = [
        pk
        for pk, run_id, position in StepRun.objects.filter(
            run_id__in={run_id for run_id, _ in due_now}
        ).values_list("pk", "run_id", "position")
        if (run_id, position) in due_now
    ]
    return _claim_batch(ids, timezone.now())


def _each_row(values: dict[int, int | None]) -> RawSQL | Case:
    """The value of each row an UPDATE of step rows sets, from ``values`` (row id → a bigint,
    or None for NULL). On Postgres the value at the place of the row's id among the ids, passed
    as two array parameters: one expression for any number of rows, where a CASE with a branch
    per row took most of the time spent building the statement. Elsewhere (SQLite has no
    arrays) that CASE."""
    if connection.vendor == "postgresql":
        return RawSQL(
            "(%s::bigint[])[array_position(%s::bigint[], id)]",
            (list(values.values()), list(values)),
            output_field=BigIntegerField(),
        )
    return Case(
        *[When(pk=pk, then=Value(value, BigIntegerField())) for pk, value in values.items()],
        default=Value(None, BigIntegerField()),
        output_field=BigIntegerField(),
    )


def _runs_complete(organization, last: dict[int, tuple[JourneyRun, datetime]], finished_at):
    """Complete the active runs of ``last`` (their last step was just recorded) that have no
    step still open; returns their "finished the journey" timeline rows."""
    if not last:
        return []
    open_runs = set(
        StepRun.objects.filter(
            run_id__in=list(last),
            status__in=[StepRunStatus.PENDING, StepRunStatus.RUNNING, StepRunStatus.HELD],
        ).values_list("run_id", flat=True)
    )
    done = list(
        JourneyRun.objects.select_for_update()
        .filter(pk__in=[pk for pk in last if pk not in open_runs], status=RunStatus.ACTIVE)
        .values_list("pk", flat=True)
    )
    if not done:
        return []
    JourneyRun.objects.filter(pk__in=done).update(
        status=RunStatus.COMPLETED, reason="Every step ran.", finished_at=finished_at
    )
    return [
        row
        for pk in done
        for row in timeline_entries(
            organization, last[pk][0], [_completed_event(last[pk][0])], last[pk][1]
        )
    ]


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


def _pending_row(run: JourneyRun, step: JourneyStep, due: datetime) -> StepRun:
    """The row of ``step`` in ``run``, pending until ``due``."""
    return StepRun(
        organization_id=run.organization_id,
        run_id=run.pk,
        step=step,
        position=step.position,
        status=StepRunStatus.PENDING,
        due_at=due,
    )


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
    StepRun.objects.bulk_create([_pending_row(run, following, due)], ignore_conflicts=True)
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
