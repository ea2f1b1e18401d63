"""Settings → Integrations: connect, test and watch each ATS, and the sync history.

These pages live in `candidates` because they show and start syncs, which `candidates` owns; they
use the connection models, forms and adapters of `integrations/` (the layer below).
"""

from __future__ import annotations

import json
import secrets

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_POST

from integrations.connections import connection_test
from integrations.forms import GreenhouseConnectForm, LeverConnectForm
from integrations.greenhouse.models import GreenhouseConnection, HarvestVersion
from integrations.http import ProviderError
from integrations.lever import oauth as lever_oauth
from integrations.lever.client import API_BASE_URLS as LEVER_API_BASE_URLS
from integrations.lever.client import DEFAULT_BASE_URL as LEVER_DEFAULT_BASE_URL
from integrations.lever.models import LeverAuth, LeverConnection
from integrations.models import ConnectionStatus
from recruitflow.decorators import admin_required, organization_required
from recruitflow.fields import mask_secret

from . import selectors as candidate_selectors
from .views import render_in_org_time

GREENHOUSE_WEBHOOK_EVENTS = [
    "Candidate has changed stage",
    "Candidate or Prospect rejected",
    "Candidate hired",
    "Candidate unrejected",
    "Application updated",
    "Merge candidate",
    "Delete candidate",
]
LEVER_WEBHOOK_EVENTS = [
    "Application created",
    "Candidate stage change",
    "Candidate archive state change",
    "Candidate hired",
    "Candidate deleted",
]
FIX_PERMISSIONS = {
    "greenhouse": "In Greenhouse, go to Configure → Dev Center → API Credential Management, open "
    "this credential's “Manage permissions”, tick every permission marked ✗ below, click "
    "Update, then press “Test connection”.",
    "lever": "In Lever, go to Settings → Integrations and API → API Credentials, edit this key's "
    "permissions and allow every item marked ✗ below (or connect with OAuth again and approve "
    "every permission), then press “Test connection”.",
}
STATUS_TONE = {
    ConnectionStatus.CONNECTED: "ok",
    ConnectionStatus.ERROR: "bad",
    ConnectionStatus.DISCONNECTED: "warn",
    ConnectionStatus.NOT_CONNECTED: "",
}
SESSION_RESULT = "integrations:test:{provider}"
SESSION_OAUTH = "integrations:lever_oauth"


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _greenhouse(organization) -> GreenhouseConnection | None:
    return GreenhouseConnection.objects.filter(organization=organization).first()


def _lever(organization) -> LeverConnection | None:
    return LeverConnection.objects.filter(organization=organization).first()


def _webhook_url(provider: str, connection) -> str | None:
    if connection is None:
        return None
    try:
        path = reverse(f"webhooks:{provider}", args=[connection.endpoint_token])
    except NoReverseMatch:  # the webhook endpoints are not installed
        return None
    return settings.PUBLIC_BASE_URL + path


def _store_result(request, provider: str, result) -> None:
    request.session[SESSION_RESULT.format(provider=provider)] = {
        "ok": result.ok,
        "error": result.error,
        "checks": [
            {
                "label": c.label,
                "name": c.name,
                "resource": c.resource,
                "ok": c.ok,
                "detail": c.detail,
            }
            for c in result.checks
        ],
        "missing": len(result.missing),
        "unknown": sum(1 for c in result.checks if c.ok is None),
    }


def _announce_result(request, provider_name: str, result) -> None:
    if result.ok:
        messages.success(request, f"{provider_name} is connected: every permission checked out.")
    elif result.missing:
        messages.error(
            request,
            f"{provider_name} answered, but {len(result.missing)} permission"
            f"{'s are' if len(result.missing) != 1 else ' is'} missing. See the checklist below.",
        )
    else:
        messages.error(request, f"{provider_name} could not be reached: {result.error}")


def _card(request, provider: str, connection, form) -> dict:
    result = None
    if connection is not None and connection.status != ConnectionStatus.DISCONNECTED:
        result = request.session.get(SESSION_RESULT.format(provider=provider))
    organization = request.organization
    return {
        "provider": provider,
        "connection": connection,
        "connected": connection is not None and connection.status != ConnectionStatus.DISCONNECTED,
        "tone": STATUS_TONE.get(connection.status, "") if connection else "",
        "status_label": connection.get_status_display() if connection else "Not connected",
        "form": form,
        "result": result,
        "fix": FIX_PERMISSIONS[provider],
        "webhook_url": _webhook_url(provider, connection),
        "last_event": (
            candidate_selectors.last_webhook_event(organization=organization, provider=provider)
            if connection
            else None
        ),
    }


