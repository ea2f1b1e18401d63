"""Celery tasks of the Journeys engine: thin wrappers that load by id and call the engine.

``journeys.match_transitions`` is sent *by name* from the ATS mirror (candidates does not import
journeys). The dispatcher, the match sweep and the stale-in-stage starter run on beat (schedules
registered by the journeys migrations, editable in the Django admin).
"""

from __future__ import annotations

import logging

from celery import shared_task

from accounts.models import Organization
from candidates.models import StageTransition
from journeys import dispatcher, engine, exits
from journeys.models import (
    Journey,
    JourneyRun,
    JourneyTriggerKey,
    MatchCursor,
    RunStatus,
    TriggerKind,
)
from messaging.services import messages_batched
from recruitflow.tasks import OrganizationTask
from recruitflow.tenancy import scopes_disabled, tenant_scope

logger = logging.getLogger(__name__)

# Small batches: a claimed row counts as running from its claim, so a batch must finish well
# within JOURNEYS_STEP_TIMEOUT_SECONDS. One tick stops after DISPATCH_MAX_BATCHES; the next tick
# (or a concurrent one on another worker: rows are claimed with skip_locked) takes the rest.
DISPATCH_BATCH = 25
DISPATCH_MAX_BATCHES = 200
# A match that starts at most this many first steps (a webhook's stage change: one) runs them
# itself, once its runs are committed, instead of queueing ``run_steps`` for them: one hop less
# between a stage change and its text. Larger ones (a poll's page) are shared out in chunks.
INLINE_FIRST_STEPS = engine.EXECUTE_BATCH


# Nobody reads the results of the two tasks on a stage change's way to its first message (the
# rows they write are the record): not stored.
@shared_task(name="journeys.match_transitions", base=OrganizationTask, ignore_result=True)
def match_transitions(organization, transition_ids: list[int]) -> int:
    """Match new stage transitions of one organization and run (or queue) the first steps of
    the runs they started; returns how many runs started. A step this task claimed and did
    not finish (its worker died) is the recovery sweep's, as from ``run_steps``; a redelivered
    match starts nothing twice."""
    ids = list(transition_ids)
    inline = len(ids) <= INLINE_FIRST_STEPS
    result = engine.transitions_match(
        organization=organization, transition_ids=ids, queue_first_steps=not inline
    )
    if inline and result.first_steps:
        if len(result.first_steps) <= INLINE_FIRST_STEPS:
            engine.step_runs_execute(organization=organization, step_run_ids=result.first_steps)
        else:  # a few transitions that started many runs
            engine.first_steps_queue(organization, result.first_steps)
    return result.runs_created


@shared_task(name="journeys.run_steps", base=OrganizationTask, ignore_result=True)
def run_steps(organization, step_run_ids: list[int]) -> int:
    """Run the first steps of new runs right after the match committed."""
    return engine.step_runs_execute(organization=organization, step_run_ids=step_run_ids)


def _organizations(ids) -> dict:
    return {org.pk: org for org in Organization.objects.filter(pk__in=set(ids), is_active=True)}


@shared_task(name="journeys.dispatch_due")
def dispatch_due() -> int:
    """Beat, every few seconds: recover steps whose worker died, follow journey messages in the
    outbox, apply reply/booking/opt-out exit rules, then claim due steps in batches
    (``select_for_update(skip_locked=True)``, so several workers can dispatch at once) and run
    each organization's part of a batch together (``engine.execute_claimed_many``)."""
    with scopes_disabled():
        # Organizations that have journeys at all (a small table); the sweeps below read only
        # recent or pending rows of each.
        busy = set(Journey.objects.values_list("organization_id", flat=True).distinct())
    organizations = _organizations(busy)
    for organization in organizations.values():
        with tenant_scope(organization):
            dispatcher.step_runs_recover(organization=organization)
            dispatcher.step_runs_reconcile(organization=organization)
            exits.runs_exit_sweep(organization=organization)
    executed = 0
    for _ in range(DISPATCH_MAX_BATCHES):
        claimed = dispatcher.step_runs_claim_due(limit=DISPATCH_BATCH)
        if not claimed:
            break
        by_organization: dict[int, list[int]] = {}
        for org_id, step_run_id in claimed:
            by_organization.setdefault(org_id, []).append(step_run_id)
        organizations = _organizations(by_organization)
        for org_id, step_run_ids in by_organization.items():
            organization = organizations.get(org_id)
            if organization is None:
                continue
            # Their messages go out up to 25 to a delivery task, after the stage-change path.
            with tenant_scope(organization), messages_batched():
                try:
                    executed += engine.execute_claimed_many(
                        organization=organization, step_run_ids=step_run_ids
                    )
                except Exception:  # one organization's broken batch must not stop the others
                    logger.exception("Dispatching step runs %s failed", step_run_ids)
    return executed


@shared_task(name="journeys.match_sweep")
def match_sweep() -> int:
    """Beat, every minute: match transitions whose on-commit match task was lost, in the
    organizations where matching can do something (active journeys, or runs an ATS change may
    end)."""
    started = 0
    with scopes_disabled():
        candidates = set(
            JourneyTriggerKey.objects.values_list("organization_id", flat=True).distinct()
        ) | set(
            JourneyRun.objects.filter(status=RunStatus.ACTIVE)
            .values_list("organization_id", flat=True)
            .distinct()
        )
        cursors = dict(MatchCursor.objects.values_list("organization_id", "last_transition_id"))
        pending = [
            org_id
            for org_id in candidates
            if StageTransition.objects.filter(
                organization_id=org_id, pk__gt=cursors.get(org_id, 0)
            ).exists()
        ]
    for organization in _organizations(pending).values():
        with tenant_scope(organization):
            started += dispatcher.transitions_match_pending(organization=organization).runs_created
    return started


@shared_task(name="journeys.start_stale_runs")
def start_stale_runs() -> int:
    """Beat, every ten minutes: start runs of "stale in stage for N days" journeys."""
    with scopes_disabled():
        ids = set(
            JourneyTriggerKey.objects.filter(trigger=TriggerKind.STALE_IN_STAGE).values_list(
                "organization_id", flat=True
            )
        )
    started = 0
    for organization in _organizations(ids).values():
        with tenant_scope(organization):
            started += dispatcher.stale_runs_start(organization=organization).runs_created
    return started
