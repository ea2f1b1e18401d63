"""Greenhouse Harvest HTTP clients (v1 API key and v3 OAuth client credentials).

Thin: auth, paging, the On-Behalf-Of / ``sub`` acting user and Greenhouse's error texts. The
mapping to RecruitFlow's records lives in ``provider.py``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from integrations.greenhouse.permissions import permission_for
from integrations.http import (
    AuthError,
    HttpClient,
    NotFound,
    PermissionDenied,
    ProviderError,
    ValidationFailed,
    response_body,
    same_origin,
    vendor_message,
)

DEFAULT_BASE_URL = "https://harvest.greenhouse.io"
DEFAULT_TOKEN_URL = "https://auth.greenhouse.io/token"
# Greenhouse's own hosts (Harvest v1 and v3, and the v3 token endpoint): the only ones reached
# unless the operator allows custom provider addresses.
DOCUMENTED_BASE_URLS = (DEFAULT_BASE_URL, "https://auth.greenhouse.io")
PER_PAGE = 500
MISSING_PERMISSION_TEXT = "does not have permission"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# Refresh a v3 token this long before Greenhouse says it expires, so no call races the expiry.
TOKEN_EXPIRY_MARGIN_S = 60
DEFAULT_TOKEN_LIFETIME_S = 3600  # v3 access tokens live one hour
# ``ProviderError.code`` of a 404 that shows the configured address is wrong (not a record).
WRONG_ADDRESS = "wrong_address"


V1_RATE_WINDOW_S = 10.0

logger = logging.getLogger(__name__)


class WindowPacer:
    """Keeps a Harvest v1 key under its per-window limit without ever drawing a 429.

    Greenhouse v1 sends ``X-RateLimit-Limit``/``-Remaining`` on every response but the reset
    time only with a 429, and its windows are fixed. The answer that shows ``Remaining ==
    Limit - 1`` was the first call of a window, so that window ends no later than that
    answer's arrival + the window length; when ``Remaining`` hits 0 we wait until then. In
    steady state each cycle lasts exactly one window, so the pace reaches the full ceiling.
    When a reset header is present the shared HTTP client already paces on it.
    """

    def __init__(
        self,
        window_s: float = V1_RATE_WINDOW_S,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = time.sleep,
        margin_s: float = 0.05,
    ) -> None:
        self.window_s = window_s
        self.margin_s = margin_s
        self._clock = clock
        self._sleep = sleep
        self._window_started_by: float | None = None
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def wait(self, sleep: Callable[[float], Any] | None = None) -> None:
        """Sleep until the next call may go (``sleep``: the calling client's own)."""
        with self._lock:
            wait = self._paused_until - self._clock()
        if wait > 0:
            logger.debug(
                "Greenhouse rate limit used up: waiting %.2f s for the next window",
                wait,
                extra={"pacing_wait_s": wait},
            )
            (sleep or self._sleep)(wait)

    def observe(self, response: requests.Response) -> None:
        headers = response.headers
        if "X-RateLimit-Reset" in headers:
            return
        try:
            limit = int(float(headers["X-RateLimit-Limit"]))
            remaining = int(float(headers["X-RateLimit-Remaining"]))
        except (KeyError, ValueError):
            return
        now = self._clock()
        with self._lock:
            if remaining >= limit - 1:
                self._window_started_by = now
            if remaining <= 0:
                started = self._window_started_by
                if started is not None and now - started >= self.window_s:
                    started = None  # that window has ended: this one opened unseen
                # Unknown window start (another client shares the key): wait a whole window.
                self._paused_until = (started if started is not None else now) + (
                    self.window_s + self.margin_s
                )
                self._window_started_by = None


_pacers: dict[tuple[str, str, Callable[[], float]], WindowPacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(
    base_url: str, api_key: str, *, clock: Callable[[], float] = time.time
) -> WindowPacer:
    """The one pacer of a Harvest v1 key in this process.

    Every client of the key shares it (a sync, the sync after it, a note written back), so a
    new client starts from what the key's earlier answers showed: without that, a sync that
    begins part-way through a window cannot tell when the window opened and, once it runs the
    window out, must wait a whole window from then, leaving most of the next one unused.
    Clients that keep time by another ``clock`` (a test's) get a pacer of their own: one
    clock's instants mean nothing to another.
    """
    ident = (base_url.rstrip("/"), hashlib.sha256(api_key.encode()).hexdigest(), clock)
    with _pacers_lock:
        pacer = _pacers.get(ident)
        if pacer is None:
            pacer = _pacers[ident] = WindowPacer(clock=clock)
        return pacer


def pacers_forget() -> None:
    """Drop every key's pacer (a test's start: no test inherits another's windows)."""
    with _pacers_lock:
        _pacers.clear()


def _token_expiry(body: Mapping[str, Any], *, now: float) -> float:
    """When a v3 token expires, as an epoch. Greenhouse's documentation is not explicit about
    the field, so both OAuth forms are read: ``expires_in`` (seconds from now) and
    ``expires_at`` (epoch seconds or ISO-8601). Neither: the documented one-hour lifetime."""
    expires_in = body.get("expires_in")
    if isinstance(expires_in, (int, float, str)) and str(expires_in).strip():
        try:
            return now + float(expires_in)
        except ValueError:
            pass
    expires_at = body.get("expires_at")
    if isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool):
        # Milliseconds would be far in the future; an epoch in seconds is what OAuth uses.
        return float(expires_at) / 1000 if expires_at > 1e12 else float(expires_at)
    if isinstance(expires_at, str) and expires_at.strip():
        text = expires_at.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None:
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return now + DEFAULT_TOKEN_LIFETIME_S


def is_missing_permission(error: ProviderError) -> bool:
    """True when Greenhouse says the key lacks the endpoint permission (not a record-level 403)."""
    text = (getattr(error, "vendor_message", None) or vendor_message(error.body) or "").lower()
    return error.status in (401, 403) and MISSING_PERMISSION_TEXT in text


def _field_errors(body: Any) -> list[tuple[str | None, str]]:
    errors = body.get("errors") if isinstance(body, Mapping) else None
    result: list[tuple[str | None, str]] = []
    for err in errors or []:
        if isinstance(err, Mapping):
            result.append((err.get("field"), str(err.get("message", ""))))
        else:
            result.append((None, str(err)))
    return result


def make_error_mapper(credential: str) -> Callable[[requests.Response], ProviderError | None]:
    """Greenhouse error bodies -> messages an admin can act on. ``credential`` names the key."""

    def mapper(response: requests.Response) -> ProviderError | None:
        status = response.status_code
        body = response_body(response)
        detail = vendor_message(body) or ""
        said = f"{status} {detail}".strip()
        common: dict[str, Any] = {"status": status, "body": body}
        if MISSING_PERMISSION_TEXT in detail.lower() and status in (401, 403):
            verb = "are" if credential.endswith("credentials") else "is"
            method = response.request.method or ""
            path = requests.utils.urlparse(response.url).path
            needed = permission_for(method, path)
            tick = f"tick “{needed.label}”" if needed else "tick it"
            return PermissionDenied(
                f"The Greenhouse {credential} {verb} missing a permission for "
                f"{method} {path}{f' (“{needed.label}”)' if needed else ''} "
                f"({said}). In Greenhouse go to Configure → Dev Center → API Credential "
                f"Management → Manage permissions and {tick}.",
                vendor_message=detail,
                code="missing_permission",
                **common,
            )
        if status == 401:
            return AuthError(
                f"Greenhouse rejected the {credential} ({said}). "
                + (
                    "Check that you pasted the whole Harvest key."
                    if credential == "API key"
                    else "Check the client ID and secret in Greenhouse's Dev Center."
                ),
                code="invalid_credentials",
                **common,
            )
        if status == 403:
            return PermissionDenied(
                f"Greenhouse refused access ({said}). The acting Greenhouse user may not have "
                "access to this record, or the request was not sent over HTTPS.",
                vendor_message=detail,
                code="forbidden",
                **common,
            )
        if status == 404:
            return NotFound(
                f"Greenhouse could not find it ({said}). It may have been deleted or merged, "
                "or be too new to read yet.",
                code="not_found",
                **common,
            )
        if status in (400, 422):
            field_errors = _field_errors(body)
            fields = "; ".join(f"{f}: {m}" if f else m for f, m in field_errors)
            return ValidationFailed(
                f"Greenhouse rejected the data ({said}{' — ' + fields if fields else ''}).",
                field_errors=field_errors,
                code="validation",
                **common,
            )
        return None

    return mapper


def _next_link(response: requests.Response, current_url: str) -> str | None:
    link = response.links.get("next")
    if not link or not link.get("url"):
        return None
    url = link["url"]
    if not same_origin(url, current_url):
        # Never send credentials to a host the Link header made up.
        raise ProviderError(
            f"Greenhouse returned a next-page link to another host ({url}); stopped paging.",
            permanent=True,
        )
    return url


def _require_list(body: Any, url: str) -> list:
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping) and isinstance(body.get("data"), list):
        return body["data"]
    raise ProviderError(f"Greenhouse returned an unexpected page from {url}.", permanent=False)


