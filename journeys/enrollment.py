"""Putting a candidate in a journey by hand (the partner API's enrolment).

The run is started by the engine's own entry point (:func:`journeys.engine.start_runs`), for the
stage change that brought the application to where it is now, after the checks the engine
makes: the journey is active, the change meets the journey's criteria, no exit rule already
holds (:func:`journeys.exits.exit_check`: deleted, rejected, hired, left the stage), the number
is not locked by an opt-out when the journey texts or exits on opt-outs, and the candidate is
not in the journey already. A refusal says which, in the engine's words.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from candidates.models import Application, Candidate, StageTransition, TimelineEvent
from journeys import timeline_kinds
from journeys.engine import start_runs
from journeys.exits import exit_check
from journeys.models import ExitRule, Journey, JourneyRun, RunStatus, StepKind
from journeys.triggers import criteria_match, job_relations, lock_cursor
from messaging.models import OptOutAction
from messaging.selectors import opt_out_latest

# The criteria of a journey version, in the order a refusal names them.
CRITERIA = {
    "stage_names": "stage",
    "job_ids": "job",
    "office_ids": "office",
    "department_ids": "department",
    "statuses": "application status",
    "tags": "tags",
    "sources": "source",
}


class EnrollmentRefused(Exception):
    """Why the candidate can't enter the journey; ``code`` names the check."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Enrollment:
    run: JourneyRun
    timeline_event: TimelineEvent | None


def _application_for(candidate: Candidate, application: Application | None) -> Application:
    if application is not None:
        return application
    live = list(
        Application.objects.filter(candidate=candidate, deleted_at__isnull=True).order_by(
            "-last_activity_at", "-id"
        )[:2]
    )
    if not live:
        raise EnrollmentRefused(
            f"{candidate.full_name} has no live application: a journey runs for an application.",
            "no_application",
        )
    if len(live) > 1:
        raise EnrollmentRefused(
            f"{candidate.full_name} has several applications: say which with application_id.",
            "application_required",
        )
    return live[0]


def _criteria_refusal(version, *, transition, application, candidate) -> str | None:
    """The first criterion the stage change misses, judged by the engine's own matcher."""
    offices, departments = job_relations([transition.job_id or application.job_id])
    context = {
        "transition": transition,
        "application": application,
        "candidate": candidate,
        "job_offices": offices,
        "job_departments": departments,
    }
    if criteria_match(version, **context):
        return None
    for name, label in CRITERIA.items():
        only = copy.copy(version)
        for other in CRITERIA:
            if other != name:
                setattr(only, other, [])
        if not criteria_match(only, **context):
            return f"doesn't meet the journey's {label} criterion"
    return "doesn't meet the journey's criteria"


def _opt_out_refusal(version, candidate: Candidate) -> str | None:
    phone = candidate.mobile_phone
    if not phone:
        return None
    texts = version.steps.filter(kind=StepKind.SEND_SMS).exists()
    if not texts and ExitRule.OPTED_OUT not in (version.exit_rules or ()):
        return None
    latest = opt_out_latest(organization=candidate.organization, phone=phone)
    if latest is not None and latest.action == OptOutAction.LOCK:
        return f"{phone} opted out of texts"
    return None


def enroll(
    *,
    organization,
    journey: Journey,
    candidate: Candidate,
    application: Application | None,
    reason: str,
    actor: str,
) -> Enrollment:
    """Start ``journey`` for ``candidate`` now, or raise :class:`EnrollmentRefused`."""
    name = candidate.full_name or f"Candidate {candidate.pk}"
    if not journey.is_active:
        raise EnrollmentRefused(
            f"“{journey.name}” is not live: publish or resume it before adding candidates.",
            "paused",
        )
    application = _application_for(candidate, application)
    transition = (
        StageTransition.objects.filter(application=application)
        .select_related("application", "candidate", "job")
        .order_by("-observed_at", "-id")
        .first()
    )
    if transition is None:
        raise EnrollmentRefused(
            f"No stage change of {name}'s application has reached RecruitFlow yet; it arrives "
            "with the next webhook or sync.",
            "no_stage_change",
        )
    with transaction.atomic():
        lock_cursor(organization)
        journey = Journey.objects.select_related("current_version").get(pk=journey.pk)
        version = journey.current_version
        if version is None:
            raise EnrollmentRefused(f"“{journey.name}” has no version to run.", "paused")
        now = timezone.now()
        active = JourneyRun.objects.filter(
            journey=journey, candidate=candidate, status=RunStatus.ACTIVE
        ).first()
        if active is not None:
            raise EnrollmentRefused(
                f"{name} is already in “{journey.name}” (run {active.pk}).", "already_enrolled"
            )
        if JourneyRun.objects.filter(journey=journey, transition=transition).exists():
            raise EnrollmentRefused(
                f"{name} already went through “{journey.name}” for this stage "
                f"({transition.to_stage_name or 'the current stage'}).",
                "already_enrolled",
            )
        missed = _criteria_refusal(
            version, transition=transition, application=application, candidate=candidate
        )
        if missed:
            raise EnrollmentRefused(f"{name} {missed}.", "criteria")
        probe = JourneyRun(
            organization=organization,
            journey=journey,
            version=version,
            transition=transition,
            application=application,
            candidate=candidate,
            started_at=now,
        )
        exit_now = exit_check(organization, probe)
        if exit_now is not None:
            rule, why = exit_now
            raise EnrollmentRefused(f"{name} would leave at once: {why}.", rule)
        opted_out = _opt_out_refusal(version, candidate)
        if opted_out:
            raise EnrollmentRefused(f"{name} can't be added: {opted_out}.", ExitRule.OPTED_OUT)
        version.journey = journey
        start_runs(organization, [(version, transition, version.trigger)])
        run = JourneyRun.objects.get(journey=journey, transition=transition)
        events = TimelineEvent.objects.filter(
            candidate=candidate, kind=timeline_kinds.JOURNEY_ENTERED, data__run_id=run.pk
        )
        event = events.first()
        if event is not None:
            event.summary = f"Added to journey “{journey.name}” by {actor}: {reason}"[:500]
            event.data = {**event.data, "manual": True, "reason": reason, "added_by": actor}
            event.save(update_fields=["summary", "data"])
    return Enrollment(run=run, timeline_event=event)
