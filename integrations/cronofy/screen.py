"""Cronofy on Settings → Calendars: the organization's Cronofy application (client ID, secrets
with rotation, data center; addresses only where the operator allows custom ones), the
"Use the sandbox Cronofy" shortcut, and Enterprise Connect."""

from __future__ import annotations

import json
import secrets

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from integrations.cronofy import connections
from integrations.cronofy import services as cronofy
from integrations.cronofy.client import DOCUMENTED_BASE_URLS, base_urls
from integrations.cronofy.forms import CronofySettingsForm
from integrations.cronofy.models import CalendarConnection, CalendarConnectionStatus
from integrations.forms import (
    address_change_message,
    apply_errors,
    clean_provider_address,
    same_address,
)
from integrations.http import ProviderError
from integrations.policy import custom_addresses_allowed
from integrations.screens import ProviderScreen, register

SESSION_ENTERPRISE = "calendar_settings:enterprise_oauth"
# The Enterprise Connect return's URL name: a redirect URI registered at Cronofy.
ENTERPRISE_CALLBACK_URL_NAME = "calendar_settings:enterprise_callback"
SANDBOX_CLIENT_ID = "sandbox-cronofy-client"
SANDBOX_CLIENT_SECRET = "CRN_sandbox_cronofy_secret"


def credentials_redirect_uri() -> str:
    return settings.PUBLIC_BASE_URL + reverse("scheduling:cronofy_callback")


def enterprise_redirect_uri() -> str:
    return settings.PUBLIC_BASE_URL + reverse(ENTERPRISE_CALLBACK_URL_NAME)


def _api_address(data_center: str, api_base_url: str) -> str:
    try:
        return base_urls(data_center, api_base_url=api_base_url or "")[0]
    except ValueError:
        return api_base_url or ""


