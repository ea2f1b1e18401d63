"""The candidate page's one-off "Send video interview": a team member picks a Library video
interview template and confirms; the candidate gets the invitation at once (through
:func:`interviews.services.interview_send`, like a journey step would send it)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from candidates.models import Candidate
from recruitflow.decorators import editor_required

from . import services
from .models import InterviewSource, VideoTemplate

MAX_ID = 2**63 - 1


@editor_required
@require_POST
def interview_send(request, candidate_pk: int):
    organization = request.organization
    candidate = None
    if 0 < candidate_pk <= MAX_ID:
        candidate = Candidate.objects.filter(
            organization=organization, pk=candidate_pk, deleted_at__isnull=True
        ).first()
    if candidate is None:
        raise Http404("No such candidate in your organization.")
    back = redirect("candidates:detail", pk=candidate.pk)
    raw = (request.POST.get("template") or "").strip()
    template = None
    if raw.isdigit() and 0 < int(raw) <= MAX_ID:
        template = VideoTemplate.objects.filter(organization=organization, pk=int(raw)).first()
    if template is None:
        messages.error(
            request,
            "Choose the video interview template to send (Library → Video interview templates).",
        )
        return back
    try:
        interview = services.interview_send(
            organization=organization,
            template=template,
            candidate=candidate,
            source=InterviewSource.RECRUITER,
            created_by=request.user,
        )
    except services.InterviewError as exc:
        messages.error(request, f"Video interview not sent: {exc}")
        return back
    if services.invitation_sent(interview):
        messages.success(
            request,
            f"Video interview “{template.name}” sent to {candidate.full_name}. The link works "
            f"for {template.expiry_days} day{'s' if template.expiry_days != 1 else ''}.",
        )
    else:
        messages.warning(
            request,
            f"Video interview “{template.name}” created, but the invitation could not be sent "
            "to the candidate; the timeline below says why.",
        )
    return back
