"""Partner API: the Analytics figures, the same numbers as the page (every card's figures,
charts and tables for a period and the one before it)."""

from __future__ import annotations

from django.core.cache import cache
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from .freshness import stored_seconds
from .page import analytics_page, visible_job_ids
from .registry import CardData
from .selectors import FilterError, filters_from_query

FILTER_PARAMETERS = [
    OpenApiParameter("start", str, description="First day (YYYY-MM-DD, organization's zone)."),
    OpenApiParameter("end", str, description="Last day, included (default today)."),
    OpenApiParameter("job", int),
    OpenApiParameter("office", int),
    OpenApiParameter("department", int),
    OpenApiParameter("journey", int),
    OpenApiParameter("channel", str, enum=["sms", "email"]),
    OpenApiParameter("member", int, description="A team member's user id."),
]

_NUMBER = {"type": ["number", "null"]}
_DATE = {"type": "string", "format": "date"}
_ANALYTICS_SCHEMA = {
    "type": "object",
    "properties": {
        "start": _DATE,
        "end": _DATE,
        "previous_start": _DATE,
        "previous_end": _DATE,
        "time_zone": {"type": "string"},
        "stored_until": {
            "type": ["string", "null"],
            "format": "date",
            "description": "The last day of stored daily figures (null: none yet).",
        },
        "cards": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "slug": {"type": "string"},
                    "title": {"type": "string"},
                    "figures": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "label": {"type": "string"},
                                "value": _NUMBER,
                                "previous": _NUMBER,
                                "unit": {"type": "string", "enum": ["count", "percent", "seconds"]},
                                "change": {
                                    "type": "string",
                                    "description": "Against the previous period, in words "
                                    "(`+12 %`, `new`, `no change`; empty when unknown).",
                                },
                            },
                            "required": ["label", "value", "previous", "unit", "change"],
                        },
                    },
                    "charts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "slug": {"type": "string"},
                                "title": {"type": "string"},
                                "kind": {"type": "string", "enum": ["line", "bar"]},
                                "labels": {"type": "array", "items": {"type": "string"}},
                                "unit": {"type": "string"},
                                "series": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "name": {"type": "string"},
                                            "values": {"type": "array", "items": _NUMBER},
                                        },
                                        "required": ["name", "values"],
                                    },
                                },
                            },
                            "required": ["slug", "title", "kind", "labels", "unit", "series"],
                        },
                    },
                    "tables": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "slug": {"type": "string"},
                                "title": {"type": "string"},
                                "columns": {"type": "array", "items": {"type": "string"}},
                                "rows": {"type": "array", "items": {"type": "array"}},
                            },
                            "required": ["slug", "title", "columns", "rows"],
                        },
                    },
                    "notes": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["slug", "title", "figures", "charts", "tables", "notes"],
            },
        },
    },
    "required": ["start", "end", "previous_start", "previous_end", "time_zone", "cards"],
}
_ANALYTICS_EXAMPLE = {
    "start": "2026-02-03",
    "end": "2026-03-04",
    "previous_start": "2026-01-04",
    "previous_end": "2026-02-02",
    "time_zone": "Europe/Berlin",
    "stored_until": "2026-03-03",
    "cards": [
        {
            "slug": "replies",
            "title": "Replies",
            "figures": [
                {
                    "label": "Reply rate",
                    "value": 41.5,
                    "previous": 37.0,
                    "unit": "percent",
                    "change": "+12 %",
                }
            ],
            "charts": [
                {
                    "slug": "replies-per-day",
                    "title": "Replies per day",
                    "kind": "line",
                    "labels": ["2026-03-03", "2026-03-04"],
                    "unit": "count",
                    "series": [{"name": "Replies", "values": [14, 9]}],
                }
            ],
            "tables": [
                {
                    "slug": "replies-by-journey",
                    "title": "Replies by journey",
                    "columns": ["Journey", "Sent", "Replies"],
                    "rows": [["Onsite", 120, 52]],
                }
            ],
            "notes": [],
        }
    ],
}


def card_json(card: CardData) -> dict:
    return {
        "slug": card.slug,
        "title": card.title,
        "figures": [
            {
                "label": stat.label,
                "value": stat.value,
                "previous": stat.previous,
                "unit": stat.unit,
                "change": stat.change,
            }
            for stat in card.stats
        ],
        "charts": [
            {"slug": chart.slug, "title": chart.title, **chart.as_json()} for chart in card.charts
        ],
        "tables": [
            {"slug": table.slug, "title": table.title, "columns": table.columns, "rows": table.rows}
            for table in card.tables
        ],
        "notes": card.notes,
    }


class AnalyticsView(APIView):
    @extend_schema(
        summary="Analytics figures",
        description="The figures of the Analytics page for a period (default: the last 30 "
        "days) and the same length before it; times in the organization's zone. Each card "
        "has its figures (with the previous period's value), its charts and its tables, as "
        "on the page. Any key may read it; a hiring manager's session sees only the jobs "
        "they may see. A malformed date or id, an empty parameter, a start after the end, "
        "an end in the future or too long a period is 400.",
        parameters=FILTER_PARAMETERS,
        responses={
            200: OpenApiResponse(
                _ANALYTICS_SCHEMA, description="Cards with figures, charts and tables."
            )
        },
        examples=[
            OpenApiExample(
                "One card", value=_ANALYTICS_EXAMPLE, response_only=True, status_codes=["200"]
            )
        ],
    )
    def get(self, request):
        organization = request._request.organization
        empty = sorted(
            p.name for p in FILTER_PARAMETERS if request.query_params.get(p.name, None) == ""
        )
        if empty:
            raise exceptions.ValidationError(
                {name: ["Leave the parameter out to not filter by it."] for name in empty}
            )
        try:
            filters = filters_from_query(request.query_params, organization=organization)
        except FilterError as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from None
        membership = getattr(request._request, "membership", None)
        visible = (
            visible_job_ids(
                organization=organization, membership=membership, email=request.user.email
            )
            if membership is not None
            else None
        )
        page = analytics_page(organization=organization, filters=filters, visible_jobs=visible)
        previous = filters.previous
        return Response(
            {
                "start": filters.start,
                "end": filters.end,
                "previous_start": previous.start,
                "previous_end": previous.end,
                "time_zone": organization.time_zone,
                "stored_until": page.figures.stored_until,
                "cards": _cards_json(page),
            }
        )


def _cards_json(page) -> list[dict]:
    """The cards as JSON, built once per state of their figures (like the page's cards)."""
    key = page.cache_key()
    found = cache.get(f"{key}:json") if key else None
    if found is None:
        found = [card_json(card) for card in page.cards]
        if key:
            cache.set(f"{key}:json", found, stored_seconds())
    return found
