"""The global search's pages: the results page (`/search/?q=`) and the JSON the top bar's
dropdown reads as you type (`/search/suggest/?q=`, `static/js/search.js`)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date

from candidates.views import organization_time, render_in_org_time

from . import search
from .decorators import organization_required
from .page_cache import member_page

WHEN_FORMAT = "j M Y, H:i T"


@organization_required
@member_page
def search_page(request):
    results = search.search(organization=request.organization, raw_query=request.GET.get("q"))
    context = {
        "results": results,
        "search_query": results.query or " ".join(request.GET.get("q", "").split())[:200],
        "searchable": search.SEARCHABLE,
        "limit": search.PAGE_LIMIT,
        "when_format": WHEN_FORMAT,
    }
    return render_in_org_time(request, "search/results.html", context)


@organization_required
def search_suggest(request):
    organization = request.organization
    results = search.search(
        organization=organization, raw_query=request.GET.get("q"), limit=search.SUGGEST_LIMIT
    )
    with organization_time(organization):
        groups = [
            {
                "kind": group.kind,
                "label": group.label,
                "results": [
                    {
                        "title": hit.title,
                        "detail": hit.detail,
                        "url": hit.url,
                        "when": (
                            format_date(timezone.localtime(hit.when), WHEN_FORMAT)
                            if hit.when
                            else ""
                        ),
                    }
                    for hit in group.hits
                ],
            }
            for group in results.groups
            if group.hits
        ]
    return JsonResponse(
        {
            "query": results.query,
            "message": results.problem or ("" if results.found else _nothing_found(results.query)),
            "groups": groups,
            "all_url": f"{reverse('search')}?{urlencode({'q': results.query})}"
            if results.query
            else "",
        }
    )


def _nothing_found(query: str) -> str:
    return f"Nothing matches “{query}”. You can search {search.SEARCHABLE}."
