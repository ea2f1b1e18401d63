"""``{% video_interview_panel candidate %}``: the candidate page's video interviews — the ones
sent to this candidate with their status, and (for members who may send) the one-off "Send
video interview" form. A template tag because the candidate page belongs to candidates, which
can't import interviews."""

from __future__ import annotations

from django import template

from interviews.links import review_url
from interviews.models import InterviewStatus, VideoInterview, VideoTemplate

register = template.Library()
SHOWN = 10


@register.inclusion_tag("interviews/_candidate_panel.html", takes_context=True)
def video_interview_panel(context, candidate):
    request = context["request"]
    organization = request.organization
    membership = context.get("membership") or getattr(request, "membership", None)
    interviews = list(
        VideoInterview.objects.filter(organization=organization, candidate=candidate)
        .select_related("template")
        .order_by("-created_at", "-id")[:SHOWN]
    )
    finished = (InterviewStatus.COMPLETED, InterviewStatus.REVIEWED)
    return {
        "candidate": candidate,
        "rows": [
            {"interview": i, "review_url": review_url(i) if i.status in finished else ""}
            for i in interviews
        ],
        "templates": list(
            VideoTemplate.objects.filter(organization=organization)
            .order_by("name", "id")
            .values_list("pk", "name")
        ),
        "can_send": bool(membership and membership.can_edit),
        "organization": organization,
        "csrf_token": context.get("csrf_token"),
    }
