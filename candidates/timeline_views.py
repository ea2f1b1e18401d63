"""The candidate page's timeline alone, which the open page fetches every few seconds
(``static/js/live.js``) so new stage changes, messages and journey steps appear by themselves."""

from __future__ import annotations

from django.http import Http404
from django.views.decorators.http import require_GET

from recruitflow.decorators import organization_required

from . import selectors
from .timeline_selectors import grouped_timeline
from .views import render_in_org_time


@organization_required
@require_GET
def candidate_timeline(request, pk: int):
    organization = request.organization
    candidate = selectors.candidate_detail(organization=organization, pk=pk)
    if candidate is None:
        raise Http404
    context = {
        "candidate": candidate,
        "timeline": grouped_timeline(organization=organization, candidate=candidate),
    }
    return render_in_org_time(request, "candidates/_timeline.html", context)
