"""The candidate's page behind the link of their recording notice (:mod:`writeback.notice`).

Public: the signed token in the URL names the organization and the candidate and is the only
key. The organization is found with ``scopes_disabled()`` by the token, then everything runs in
``tenant_scope`` of it. GET explains and shows the button (mail scanners follow links, so a GET
changes nothing); POST, the button, pauses write-back for the candidate with the source "the
candidate's link" and comes back to the page, which then says it is stopped. A tampered token,
one signed for something else, or one whose organization or candidate is gone gets a 404 page
that names nobody.
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import Organization
from candidates.models import Candidate
from recruitflow.decorators import public
from recruitflow.tenancy import scopes_disabled, tenant_scope
from scheduling.public_pages import brand_context
from writeback import selectors, services
from writeback.models import PauseSource
from writeback.notice import read_notice_token, stop_label


def _not_found(request):
    return render(request, "writeback/notice/not_found.html", status=404)


@public
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def notice_page(request, token: str):
    """What the recording notice means, and the candidate's button to stop it."""
    found = read_notice_token(token)
    if found is None:
        return _not_found(request)
    organization_id, candidate_id = found
    with scopes_disabled():
        organization = Organization.objects.filter(pk=organization_id, is_active=True).first()
    if organization is None:
        return _not_found(request)
    with tenant_scope(organization):
        candidate = Candidate.objects.filter(pk=candidate_id, deleted_at__isnull=True).first()
        if candidate is None:
            return _not_found(request)
        if request.method == "POST":
            services.candidate_pause(
                organization=organization, candidate=candidate, source=PauseSource.CANDIDATE_LINK
            )
            return redirect(f"{request.path}?stopped=1")
        paused = selectors.is_paused(organization=organization, candidate_id=candidate.pk)
    return render(
        request,
        "writeback/notice/page.html",
        {
            **brand_context(organization),
            "organization": organization,
            "candidate": candidate,
            "paused": paused,
            "just_stopped": paused and request.GET.get("stopped") == "1",
            "stop_label": stop_label(organization),
        },
    )
