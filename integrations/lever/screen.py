"""Lever on Settings → Integrations: connect with OAuth ("Connect with Lever", when the operator
set ``LEVER_CLIENT_ID``) or an API key, the connection test, and the webhook URL."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from integrations.ats_screens import ATSScreen
from integrations.http import ProviderError
from integrations.lever import oauth as lever_oauth
from integrations.lever.client import API_BASE_URLS, DEFAULT_BASE_URL
from integrations.lever.forms import LeverConnectForm
from integrations.lever.models import LeverAuth, LeverConnection
from integrations.screens import register

SESSION_OAUTH = "integrations:lever_oauth"
# The OAuth return's URL name: the address registered as the redirect URI of the Lever app.
CALLBACK_URL_NAME = "integrations:lever_oauth_callback"
WEBHOOK_EVENTS = (
    "Application created",
    "Candidate stage change",
    "Candidate archive state change",
    "Candidate hired",
    "Candidate deleted",
)


def oauth_connected(row) -> bool:
    return bool(row and row.auth_method == LeverAuth.OAUTH and row.refresh_token)


def default_base() -> str:
    """The sandbox's Lever API when Lever OAuth points at the sandbox, else Lever's own."""
    sandbox = settings.SANDBOX_URL
    if sandbox and settings.LEVER_AUTH_BASE.startswith(sandbox):
        return f"{sandbox}/lever/v1"
    return DEFAULT_BASE_URL


def redirect_uri() -> str:
    return settings.PUBLIC_BASE_URL + reverse(CALLBACK_URL_NAME)


@register
class LeverScreen(ATSScreen):
    identifier = "lever"
    # A candidate's id is their opportunity's, the page Lever's ``urls.show`` names.
    candidate_pages = {
        "https://api.lever.co/v1": "https://hire.lever.co/candidates/{id}",
        "https://api-eu.lever.co/v1": "https://hire.eu.lever.co/candidates/{id}",
        "https://api.sandbox.lever.co/v1": "https://hire.sandbox.lever.co/candidates/{id}",
    }
    label = "Lever"
    logo = "img/integrations/lever.svg"
    help_text = "Sign in to Lever and approve access: no key to copy. Or paste an API key below."
    docs_url = "https://hire.lever.co/developer/documentation"
    model = LeverConnection
    form_class = LeverConnectForm
    get_actions = ("oauth-callback",)
    legacy_routes = (
        ("lever/", "save", "lever"),
        ("lever/test/", "test", "lever_test"),
        ("lever/disconnect/", "disconnect", "lever_disconnect"),
        ("lever/oauth/start/", "oauth-start", "lever_oauth_start"),
        ("lever/oauth/callback/", "oauth-callback", "lever_oauth_callback"),
    )
    fix_permissions = (
        "In Lever, go to Settings → Integrations and API → API Credentials, edit this key's "
        "permissions and allow every item marked ✗ below (or connect with OAuth again and approve "
        "every permission), then press “Test connection”."
    )
    webhook_events = WEBHOOK_EVENTS
    forget_on_disconnect = {
        "api_key": "",
        "access_token": "",
        "refresh_token": "",
        "token_expires_at": None,
    }
    disconnected_message = "Lever is disconnected and its tokens are deleted."

    def form(self, row, organization, data=None):
        return self.form_class(
            data,
            instance=row or self.model(organization=organization),
            oauth_connected=oauth_connected(row),
        )

    def save_form(self, form):
        connection = form.save(commit=False)
        if form.cleaned_data.get("api_key"):
            connection.auth_method = LeverAuth.API_KEY
        connection.save()
        return connection

    def card(self, request, page, *, form=None):
        card = super().card(request, page, form=form)
        card.update(
            oauth_available=bool(settings.LEVER_CLIENT_ID),
            oauth_connected=oauth_connected(card["connection"]),
        )
        return card

    # -- OAuth -----------------------------------------------------------------------------

    def action_oauth_start(self, request, page):
        if not settings.LEVER_CLIENT_ID:
            raise Http404
        state = secrets.token_urlsafe(24)
        request.session[SESSION_OAUTH] = {"state": state, "organization": request.organization.pk}
        url = lever_oauth.authorize_url(
            settings.LEVER_CLIENT_ID,
            redirect_uri(),
            state,
            audience=getattr(settings, "LEVER_AUDIENCE", "") or lever_oauth.DEFAULT_AUDIENCE,
            auth_base=settings.LEVER_AUTH_BASE,
        )
        return redirect(url)

    def action_oauth_callback(self, request, page):
        pending = request.session.pop(SESSION_OAUTH, None) or {}
        state = request.GET.get("state", "")
        organization = request.organization
        if (
            not settings.LEVER_CLIENT_ID
            or not pending.get("state")
            or not state
            or not constant_time_compare(state, pending["state"])
            or pending.get("organization") != organization.pk
        ):
            messages.error(
                request,
                "That Lever authorization could not be matched to a request from this page "
                "(it may be old or from another browser). Press “Connect with Lever” again.",
            )
            return self.back(page, anchor="")
        if request.GET.get("error"):
            reason = request.GET.get("error_description") or request.GET.get("error")
            messages.error(request, f"Lever did not grant access ({reason}). Nothing was changed.")
            return self.back(page, anchor="")
        code = request.GET.get("code", "")
        if not code:
            messages.error(request, "Lever sent no authorization code. Try connecting again.")
            return self.back(page, anchor="")
        try:
            tokens = lever_oauth.exchange_code(
                settings.LEVER_CLIENT_ID,
                settings.LEVER_CLIENT_SECRET,
                code,
                redirect_uri(),
                auth_base=settings.LEVER_AUTH_BASE,
            )
        except ProviderError as exc:
            messages.error(request, str(exc))
            return self.back(page, anchor="")
        connection = self.own(organization) or LeverConnection(
            organization=organization, base_url=default_base()
        )
        if connection.base_url not in (*API_BASE_URLS, default_base()):
            # Tokens issued by Lever go only to Lever's API (or the sandbox), never to an
            # address someone typed before.
            connection.base_url = default_base()
        connection.auth_method = LeverAuth.OAUTH
        connection.access_token = tokens.access_token
        connection.refresh_token = tokens.refresh_token or ""
        connection.token_expires_at = tokens.expires_at
        connection.save()
        self.tested(request, connection)
        return self.back(page)
