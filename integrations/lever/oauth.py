"""Lever OAuth 2 (authorization code + rotating refresh tokens).

Lever issues a new refresh token on every refresh and the old one stops working, so the
caller must persist :attr:`TokenSet.refresh_token` from every refresh before using the access
token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from integrations.http import (
    AuthError,
    HttpClient,
    PermissionDenied,
    ProviderError,
    ValidationFailed,
    response_body,
    vendor_message,
)
from integrations.lever.client import DOCUMENTED_BASE_URLS

DEFAULT_AUTH_BASE = "https://auth.lever.co"
DEFAULT_AUDIENCE = "https://api.lever.co/v1/"
REQUIRED_SCOPES: tuple[str, ...] = (
    "offline_access",
    "opportunities:read:admin",
    "stages:read:admin",
    "postings:read:admin",
    "users:read:admin",
    "archive_reasons:read:admin",
    "notes:write:admin",
    "files:write:admin",
    # After an ambiguous write the outbox reads the opportunity's notes and files back to look
    # for its marker before writing again: without these it cannot, and would write twice.
    "notes:read:admin",
    "files:read:admin",
)


@dataclass(frozen=True)
class TokenSet:
    """Tokens to persist. ``refresh_token`` is the NEW one after a refresh (rotation)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scope: str | None = None

    def expires_soon(self, *, now: datetime | None = None, margin_s: int = 60) -> bool:
        if self.expires_at is None:
            return False
        now = now or datetime.now(UTC)
        return now >= self.expires_at - timedelta(seconds=margin_s)


def authorize_url(
    client_id: str,
    redirect_uri: str,
    state: str,
    scopes: Iterable[str] = REQUIRED_SCOPES,
    audience: str = DEFAULT_AUDIENCE,
    auth_base: str = DEFAULT_AUTH_BASE,
    *,
    prompt: str | None = "consent",
) -> str:
    """The URL to send the admin to. ``state`` must be unguessable and checked on callback."""
    if not state:
        raise ValueError("state is required (CSRF protection).")
    query = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": state,
        "audience": audience,
        "scope": " ".join(scopes),
    }
    if prompt:
        query["prompt"] = prompt
    return f"{auth_base.rstrip('/')}/authorize?{urlencode(query)}"


def _token_set(body: Any, *, clock: Callable[[], float], fallback_refresh: str | None) -> TokenSet:
    if not isinstance(body, Mapping) or not body.get("access_token"):
        raise ProviderError("Lever's token endpoint returned no access token.")
    expires_in = body.get("expires_in")
    expires_at = (
        datetime.fromtimestamp(clock() + float(expires_in), tz=UTC)
        if expires_in is not None
        else None
    )
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token") or fallback_refresh,
        expires_at=expires_at,
        scope=body.get("scope"),
    )


def _post_token(form: dict[str, str], *, auth_base: str, http: HttpClient | None, what: str):
    client = http or HttpClient(auth_base, vendor="Lever", documented=DOCUMENTED_BASE_URLS)
    try:
        return client.request(
            "POST",
            f"{auth_base.rstrip('/')}/oauth/token",
            data=form,
            idempotent=False,  # codes and refresh tokens are single-use
        )
    except (AuthError, ValidationFailed, PermissionDenied) as exc:
        detail = vendor_message(exc.body) or exc.status
        raise AuthError(
            f"Lever refused the {what} ({detail}). Connect Lever again.",
            status=exc.status,
            body=exc.body,
            code=(exc.body or {}).get("error") if isinstance(exc.body, Mapping) else None,
        ) from exc


def exchange_code(
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    *,
    auth_base: str = DEFAULT_AUTH_BASE,
    http: HttpClient | None = None,
    clock: Callable[[], float] = time.time,
) -> TokenSet:
    """Trade the callback's ``code`` for tokens."""
    response = _post_token(
        {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": client_secret,
            "code": code,
            "redirect_uri": redirect_uri,
        },
        auth_base=auth_base,
        http=http,
        what="authorization code",
    )
    return _token_set(response_body(response), clock=clock, fallback_refresh=None)


def refresh(
    client_id: str,
    client_secret: str,
    refresh_token: str,
    *,
    auth_base: str = DEFAULT_AUTH_BASE,
    http: HttpClient | None = None,
    clock: Callable[[], float] = time.time,
) -> TokenSet:
    """Get a new access token; the returned ``refresh_token`` replaces the old one."""
    response = _post_token(
        {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        },
        auth_base=auth_base,
        http=http,
        what="saved authorization (refresh token)",
    )
    return _token_set(response_body(response), clock=clock, fallback_refresh=refresh_token)
