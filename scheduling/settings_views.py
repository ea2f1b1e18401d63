"""Settings → Calendars: the organization's Cronofy application (client ID, secrets with
rotation, data center), the sandbox shortcut, Enterprise Connect, and the account tree's
inheritance (a sub-account without settings of its own uses its parent's)."""

from __future__ import annotations

import json

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from candidates.views import render_in_org_time
from integrations.cronofy import connections
from integrations.cronofy.client import DOCUMENTED_BASE_URLS as CRONOFY_DOCUMENTED
from integrations.cronofy.client import base_urls
from integrations.cronofy.models import CalendarConnection, CalendarConnectionStatus
from integrations.forms import address_change_message, clean_provider_address, same_address
from integrations.http import ProviderError
from integrations.policy import custom_addresses_allowed
from recruitflow.decorators import admin_required
from scheduling import calendar_services as cal
from scheduling.forms import CronofySettingsForm

SESSION_ENTERPRISE = "calendar_settings:enterprise_oauth"
SANDBOX_CLIENT_ID = "sandbox-cronofy-client"
SANDBOX_CLIENT_SECRET = "CRN_sandbox_cronofy_secret"


def credentials_redirect_uri() -> str:
    return settings.PUBLIC_BASE_URL + reverse("scheduling:cronofy_callback")


def enterprise_redirect_uri() -> str:
    return settings.PUBLIC_BASE_URL + reverse("calendar_settings:enterprise_callback")


def _sandbox_fill() -> str:
    if not settings.SANDBOX_URL:
        return ""
    base = f"{settings.SANDBOX_URL}/cronofy"
    return json.dumps(
        {
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
            "data_center": "us",
            "api_base_url": base,
            "app_base_url": base,
        }
    )


def _form(row, data=None) -> CronofySettingsForm:
    initial, stored = {}, {}
    if row is not None:
        initial = {
            "client_id": row.client_id,
            "data_center": row.data_center,
            "api_base_url": row.api_base_url,
            "app_base_url": row.app_base_url,
        }
        stored = {
            "client_secret": row.client_secret or "",
            "previous_client_secret": row.previous_client_secret or "",
        }
    form = CronofySettingsForm(data, initial=initial, stored_secrets=stored)
    if not custom_addresses_allowed():
        # The data center picks Cronofy's host; no address can be typed.
        del form.fields["api_base_url"], form.fields["app_base_url"]
    return form


def _api_address(data_center: str, api_base_url: str) -> str:
    try:
        return base_urls(data_center, api_base_url=api_base_url or "")[0]
    except ValueError:
        return api_base_url or ""


def _check_addresses(form: CronofySettingsForm, row) -> None:
    """Refuse an address the SSRF guard would refuse; a changed data center or address clears
    the saved secrets (the admin pastes the client secret again)."""
    for name in ("api_base_url", "app_base_url"):
        if name not in form.fields or not form.cleaned_data.get(name):
            continue
        try:
            form.cleaned_data[name] = clean_provider_address(
                form.cleaned_data[name], vendor="Cronofy", documented=CRONOFY_DOCUMENTED
            )
        except django_forms.ValidationError as exc:
            form.add_error(name, exc)
    if row is None or "data_center" not in form.cleaned_data:
        return
    before = _api_address(row.data_center, row.api_base_url)
    after = _api_address(
        form.cleaned_data["data_center"], form.cleaned_data.get("api_base_url") or ""
    )
    if same_address(before, after):
        return
    form.address_changed = True
    if not (form.cleaned_data.get("client_secret") or "").strip():
        form.add_error("client_secret", address_change_message("Client secret"))


def _render(request, *, form=None, status: int = 200):
    organization = request.organization
    own = cal.own_cronofy_settings(organization)
    applying = connections.cronofy_settings_for(organization)
    # The ancestor that lends its settings, when the organization has none of its own.
    owner = applying.organization if applying is not None and own is None else None
    connected = CalendarConnection.objects.filter(
        organization=organization, status=CalendarConnectionStatus.CONNECTED
    ).count()
    context = {
        "tab": "calendars",
        "own": own,
        "inherited": applying if own is None else None,
        "owner": owner,
        "form": form or _form(own),
        "sandbox_fill": _sandbox_fill() if own is None else "",
        "connected_count": connected,
        "open_own_form": form is not None,
        "custom_addresses": custom_addresses_allowed(),
    }
    return render_in_org_time(request, "scheduling/settings_calendars.html", context, status=status)


