"""``{% scheduling_library_card %}``: the Library index's scheduling templates section, with live
counts. A template tag because the Library index belongs to journeys, which can't import
scheduling."""

from __future__ import annotations

from django import template
from django.db.models import Count, Q

from scheduling.models import RequestStatus, SchedulingTemplate

register = template.Library()


@register.inclusion_tag("scheduling/library_card.html", takes_context=True)
def scheduling_library_card(context):
    request = context["request"]
    organization = request.organization
    counts = SchedulingTemplate.objects.filter(organization=organization).aggregate(
        templates=Count("id", distinct=True),
        public_links=Count("id", filter=Q(public_link_enabled=True), distinct=True),
        pending=Count("requests", filter=Q(requests__status=RequestStatus.PENDING)),
    )
    return {
        "template_count": counts["templates"],
        "public_link_count": counts["public_links"],
        "pending_count": counts["pending"],
        "membership": context.get("membership") or getattr(request, "membership", None),
    }
