"""Cross-cutting pages: dashboard, health, error pages."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts import selectors as account_selectors
from analytics.dashboard import dashboard_numbers
from analytics.page import visible_job_ids
from candidates import selectors as candidate_selectors
from candidates.views import render_in_org_time
from onboarding.checklist import sandbox_url, setup_checklist

from .decorators import organization_required, public
from .page_cache import member_page


@organization_required
@member_page
def dashboard(request):
    organization = request.organization
    members = account_selectors.organization_members(organization=organization)
    ats = candidate_selectors.ats_overview(organization=organization)
    context = {
        "ats": ats,
        "ats_progress": (
            candidate_selectors.sync_progress(ats.running_run) if ats.running_run else None
        ),
        "member_count": members.count(),
        "pending_invitations": account_selectors.organization_invitations(
            organization=organization
        ).count(),
        "api_key_count": account_selectors.organization_api_keys(organization=organization)
        .filter(revoked_at__isnull=True)
        .count(),
        "checklist": setup_checklist(organization=organization, ats=ats),
        "sandbox_url": sandbox_url(),
        "recruiting": dashboard_numbers(
            organization=organization,
            user=request.user,
            visible_jobs=visible_job_ids(
                organization=organization, membership=request.membership, email=request.user.email
            ),
        ),
    }
    return render_in_org_time(request, "dashboard.html", context)


def _broker_status() -> tuple[bool, str]:
    from kombu import Connection

    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    try:
        with Connection(
            settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=2
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 — any failure means "unreachable"
        return False, f"{type(exc).__name__}: {exc}"


@public
@never_cache
def healthz(request):
    started = time.monotonic()
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001
        checks["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    broker_ok, broker_detail = _broker_status()
    checks["broker"] = {"ok": broker_ok, "url_scheme": settings.CELERY_BROKER_URL.split(":", 1)[0]}
    if not broker_ok:
        checks["broker"]["error"] = broker_detail
    healthy = all(check["ok"] for check in checks.values())
    if not (request.user.is_authenticated and request.user.is_staff):
        # Error texts name hosts, ports and drivers: useful to operators, not to the public.
        for check in checks.values():
            if check.pop("error", None) is not None:
                check["error"] = "unavailable (sign in as staff for details)"
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": checks,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if healthy else 503)


def error_403(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
    message = str(exception) if exception and str(exception) else ""
    context = {
        "heading": "You don't have access to this",
        "text": message
        or "Your role in this organization does not include this page. An owner or admin can "
        "change your role under Settings → Team.",
    }
    return render(request, "errors/page.html", {**context, "code": 403}, status=403)


def error_404(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    context = {
        "heading": "We couldn't find that page",
        "text": "The link may be old, or the item may belong to another organization. If you are "
        "in several organizations, switch to the right one from the top bar.",
    }
    return render(request, "errors/page.html", {**context, "code": 404}, status=404)


def error_500(request):
    # No request context: the failure may be the database the context processors read.
    from django.http import HttpResponseServerError
    from django.template import loader

    return HttpResponseServerError(loader.get_template("errors/500.html").render({}))


@public
def brand_css(request):
    """The organization's brand colour as a stylesheet (the CSP forbids inline styles)."""
    from django.http import HttpResponse

    color = request.organization.brand_color if request.organization else "#2563eb"
    response = HttpResponse(f":root {{ --brand: {color}; }}\n", content_type="text/css")
    response["Cache-Control"] = "private, max-age=3600"
    return response