def _render_index(request, *, greenhouse_form=None, lever_form=None, status=200):
    organization = request.organization
    greenhouse, lever = _greenhouse(organization), _lever(organization)
    lever_oauth_connected = bool(
        lever and lever.auth_method == LeverAuth.OAUTH and lever.refresh_token
    )
    greenhouse_form = greenhouse_form or GreenhouseConnectForm(
        instance=greenhouse or GreenhouseConnection(organization=organization)
    )
    lever_form = lever_form or LeverConnectForm(
        instance=lever or LeverConnection(organization=organization),
        oauth_connected=lever_oauth_connected,
    )
    overview = candidate_selectors.ats_overview(organization=organization)
    sandbox = settings.SANDBOX_URL
    context = {
        "tab": "integrations",
        "greenhouse": _card(request, "greenhouse", greenhouse, greenhouse_form),
        "lever": _card(request, "lever", lever, lever_form),
        "greenhouse_events": GREENHOUSE_WEBHOOK_EVENTS,
        "lever_events": LEVER_WEBHOOK_EVENTS,
        "webhook_secret": greenhouse.webhook_secret if greenhouse else "",
        "masked": {
            "greenhouse_client_secret": mask_secret(greenhouse.client_secret) if greenhouse else "",
            "greenhouse_api_key": mask_secret(greenhouse.api_key) if greenhouse else "",
            "lever_api_key": mask_secret(lever.api_key) if lever else "",
        },
        "lever_oauth_available": bool(settings.LEVER_CLIENT_ID),
        "lever_oauth_connected": lever_oauth_connected,
        "overview": overview,
        "progress": (
            candidate_selectors.sync_progress(overview.running_run)
            if overview.running_run
            else None
        ),
        "sandbox_url": sandbox,
        "sandbox_screen": f"{sandbox}/greenhouse/_sandbox/" if sandbox else "",
        "sandbox_fill_json": "",
        "sandbox_fill": (
            {
                "api_version": HarvestVersion.V3,
                "base_url": f"{sandbox}/greenhouse",
                "client_id": "sandbox-client-id",
                "client_secret": "sandbox-client-secret",
                "acting_user_id": "100001",
            }
            if sandbox
            else None
        ),
    }
    if context["sandbox_fill"]:
        context["sandbox_fill_json"] = json.dumps(context["sandbox_fill"])
    return render_in_org_time(request, "integrations/settings.html", context, status=status)


# ----------------------------------------------------------------------------------------------
# Settings → Integrations
# ----------------------------------------------------------------------------------------------


@admin_required
def index(request):
    return _render_index(request)


@admin_required
def greenhouse_save(request):
    if request.method != "POST":
        return redirect("integrations:index")
    organization = request.organization
    connection = _greenhouse(organization) or GreenhouseConnection(organization=organization)
    form = GreenhouseConnectForm(request.POST, instance=connection)
    if not form.is_valid():
        return _render_index(request, greenhouse_form=form)
    connection = form.save()
    result = connection_test(connection)
    _store_result(request, "greenhouse", result)
    _announce_result(request, "Greenhouse", result)
    return redirect(reverse("integrations:index") + "#greenhouse")


@admin_required
@require_POST
def greenhouse_test(request):
    connection = _greenhouse(request.organization)
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
        messages.error(request, "Connect Greenhouse first.")
        return redirect("integrations:index")
    result = connection_test(connection)
    _store_result(request, "greenhouse", result)
    _announce_result(request, "Greenhouse", result)
    return redirect(reverse("integrations:index") + "#greenhouse")


@admin_required
@require_POST
def greenhouse_disconnect(request):
    connection = _greenhouse(request.organization)
    if connection is not None:
        # Forget the credentials: a disconnected integration keeps no secret of the customer's.
        connection.api_key = ""
        connection.client_secret = ""
        connection.status = ConnectionStatus.DISCONNECTED
        connection.last_error = ""
        connection.save()
        request.session.pop(SESSION_RESULT.format(provider="greenhouse"), None)
        messages.success(
            request,
            "Greenhouse is disconnected: no more syncs, and webhooks from it are refused. "
            "Candidates already synced stay in RecruitFlow.",
        )
    return redirect("integrations:index")


def _lever_default_base() -> str:
    """The sandbox's Lever API when Lever OAuth points at the sandbox, else Lever's own."""
    sandbox = settings.SANDBOX_URL
    if sandbox and settings.LEVER_AUTH_BASE.startswith(sandbox):
        return f"{sandbox}/lever/v1"
    return LEVER_DEFAULT_BASE_URL


@admin_required
def lever_save(request):
    if request.method != "POST":
        return redirect("integrations:index")
    organization = request.organization
    connection = _lever(organization) or LeverConnection(organization=organization)
    oauth_connected = bool(connection.auth_method == LeverAuth.OAUTH and connection.refresh_token)
    form = LeverConnectForm(request.POST, instance=connection, oauth_connected=oauth_connected)
    if not form.is_valid():
        return _render_index(request, lever_form=form)
    connection = form.save(commit=False)
    if form.cleaned_data.get("api_key"):
        connection.auth_method = LeverAuth.API_KEY
    connection.save()
    result = connection_test(connection)
    _store_result(request, "lever", result)
    _announce_result(request, "Lever", result)
    return redirect(reverse("integrations:index") + "#lever")


@admin_required
@require_POST
def lever_test(request):
    connection = _lever(request.organization)
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
        messages.error(request, "Connect Lever first.")
        return redirect("integrations:index")
    result = connection_test(connection)
    _store_result(request, "lever", result)
    _announce_result(request, "Lever", result)
    return redirect(reverse("integrations:index") + "#lever")


