"""The Interviews page: every video interview the member may see, by status, with filters by job,
template and reviewer, each with its average score (reads in ``interviews.selectors``; a fixed
number of queries whatever the number of interviews or reviews)."""

from __future__ import annotations

from django.core.paginator import Paginator

from candidates.views import render_in_org_time
from recruitflow.decorators import organization_required

from . import selectors

PAGE_SIZE = 50


@organization_required
def interview_list(request):
    organization, membership = request.organization, request.membership
    filters = selectors.InterviewFilters.from_query(request.GET)
    paginator = Paginator(
        selectors.interview_list(organization=organization, membership=membership, filters=filters),
        PAGE_SIZE,
    )
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    tab_query = query.copy()
    tab_query.pop("status", None)
    counts = selectors.interview_status_counts(
        organization=organization, membership=membership, filters=filters
    )
    context = {
        "filters": filters,
        "options": selectors.interview_filter_options(
            organization=organization, membership=membership
        ),
        "page": page,
        "total": paginator.count,
        "status_counts": counts,
        "all_count": sum(count for _, _, count in counts),
        "query_without_page": query.urlencode(),
        "query_without_status": tab_query.urlencode(),
        "hiring_manager": membership.sees_only_hiring_team_candidates,
    }
    return render_in_org_time(request, "interviews/list.html", context)
