"""Signed-in pages kept whole in the shared cache until their organization's data changes.

A page recruiters keep open and reload (the dashboard, the candidates, a journey's runs, the
Inbox...) costs 7–30 ms of CPU to render from a dozen queries; served again from the cache it
costs a cache read. `@member_page` on a view keeps its GET answer:

- **Kept with the generations it was made at**, of the organization's data and of all
  organizations' (`recruitflow.changes`: every committed write, by any process, moves them, so
  a page is never served after a change to what it shows), and **keyed by everything else it
  depends on**: the organization and the user (so their one membership there: a hiring
  manager's page shows their candidates only; a changed role is a write), the browser's CSRF
  secret (the forms' tokens), the time zone and language, whether htmx asked for a fragment,
  and the full path with its query. One person's page is never another's.
- **For a short while** (`PAGE_CACHE_SECONDS`, default 60): what changes without a write ("in
  5 minutes", "today") is at most that old. A figure cached for less long (today's analytics,
  counted every `ANALYTICS_TODAY_CACHE_SECONDS`) says when it goes stale (`fresh_until`), and
  the page is kept no longer than that.
- **Not kept**: anything but a 200 HTML answer of a GET; an answer that sets a cookie or its own
  `Cache-Control`; a page shown with a flash message (one is waiting, or the page showed one); a
  request without a CSRF cookie yet (its page would carry a secret made for it).
- **The CSP nonce is fresh on every answer**: the kept page's nonce is replaced with the
  request's, which the CSP header then names.

A partner's GET by API key is kept the same way (`api_answer`, called by every API view's
wrapper), keyed by the key instead of the person; the rate limit counts every answer.

`PAGE_CACHE` switches it on; it is on by default only where the cache is shared by every process
(Redis), since a worker's writes must reach the web processes' reads.
"""

from __future__ import annotations

import contextvars
import hashlib
import time
from functools import wraps

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone, translation

from . import changes

# The moment a figure the page shows goes stale without a write (a count cached for a while);
# None: only writes and PAGE_CACHE_SECONDS end a kept page.
_fresh_until: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "recruitflow_page_fresh_until", default=None
)


def fresh_until(moment: float) -> None:
    """Tell the page being rendered that something it shows is only right until `moment` (a
    `time.time()`): it is kept no longer. Harmless outside a kept page."""
    current = _fresh_until.get()
    if current is None or moment < current:
        _fresh_until.set(moment)


def page_key(request, organization_id: int, user_id: int) -> str | None:
    """The key of the page `request` asks for, acting for `organization_id` as `user_id` (their
    membership there is the one: a user has one per organization). None: not to be kept."""
    csrf_secret = request.META.get("CSRF_COOKIE")
    if not csrf_secret or request.COOKIES.get("messages") or "_messages" in request.session:
        return None
    parts = "\x1f".join(
        (
            str(organization_id),
            str(user_id),
            csrf_secret,
            timezone.get_current_timezone_name(),
            translation.get_language() or "",
            request.headers.get("HX-Request", ""),
            request.headers.get("HX-Target", ""),
            request.get_full_path(),
        )
    )
    return f"rf:page:v3:{hashlib.sha256(parts.encode()).hexdigest()[:40]}"


def _keepable(request, response) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if not getattr(response, "is_rendered", True):
        return False
    if response.has_header("Cache-Control"):
        return False
    if not response.get("Content-Type", "").startswith("text/html"):
        return False
    # A page that showed a flash message, or has one waiting, is for this request only.
    messages = getattr(request, "_messages", None)
    shown = getattr(messages, "_loaded_messages", None) or getattr(
        messages, "_queued_messages", None
    )
    return not shown


def _page_kept(request, response):
    if not _keepable(request, response):
        return None
    nonce = getattr(request, "_csp_nonce", None) or ""
    return response.content, response["Content-Type"], nonce


def _made_and_kept(key: str, generations, render, kept_value) -> HttpResponse:
    """`render()`'s answer, kept under `key` at `generations` for as long as what it shows
    holds (`PAGE_CACHE_SECONDS`, or less: `fresh_until`) when `kept_value` gives what to keep."""
    token = _fresh_until.set(None)
    try:
        response = render()
        until = _fresh_until.get()
    finally:
        _fresh_until.reset(token)
    seconds = settings.PAGE_CACHE_SECONDS
    if until is not None:
        seconds = min(seconds, int(until - time.time()))
    value = kept_value(response) if seconds > 0 else None
    if value is not None:
        changes.keep(key, generations, value, seconds)
    return response


def member_page(view):
    """Keep the view's signed-in GET answers in the shared cache (see the module). Put it under
    the view's access decorator: the access check runs on every request."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.PAGE_CACHE or request.method != "GET" or request.membership is None:
            return view(request, *args, **kwargs)
        key = page_key(request, request.organization.pk, request.user.pk)
        if key is None:
            return view(request, *args, **kwargs)
        # The generations and the page, kept if it was made at the same ones: read ahead with
        # the user (`kept_user`), or here in one round trip.
        now, kept = changes.read_kept(key, changes.ALL, request.organization.pk)
        if kept is not None:
            content, content_type, nonce = kept
            if nonce:
                content = content.replace(nonce.encode(), str(request.csp_nonce).encode())
            return HttpResponse(content, content_type=content_type)
        return _made_and_kept(
            key, now, lambda: view(request, *args, **kwargs), lambda r: _page_kept(request, r)
        )

    return wrapper


# What a kept API answer carries of its headers; the rest (the rate limit, the security headers)
# are added on its way out, as to any answer.
_API_HEADERS = ("Vary", "Allow", "Content-Language")


def api_answer(request, render, may_answer) -> HttpResponse:
    """A partner's GET by API key (`recruitflow.api_endpoint`), kept like a page: under the
    generations of its organization and of all, keyed by the key, the host and scheme (the
    answer's links), `Accept` and the full path. `may_answer()` is asked before a kept answer is
    served (the rate limit counts it); when it says no, `render()` answers (the refusal)."""
    parts = "\x1f".join(
        (
            str(request.organization.pk),
            str(request.api_key.pk),
            request.scheme,
            request.get_host(),
            request.headers.get("Accept", ""),
            request.get_full_path(),
        )
    )
    key = f"rf:api:v1:{hashlib.sha256(parts.encode()).hexdigest()[:40]}"
    now, kept = changes.read_kept(key, changes.ALL, request.organization.pk)
    if kept is not None and may_answer():
        content, content_type, headers = kept
        response = HttpResponse(content, content_type=content_type)
        for name, value in headers:
            response[name] = value
        return response
    return _made_and_kept(key, now, render, _api_kept)


def _api_kept(response):
    if response.status_code != 200 or response.streaming or response.cookies:
        return None
    if response.has_header("Cache-Control") or not response.get("Content-Type", "").startswith(
        "application/json"
    ):
        return None
    headers = [(name, response[name]) for name in _API_HEADERS if response.has_header(name)]
    return response.content, response["Content-Type"], headers