class HarvestV1Client:
    """Harvest v1: HTTP Basic with the key as user name and an empty password (``key:``).

    ``on_behalf_of`` is the numeric Greenhouse user id sent as ``On-Behalf-Of`` on every write
    (Greenhouse audits and authorises writes as that user; an e-mail is rejected).
    """

    api_version = "v1"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        on_behalf_of: int | str | None = None,
        http: HttpClient | None = None,
        **http_kwargs: Any,
    ) -> None:
        if not api_key or not api_key.strip():
            raise AuthError("Paste the Greenhouse Harvest API key.", code="missing_credentials")
        self.auth = HTTPBasicAuth(api_key.strip(), "")
        self.on_behalf_of = on_behalf_of
        self.pacer = pacer_for(
            base_url, api_key.strip(), clock=http_kwargs.get("clock") or time.time
        )
        self._sleep = http_kwargs.get("sleep") or time.sleep
        self.http = http or HttpClient(
            base_url,
            vendor="Greenhouse",
            error_mapper=make_error_mapper("API key"),
            documented=DOCUMENTED_BASE_URLS,
            **http_kwargs,
        )

    def _write_headers(self) -> dict[str, str]:
        if self.on_behalf_of is None or not str(self.on_behalf_of).strip().isdigit():
            raise ValidationFailed(
                "Choose the Greenhouse user RecruitFlow writes as (a numeric user id, not an "
                "e-mail); Greenhouse requires it on every change.",
                code="missing_on_behalf_of",
            )
        return {"On-Behalf-Of": str(self.on_behalf_of).strip()}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        method = method.upper()
        headers = dict(kwargs.pop("headers", None) or {})
        if method in WRITE_METHODS and "On-Behalf-Of" not in headers:
            headers.update(self._write_headers())
        self.pacer.wait(self._sleep)
        response = self.http.request(method, path, auth=self.auth, headers=headers, **kwargs)
        self.pacer.observe(response)
        return response

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return response_body(self.request("GET", path, params=params))

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, per_page: int = PER_PAGE
    ) -> Iterator[list]:
        """Each page of a list endpoint, following ``Link rel="next"`` verbatim."""
        first = dict(params or {})
        first.setdefault("per_page", per_page)
        response = self.request("GET", path, params=first)
        while True:
            yield _require_list(response_body(response), response.url)
            next_url = _next_link(response, response.url)
            if not next_url:
                return
            response = self.request("GET", next_url)

    def iter_all(self, path: str, params: Mapping[str, Any] | None = None, **kw) -> Iterator[Any]:
        for page in self.iter_pages(path, params, **kw):
            yield from page

    def post(self, path: str, json: Any = None, *, on_behalf_of: str | None = None) -> Any:
        """POST as the connection's acting user, or as ``on_behalf_of`` (a numeric user id)."""
        headers = {"On-Behalf-Of": str(on_behalf_of).strip()} if on_behalf_of else None
        return response_body(self.request("POST", path, json=json, headers=headers))

    def patch(self, path: str, json: Any = None, *, on_behalf_of: str | None = None) -> Any:
        """PATCH as the connection's acting user, or as ``on_behalf_of`` (a numeric user id)."""
        headers = {"On-Behalf-Of": str(on_behalf_of).strip()} if on_behalf_of else None
        return response_body(self.request("PATCH", path, json=json, headers=headers))


