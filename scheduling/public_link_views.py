"""The public scheduling link: one link for many candidates. Name, e-mail and phone give a new
candidate their slot picker; an address that is already a candidate's gets a confirmation
e-mail instead (``scheduling.public_link_services``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from recruitflow.decorators import public
from recruitflow.tenancy import scopes_disabled, tenant_scope
from scheduling.public_pages import KNOWN_ZONES, brand_context, event_title, interview_context
from scheduling.public_views import VIEW_METHODS, not_found

from . import links, public_limits, public_link_services, services
from .models import (
    SchedulingTemplate,
)

# --------------------------------------------------------------------------------------------
# The public link
# --------------------------------------------------------------------------------------------


class PublicLinkForm(forms.Form):
    first_name = forms.CharField(
        max_length=150, error_messages={"required": "Enter your first name."}
    )
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.CharField(
        label="E-mail",
        max_length=254,
        error_messages={"required": "Enter your e-mail address: your invitation goes there."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Mobile phone (optional)",
        max_length=40,
        required=False,
        help_text="With the country code, e.g. +44 7700 900123, for text reminders.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    tz = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-browser-tz": ""}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"


def _find_public_template(public_token: str) -> SchedulingTemplate | None:
    if not public_token:
        return None
    with scopes_disabled():
        template = (
            SchedulingTemplate.objects.select_related("organization")
            .filter(public_token=public_token)
            .first()
        )
    if template is None or not template.organization.is_active:
        return None
    return template


def _render_link_off(http_request, template: SchedulingTemplate):
    return render(
        http_request,
        "scheduling/public/closed.html",
        {
            **brand_context(template.organization),
            "state": "link_off",
            "title": event_title(template),
        },
        status=404,
    )


def _render_too_many(http_request, template: SchedulingTemplate, refusal) -> HttpResponse:
    response = render(
        http_request,
        "scheduling/public/too_many.html",
        {
            **brand_context(template.organization),
            "interview": interview_context(template),
            "busy_link": refusal.scope == "link",
            "wait": refusal.wait_words,
        },
        status=429,
    )
    response["Retry-After"] = str(refusal.retry_after)
    return response


@public
@never_cache
@require_http_methods(VIEW_METHODS)
def public_link(http_request, public_token: str):
    """One link for many candidates: name, e-mail and phone → a new candidate and their slot
    picker, or, for an address that is already a candidate's, a confirmation e-mail to that
    address and a "check your e-mail" page. Submissions are rate limited per visitor and per
    link (scheduling.public_limits)."""
    template = _find_public_template(public_token)
    if template is None:
        return not_found(http_request)
    organization = template.organization
    with tenant_scope(organization):
        if not template.public_link_enabled:
            return _render_link_off(http_request, template)
        if http_request.method == "POST":
            refusal = public_limits.submission_check(http_request, link_token=template.public_token)
            if refusal is not None:
                return _render_too_many(http_request, template, refusal)
        form = PublicLinkForm(http_request.POST or None)
        if http_request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            zone = data["tz"] if data["tz"] in KNOWN_ZONES else ""
            try:
                result = public_link_services.public_link_submit(
                    organization=organization,
                    template=template,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    phone=data["phone"],
                    zone=zone,
                    title=event_title(template),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            except services.SchedulingError as exc:
                form.add_error(
                    None,
                    f"We couldn't open a booking for you: {exc} "
                    f"Please contact {organization.name}.",
                )
            else:
                if result.request is None:
                    # Only what the visitor typed is shown: the address may be someone else's.
                    return render(
                        http_request,
                        "scheduling/public/check_email.html",
                        {
                            **brand_context(organization),
                            "interview": interview_context(template),
                            "email": data["email"].strip(),
                            "hours": settings.SCHEDULING_PUBLIC_LINK_CONFIRM_HOURS,
                            "form_url": reverse("booking:public", args=[template.public_token]),
                        },
                    )
                url = reverse("booking:page", args=[result.request.token])
                return redirect(url + ("?" + urlencode({"tz": zone}) if zone else ""))
        context = {
            **brand_context(organization),
            "interview": interview_context(template),
            "form": form,
        }
        return render(
            http_request,
            "scheduling/public/public_link.html",
            context,
            status=400 if form.errors else 200,
        )


@public
@never_cache
@require_safe
def public_confirm(http_request, public_token: str, proof: str):
    """The link e-mailed to an address that is already a candidate's: it ties the visitor to
    that candidate (their own scheduling request) and opens the slot picker. An expired or
    altered link says so and points back to the form."""
    template = _find_public_template(public_token)
    if template is None:
        return not_found(http_request)
    organization = template.organization
    with tenant_scope(organization):
        if not template.public_link_enabled:
            return _render_link_off(http_request, template)
        hours = settings.SCHEDULING_PUBLIC_LINK_CONFIRM_HOURS
        problem, status, found = "", 200, None
        try:
            found = links.confirmation_read(proof, max_age_seconds=hours * 3600)
        except links.ConfirmationExpired:
            problem, status = "expired", 410
        except links.ConfirmationInvalid:
            problem, status = "invalid", 404
        if found is not None and found["template_id"] != template.pk:
            problem, status = "invalid", 404
        error = ""
        if not problem and found is not None:
            try:
                scheduling_request = public_link_services.public_link_confirm(
                    organization=organization,
                    template=template,
                    candidate_id=found["candidate_id"],
                )
            except services.SchedulingError as exc:
                problem, status, error = "failed", 400, str(exc)
            else:
                zone = found["zone"] if found["zone"] in KNOWN_ZONES else ""
                url = reverse("booking:page", args=[scheduling_request.token])
                return redirect(url + ("?" + urlencode({"tz": zone}) if zone else ""))
        return render(
            http_request,
            "scheduling/public/confirm_problem.html",
            {
                **brand_context(organization),
                "interview": interview_context(template),
                "problem": problem,
                "error": error,
                "hours": hours,
                "form_url": reverse("booking:public", args=[template.public_token]),
            },
            status=status,
        )
