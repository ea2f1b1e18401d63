"""The bell (its unread count, polled by htmx like the Inbox badge), the notifications page
(mark one or all read) and the member's Notifications settings tab."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from recruitflow.decorators import organization_required

from . import selectors, services
from .mail import member_zone
from .preferences import Channels

CHANNELS = ("in_app", "email", "digest")


def poll_seconds() -> int:
    return getattr(settings, "NOTIFICATIONS_POLL_SECONDS", 5)


def bell_context(request) -> dict:
    return {
        "notifications_unread": selectors.unread_count(
            organization=request.organization, user=request.user
        ),
        "notifications_poll_seconds": poll_seconds(),
    }


def _page_behind(request) -> str:
    """The path of the page the bell is on (htmx names it), when it is one of ours."""
    current = request.headers.get("HX-Current-URL", "")
    if not url_has_allowed_host_and_scheme(current, allowed_hosts={request.get_host()}):
        return ""
    parts = urlsplit(current)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _signed_out_stops_polling(view):
    """``organization_required`` for a polled fragment: signed out meanwhile (in another tab,
    or the session ended), a poll must not draw the sign-in page inside the fragment. htmx is
    told to stop polling (286) and to send the page to sign-in, coming back to the same page
    afterwards; a member no longer in the organization gets the stop alone (the empty answer
    takes the count away). A request that is not htmx gets a plain 401."""
    guarded = organization_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        signed_in = request.user.is_authenticated
        if signed_in and request.organization is not None and request.membership is not None:
            return guarded(request, *args, **kwargs)
        if not request.htmx:
            return HttpResponse("Signed out.", status=401, content_type="text/plain; charset=utf-8")
        stop = HttpResponseStopPolling()
        if not signed_in:
            stop["HX-Redirect"] = redirect_to_login(_page_behind(request) or "/")["Location"]
        return stop

    return wrapper


@_signed_out_stops_polling
def bell(request):
    """The bell's count alone: what its polling swaps in (the link around it stays put)."""
    return render(request, "notifications/_bell_count.html", bell_context(request))


@organization_required
def index(request):
    items = selectors.notifications_of(organization=request.organization, user=request.user)
    page = Paginator(items, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/index.html",
        {"page": page, "unread": items.filter(read_at=None).count(), **bell_context(request)},
    )


def _safe_link(request, link: str) -> str:
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return link
    return ""


@organization_required
@require_POST
def open_one(request, pk: int):
    """Mark it read and go to the thing it is about."""
    try:
        notification = services.notification_mark_read(
            organization=request.organization, user=request.user, notification_id=pk
        )
    except services.NotFound as exc:
        raise Http404 from exc
    return redirect(_safe_link(request, notification.link) or "notifications:index")


@organization_required
@require_POST
def mark_read(request, pk: int):
    try:
        services.notification_mark_read(
            organization=request.organization, user=request.user, notification_id=pk
        )
    except services.NotFound as exc:
        raise Http404 from exc
    return redirect("notifications:index")


@organization_required
@require_POST
def mark_all_read(request):
    count = services.notifications_mark_all_read(
        organization=request.organization, user=request.user
    )
    messages.success(
        request,
        f"Marked {count} notification{'s' if count != 1 else ''} as read."
        if count
        else "Nothing was unread.",
    )
    return redirect("notifications:index")


@organization_required
def preferences(request):
    """Settings → Notifications: the member's own channels for each kind."""
    rows = selectors.preferences_of(organization=request.organization, user=request.user)
    if request.method == "POST":
        choices = {
            kind: Channels(*(request.POST.get(f"{kind}-{channel}") == "on" for channel in CHANNELS))
            for kind, _label, _channels in rows
        }
        services.preferences_save(
            organization=request.organization, user=request.user, choices=choices
        )
        messages.success(request, "Your notification settings are saved.")
        return redirect("notifications:preferences")
    zone = member_zone(organization=request.organization, user_id=request.user.pk)
    return render(
        request,
        "notifications/preferences.html",
        {"rows": rows, "zone": zone.key, "tab": "notifications"},
    )
