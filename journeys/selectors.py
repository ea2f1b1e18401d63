"""Reads of the Journeys engine for pages and the API. Every function takes the organization."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from journeys.models import Journey, JourneyRun, RunStatus, StepRun


def runs_for(*, organization, journey: Journey, status: str | None = None) -> QuerySet[JourneyRun]:
    """The runs of ``journey``, newest first, optionally of one RunStatus. Counts per status
    come from :func:`run_counts`."""
    runs = JourneyRun.objects.filter(organization=organization, journey=journey)
    if status:
        runs = runs.filter(status=status)
    return runs.order_by("-started_at", "-id")


def run_counts(*, organization, journey: Journey) -> dict[str, int]:
    """``{status: n}`` for every RunStatus (zeros included) plus ``"all"``."""
    rows = (
        JourneyRun.objects.filter(organization=organization, journey=journey)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(RunStatus.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    counts["all"] = sum(counts[s] for s in RunStatus.values)
    return counts


def run_detail(*, organization, run_id: int, journey: Journey | None = None) -> JourneyRun | None:
    """One run with its candidate, version, trigger transition and step executions (in order,
    each with its step, template and message) in ``run.step_run_list``; None when it is not
    this organization's (or not this journey's)."""
    runs = JourneyRun.objects.filter(organization=organization, pk=run_id)
    if journey is not None:
        runs = runs.filter(journey=journey)
    step_runs = (
        StepRun.objects.filter(organization=organization)
        .select_related("step__message_template", "message")
        .order_by("position", "id")
    )
    return (
        runs.select_related("journey", "version", "candidate", "transition", "application__job")
        .prefetch_related(Prefetch("step_runs", queryset=step_runs, to_attr="step_run_list"))
        .first()
    )


def runs_of_candidate(*, organization, candidate) -> QuerySet[JourneyRun]:
    """A candidate's journey runs, newest first (for the candidate page)."""
    return (
        JourneyRun.objects.filter(organization=organization, candidate=candidate)
        .select_related("journey", "version")
        .order_by("-started_at", "-id")
    )
