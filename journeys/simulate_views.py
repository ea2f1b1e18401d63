"""Journeys pages that try a journey without sending anything: Simulate (the last days of
real stage changes) and the dry run for one candidate."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.views.decorators.http import require_GET

from candidates.models import Candidate
from candidates.selectors import CandidateFilters, candidate_search
from candidates.views import organization_time, render_in_org_time
from recruitflow.decorators import organization_required

from . import simulation
from .dry_run import choose_application, dry_run
from .forms import SimulateForm
from .views import journey_or_404 as _journey

# ----------------------------------------------------------------------------------------------
# Simulation and dry run
# ----------------------------------------------------------------------------------------------


def _entries_chart(entries, *, days: int, now) -> dict:
    """Entries per day as bars for a server-rendered SVG (heights are attributes, which the
    CSP allows; no inline styles)."""
    today = timezone.localtime(now).date()
    first = today - timedelta(days=days - 1)
    counts = {first + timedelta(days=n): 0 for n in range(days)}
    for entry in entries:
        day = timezone.localtime(entry.entered_at).date()
        if day in counts:
            counts[day] += 1
    peak = max(counts.values(), default=0) or 1
    height, width = 80, max(4, min(24, 720 // days))
    bars = []
    for index, (day, count) in enumerate(sorted(counts.items())):
        bar_height = round(count * height / peak) if count else 0
        bars.append(
            {
                "x": index * width,
                "y": height - bar_height,
                "width": max(1, width - 2),
                "height": bar_height,
                "day": day,
                "count": count,
            }
        )
    return {
        "bars": bars,
        "width": width * days,
        "height": height,
        "peak": max(counts.values(), default=0),
        "first": first,
        "last": today,
    }


@organization_required
@require_GET
def journey_simulate(request, pk: int):
    journey = _journey(request, pk)
    form = SimulateForm(request.GET or {"days": 30})
    report, chart = None, None
    if journey.current_version is None:
        form.add_error(None, "This journey has no version to simulate yet.")
    elif form.is_valid():
        now = timezone.now()
        report = simulation.simulate(
            version=journey.current_version, days=form.cleaned_data["days"], now=now
        )
        with organization_time(request.organization):  # days as the organization counts them
            chart = _entries_chart(report.entries, days=form.cleaned_data["days"], now=now)
    context = {
        "journey": journey,
        "version": journey.current_version,
        "form": form,
        "report": report,
        "chart": chart,
        "tab": "simulate",
    }
    return render_in_org_time(request, "journeys/simulate.html", context)


@organization_required
@require_GET
def journey_dry_run(request, pk: int):
    journey = _journey(request, pk)
    organization = request.organization
    q = (request.GET.get("q") or "").strip()[:200]
    matches = []
    if q:
        matches = list(
            candidate_search(organization=organization, filters=CandidateFilters(q=q))[:20]
        )
    candidate, result, error, choice = None, None, "", None
    raw_id = request.GET.get("candidate") or ""
    if raw_id.isdigit():
        candidate = Candidate.objects.filter(organization=organization, pk=int(raw_id)).first()
        if candidate is None:
            error = "That candidate isn't in your organization. Search for them by name or email."
        elif journey.current_version is None:
            error = "This journey has no version to try yet."
        else:
            version = journey.current_version
            choice = choose_application(version=version, candidate=candidate)
            result = dry_run(version=version, candidate=candidate, application=choice.application)
    elif raw_id:
        error = "Choose a candidate from the search results."
    context = {
        "journey": journey,
        "version": journey.current_version,
        "q": q,
        "matches": matches,
        "candidate": candidate,
        "dry_run": result,
        "application_choice": choice,
        "error": error,
        "tab": "dry_run",
    }
    return render_in_org_time(request, "journeys/simulate.html", context)
