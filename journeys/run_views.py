"""The runs of a journey: the Runs page (its list refreshes itself every few seconds while the
page is open, through :func:`journey_runs_live`) and one run's details."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.views.decorators.http import require_GET

from candidates.views import render_in_org_time
from recruitflow.decorators import organization_required
from recruitflow.page_cache import member_page

from . import selectors
from .forms import describe_step
from .models import JourneyStep, RunStatus, StepRun, StepRunStatus
from .views import journey_or_404

RUNS_PAGE_SIZE = 50
# How often an open Runs page asks for its list again (the page promises "within seconds").
POLL_SECONDS = 5
RUN_LIST_FIELDS = (
    "journey_id", "status", "reason", "started_at",
    "candidate__first_name", "candidate__last_name",
    "version__number",
    "application__job__name",
)  # fmt: skip


# A run is at its first step in one of these states, else at its last step.
WAITING = (StepRunStatus.PENDING, StepRunStatus.RUNNING, StepRunStatus.HELD)
# The statuses' labels, looked up once per row (``get_status_display`` builds the choices'
# mapping again on every call, twice a row).
RUN_STATUS_LABELS = dict(RunStatus.choices)
STEP_RUN_STATUS_LABELS = dict(StepRunStatus.choices)


def _current_step_runs(organization, run_ids: list[int]) -> dict[int, dict]:
    """``{run id: the step run it is at}``, each step run as a dict of only what the list shows
    of it (a page of runs has several step runs each: no model instance built for them; their
    steps are read once, by the caller)."""
    step_runs = (
        StepRun.objects.filter(organization=organization, run_id__in=run_ids)
        .order_by("run_id", "position", "id")
        .values("run_id", "step_id", "position", "status", "due_at", "held_until")
    )
    current: dict[int, dict] = {}
    for step_run in step_runs:
        chosen = current.get(step_run["run_id"])
        if chosen is None or chosen["status"] not in WAITING:
            current[step_run["run_id"]] = step_run
    return current


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
    runs = (
        selectors.runs_for(organization=organization, journey=journey, status=status or None)
        .select_related("candidate", "version", "application__job")
        # What the list shows of a run, its candidate, version and job.
        .only(*RUN_LIST_FIELDS)
    )
    paginator = Paginator(runs, RUNS_PAGE_SIZE)
    paginator.count = counts[status or "all"]  # the tabs counted them already
    page = paginator.get_page(request.GET.get("page"))
    current = _current_step_runs(organization, [run.pk for run in page])
    steps = {
        step.pk: step
        for step in JourneyStep.objects.filter(
            organization=organization, pk__in={s["step_id"] for s in current.values()}
        ).select_related("message_template")
    }
    summaries = {pk: describe_step(step) for pk, step in steps.items()}
    for run in page:
        run.status_label = RUN_STATUS_LABELS.get(run.status, run.status)
        run.current = current.get(run.pk)
        if run.current:
            run.current_summary = summaries.get(run.current["step_id"], "")
            run.current["status_label"] = STEP_RUN_STATUS_LABELS.get(
                run.current["status"], run.current["status"]
            )
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
@member_page
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
