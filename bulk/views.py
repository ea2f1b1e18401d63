"""Bulk actions from the candidates list: the preview (who gets it, who is skipped and why),
the confirm that starts the run, and the action's page with its progress and summary."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from candidates.views import render_in_org_time
from journeys.models import Journey
from library.models import MessageTemplate
from recruitflow.decorators import editor_required, organization_required

from . import checks, services
from .models import BulkAction, BulkKind

FILTER_FIELDS = ("q", "job", "stage", "office", "department", "status")


def _list_url(filters: dict) -> str:
    query = urlencode({k: v for k, v in filters.items() if v})
    return reverse("candidates:list") + (f"?{query}" if query else "")


def _filters(post) -> dict:
    return {name: (post.get(name) or "").strip()[:255] for name in FILTER_FIELDS}


def _target(request, kind: str) -> tuple[Journey | None, MessageTemplate | None, str]:
    """The chosen journey or template of the organization, or what to choose."""
    organization = request.organization
    if kind == BulkKind.ENROL:
        pk = checks.as_ids([request.POST.get("journey")])
        journey = Journey.objects.filter(organization=organization, pk__in=pk).first()
        if journey is None:
            return None, None, "Choose the journey to add them to."
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            return None, None, "Say why you are adding them by hand (it goes on each timeline)."
        if len(reason) > 300:
            return None, None, "Keep the reason under 300 characters."
        return journey, None, ""
    if kind == BulkKind.SEND:
        pk = checks.as_ids([request.POST.get("template")])
        template = MessageTemplate.objects.filter(organization=organization, pk__in=pk).first()
        if template is None:
            return None, None, "Choose the Library template to send."
        return None, template, ""
    return None, None, "Choose an action: Enrol in a journey or Send a template."


def _chosen(request):
    """The selection and target of the posted form, or a redirect back to the list saying
    what is missing (nothing is lost: the list keeps its filter)."""
    filters = _filters(request.POST)
    kind = (request.POST.get("kind") or "").strip()
    journey, template, problem = _target(request, kind)
    selection = None
    if not problem:
        try:
            selection = checks.selection_resolve(
                organization=request.organization,
                query=filters,
                ticked=request.POST.getlist("candidate"),
                select_all=request.POST.get("all") == "1",
            )
        except checks.SelectionError as exc:
            problem = str(exc)
    if problem:
        messages.error(request, f"Bulk action not started: {problem}")
        return None, redirect(_list_url(filters))
    return (filters, kind, journey, template, selection), None


@editor_required
@require_POST
def bulk_preview(request):
    chosen, back = _chosen(request)
    if back is not None:
        return back
    filters, kind, journey, template, selection = chosen
    preview = checks.preview_build(
        organization=request.organization,
        selection=selection,
        kind=kind,
        journey=journey,
        template=template,
    )
    context = {
        "preview": preview,
        "filters": filters,
        "kind": kind,
        "journey": journey,
        "template": template,
        "reason": (request.POST.get("reason") or "").strip(),
        "ticked": [] if selection.selected_all else selection.candidate_ids,
        "selected_all": selection.selected_all,
        "token": uuid.uuid4().hex,
        "list_url": _list_url(filters),
        "zone": checks.organization_zone(request.organization),
    }
    return render_in_org_time(request, "bulk/preview.html", context)


@editor_required
@require_POST
def bulk_confirm(request):
    chosen, back = _chosen(request)
    if back is not None:
        return back
    filters, kind, journey, template, selection = chosen
    try:
        action = services.bulk_start(
            organization=request.organization,
            user=request.user,
            token=request.POST.get("token") or "",
            selection=selection,
            kind=kind,
            journey=journey,
            template=template,
            reason=request.POST.get("reason") or "",
        )
    except services.BulkRefused as exc:
        messages.error(request, f"Bulk action not started: {exc}")
        return redirect(_list_url(filters))
    return redirect("bulk:detail", pk=action.pk)


def _action_or_404(request, pk: int) -> BulkAction:
    action = (
        BulkAction.objects.filter(organization=request.organization, pk=pk)
        .select_related("started_by")
        .first()
        if 0 < pk <= checks.MAX_ID
        else None
    )
    if action is None:
        raise Http404("No such bulk action in your organization.")
    return action


@organization_required
@require_GET
def bulk_detail(request, pk: int):
    action = _action_or_404(request, pk)
    progress = services.bulk_progress(action)
    context = {
        "action": action,
        "progress": progress,
        "summary": services.bulk_summary(action) if progress.processed else [],
        "list_url": _list_url(action.filters),
        "zone": checks.organization_zone(request.organization),
    }
    return render_in_org_time(request, "bulk/detail.html", context)


HISTORY_PAGE_SIZE = 25


@organization_required
@require_GET
def bulk_list(request):
    """Every bulk action of the organization, newest first, with who started it and how it
    went; each opens its own page."""
    page = Paginator(services.bulk_history(organization=request.organization), HISTORY_PAGE_SIZE)
    context = {
        "page": page.get_page(request.GET.get("page")),
        "list_url": reverse("candidates:list"),
        "zone": checks.organization_zone(request.organization),
    }
    return render_in_org_time(request, "bulk/list.html", context)


@organization_required
@require_GET
def bulk_progress(request, pk: int):
    action = _action_or_404(request, pk)
    return JsonResponse(services.bulk_progress(action).as_json())


app_name = "bulk"
urlpatterns = [
    path("", bulk_list, name="list"),
    path("preview/", bulk_preview, name="preview"),
    path("confirm/", bulk_confirm, name="confirm"),
    path("<int:pk>/", bulk_detail, name="detail"),
    path("<int:pk>/progress/", bulk_progress, name="progress"),
]