@admin_required
@require_POST
def lever_disconnect(request):
    connection = _lever(request.organization)
    if connection is not None:
        connection.api_key = ""
        connection.access_token = ""
        connection.refresh_token = ""
        connection.token_expires_at = None
        connection.status = ConnectionStatus.DISCONNECTED
        connection.last_error = ""
        connection.save()
        request.session.pop(SESSION_RESULT.format(provider="lever"), None)
        messages.success(request, "Lever is disconnected and its tokens are deleted.")
    return redirect("integrations:index")


def _lever_redirect_uri() -> str:
    return settings.PUBLIC_BASE_URL + reverse("integrations:lever_oauth_callback")


@admin_required
@require_POST
def lever_oauth_start(request):
    if not settings.LEVER_CLIENT_ID:
        raise Http404
    state = secrets.token_urlsafe(24)
    request.session[SESSION_OAUTH] = {"state": state, "organization": request.organization.pk}
    url = lever_oauth.authorize_url(
        settings.LEVER_CLIENT_ID,
        _lever_redirect_uri(),
        state,
        audience=getattr(settings, "LEVER_AUDIENCE", "") or lever_oauth.DEFAULT_AUDIENCE,
        auth_base=settings.LEVER_AUTH_BASE,
    )
    return redirect(url)


@admin_required
def lever_oauth_callback(request):
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
        return redirect("integrations:index")
    if request.GET.get("error"):
        reason = request.GET.get("error_description") or request.GET.get("error")
        messages.error(request, f"Lever did not grant access ({reason}). Nothing was changed.")
        return redirect("integrations:index")
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, "Lever sent no authorization code. Try connecting again.")
        return redirect("integrations:index")
    try:
        tokens = lever_oauth.exchange_code(
            settings.LEVER_CLIENT_ID,
            settings.LEVER_CLIENT_SECRET,
            code,
            _lever_redirect_uri(),
            auth_base=settings.LEVER_AUTH_BASE,
        )
    except ProviderError as exc:
        messages.error(request, str(exc))
        return redirect("integrations:index")
    connection = _lever(organization) or LeverConnection(
        organization=organization, base_url=_lever_default_base()
    )
    if connection.base_url not in (*LEVER_API_BASE_URLS, _lever_default_base()):
        # Tokens issued by Lever go only to Lever's API (or the sandbox), never to an address
        # someone typed before.
        connection.base_url = _lever_default_base()
    connection.auth_method = LeverAuth.OAUTH
    connection.access_token = tokens.access_token
    connection.refresh_token = tokens.refresh_token or ""
    connection.token_expires_at = tokens.expires_at
    connection.save()
    result = connection_test(connection)
    _store_result(request, "lever", result)
    _announce_result(request, "Lever", result)
    return redirect(reverse("integrations:index") + "#lever")


# ----------------------------------------------------------------------------------------------
# Syncs
# ----------------------------------------------------------------------------------------------


@admin_required
@require_POST
def sync_start(request):
    from candidates.services import NoATSConnection, SyncAlreadyRunning, sync_request

    organization = request.organization
    full = request.POST.get("full") == "1"
    try:
        sync_request(organization=organization, full=full)
    except NoATSConnection as exc:
        messages.error(request, str(exc))
        return redirect("integrations:index")
    except SyncAlreadyRunning as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(
            request,
            "Full resync started: every job, candidate and application is read again."
            if full
            else "Sync started: changes since the last sync are being read.",
        )
    return redirect("integrations:syncs")


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@admin_required
def sync_history(request):
    organization = request.organization
    page = Paginator(candidate_selectors.sync_runs(organization=organization), 50).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    running = None
    for run in page:
        run.duration_text = _duration_text(
            run.duration_seconds
            if run.finished_at
            else (now - run.started_at).total_seconds()
            if run.status == "running"
            else None
        )
        run.count_items = sorted((run.counts or {}).items())
        if run.status == "running" and running is None:
            running = run
    if running is None and page.number == 1 and page.object_list:
        running = page.object_list[0]  # the latest run, shown finished ("Done" at 100%)
    context = {
        "tab": "integrations",
        "page": page,
        "progress": candidate_selectors.sync_progress(running) if running else None,
        "overview": candidate_selectors.ats_overview(organization=organization),
    }
    template = "integrations/_sync_history.html" if request.htmx else "integrations/syncs.html"
    return render_in_org_time(request, template, context)


@organization_required
def sync_progress(request, pk: int):
    run = candidate_selectors.sync_run_get(organization=request.organization, pk=pk)
    if run is None:
        raise Http404
    progress = candidate_selectors.sync_progress(run)
    response = render_in_org_time(
        request,
        "integrations/_sync_progress.html",
        {"progress": progress, "poll": True, "refresh": request.GET.get("refresh") == "1"},
    )
    if progress["finished"] and request.GET.get("refresh") == "1" and request.htmx:
        # The page around the bar (empty candidate list, dashboard) now has something to show.
        response["HX-Refresh"] = "true"
    return response