class HarvestV3Client:
    """Harvest v3: OAuth client-credentials bearer tokens and cursor paging.

    The token is fetched with Basic ``client_id:client_secret`` and
    ``grant_type=client_credentials`` (+ ``sub`` = acting user id, v3's stand-in for
    On-Behalf-Of), cached until shortly before expiry and refetched once on a 401.
    """

    api_version = "v3"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        token_url: str | None = None,
        sub: int | str | None = None,
        http: HttpClient | None = None,
        token_clock: Callable[[], float] = time.time,
        **http_kwargs: Any,
    ) -> None:
        if not client_id or not client_secret:
            raise AuthError(
                "Enter both the Greenhouse client ID and client secret.",
                code="missing_credentials",
            )
        base_url = base_url.rstrip("/")
        if token_url is None:
            token_url = (
                DEFAULT_TOKEN_URL if base_url == DEFAULT_BASE_URL else f"{base_url}/auth/token"
            )
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = token_url
        self.sub = sub
        self._clock = token_clock
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._token_lock = threading.Lock()
        self.http = http or HttpClient(
            base_url,
            vendor="Greenhouse",
            error_mapper=make_error_mapper("client credentials"),
            documented=DOCUMENTED_BASE_URLS,
            **http_kwargs,
        )

    # -- tokens ----------------------------------------------------------------------------

    def _fetch_token(self) -> None:
        form = {"grant_type": "client_credentials"}
        if self.sub is not None and str(self.sub).strip():
            form["sub"] = str(self.sub).strip()
        try:
            response = self.http.request(
                "POST",
                self.token_url,
                data=form,
                auth=HTTPBasicAuth(self.client_id, self.client_secret),
                idempotent=True,  # asking for a token twice has no side effect
            )
        except NotFound as exc:
            raise NotFound(
                f"Greenhouse's token URL {self.token_url} answered 404 Not Found, so it is the "
                "wrong address: check the token URL (Greenhouse's is "
                f"{DEFAULT_TOKEN_URL}), or leave it empty to use that one.",
                status=exc.status,
                body=exc.body,
                code=WRONG_ADDRESS,
            ) from exc
        except (AuthError, ValidationFailed, PermissionDenied) as exc:
            raise AuthError(
                "Greenhouse rejected the client ID and secret "
                f"({exc.status} {vendor_message(exc.body) or ''}".rstrip()
                + "). Check them in Greenhouse's Dev Center and that the acting user exists.",
                status=exc.status,
                body=exc.body,
                code="invalid_credentials",
            ) from exc
        body = response_body(response)
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not token:
            raise ProviderError("Greenhouse's token endpoint returned no access token.")
        self._token = token
        self._token_expires_at = _token_expiry(body, now=self._clock()) - TOKEN_EXPIRY_MARGIN_S

    def access_token(self) -> str:
        with self._token_lock:
            if self._token is None or self._clock() >= self._token_expires_at:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def invalidate_token(self) -> None:
        with self._token_lock:
            self._token = None

    # -- requests --------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {self.access_token()}"
            try:
                return self.http.request(method, path, headers=headers, **kwargs)
            except AuthError:
                # An expired or revoked token: get a fresh one once, then give up.
                if attempt == 2:
                    raise
                self.invalidate_token()
        raise AssertionError("unreachable")

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return response_body(self.request("GET", path, params=params))

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, per_page: int = PER_PAGE
    ) -> Iterator[list]:
        """Each page: filters + per_page on the first call, then the ``next`` link as-is.

        Greenhouse answers 422 when a cursor comes with any other parameter, so later pages
        are requested with no params of our own.
        """
        first = dict(params or {})
        first.setdefault("per_page", per_page)
        response = self.request("GET", path, params=first)
        while True:
            yield _require_list(response_body(response), response.url)
            next_url = _next_link(response, response.url)
            if not next_url:
                return
            response = self.request("GET", next_url)

    def iter_all(self, path: str, params: Mapping[str, Any] | None = None, **kw) -> Iterator[Any]:
        for page in self.iter_pages(path, params, **kw):
            yield from page

    def post(self, path: str, json: Any = None, *, on_behalf_of: str | None = None) -> Any:
        """POST as the token's ``sub``; another ``on_behalf_of`` takes a token for that user."""
        if on_behalf_of and str(on_behalf_of).strip() != str(self.sub or "").strip():
            with self._token_lock:
                self.sub = str(on_behalf_of).strip()
                self._token = None
        return response_body(self.request("POST", path, json=json))

    def patch(self, path: str, json: Any = None, *, on_behalf_of: str | None = None) -> Any:
        """PATCH as the token's ``sub``; another ``on_behalf_of`` takes a token for that user."""
        if on_behalf_of and str(on_behalf_of).strip() != str(self.sub or "").strip():
            with self._token_lock:
                self.sub = str(on_behalf_of).strip()
                self._token = None
        return response_body(self.request("PATCH", path, json=json))
