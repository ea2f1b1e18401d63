"""The candidate page's "Delete this candidate's personal data" (owners and admins, with the
candidate's name typed to confirm): :func:`candidates.erasure.erase_candidate`."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from recruitflow.decorators import admin_required

from . import selectors
from .erasure import confirmation_text, describe_counts, erase_candidate


@admin_required
@require_POST
def candidate_erase(request, pk: int):
    organization = request.organization
    candidate = selectors.candidate_detail(organization=organization, pk=pk)
    if candidate is None:
        raise Http404
    expected = confirmation_text(candidate)
    typed = " ".join(request.POST.get("confirmation", "").split())
    if typed.casefold() != expected.casefold():
        messages.error(
            request,
            f"Nothing was deleted: type {expected} in the box, exactly as shown, to confirm.",
        )
        return redirect(reverse("candidates:detail", args=[candidate.pk]) + "#erase")
    record = erase_candidate(
        organization=organization, candidate=candidate, requested_by=request.user
    )
    messages.success(
        request,
        f"The candidate's personal data was deleted ({describe_counts(record.counts)}).",
    )
    for problem in record.problems:
        messages.warning(request, problem)
    return redirect(reverse("candidates:detail", args=[candidate.pk]) + "#erase")
