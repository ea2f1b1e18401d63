"""Lever Data API v1 HTTP client: Basic (API key) or Bearer (OAuth), offset paging, token bucket.

Lever publishes a per-key token bucket (10 requests/s, bursts of 20) but no rate-limit headers,
so the client paces itself with :class:`~integrations.http.RateLimiter`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from integrations.http import (
    AuthError,
    HttpClient,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimiter,
    ValidationFailed,
    response_body,
    vendor_message,
)

DEFAULT_BASE_URL = "https://api.lever.co/v1"
# Lever's Data API hosts (production; EU; Lever's own developer sandbox) and OAuth hosts: the
# only ones reached unless the operator allows custom provider addresses.
API_BASE_URLS = (
    DEFAULT_BASE_URL,
    "https://api-eu.lever.co/v1",
    "https://api.sandbox.lever.co/v1",
)
AUTH_BASE_URLS = ("https://auth.lever.co", "https://sandbox-lever.auth0.com")
DOCUMENTED_BASE_URLS = API_BASE_URLS + AUTH_BASE_URLS
PAGE_LIMIT = 100
RATE_PER_S = 10
BURST = 20

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]


def _as_pairs(params: Params | None) -> list[tuple[str, Any]]:
    """Query params as pairs, so repeated keys (``expand=a&expand=b``) survive."""
    if params is None:
        return []
    if isinstance(params, Mapping):
        pairs: list[tuple[str, Any]] = []
        for key, value in params.items():
            if isinstance(value, (list, tuple)):
                pairs.extend((key, v) for v in value)
            elif value is not None:
                pairs.append((key, value))
        return pairs
    return list(params)


def make_error_mapper(credential: str) -> Callable[[requests.Response], ProviderError | None]:
    def mapper(response: requests.Response) -> ProviderError | None:
        status = response.status_code
        body = response_body(response)
        detail = vendor_message(body) or ""
        code = body.get("code") if isinstance(body, Mapping) else None
        said = f"{status} {detail}".strip()
        common: dict[str, Any] = {"status": status, "body": body, "code": code}
        if status == 401:
            fix = (
                "Check the key under Settings → Integrations and API → API Credentials."
                if credential == "API key"
                else "Reconnect Lever to grant access again."
            )
            return AuthError(f"Lever rejected the {credential} ({said}). {fix}", **common)
        if status == 403:
            return PermissionDenied(
                f"Lever refused access ({said}). Ask a Lever Super Admin to allow this for the "
                f"{credential}.",
                vendor_message=detail,
                **common,
            )
        if status == 404:
            return NotFound(f"Lever could not find it ({said}).", **common)
        if status in (400, 422):
            return ValidationFailed(f"Lever rejected the request ({said}).", **common)
        return None

    return mapper


class LeverClient:
    """Lever Data API. Pass ``api_key`` (Basic ``key:``) or ``access_token`` (Bearer).

    ``token_refresher()`` is called once when an OAuth call gets a 401; it must return the new
    access token (a string, or an object with ``access_token``) after persisting the rotated
    refresh token.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        token_refresher: Callable[[], Any] | None = None,
        rate_limiter: RateLimiter | None = None,
        http: HttpClient | None = None,
        **http_kwargs: Any,
    ) -> None:
        if not api_key and not access_token:
            raise AuthError("Connect Lever or paste a Lever API key.", code="missing_credentials")
        self.api_key = api_key
        self.access_token = access_token
        self.token_refresher = token_refresher
        self._lock = threading.Lock()
        if rate_limiter is None:
            sleep = http_kwargs.get("sleep")
            rate_limiter = RateLimiter(RATE_PER_S, BURST, **({"sleep": sleep} if sleep else {}))
        self.http = http or HttpClient(
            base_url,
            vendor="Lever",
            error_mapper=make_error_mapper("API key" if api_key else "access token"),
            rate_limiter=rate_limiter,
            documented=DOCUMENTED_BASE_URLS,
            **http_kwargs,
        )

    def _auth_kwargs(self) -> dict[str, Any]:
        if self.api_key:
            return {"auth": HTTPBasicAuth(self.api_key, "")}
        return {"headers": {"Authorization": f"Bearer {self.access_token}"}}

    def _refresh(self) -> None:
        assert self.token_refresher is not None
        result = self.token_refresher()
        token = getattr(result, "access_token", result)
        if not token:
            raise AuthError("Lever did not issue a new access token; reconnect Lever.")
        with self._lock:
            self.access_token = str(token)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        extra_headers = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            auth = self._auth_kwargs()
            headers = {**extra_headers, **auth.pop("headers", {})}
            try:
                return self.http.request(method, path, headers=headers, **auth, **kwargs)
            except AuthError:
                if attempt == 2 or self.api_key or self.token_refresher is None:
                    raise
                self._refresh()
        raise AssertionError("unreachable")

    def get(self, path: str, params: Params | None = None) -> Any:
        body = response_body(self.request("GET", path, params=_as_pairs(params) or None))
        return body.get("data") if isinstance(body, Mapping) else body

    def iter_pages(
        self, path: str, params: Params | None = None, *, limit: int = PAGE_LIMIT
    ) -> Iterator[list]:
        """Each page of a list endpoint: ``offset=<next>`` until ``hasNext`` is false."""
        base = [(k, v) for k, v in _as_pairs(params) if k not in ("limit", "offset")]
        offset: str | None = None
        while True:
            query = [*base, ("limit", limit)]
            if offset:
                query.append(("offset", offset))
            body = response_body(self.request("GET", path, params=query))
            if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
                raise ProviderError(f"Lever returned an unexpected page from {path}.")
            yield body["data"]
            offset = body.get("next")
            if not body.get("hasNext") or not offset:
                return

    def iter_all(self, path: str, params: Params | None = None, **kw: Any) -> Iterator[Any]:
        for page in self.iter_pages(path, params, **kw):
            yield from page

    def post(
        self,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        files: Any = None,
        data: Any = None,
    ) -> Any:
        response = self.request(
            "POST", path, params=_as_pairs(params) or None, json=json, files=files, data=data
        )
        body = response_body(response)
        return body.get("data") if isinstance(body, Mapping) and "data" in body else body
