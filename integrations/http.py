"""The one outbound HTTP choke point for provider integrations.

Every call to a vendor goes through :class:`HttpClient`, which

* always sets a timeout,
* retries 429, 5xx and connection failures with exponential backoff and jitter, honouring
  ``Retry-After`` (seconds, epoch or HTTP-date) and ``X-RateLimit-Reset``,
* paces itself from ``X-RateLimit-Remaining``/``X-RateLimit-Reset`` (or a client-side
  :class:`RateLimiter`) so a well-behaved sync never sees a 429,
* reports every attempt to ``on_call`` as a :class:`CallRecord` (the Django layer persists these),
* turns failures into :class:`ProviderError` subclasses that say whether retrying can help.

Errors (``http_errors``), call records and rate limits (``http_pacing``) and the SSRF guard
(``http_guard``) are in their own modules; the client imports them.

No Django imports here: the module must import without settings.
"""

from __future__ import annotations

import functools
import html
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters

from integrations.http_errors import (
    RETRYABLE_STATUSES,
    AuthError,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    Unreachable,
    UnsafeURL,
    ValidationFailed,
)
from integrations.http_guard import (
    BlockedAddress,
    check_provider_url,
    guard_session,
    redirect_error,
    untrusted_error,
)
from integrations.http_pacing import CallRecord, RateLimiter, parse_reset, parse_retry_after

logger = logging.getLogger(__name__)


# Statuses that prove the server did not act on the request, so even a POST may be resent.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


PROXY_VARIABLES = tuple(
    name
    for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    for name in (base, base.upper())
)


def environment_proxies(url: str) -> dict[str, str]:
    """The proxies the environment gives ``url`` (``HTTPS_PROXY``, ``NO_PROXY``…), as requests
    would find them, worked out once per host and proxy setting: requests itself scans every
    environment variable on each call (about a millisecond a send with a few hundred of them)."""
    parts = urlsplit(url)
    settings = tuple(os.environ.get(name) for name in PROXY_VARIABLES)
    return _proxies_for(parts.scheme, parts.netloc, settings)


@functools.lru_cache(maxsize=512)
def _proxies_for(scheme: str, netloc: str, settings: tuple) -> dict[str, str]:
    return requests.utils.get_environ_proxies(f"{scheme}://{netloc}/")


def _environment_ca_bundle() -> str | None:
    """The CA bundle the environment names for requests (read as requests reads it)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def response_body(response: requests.Response) -> Any:
    """The decoded JSON body, or the text (truncated) when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return (response.text or "")[:2000]


def vendor_message(body: Any) -> str | None:
    """Best-effort human message from a vendor error body (``message``/``error``/``errors``)."""
    if isinstance(body, Mapping):
        for key in ("message", "error_description", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0]
            if isinstance(first, str):
                return first
            if isinstance(first, Mapping) and first.get("message"):
                return str(first["message"])
    if isinstance(body, str) and body.strip():
        return _html_summary(body) or body.strip()[:300]
    return None


def _html_summary(text: str) -> str | None:
    """A web page (a proxy's or load balancer's error page, a wrong address) in one phrase, so
    no raw markup reaches an admin's screen; None when ``text`` is not HTML."""
    if not re.search(r"<\s*(!doctype\s+html|html|head|body)\b", text[:1000], re.IGNORECASE):
        return None
    found = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL) or re.search(
        r"<h1[^>]*>(.*?)</h1>", text, re.IGNORECASE | re.DOTALL
    )
    name = " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split()) if found else ""
    if name:
        return f"an HTML page titled “{name[:120]}” instead of an API answer"
    return "an HTML page instead of an API answer"


