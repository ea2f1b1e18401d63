"""The builder's Draft / Publish pages: Publish (what publishing changes, in words, and the
button), Discard draft, and the step order saved by drag and drop."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from candidates.views import render_in_org_time
from recruitflow.decorators import editor_required

from . import drafts, editing, services
from .forms import CriteriaNames
from .views import (
    _error_text,
    _render_steps,
    _steps_context,
    journey_or_404,
)
from .wording import publish_changes, trigger_sentence


@editor_required
def journey_publish(request, pk: int):
    """GET: what publishing the draft changes, and why it can't be published yet if so.
    POST: publish it. A journey that was never live is published as it is (its first publish
    makes it live), and the page lists what it will do."""
    journey = journey_or_404(request, pk)
    first = not journey.is_published
    if request.method == "POST":
        try:
            if first:
                services.journey_activate(journey=journey, user=request.user)
            else:
                drafts.journey_publish(journey=journey, user=request.user)
        except ValidationError as exc:
            what = "journey" if first else "draft"
            messages.error(request, f"The {what} can't be published yet: {_error_text(exc)}")
            return redirect("journeys:publish", pk=journey.pk)
        messages.success(
            request,
            f"Published: “{journey.name}” is live. Candidates who match its trigger from now on "
            "get this version; those already in it keep the version they started with.",
        )
        return redirect("journeys:builder", pk=journey.pk)
    draft, live = journey.draft_version, journey.current_version
    if first:
        draft, live = live, None
    if draft is None:
        messages.info(request, drafts.NO_DRAFT)
        return redirect("journeys:builder", pk=journey.pk)
    names = CriteriaNames.for_versions(organization=request.organization, versions=[live, draft])
    context = {
        "journey": journey,
        "draft": draft,
        "live": live,
        "changes": publish_changes(live, draft, names),
        "problems": services.activation_problems(draft),
        "summary": trigger_sentence(draft, names),
    }
    return render_in_org_time(request, "journeys/publish.html", context)


@editor_required
@require_POST
def journey_discard_draft(request, pk: int):
    journey = journey_or_404(request, pk)
    try:
        drafts.journey_discard_draft(journey=journey)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, "Draft discarded: the builder shows the live version again.")
    return redirect("journeys:builder", pk=journey.pk)


@editor_required
@require_POST
def steps_reorder(request, pk: int):
    """Save the order the steps were dragged into (``order``: step ids, comma-separated).
    Answers with the steps card; a refused order answers 409 with the card as it was and the
    reason above it."""
    journey = journey_or_404(request, pk)
    raw = (request.POST.get("order") or "").split(",")
    error = ""
    if not raw or not all(part.strip().isdigit() for part in raw):
        error = "The new order didn't arrive complete. Reload the page and drag the step again."
    else:
        try:
            editing.journey_steps_reorder(
                journey=journey,
                step_ids=[int(part) for part in raw],
                user=request.user,
                draft=True,
            )
        except ValidationError as exc:
            error = _error_text(exc)
    journey.refresh_from_db()
    if not request.htmx and not request.headers.get("X-Requested-With"):
        if error:
            messages.error(request, error)
        return redirect(reverse("journeys:builder", args=[journey.pk]) + "#steps")
    context = _steps_context(request, journey)
    if error:
        context["steps_error"] = error
    response = _render_steps(request, context)
    if error:
        response.status_code = 409
    return response
