"""The runs of a journey: the Runs page (its list refreshes itself every few seconds while the
page is open, through :func:`journey_runs_live`) and one run's details."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.views.decorators.http import require_GET

from candidates.views import render_in_org_time
from recruitflow.decorators import organization_required

from . import selectors
from .forms import describe_step
from .models import JourneyRun, RunStatus, StepRun, StepRunStatus
from .views import journey_or_404

RUNS_PAGE_SIZE = 50
# How often an open Runs page asks for its list again (the page promises "within seconds").
POLL_SECONDS = 5


def _current_step_run(run: JourneyRun) -> StepRun | None:
    step_runs = run.loaded_step_runs
    waiting = [
        s
        for s in step_runs
        if s.status in (StepRunStatus.PENDING, StepRunStatus.RUNNING, StepRunStatus.HELD)
    ]
    if waiting:
        return waiting[0]
    return step_runs[-1] if step_runs else None


def _runs_context(request, pk: int) -> dict:
    journey = journey_or_404(request, pk)
    organization = request.organization
    status = request.GET.get("status") or ""
    if status not in RunStatus.values:
        status = ""
    counts = selectors.run_counts(organization=organization, journey=journey)
    tabs = [("", "All", counts["all"])] + [
        (value, label, counts[value]) for value, label in RunStatus.choices
    ]
    step_runs = (
        StepRun.objects.filter(organization=organization)
        .select_related("step__message_template")
        .order_by("position", "id")
    )
    runs = (
        selectors.runs_for(organization=organization, journey=journey, status=status or None)
        .select_related("candidate", "version", "application__job")
        .prefetch_related(Prefetch("step_runs", queryset=step_runs, to_attr="loaded_step_runs"))
    )
    page = Paginator(runs, RUNS_PAGE_SIZE).get_page(request.GET.get("page"))
    for run in page:
        current = _current_step_run(run)
        run.current = current
        run.current_summary = describe_step(current.step) if current else ""
    return {
        "journey": journey,
        "version": journey.current_version,
        "tabs": tabs,
        "status": status,
        "page": page,
        "poll_seconds": POLL_SECONDS,
    }


@organization_required
@require_GET
def journey_runs(request, pk: int):
    return render_in_org_time(request, "journeys/runs.html", _runs_context(request, pk))


@organization_required
@require_GET
def journey_runs_live(request, pk: int):
    """The Runs page's tabs and list alone, which the open page fetches every few seconds."""
    return render_in_org_time(request, "journeys/_runs_live.html", _runs_context(request, pk))


@organization_required
@require_GET
def journey_run_detail(request, pk: int, run_id: int):
    journey = journey_or_404(request, pk)
    organization = request.organization
    run = selectors.run_detail(organization=organization, run_id=run_id, journey=journey)
    if run is None:
        raise Http404("No such run of this journey.")
    step_runs = run.step_run_list
    for step_run in step_runs:
        step_run.summary = describe_step(step_run.step)
    context = {"journey": journey, "run": run, "step_runs": step_runs}
    return render_in_org_time(request, "journeys/runs_detail.html", context)