def default_error_for(response: requests.Response, vendor: str) -> ProviderError:
    """Generic mapping of a non-retryable error response to a :class:`ProviderError`."""
    status = response.status_code
    body = response_body(response)
    detail = vendor_message(body)
    said = f" ({status} {detail})" if detail else f" ({status})"
    kwargs: dict[str, Any] = {"status": status, "body": body}
    if isinstance(body, Mapping) and isinstance(body.get("code"), str):
        kwargs["code"] = body["code"]
    if status == 401:
        return AuthError(
            f"{vendor} rejected the credentials{said}. Check them and try again.", **kwargs
        )
    if status == 403:
        return PermissionDenied(
            f"{vendor} refused access{said}. Ask an administrator to grant the permission.",
            vendor_message=detail,
            **kwargs,
        )
    if status == 404:
        return NotFound(f"{vendor} could not find the record{said}.", **kwargs)
    if status in (400, 422):
        field_errors: list[tuple[str | None, str]] = []
        errors = body.get("errors") if isinstance(body, Mapping) else None
        if isinstance(errors, list):
            for err in errors:
                if isinstance(err, Mapping):
                    field_errors.append((err.get("field"), str(err.get("message", ""))))
                else:
                    field_errors.append((None, str(err)))
        return ValidationFailed(
            f"{vendor} rejected the data{said}.", field_errors=field_errors, **kwargs
        )
    if status in RETRYABLE_STATUSES:
        return TransientError(f"{vendor} is having problems{said}; we will retry later.", **kwargs)
    return ProviderError(f"{vendor} returned an unexpected response{said}.", **kwargs)


ErrorMapper = Callable[[requests.Response], "ProviderError | None"]


