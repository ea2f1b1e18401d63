"""``{% interviews_library_card %}``: the Library index's video interview templates section, with
live counts. A template tag because the Library index belongs to the library app, which can't
import interviews."""

from __future__ import annotations

from django import template
from django.db.models import Count, Q

from interviews.models import OPEN_STATUSES, VideoTemplate

register = template.Library()


@register.inclusion_tag("interviews/library/card.html", takes_context=True)
def interviews_library_card(context):
    request = context["request"]
    organization = request.organization
    counts = VideoTemplate.objects.filter(organization=organization).aggregate(
        templates=Count("id", distinct=True),
        open=Count("interviews", filter=Q(interviews__status__in=OPEN_STATUSES), distinct=True),
    )
    return {
        "template_count": counts["templates"],
        "open_count": counts["open"],
        "membership": context.get("membership") or getattr(request, "membership", None),
    }
