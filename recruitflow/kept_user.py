"""The signed-in user, kept in the shared cache while the page cache is on.

Django's authentication reads the user from the database on every request. With the page cache
on, that read was the one query a kept page still made. `AuthenticationMiddleware` is Django's,
with the user kept under the `ACCOUNTS` generation (`recruitflow.changes`): any write to a user,
membership or organization moves it, so a changed password, name or `is_active` is read again on
the next request.

Only Django's success path is shortened: the session names the user and its backend (one of
`AUTHENTICATION_BACKENDS`), the kept user was read at the current generation, and the session's
hash matches the kept user's `get_session_auth_hash()`. Anything else (no such user kept, a hash
that does not match: a changed password, a rotated `SECRET_KEY`) goes through Django's
`get_user`, which verifies, tries the fallback secrets and flushes the session as it always does.

A signed-in GET reads ahead, in one round trip to the cache, what it is about to ask the cache
for: the generations, the kept user, their memberships and the page of the organization the
session acts for (`changes.read_ahead`). So a kept page costs two round trips (the session, then
these) instead of four.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from accounts.selectors import memberships_key

from . import changes
from .page_cache import page_key


def user_key(backend_path: str, user_id) -> str:
    return f"rf:user:v1:{backend_path}:{user_id}"


def read_ahead(request) -> None:
    """The kept user, memberships and page a signed-in GET is about to read, in one round trip."""
    if request.method != "GET":
        return
    try:
        user_id = auth._get_user_session_key(request)  # type: ignore[attr-defined]  # Django's own reader
        backend_path = request.session[auth.BACKEND_SESSION_KEY]
    except KeyError:
        return
    entries = [user_key(backend_path, user_id), memberships_key(user_id)]
    scopes: list[int | str] = [changes.ACCOUNTS]
    organization_id = request.session.get("organization_id")
    page = page_key(request, organization_id, user_id) if organization_id else None
    if page is not None:
        entries.append(page)
        scopes += [changes.ALL, organization_id]
    changes.read_ahead(entries, *scopes)


def kept_user(request):
    """`django.contrib.auth.get_user`, served from the cache when nothing changed."""
    try:
        user_id = auth._get_user_session_key(request)
        backend_path = request.session[auth.BACKEND_SESSION_KEY]
        session_hash = request.session[auth.HASH_SESSION_KEY]
    except KeyError:
        return auth.get_user(request)
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return auth.get_user(request)
    key = user_key(backend_path, user_id)
    generations, kept = changes.read_kept(key, changes.ACCOUNTS)
    if (
        kept is not None
        and session_hash
        and constant_time_compare(session_hash, kept.get_session_auth_hash())
    ):
        return kept
    user = auth.get_user(request)
    if user.is_authenticated and user.pk == user_id:
        changes.keep(key, generations, user, settings.PAGE_CACHE_SECONDS)
    return user


class AuthenticationMiddleware(DjangoAuthentication):
    """Django's, with `request.user` read through `kept_user` while the page cache is on."""

    def process_request(self, request):
        super().process_request(request)
        if settings.PAGE_CACHE:
            request.user = SimpleLazyObject(lambda: kept_user(request))
            read_ahead(request)

    def process_response(self, request, response):
        changes.forget_ahead()
        return response
