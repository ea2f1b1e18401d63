"""Settings → Integrations: a card per ATS vendor, the sync panel and the sync history.

These pages live in `candidates` because they show and start syncs, which `candidates` owns.
Each vendor's card, form and actions are its own (``integrations/<vendor>/screen.py``, drawn
by ``templates/integrations/<vendor>/settings.html``): this page loops over the registry and
names no vendor.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from integrations.screens import screens_for
from recruitflow.decorators import admin_required, organization_required

from . import selectors as candidate_selectors
from .services import NoATSConnection, SyncAlreadyRunning, sync_request
from .views import render_in_org_time


class IntegrationsPage:
    """Settings → Integrations, as the ATS vendor screens see it (``integrations.screens``)."""

    capabilities = ("ats",)
    url_name = "integrations:index"

    def render(self, request, *, forms=None, status=200):
        return _render_index(request, forms=forms or {}, status=status)

    def card(self, request, screen) -> dict:
        organization = request.organization
        has_row = screen.own(organization) is not None
        return {
            "last_event": (
                candidate_selectors.last_webhook_event(
                    organization=organization, provider=screen.identifier
                )
                if has_row
                else None
            )
        }


PAGE = IntegrationsPage()


def _render_index(request, *, forms: dict, status=200):
    organization = request.organization
    overview = candidate_selectors.ats_overview(organization=organization)
    context = {
        "tab": "integrations",
        "cards": [
            screen.card(request, PAGE, form=forms.get(screen.identifier))
            for screen in screens_for("ats")
        ],
        "overview": overview,
        "progress": (
            candidate_selectors.sync_progress(overview.running_run)
            if overview.running_run
            else None
        ),
    }
    return render_in_org_time(request, "integrations/settings.html", context, status=status)


# ----------------------------------------------------------------------------------------------
# Settings → Integrations (each ATS vendor's actions: integrations.urls.provider_patterns)
# ----------------------------------------------------------------------------------------------


@admin_required
def index(request):
    return _render_index(request, forms={})


# ----------------------------------------------------------------------------------------------
# Syncs
# ----------------------------------------------------------------------------------------------


@admin_required
@require_POST
def sync_start(request):
    organization = request.organization
    full = request.POST.get("full") == "1"
    try:
        sync_request(organization=organization, full=full)
    except NoATSConnection as exc:
        messages.error(request, str(exc))
        return redirect("integrations:index")
    except SyncAlreadyRunning as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(
            request,
            "Full resync started: every job, candidate and application is read again."
            if full
            else "Sync started: changes since the last sync are being read.",
        )
    return redirect("integrations:syncs")


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@admin_required
def sync_history(request):
    organization = request.organization
    page = Paginator(candidate_selectors.sync_runs(organization=organization), 50).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    running = None
    for run in page:
        run.duration_text = _duration_text(
            run.duration_seconds
            if run.finished_at
            else (now - run.started_at).total_seconds()
            if run.status == "running"
            else None
        )
        run.count_items = sorted((run.counts or {}).items())
        if run.status == "running" and running is None:
            running = run
    if running is None and page.number == 1 and page.object_list:
        running = page.object_list[0]  # the latest run, shown finished ("Done" at 100%)
    context = {
        "tab": "integrations",
        "page": page,
        "progress": candidate_selectors.sync_progress(running) if running else None,
        "overview": candidate_selectors.ats_overview(organization=organization),
    }
    template = "integrations/_sync_history.html" if request.htmx else "integrations/syncs.html"
    return render_in_org_time(request, template, context)


@organization_required
def sync_progress(request, pk: int):
    run = candidate_selectors.sync_run_get(organization=request.organization, pk=pk)
    if run is None:
        raise Http404
    progress = candidate_selectors.sync_progress(run)
    response = render_in_org_time(
        request,
        "integrations/_sync_progress.html",
        {"progress": progress, "poll": True, "refresh": request.GET.get("refresh") == "1"},
    )
    if progress["finished"] and request.GET.get("refresh") == "1" and request.htmx:
        # The page around the bar (empty candidate list, dashboard) now has something to show.
        response["HX-Refresh"] = "true"
    return response