@admin_required
def index(request):
    return _render(request)


@admin_required
@require_POST
def save(request):
    organization = request.organization
    own = cal.own_cronofy_settings(organization)
    form = _form(own, request.POST)
    if form.is_valid():
        _check_addresses(form, own)
    if form.is_valid():
        changes = form.service_kwargs()
        if getattr(form, "address_changed", False):
            changes["previous_client_secret"] = ""  # never kept across an address change
        try:
            cal.cronofy_settings_save(organization=organization, **changes)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            ok, message = cal.cronofy_credentials_check(
                organization=organization, redirect_uri=credentials_redirect_uri()
            )
            if ok:
                messages.success(request, f"Cronofy settings saved. {message}")
            else:
                messages.error(request, f"Cronofy settings saved, but they don't work: {message}")
            return redirect(reverse("calendar_settings:index") + "#cronofy")
    return _render(request, form=form, status=400)


@admin_required
@require_POST
def delete(request):
    if cal.cronofy_settings_delete(organization=request.organization):
        applying = connections.cronofy_settings_for(request.organization)
        if applying is not None:
            messages.success(
                request,
                "This organization's Cronofy settings are deleted; the parent account's apply "
                "again.",
            )
        else:
            messages.success(
                request,
                "Cronofy settings deleted. Everyone's built-in calendar is used until they are "
                "added again.",
            )
    return redirect("calendar_settings:index")


@admin_required
@require_POST
def enterprise_start(request):
    state = cal.new_state()
    try:
        url = cal.enterprise_connect_url(
            organization=request.organization, redirect_uri=enterprise_redirect_uri(), state=state
        )
    except (connections.CronofyNotConfigured, ValueError) as exc:
        messages.error(request, str(exc))
        return redirect(reverse("calendar_settings:index") + "#enterprise-connect")
    request.session[SESSION_ENTERPRISE] = {"state": state, "organization": request.organization.pk}
    return redirect(url)


@admin_required
def enterprise_callback(request):
    back = reverse("calendar_settings:index") + "#enterprise-connect"
    if not cal.oauth_return_matches(request, SESSION_ENTERPRISE, per_user=False):
        messages.error(
            request,
            "That Enterprise Connect authorization could not be matched to a request from this "
            "page (it may be old or from another browser). Nothing was changed. Press "
            "“Authorize Enterprise Connect” again.",
        )
        return redirect(back)
    error = request.GET.get("error", "")
    if error:
        detail = request.GET.get("error_description") or error
        if error == "access_denied":
            messages.error(
                request,
                "Enterprise Connect was not authorized (the administrator chose Deny). Nothing "
                "was changed.",
            )
        else:
            messages.error(request, f"Cronofy did not authorize Enterprise Connect ({detail}).")
        return redirect(back)
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, "Cronofy sent no authorization code. Try again.")
        return redirect(back)
    try:
        row = cal.enterprise_connect_finish(
            organization=request.organization,
            code=code,
            redirect_uri=enterprise_redirect_uri(),
            admin_email=request.user.email,
        )
    except (connections.CronofyNotConfigured, ProviderError) as exc:
        messages.error(request, f"Enterprise Connect was not authorized: {exc}")
        return redirect(back)
    messages.success(
        request,
        f"Enterprise Connect authorized by {row.service_account_email or request.user.email}. "
        "Connect teammates' calendars by e-mail from the Schedule page.",
    )
    return redirect(back)


@admin_required
@require_POST
def enterprise_forget(request):
    if cal.enterprise_connect_forget(organization=request.organization) is not None:
        messages.success(
            request,
            "Enterprise Connect is no longer used. Calendars already connected stay connected.",
        )
    return redirect(reverse("calendar_settings:index") + "#enterprise-connect")
