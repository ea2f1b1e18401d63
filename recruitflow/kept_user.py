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
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from . import changes


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
    key = f"rf:user:v1:{backend_path}:{user_id}"
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