@register
class CronofyScreen(ProviderScreen):
    identifier = "cronofy"
    capability = "calendar"
    label = "Cronofy"
    logo = "img/integrations/cronofy.svg"
    help_text = (
        "Create an application in the Cronofy developer dashboard, then paste its client ID "
        "and secret here."
    )
    docs_url = "https://docs.cronofy.com/developers/"
    get_actions = ("enterprise-callback",)
    legacy_routes = (
        ("cronofy/", "save", "save"),
        ("cronofy/delete/", "disconnect", "delete"),
        ("enterprise-connect/", "enterprise-start", "enterprise_start"),
        ("enterprise-connect/callback/", "enterprise-callback", "enterprise_callback"),
        ("enterprise-connect/forget/", "enterprise-forget", "enterprise_forget"),
    )

    def own(self, organization):
        return cronofy.own_cronofy_settings(organization)

    def form(self, row, data=None) -> CronofySettingsForm:
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

    def sandbox_fill(self) -> str:
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

    def card(self, request, page, *, form=None):
        organization = request.organization
        own = self.own(organization)
        applying = connections.cronofy_settings_for(organization)
        return {
            **super().card(request, page, form=form),
            "own": own,
            "inherited": applying if own is None else None,
            # The ancestor that lends its settings, when the organization has none of its own.
            "owner": applying.organization if applying is not None and own is None else None,
            "form": form or self.form(own),
            "sandbox_fill": self.sandbox_fill() if own is None else "",
            "connected_count": CalendarConnection.objects.filter(
                organization=organization, status=CalendarConnectionStatus.CONNECTED
            ).count(),
            "open_own_form": form is not None,
            "custom_addresses": custom_addresses_allowed(),
        }

    # -- settings --------------------------------------------------------------------------

    def _check_addresses(self, form: CronofySettingsForm, row) -> None:
        """Refuse an address the SSRF guard would refuse; a changed data center or address
        clears the saved secrets (the admin pastes the client secret again)."""
        for name in ("api_base_url", "app_base_url"):
            if name not in form.fields or not form.cleaned_data.get(name):
                continue
            try:
                form.cleaned_data[name] = clean_provider_address(
                    form.cleaned_data[name], vendor="Cronofy", documented=DOCUMENTED_BASE_URLS
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

    def save(self, request, page):
        organization = request.organization
        own = self.own(organization)
        form = self.form(own, request.POST)
        if form.is_valid():
            self._check_addresses(form, own)
        if form.is_valid():
            changes = form.service_kwargs()
            if getattr(form, "address_changed", False):
                changes["previous_client_secret"] = ""  # never kept across an address change
            try:
                cronofy.cronofy_settings_save(organization=organization, **changes)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                ok, message = cronofy.cronofy_credentials_check(
                    organization=organization, redirect_uri=credentials_redirect_uri()
                )
                if ok:
                    messages.success(request, f"Cronofy settings saved. {message}")
                else:
                    messages.error(
                        request, f"Cronofy settings saved, but they don't work: {message}"
                    )
                return self.back(page)
        return page.render(request, forms={self.identifier: form}, status=400)

    def disconnect(self, request, page):
        if cronofy.cronofy_settings_delete(organization=request.organization):
            if connections.cronofy_settings_for(request.organization) is not None:
                messages.success(
                    request,
                    "This organization's Cronofy settings are deleted; the parent account's "
                    "apply again.",
                )
            else:
                messages.success(
                    request,
                    "Cronofy settings deleted. Everyone's built-in calendar is used until they "
                    "are added again.",
                )
        return self.back(page, anchor="")

    # -- Enterprise Connect ----------------------------------------------------------------

    def action_enterprise_start(self, request, page):
        state = secrets.token_urlsafe(24)
        try:
            url = cronofy.enterprise_connect_url(
                organization=request.organization,
                redirect_uri=enterprise_redirect_uri(),
                state=state,
            )
        except (connections.CronofyNotConfigured, ValueError) as exc:
            messages.error(request, str(exc))
            return self.back(page, anchor="enterprise-connect")
        request.session[SESSION_ENTERPRISE] = {
            "state": state,
            "organization": request.organization.pk,
        }
        return redirect(url)

    def action_enterprise_callback(self, request, page):
        back = self.back(page, anchor="enterprise-connect")
        pending = request.session.pop(SESSION_ENTERPRISE, None) or {}
        state = request.GET.get("state", "")
        if not (
            pending.get("state")
            and state
            and constant_time_compare(state, pending["state"])
            and pending.get("organization") == request.organization.pk
        ):
            messages.error(
                request,
                "That Enterprise Connect authorization could not be matched to a request from "
                "this page (it may be old or from another browser). Nothing was changed. Press "
                "“Authorize Enterprise Connect” again.",
            )
            return back
        error = request.GET.get("error", "")
        if error:
            detail = request.GET.get("error_description") or error
            if error == "access_denied":
                messages.error(
                    request,
                    "Enterprise Connect was not authorized (the administrator chose Deny). "
                    "Nothing was changed.",
                )
            else:
                messages.error(request, f"Cronofy did not authorize Enterprise Connect ({detail}).")
            return back
        code = request.GET.get("code", "")
        if not code:
            messages.error(request, "Cronofy sent no authorization code. Try again.")
            return back
        try:
            row = cronofy.enterprise_connect_finish(
                organization=request.organization,
                code=code,
                redirect_uri=enterprise_redirect_uri(),
                admin_email=request.user.email,
            )
        except (connections.CronofyNotConfigured, ProviderError) as exc:
            messages.error(request, f"Enterprise Connect was not authorized: {exc}")
            return back
        messages.success(
            request,
            f"Enterprise Connect authorized by "
            f"{row.service_account_email or request.user.email}. "
            "Connect teammates' calendars by e-mail from the Schedule page.",
        )
        return back

    def action_enterprise_forget(self, request, page):
        if cronofy.enterprise_connect_forget(organization=request.organization) is not None:
            messages.success(
                request,
                "Enterprise Connect is no longer used. Calendars already connected stay connected.",
            )
        return self.back(page, anchor="enterprise-connect")
