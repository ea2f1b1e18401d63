"""A team member's hand on the e-mail opt-out ledger, from the candidate page and the Inbox
thread: lock a candidate's address (they asked by another route not to be e-mailed), or opt
it back in with the reason kept on the ledger (they asked to be e-mailed again)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from candidates import selectors as candidate_selectors
from messaging.email_consent import email_is_locked, email_opt_out_lock, email_opt_out_unlock
from messaging.models import EmailOptOutSource
from recruitflow.decorators import editor_required


def _candidate_or_404(request, candidate_id: int):
    candidate = candidate_selectors.candidate_detail(
        organization=request.organization, pk=candidate_id
    )
    if candidate is None:
        raise Http404("No such candidate.")
    return candidate


def _back(request, candidate) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("candidates:detail", args=[candidate.pk])


@require_POST
@editor_required
def email_lock(request, candidate_id: int):
    """Lock the candidate's address by hand: no e-mail, from journeys or the Inbox."""
    candidate = _candidate_or_404(request, candidate_id)
    address = (candidate.primary_email or "").strip()
    if not address:
        messages.error(request, f"{candidate.full_name} has no e-mail address to lock.")
    elif email_opt_out_lock(
        organization=request.organization,
        email=address,
        source=EmailOptOutSource.MANUAL,
        detail=(request.POST.get("reason") or "").strip(),
        actor=request.user,
    ):
        messages.success(request, f"{address} is locked: no e-mail goes to it.")
    return redirect(_back(request, candidate))


@require_POST
@editor_required
def email_unlock(request, candidate_id: int):
    """Opt the candidate's address back in; the reason is required."""
    candidate = _candidate_or_404(request, candidate_id)
    address = (candidate.primary_email or "").strip()
    reason = (request.POST.get("reason") or "").strip()
    if not address or not email_is_locked(request.organization, address):
        messages.error(request, "That address is not locked.")
    elif not reason:
        messages.error(request, f"Say why {address} may be e-mailed again (it is kept on record).")
    else:
        email_opt_out_unlock(
            organization=request.organization, email=address, reason=reason, actor=request.user
        )
        messages.success(request, f"{address} is opted back in: e-mails go to it again.")
    return redirect(_back(request, candidate))
