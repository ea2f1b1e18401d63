"""The starter gallery (Journeys → Start from a template): the cards, and the one-click copy
that lands in the journey builder."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from recruitflow.decorators import editor_required, organization_required

from . import gallery
from .starters import STARTERS_BY_SLUG


@organization_required
def starter_gallery(request):
    cards = gallery.previews(organization=request.organization)
    return render(
        request,
        "onboarding/gallery.html",
        {"cards": cards, "can_edit": request.membership.can_edit},
    )


@require_POST
@editor_required
def starter_copy(request, slug: str):
    starter = STARTERS_BY_SLUG.get(slug)
    if starter is None:
        raise Http404("No such starter.")
    try:
        copied = gallery.starter_copy(
            organization=request.organization, starter=starter, user=request.user
        )
    except ValidationError as exc:
        messages.error(
            request,
            f"“{starter.name}” could not be copied: {' '.join(exc.messages)} Nothing was saved.",
        )
        return redirect("onboarding:starters")
    made = ", ".join(f"“{name}”" for name in copied.templates)
    messages.success(
        request,
        f"“{copied.journey.name}” copied as a paused journey, with its Library templates "
        f"{made}. {copied.note}",
    )
    return redirect("journeys:builder", copied.journey.pk)