@dataclass
class _PacingState:
    paused_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class HttpClient:
    """Outbound HTTP with timeouts, retries, pacing, call logging and typed errors.

    ``error_mapper(response)`` lets an adapter turn vendor error bodies into human messages; it
    returns a :class:`ProviderError` or None to fall back to the generic mapping.
    ``max_wait`` caps a single server-requested wait: when a vendor asks us to wait longer,
    :class:`RateLimited` is raised at once (with ``retry_after``) so a task can reschedule itself
    instead of blocking a worker.

    ``documented`` lists the vendor's own base URLs. Every attempt passes
    :func:`check_provider_url` (other hosts only when the operator allows custom addresses,
    and then only public or allow-listed ones), connects only to a checked address, follows
    no redirect, and never shows what a custom (non-vendor) host answered (its error answers
    are not retried either).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | tuple[float, float] = (5, 30),
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.time,
        on_call: Callable[[CallRecord], Any] | None = None,
        session: requests.Session | None = None,
        user_agent: str = "RecruitFlow/1.0",
        vendor: str = "The provider",
        error_mapper: ErrorMapper | None = None,
        rate_limiter: RateLimiter | None = None,
        rate_limit_reserve: int = 0,
        max_wait: float = 120,
        jitter: Callable[[], float] = random.random,
        rate_limit_backoff_base: float = 2.0,
        documented: Iterable[str] = (),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.documented = tuple(documented)
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.sleep = sleep
        self.clock = clock
        self.on_call = on_call
        self.session = guard_session(session or requests.Session())
        if self.session.trust_env:
            # The environment's proxies are looked up per host below, once (requests would
            # read the whole environment on every call); its CA bundle, once here.
            self.session.trust_env = False
            if self.session.verify is True:
                self.session.verify = _environment_ca_bundle() or True
            self._environment_proxies = True
        else:
            self._environment_proxies = False
        self.user_agent = user_agent
        self.vendor = vendor
        self.error_mapper = error_mapper
        self.rate_limiter = rate_limiter
        self.rate_limit_reserve = rate_limit_reserve
        self.max_wait = max_wait
        self._jitter = jitter
        self.rate_limit_backoff_base = rate_limit_backoff_base
        self._pacing = _PacingState()

    # -- helpers ---------------------------------------------------------------------------

    def url_for(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for the wait after failed ``attempt`` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        # "Equal jitter": at least half the ceiling, so waits still grow.
        return ceiling / 2 + self._jitter() * ceiling / 2

    def rate_limit_backoff(self, attempt: int) -> float:
        """The least wait after a 429 on ``attempt``: equal-jitter backoff from
        ``rate_limit_backoff_base`` (1-2 s, 2-4 s, 4-8 s, ...).

        A ``Retry-After`` epoch that has already passed (Greenhouse rounds it to the second, and
        clocks differ) or a reset header that says "now" would otherwise send every remaining
        attempt at once into a window that is still closed.
        """
        ceiling = min(self.backoff_max, self.rate_limit_backoff_base * (2 ** (attempt - 1)))
        return ceiling / 2 + self._jitter() * ceiling / 2

    def _wait_for_pacing(self) -> None:
        with self._pacing.lock:
            paused_until = self._pacing.paused_until
        wait = paused_until - self.clock()
        if wait > 0:
            self.sleep(wait)
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()

    def _note_rate_headers(self, response: requests.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        if remaining is None:
            return
        try:
            left = int(float(remaining))
        except ValueError:
            return
        if left > self.rate_limit_reserve:
            return
        reset = parse_reset(response.headers.get("X-RateLimit-Reset"), now=self.clock())
        if reset is None:
            return
        with self._pacing.lock:
            self._pacing.paused_until = max(self._pacing.paused_until, reset)

    def _server_wait(self, response: requests.Response) -> float | None:
        now = self.clock()
        wait = parse_retry_after(response.headers.get("Retry-After"), now=now)
        if wait is None and response.status_code == 429:
            reset = parse_reset(response.headers.get("X-RateLimit-Reset"), now=now)
            if reset is not None:
                wait = max(0.0, reset - now)
        return wait

    def _record(
        self,
        method: str,
        url: str,
        status: int | None,
        started: float,
        started_at: datetime,
        attempt: int,
        error: str | None,
    ) -> None:
        if self.on_call is None:
            return
        record = CallRecord(
            method=method,
            url=url,
            path=urlsplit(url).path,
            status=status,
            duration_ms=int(round((time.monotonic() - started) * 1000)),
            attempt=attempt,
            error=error,
            started_at=started_at,
        )
        try:
            self.on_call(record)
        except Exception:  # a logging failure must never break the call itself
            logger.exception("on_call callback failed for %s %s", method, url)

    def _guard(self, method: str, url: str, attempt: int) -> bool:
        """Run the SSRF guard for one attempt; True when the host is trusted."""
        try:
            return check_provider_url(url, documented=self.documented, vendor=self.vendor)
        except UnsafeURL as exc:
            self._record(
                method, url, None, time.monotonic(), datetime.now(UTC), attempt, f"Refused: {exc}"
            )
            raise BlockedAddress(str(exc)) from exc

    def _map_error(self, response: requests.Response) -> ProviderError:
        if self.error_mapper is not None:
            mapped = self.error_mapper(response)
            if mapped is not None:
                return mapped
        return default_error_for(response, self.vendor)

    # -- the call --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        expect: Iterable[int] = (200, 201, 204),
        idempotent: bool | None = None,
        not_processed: Iterable[int] = NOT_PROCESSED_STATUSES,
        timeout: float | tuple[float, float] | None = None,
    ) -> requests.Response:
        """Send one logical request, retrying as needed; return the response or raise.

        Non-idempotent requests (POST) are only resent when the server proves it did not act
        (a status in ``not_processed``: 429 and 503 unless the vendor says otherwise) or the
        connection was never made, so a note is never written twice. ``timeout`` replaces the
        client's for this request (an SDK that sets its own).
        """
        method = method.upper()
        url = self.url_for(path_or_url)
        expected = set(expect)
        resendable = frozenset(not_processed)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        send_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        send_headers.update(headers or {})
        host = urlsplit(url).netloc

        attempt = 0
        while True:
            attempt += 1
            last_attempt = attempt >= self.max_attempts
            self._wait_for_pacing()
            trusted = self._guard(method, url, attempt)
            started = time.monotonic()
            started_at = datetime.now(UTC)
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    files=files,
                    headers=send_headers,
                    auth=auth,
                    timeout=self.timeout if timeout is None else timeout,
                    allow_redirects=False,
                    proxies=environment_proxies(url) if self._environment_proxies else None,
                )
            except UnsafeURL as exc:  # the connect-time check (the name now resolves elsewhere)
                self._record(method, url, None, started, started_at, attempt, f"Refused: {exc}")
                raise BlockedAddress(str(exc)) from exc
            except requests.exceptions.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._record(method, url, None, started, started_at, attempt, error[:500])
                network = isinstance(
                    exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
                )
                never_sent = _never_sent(exc)
                retryable = network and (idempotent or never_sent)
                if retryable and not last_attempt:
                    self.sleep(self.backoff(attempt))
                    continue
                raise Unreachable(
                    self._unreachable_message(exc, host, attempt, trusted=trusted),
                    # A custom address's failures are all told alike (no port scanning).
                    never_sent=never_sent and trusted,
                ) from exc

            status = response.status_code
            self._note_rate_headers(response)
            ok = status in expected
            self._record(
                method, url, status, started, started_at, attempt, None if ok else f"HTTP {status}"
            )
            if ok:
                return response
            if 300 <= status < 400:
                raise redirect_error(self.vendor, host, status)
            if not trusted:
                raise untrusted_error(status, self.vendor, host)

            if status in RETRYABLE_STATUSES and (idempotent or status in resendable):
                server_wait = self._server_wait(response)
                if server_wait is not None and server_wait > self.max_wait:
                    raise self._exhausted(response, server_wait, attempt)
                if not last_attempt:
                    if status == 429:
                        wait = max(server_wait or 0.0, self.rate_limit_backoff(attempt))
                    else:
                        wait = server_wait if server_wait is not None else self.backoff(attempt)
                    self.sleep(wait)
                    continue
                raise self._exhausted(response, server_wait, attempt)
            raise self._map_error(response)

    def _exhausted(
        self, response: requests.Response, retry_after: float | None, attempts: int
    ) -> ProviderError:
        body = response_body(response)
        status = response.status_code
        if status == 429:
            when = f" Try again in {int(retry_after + 0.999)} s." if retry_after else ""
            return RateLimited(
                f"{self.vendor} is rate limiting us (429 after {attempts} attempt(s)).{when}",
                retry_after=retry_after,
                status=status,
                body=body,
            )
        detail = vendor_message(body)
        said = f"{status} {detail}" if detail else str(status)
        return TransientError(
            f"{self.vendor} is having problems ({said} after {attempts} attempt(s)); "
            "we will retry later.",
            status=status,
            body=body,
        )

    def _unreachable_message(
        self, exc: Exception, host: str, attempts: int, *, trusted: bool = True
    ) -> str:
        if not trusted:
            # One answer for every failure: a custom address must not become a port scanner.
            return (
                f"Could not reach {self.vendor} at the custom address {host} (after {attempts} "
                "attempt(s)). Check the address and try again later."
            )
        if isinstance(exc, requests.exceptions.Timeout):
            why = "it did not answer in time"
        elif isinstance(exc, requests.exceptions.SSLError):
            why = "its TLS certificate could not be verified"
        elif isinstance(exc, requests.exceptions.ConnectionError):
            text = str(exc)
            if "Name or service not known" in text or "getaddrinfo" in text or "resolve" in text:
                why = "the host name could not be resolved"
            elif "refused" in text.lower():
                why = "the connection was refused"
            else:
                why = "the connection failed"
        else:
            why = f"the request failed ({type(exc).__name__})"
        return (
            f"Could not reach {self.vendor} at {host}: {why} (after {attempts} attempt(s)). "
            "Check the address and try again later."
        )


def _never_sent(exc: Exception) -> bool:
    """True when the request provably never reached the server (safe to resend a POST)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = str(exc)
    return any(
        marker in text
        for marker in ("NewConnectionError", "Failed to establish", "NameResolution", "refused")
    )


def same_origin(url: str, other: str) -> bool:
    """True when both URLs share scheme, host and port (used before following a Link header)."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)
