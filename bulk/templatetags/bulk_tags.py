"""``{% bulk_bar %}``: the candidates list's bulk actions (select, choose the action, preview),
shown to the roles that may act. A tag of the bulk app because the list belongs to candidates,
which can't read journeys or the Library."""

from __future__ import annotations

from django import template

from journeys.models import Journey
from library.models import MessageTemplate

register = template.Library()


@register.inclusion_tag("bulk/_bar.html", takes_context=True)
def bulk_bar(context):
    request = context["request"]
    membership = context.get("membership") or getattr(request, "membership", None)
    if not (membership and membership.can_edit):
        return {"can_act": False}
    organization = request.organization
    filters = context["filters"]
    return {
        "can_act": True,
        "csrf_token": context.get("csrf_token"),
        "total": context.get("total", 0),
        "page": context.get("page"),
        "filters": {
            "q": filters.q,
            "job": filters.job or "",
            "stage": filters.stage,
            "office": filters.office or "",
            "department": filters.department or "",
            "status": filters.status,
        },
        "journeys": list(
            Journey.objects.filter(organization=organization)
            .order_by("-is_active", "name", "id")
            .values("id", "name", "is_active")
        ),
        "message_templates": list(
            MessageTemplate.objects.filter(organization=organization)
            .order_by("channel", "name", "id")
            .values("id", "name", "channel")
        ),
    }
