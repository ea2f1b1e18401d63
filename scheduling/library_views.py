"""Library → Scheduling templates: the list with each template's health, the editor (new, edit,
read-only for viewers), copy and delete. Writes go through :mod:`scheduling.template_services`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from candidates.views import organization_time
from recruitflow.decorators import editor_required, organization_required

from . import health as template_health
from . import template_services
from .library_forms import SchedulingTemplateForm
from .models import RequestStatus, SchedulingTemplate, SchedulingTemplateMember

MAX_ID = 2**63 - 1
NOT_SAVED = "Not saved yet: fix what is marked below. Nothing you typed is lost."


def _templates(organization):
    return SchedulingTemplate.objects.filter(organization=organization)


def _template_or_404(organization, pk: int) -> SchedulingTemplate:
    template = _templates(organization).filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if template is None:
        raise Http404("No such scheduling template in your organization.")
    return template


@organization_required
def template_list(request):
    organization = request.organization
    members = SchedulingTemplateMember.objects.filter(organization=organization).select_related(
        "user"
    )
    templates = list(
        _templates(organization)
        .prefetch_related(Prefetch("members", queryset=members))
        .annotate(
            pending=Count("requests", filter=Q(requests__status=RequestStatus.PENDING)),
            booked=Count("requests", filter=Q(requests__status=RequestStatus.BOOKED)),
        )
        .order_by("name", "id")
    )
    report = template_health.templates_health(organization=organization, templates=templates)
    rows = [
        {
            "template": template,
            "health": report[template.pk],
            "public_link": template_services.public_link_url(template)
            if template.public_link_enabled
            else "",
        }
        for template in templates
    ]
    with organization_time(organization):
        return render(
            request,
            "scheduling/library_list.html",
            {"rows": rows, "days": template_health.DAYS},
        )


def _editor(request, *, form: SchedulingTemplateForm, template: SchedulingTemplate | None):
    organization = request.organization
    health = (
        template_health.template_health(organization=organization, template=template)
        if template is not None
        else None
    )
    with organization_time(organization):
        return render(
            request,
            "scheduling/library_edit.html",
            {
                "form": form,
                "template": template,
                "health": health,
                "public_link": template_services.public_link_url(template) if template else "",
                "read_only": form.read_only,
                "now": timezone.now(),
            },
        )


def _save(request, form: SchedulingTemplateForm, template=None) -> SchedulingTemplate | None:
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
        form = SchedulingTemplateForm(request.POST, organization=organization, team=team)
        template = _save(request, form)
        if template is not None:
            messages.success(request, f"Scheduling template “{template.name}” created.")
            return redirect("scheduling_library:edit", pk=template.pk)
        messages.error(request, NOT_SAVED)
    else:
        form = SchedulingTemplateForm(organization=organization, team=team)
    return _editor(request, form=form, template=None)


@organization_required
def template_edit(request, pk: int):
    organization = request.organization
    template = _template_or_404(organization, pk)
    team = template_services.team_members(organization)
    can_edit = request.membership.can_edit
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Your role can read scheduling templates but not change them.")
        form = SchedulingTemplateForm(
            request.POST, organization=organization, team=team, instance=template
        )
        saved = _save(request, form, template)
        if saved is not None:
            messages.success(
                request,
                f"Scheduling template “{saved.name}” saved. Interviews already booked keep "
                "their times.",
            )
            return redirect("scheduling_library:edit", pk=saved.pk)
        messages.error(request, NOT_SAVED)
        template.refresh_from_db()
    else:
        form = SchedulingTemplateForm(
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
        f"Copied “{template.name}” to “{copy.name}” with its interviewers and messages. "
        "Its public link starts switched off. Edit the copy below.",
    )
    return redirect("scheduling_library:edit", pk=copy.pk)


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
            reverse("scheduling_library:edit", args=[template.pk])
            if back
            else reverse("scheduling_library:list")
        )
    messages.success(request, f"Scheduling template “{template.name}” deleted.")
    return redirect("scheduling_library:list")
