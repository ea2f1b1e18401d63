"""The Analytics page and its CSV exports (thin: filters in, ``analytics.page`` out)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.text import slugify

from candidates.views import organization_time, render_in_org_time
from recruitflow.decorators import organization_required
from recruitflow.page_cache import member_page

from .freshness import stored_seconds
from .page import analytics_page, table_csv, visible_job_ids
from .selectors import FilterError, filters_from_query


def _visible_jobs(request):
    return visible_job_ids(
        organization=request.organization,
        membership=request.membership,
        email=request.user.email,
    )


@organization_required
@member_page
def analytics_index(request):
    organization = request.organization
    error = ""
    try:
        filters = filters_from_query(request.GET, organization=organization)
    except FilterError as exc:
        error = str(exc)
        filters = filters_from_query({}, organization=organization)
    page = analytics_page(
        organization=organization, filters=filters, visible_jobs=_visible_jobs(request)
    )
    context = {
        "page": page,
        "filters": filters,
        "filter_error": error,
        "query_string": urlencode(filters.as_query()),
        "channels": [("sms", "Texts"), ("email", "E-mails")],
    }
    with organization_time(organization):
        context["cards_html"] = _cards_html(request, page)
    return render_in_org_time(
        request, "analytics/index.html", context, status=400 if error else 200
    )


def _cards_html(request, page) -> str:
    """The cards, rendered once per state of the figures they show (``page.cache_key``): the
    same figures, filters and names give the same cards, and a rollup or today's next count
    gives a new key."""
    key = page.cache_key()
    html = cache.get(key) if key else None
    if html is None:
        html = render_to_string("analytics/_cards.html", {"page": page}, request)
        if key:
            cache.set(key, html, stored_seconds())
    return mark_safe(html)  # noqa: S308 (our own template's output, escaped when rendered)


def _csv_text(page, card: str, table: str) -> str:
    """One table as CSV, made once per state of the figures like the cards (same key)."""
    key = page.cache_key()
    key = f"{key}:csv:{card}:{table}" if key else None
    text = cache.get(key) if key else None
    if text is None:
        data = page.card(card)
        found = data.table(table) if data else None
        if found is None:
            raise Http404("No such table on the Analytics page.")
        text = table_csv(found)
        if key:
            cache.set(key, text, stored_seconds())
    return text


@organization_required
def analytics_csv(request, card: str, table: str):
    organization = request.organization
    try:
        filters = filters_from_query(request.GET, organization=organization)
    except FilterError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    page = analytics_page(
        organization=organization, filters=filters, visible_jobs=_visible_jobs(request)
    )
    name = f"{slugify(organization.name)}-{card}-{table}-{filters.start}-{filters.end}.csv"
    response = HttpResponse(_csv_text(page, card, table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
