"""Settings → ATS activity (the rules, pending and failed writes with Retry) and the
per-candidate pause buttons of the candidate page and the Inbox thread."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from candidates.models import Candidate
from integrations.connections import ats_connection_for, link_field_refusal
from recruitflow.decorators import admin_required, editor_required
from writeback import selectors, services
from writeback.forms import RULE_LABELS, RulesForm
from writeback.models import PauseSource
from writeback.transcript_uploads import transcripts_unavailable


def _rules_form(organization, rules, data=None) -> tuple[RulesForm, str]:
    """The rules form, and why transcripts are not available for the organization's ATS
    connection ("" when they are): then the form does not offer the rule and a save keeps it
    as stored."""
    form = RulesForm(data, initial=RulesForm.initial_from(rules))
    unavailable = transcripts_unavailable(organization)
    if unavailable:
        form.fields["sms_transcripts"].disabled = True
    return form, unavailable


def _settings_context(request, form=None) -> dict:
    organization = request.organization
    effective = selectors.rules_for(organization)
    rules = effective.rules
    blank_form, unavailable = _rules_form(organization, rules)
    return {
        "tab": "ats_activity",
        "form": form or blank_form,
        "transcripts_unavailable": unavailable,
        # The note is still written; only the custom field is not (the adapter's words).
        "video_field_unavailable": link_field_refusal(organization),
        "rules": rules,
        "inherited_from": rules.organization if effective.inherited_for(organization) else None,
        "own_rules": effective.owner_id == organization.pk,
        "connection": ats_connection_for(organization),
        "open_writes": list(selectors.writes_needing_attention(organization=organization)[:100]),
        "recent_writes": selectors.recent_writes(organization=organization),
        "rule_labels": RULE_LABELS,
    }


@admin_required
def settings_page(request):
    if request.method == "POST":
        form, _ = _rules_form(
            request.organization, selectors.rules_for(request.organization).rules, request.POST
        )
        if form.is_valid():
            try:
                services.rules_update(
                    organization=request.organization,
                    user=request.user,
                    acting_user_email=form.cleaned_data["acting_user_email"] or "",
                    **form.rule_changes(),
                )
            except services.WritebackError as exc:
                form.add_error("acting_user_email", str(exc))
            else:
                messages.success(request, "ATS activity settings saved.")
                return redirect("writeback:settings")
        return render(
            request, "writeback/settings.html", _settings_context(request, form), status=400
        )
    return render(request, "writeback/settings.html", _settings_context(request))


@admin_required
@require_POST
def settings_inherit(request):
    services.rules_delete(organization=request.organization)
    messages.success(request, "This organization follows the ATS activity settings above it again.")
    return redirect("writeback:settings")


@admin_required
@require_POST
def write_retry(request, write_id: int):
    try:
        services.write_retry(organization=request.organization, write_id=write_id)
    except services.WritebackError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Queued again: it is written within a few seconds.")
    return redirect(reverse("writeback:settings") + "#open-writes")


def _back(request, candidate: Candidate) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("candidates:detail", args=[candidate.pk])


@editor_required
@require_POST
def candidate_pause(request, candidate_id: int):
    candidate = get_object_or_404(Candidate, pk=candidate_id)
    source = request.POST.get("source")
    if source not in (PauseSource.CANDIDATE_PAGE, PauseSource.INBOX):
        source = PauseSource.CANDIDATE_PAGE
    services.candidate_pause(
        organization=request.organization, candidate=candidate, source=source, user=request.user
    )
    messages.success(request, f"{candidate.full_name}'s activity is no longer written to the ATS.")
    return redirect(_back(request, candidate))


@editor_required
@require_POST
def candidate_resume(request, candidate_id: int):
    candidate = get_object_or_404(Candidate, pk=candidate_id)
    services.candidate_resume(organization=request.organization, candidate=candidate)
    messages.success(request, f"{candidate.full_name}'s activity is written to the ATS again.")
    return redirect(_back(request, candidate))
