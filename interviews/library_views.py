"""Library → Video interview templates: the list, the editor (new, edit, read-only for viewers),
copy and delete. Writes go through :mod:`interviews.template_services`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from candidates.views import organization_time
from recruitflow.decorators import editor_required, organization_required

from . import services, template_services
from .library_forms import VideoTemplateForm
from .models import (
    MESSAGE_KINDS,
    OPEN_STATUSES,
    InterviewStatus,
    VideoTemplate,
    VideoTemplateReviewer,
)

MAX_ID = 2**63 - 1
NOT_SAVED = "Not saved yet: fix what is marked below. Nothing you typed is lost."


def _templates(organization):
    return VideoTemplate.objects.filter(organization=organization)


def _template_or_404(organization, pk: int) -> VideoTemplate:
    template = _templates(organization).filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if template is None:
        raise Http404("No such video interview template in your organization.")
    return template


def _messages_summary(template: VideoTemplate) -> list[str]:
    """ "Video Interview Invitation: e-mail and text message" for each message chosen."""
    lines = []
    for kind, label in MESSAGE_KINDS:
        channels = [
            what
            for channel, what in template_services.CHANNELS
            if getattr(template, f"{kind}_{channel}_id")
        ]
        if channels:
            lines.append(f"{label}: {' and '.join(channels)}")
    return lines


@organization_required
def template_list(request):
    organization = request.organization
    reviewers = VideoTemplateReviewer.objects.filter(organization=organization).select_related(
        "user"
    )
    templates = list(
        _templates(organization)
        .prefetch_related(Prefetch("reviewers", queryset=reviewers))
        .annotate(
            question_count=Count("questions", distinct=True),
            open_count=Count(
                "interviews", filter=Q(interviews__status__in=OPEN_STATUSES), distinct=True
            ),
            completed_count=Count(
                "interviews",
                filter=Q(
                    interviews__status__in=[InterviewStatus.COMPLETED, InterviewStatus.REVIEWED]
                ),
                distinct=True,
            ),
        )
        .order_by("name", "id")
    )
    rows = [
        {
            "template": template,
            "reviewers": [template_services.person_name(r.user) for r in template.reviewers.all()],
            "messages": _messages_summary(template),
            "problems": services.template_problems(template),
        }
        for template in templates
    ]
    with organization_time(organization):
        return render(request, "interviews/library/list.html", {"rows": rows})


def _editor(request, *, form: VideoTemplateForm, template: VideoTemplate | None):
    with organization_time(request.organization):
        return render(
            request,
            "interviews/library/edit.html",
            {
                "form": form,
                "template": template,
                "read_only": form.read_only,
                "problems": services.template_problems(template) if template else [],
                "uses": template_services.template_uses(template) if template else [],
            },
        )


def _save(request, form: VideoTemplateForm, template=None) -> VideoTemplate | None:
    try:
        return template_services.template_save(
            organization=request.organization,
            values=form.values(),
            template=template,
            actor=request.user,
        )
    except ValidationError as exc:
        form.add_service_errors(exc.message_dict)
        return None


@editor_required
def template_create(request):
    organization = request.organization
    team = template_services.team_members(organization)
    if request.method == "POST":
        form = VideoTemplateForm(request.POST, organization=organization, team=team)
        template = _save(request, form)
        if template is not None:
            messages.success(request, f"Video interview template “{template.name}” created.")
            return redirect("interviews_library:edit", pk=template.pk)
        messages.error(request, NOT_SAVED)
    else:
        form = VideoTemplateForm(organization=organization, team=team)
    return _editor(request, form=form, template=None)


@organization_required
def template_edit(request, pk: int):
    organization = request.organization
    template = _template_or_404(organization, pk)
    team = template_services.team_members(organization)
    can_edit = request.membership.can_edit
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(
                "Your role can read video interview templates but not change them."
            )
        form = VideoTemplateForm(
            request.POST, organization=organization, team=team, instance=template
        )
        saved = _save(request, form, template)
        if saved is not None:
            messages.success(
                request,
                f"Video interview template “{saved.name}” saved. Interviews already sent keep "
                "their questions.",
            )
            return redirect("interviews_library:edit", pk=saved.pk)
        messages.error(request, NOT_SAVED)
        template.refresh_from_db()
    else:
        form = VideoTemplateForm(
            organization=organization, team=team, instance=template, read_only=not can_edit
        )
    return _editor(request, form=form, template=template)


@editor_required
@require_POST
def template_copy(request, pk: int):
    template = _template_or_404(request.organization, pk)
    copy = template_services.template_copy(template=template, actor=request.user)
    messages.success(
        request,
        f"Copied “{template.name}” to “{copy.name}” with its questions, reviewers and "
        "messages. Edit the copy below.",
    )
    return redirect("interviews_library:edit", pk=copy.pk)


@editor_required
@require_POST
def template_delete(request, pk: int):
    template = _template_or_404(request.organization, pk)
    try:
        template_services.template_delete(template=template)
    except template_services.TemplateInUse as exc:
        messages.error(request, str(exc))
        back = request.POST.get("from") == "edit"
        return redirect(
            reverse("interviews_library:edit", args=[template.pk])
            if back
            else reverse("interviews_library:list")
        )
    messages.success(request, f"Video interview template “{template.name}” deleted.")
    return redirect("interviews_library:list")
