"""Candidates: the list with filters, and one candidate's page with its timeline."""

from __future__ import annotations

import zoneinfo
from contextlib import contextmanager

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from integrations.ats_screens import ATSScreen
from integrations.screens import get_screen, screens_for
from recruitflow.decorators import organization_required
from recruitflow.page_cache import member_page

from . import selectors
from .timeline_selectors import grouped_timeline

PAGE_SIZE = 50


@contextmanager
def organization_time(organization):
    """Render dates in the organization's time zone (the sidebar says which)."""
    try:
        zone = zoneinfo.ZoneInfo(organization.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    with timezone.override(zone):
        yield


def render_in_org_time(request, template: str, context: dict, **kwargs):
    with organization_time(request.organization):
        return render(request, template, context, **kwargs)


@organization_required
@member_page
def candidate_list(request):
    organization = request.organization
    filters = selectors.CandidateFilters.from_query(request.GET)
    overview = selectors.ats_overview(organization=organization)
    paginator = Paginator(
        selectors.candidate_list(organization=organization, filters=filters), PAGE_SIZE
    )
    if not filters.active:
        # Unfiltered, the list is every live candidate, whom the overview counted.
        paginator.count = overview.candidate_count
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "options": selectors.candidate_filter_options(
            organization=organization, job_id=filters.job
        ),
        "page": page,
        "total": paginator.count,
        "status_counts": selectors.candidate_status_counts(
            organization=organization, filters=filters
        ),
        "overview": overview,
        "progress": (
            selectors.sync_progress(overview.running_run) if overview.running_run else None
        ),
        "query_without_page": query.urlencode(),
        "hiring_team": _hiring_team(request),
        # The ATS vendors an admin can connect, as Settings → Integrations lists them.
        "ats_names": " or ".join(screen.label for screen in screens_for("ats")),
    }
    return render_in_org_time(request, "candidates/list.html", context)


def _hiring_team(request) -> dict | None:
    """For a hiring manager: the e-mail their ATS user is found by and the jobs whose hiring
    team includes them (whose candidates they see); None for roles that see everyone."""
    membership = request.membership
    if not membership.sees_only_hiring_team_candidates:
        return None
    email = request.user.email
    jobs = selectors.hiring_team_jobs(organization=request.organization, email=email)
    return {"email": email, "jobs": list(jobs.order_by("name").values_list("name", flat=True))}


@organization_required
@member_page
def candidate_detail(request, pk: int):
    organization = request.organization
    candidate = selectors.candidate_detail(organization=organization, pk=pk)
    if candidate is None:
        raise Http404
    if candidate.merged_into_id and candidate.merged_into.deleted_at is None:
        return redirect("candidates:detail", pk=candidate.merged_into_id)
    context = {
        "candidate": candidate,
        "timeline": grouped_timeline(organization=organization, candidate=candidate),
        "ats_url": ats_candidate_url(organization=organization, candidate=candidate),
    }
    return render_in_org_time(request, "candidates/detail.html", context)


def ats_candidate_url(*, organization, candidate) -> str:
    """The candidate's own page in their ATS, when the connection's vendor has one ("" for the
    sandbox, a custom address or a vendor no longer installed)."""
    screen = get_screen(candidate.provider)
    if not isinstance(screen, ATSScreen):
        return ""
    return screen.candidate_url(screen.own(organization), candidate.external_id)
