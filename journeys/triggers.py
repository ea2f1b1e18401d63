"""Triggers and criteria, shared by matching, the sweeps and the simulation: which triggers a
stage transition fires, whether a journey's criteria accept it, why it started (in words), and
the organization's match cursor, whose row lock serializes matching."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import islice

from django.utils import timezone

from candidates.models import (
    ApplicationStatus,
    Job,
)
from journeys.models import (
    JourneyVersion,
    MatchCursor,
    TriggerKind,
)
from journeys.services import stage_key

ANY_JOB = "*"


def chunked(items: Iterable, size: int):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --------------------------------------------------------------------------------------------
# Triggers and criteria (shared with the simulation)
# --------------------------------------------------------------------------------------------


def stage_changed(transition) -> bool:
    if transition.to_stage_id and transition.from_stage_id:
        return transition.to_stage_id != transition.from_stage_id
    return stage_key(transition.to_stage_name) != stage_key(transition.from_stage_name)


def transition_triggers(transition) -> list[str]:
    """The trigger kinds a transition fires. A new application also enters its first stage."""
    triggers: list[str] = []
    if transition.is_new_application:
        triggers.append(TriggerKind.APPLICATION_CREATED)
    if transition.to_stage_name and stage_changed(transition):
        triggers.append(TriggerKind.ENTERED_STAGE)
    for status, trigger in (
        (ApplicationStatus.REJECTED, TriggerKind.REJECTED),
        (ApplicationStatus.HIRED, TriggerKind.HIRED),
    ):
        if transition.to_status == status and transition.from_status != status:
            triggers.append(trigger)
    return triggers


def id_strings(values) -> set[str]:
    return {str(v) for v in values or ()}


def normalized_words(values) -> set[str]:
    return {stage_key(str(v)) for v in values or () if str(v).strip()}


def criteria_match(
    version: JourneyVersion,
    *,
    transition,
    application,
    candidate,
    job_offices: dict[int, set[int]],
    job_departments: dict[int, set[int]],
) -> bool:
    """Whether a transition meets the version's criteria (empty lists mean "any")."""
    if version.stage_names and stage_key(transition.to_stage_name) not in normalized_words(
        version.stage_names
    ):
        return False
    job_id = transition.job_id or (application.job_id if application else None)
    if version.job_ids and str(job_id) not in id_strings(version.job_ids):
        return False
    if version.office_ids and not (
        {str(o) for o in job_offices.get(job_id or 0, ())} & id_strings(version.office_ids)
    ):
        return False
    if version.department_ids and not (
        {str(d) for d in job_departments.get(job_id or 0, ())} & id_strings(version.department_ids)
    ):
        return False
    status = transition.to_status or (application.status if application else "")
    if version.statuses and status not in {str(s) for s in version.statuses}:
        return False
    if version.tags and not (
        normalized_words(candidate.tags if candidate else ()) & normalized_words(version.tags)
    ):
        return False
    source = application.source_name if application else ""
    return not (version.sources and stage_key(source) not in normalized_words(version.sources))


def job_relations(job_ids: Iterable[int], *, offices: bool = True, departments: bool = True):
    """``({job: {office ids}}, {job: {department ids}})`` with one query each."""
    job_ids = [j for j in set(job_ids) if j]
    job_offices: dict[int, set[int]] = defaultdict(set)
    job_departments: dict[int, set[int]] = defaultdict(set)
    if job_ids and offices:
        for job_id, office_id in Job.offices.through.objects.filter(job_id__in=job_ids).values_list(
            "job_id", "office_id"
        ):
            job_offices[job_id].add(office_id)
    if job_ids and departments:
        for job_id, department_id in Job.departments.through.objects.filter(
            job_id__in=job_ids
        ).values_list("job_id", "department_id"):
            job_departments[job_id].add(department_id)
    return job_offices, job_departments


def trigger_reason(trigger: str, *, transition, job_name: str = "", stale_days=None) -> str:
    """Why a candidate entered, in words: "moved to Onsite Interview (Sales Rep)"."""
    job = f" ({job_name})" if job_name else ""
    if trigger == TriggerKind.APPLICATION_CREATED:
        return f"applied{' to ' + job_name if job_name else ''}"
    if trigger == TriggerKind.REJECTED:
        return f"rejected{job}"
    if trigger == TriggerKind.HIRED:
        return f"hired{job}"
    if trigger == TriggerKind.STALE_IN_STAGE:
        return f"in {transition.to_stage_name or 'the stage'}{job} for {stale_days} days"
    return f"moved to {transition.to_stage_name or 'a new stage'}{job}"


def lock_cursor(organization) -> MatchCursor:
    """The organization's MatchCursor, row-locked until the transaction ends (an UPDATE takes
    the lock on Postgres and SQLite's write lock), so matches of one organization serialize."""
    now = timezone.now()
    if not MatchCursor.objects.filter(organization=organization).update(updated_at=now):
        MatchCursor.objects.bulk_create(
            [MatchCursor(organization=organization)], ignore_conflicts=True
        )
        MatchCursor.objects.filter(organization=organization).update(updated_at=now)
    return MatchCursor.objects.get(organization=organization)
