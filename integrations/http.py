"""The one outbound HTTP choke point for provider integrations.

Every call to a vendor goes through :class:`HttpClient`, which

* always sets a timeout,
* retries 429, 5xx and connection failures with exponential backoff and jitter, honouring
  ``Retry-After`` (seconds, epoch or HTTP-date) and ``X-RateLimit-Reset``,
* paces itself from ``X-RateLimit-Remaining``/``X-RateLimit-Reset`` (or a client-side
  :class:`RateLimiter`) so a well-behaved sync never sees a 429,
* reports every attempt to ``on_call`` as a :class:`CallRecord` (the Django layer persists these),
* turns failures into :class:`ProviderError` subclasses that say whether retrying can help.

No Django imports here: the module must import without settings.
"""

from __future__ import annotations

import html
import http.client
import ipaddress
import logging
import random
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3
import urllib3.connection

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Statuses that prove the server did not act on the request, so even a POST may be resent.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
EPOCH_THRESHOLD = 1e9  # a Retry-After/X-RateLimit-Reset above this is a Unix timestamp


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ProviderError(Exception):
    """A provider call failed.

    ``permanent`` tells the caller what to do: permanent errors (bad credentials, missing
    permission, validation) need a human, so flag the connection and show ``message``;
    non-permanent ones (rate limits, outages) may be retried later.
    """

    default_permanent: bool = True

    def __init__(
        self,
        message: str,
        *,
        permanent: bool | None = None,
        status: int | None = None,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = self.default_permanent if permanent is None else permanent
        self.status = status
        self.code = code
        self.body = body

    def __str__(self) -> str:
        return self.message


class AuthError(ProviderError):
    """The credentials were rejected (401)."""


class PermissionDenied(ProviderError):
    """The credentials are valid but lack access (403). ``vendor_message`` is the vendor's text."""

    def __init__(self, message: str, *, vendor_message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.vendor_message = vendor_message


class NotFound(ProviderError):
    """The record or route does not exist (404)."""


class ValidationFailed(ProviderError):
    """The vendor rejected the payload (400/422). ``field_errors`` is ``[(field, message)]``."""

    def __init__(
        self, message: str, *, field_errors: list[tuple[str | None, str]] | None = None, **kwargs
    ) -> None:
        super().__init__(message, **kwargs)
        self.field_errors = field_errors or []


class TransientError(ProviderError):
    """The vendor kept failing (5xx) after all retries; try again later."""

    default_permanent = False


class RateLimited(TransientError):
    """Still rate limited after all retries. ``retry_after`` is seconds to wait, if known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unreachable(TransientError):
    """The host could not be reached (DNS, refused connection, timeouts) after all retries."""


class UnsafeURL(ValueError):
    """A user-supplied URL points somewhere we must not call (see :func:`assert_public_url`)."""


# --------------------------------------------------------------------------------------------
# Call log
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, as handed to ``on_call``. ``status`` is None when no response came."""

    method: str
    url: str
    path: str
    status: int | None
    duration_ms: int
    attempt: int
    error: str | None
    started_at: datetime


# --------------------------------------------------------------------------------------------
# Rate limiting helpers
# --------------------------------------------------------------------------------------------


class RateLimiter:
    """Client-side token bucket: ``rate_per_s`` steady, up to ``burst`` at once.

    Used for vendors that publish a limit but send no rate-limit headers (Lever: 10/s, burst 20).
    Thread-safe; ``acquire()`` blocks (via the injected ``sleep``) until a token is available.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate = float(rate_per_s)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self) -> float:
        """Take one token, waiting if needed. Returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                # The epsilon stops float rounding from leaving us a hair short forever.
                if self._tokens >= 1 - 1e-6:
                    self._tokens = max(0.0, self._tokens - 1)
                    return waited
                wait = max((1 - self._tokens) / self.rate, 1e-3)
            self._sleep(wait)
            waited += wait


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta seconds, epoch seconds or HTTP-date.

    Greenhouse documented an epoch timestamp before March 2024 and seconds since, so a number
    above 1e9 is read as an epoch.
    """
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    if number > EPOCH_THRESHOLD:
        return max(0.0, number - now)
    return max(0.0, number)


def _parse_reset(value: str | None, *, now: float) -> float | None:
    """``X-RateLimit-Reset`` as an absolute epoch (accepts epoch or seconds-from-now)."""
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if number > EPOCH_THRESHOLD else now + max(0.0, number)


# --------------------------------------------------------------------------------------------
# SSRF guard
# --------------------------------------------------------------------------------------------


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    packed = int(ip)
    if packed >> 32 == 0 and packed > 1:  # ::a.b.c.d (IPv4-compatible, deprecated)
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    if ip in _NAT64:
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_problem(address: str) -> str | None:
    """Why we must not connect to ``address`` (an IP literal), or None when it is public.

    Refuses loopback, private, link-local (169.254/16 and fe80::/10, where cloud metadata
    lives), shared (100.64/10), unspecified, multicast and reserved addresses, and IPv6
    addresses that carry such an IPv4 address (mapped, compatible, 6to4, NAT64, Teredo).
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = address_problem(str(embedded))
            return f"{inner}, written as {ip}" if inner else None
    if ip.is_loopback:
        return f"{ip} is this server (loopback)"
    if ip.is_link_local:
        return f"{ip} is link-local (cloud metadata lives there)"
    if ip.is_unspecified:
        return f"{ip} is unspecified"
    if ip.is_multicast:
        return f"{ip} is multicast"
    if not ip.is_global:
        return f"{ip} is a private or reserved address"
    return None


def _resolve(host: str, resolver: Callable[[str], Iterable[str]] | None = None) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    if resolver is not None:
        return list(resolver(host))
    return [info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]


def assert_public_url(
    url: str,
    *,
    allow_private: bool = False,
    resolve: bool = True,
    resolver: Callable[[str], Iterable[str]] | None = None,
) -> str:
    """Raise :class:`UnsafeURL` unless ``url`` is an http(s) URL pointing at a public address.

    For URLs users type (partner webhooks, custom hosts): rejects other schemes, credentials in
    the URL, and hosts that are or resolve to loopback, private, link-local (cloud metadata),
    multicast, reserved or unspecified addresses, or IPv6 forms of those. ``allow_private=True``
    skips the address checks (an allow-listed local sandbox). Returns the URL unchanged when it
    is acceptable. Resolution here does not pin the address used later: the guarded transports
    (:func:`guarded_session`, :func:`guarded_urllib_opener`) check the address they connect to.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL(f"Only http and https URLs are allowed, not {parts.scheme or 'none'!r}.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host name.")
    if parts.username or parts.password:
        raise UnsafeURL("Remove the user name and password from the URL.")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise UnsafeURL("The URL has an invalid port.") from exc
    if allow_private:
        return url

    host = parts.hostname.rstrip(".")
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        raise UnsafeURL("The URL points at this server (localhost).")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not resolve:
            return url
    try:
        addresses = _resolve(host, resolver)
    except OSError as exc:
        raise UnsafeURL(f"The host {host!r} could not be resolved.") from exc
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise UnsafeURL(f"It points at a private or reserved address: {problem}.")
    return url


# -- Which provider addresses may be called ----------------------------------------------------


@dataclass(frozen=True)
class OutboundPolicy:
    """What the operator allows beyond each vendor's documented hosts.

    ``custom_urls``: admins may type a provider address that is not the vendor's documented
    host (sandbox, tests); such an address must still be public unless allow-listed.
    ``allowlist``: origins (``scheme://host:port``; port ``*`` means any port) that may be
    non-public, e.g. the sandbox of ``make run``. Nothing here applies to documented hosts.
    """

    custom_urls: bool = False
    allowlist: tuple[str, ...] = ()

    def allow_lists(self, url_or_origin: str) -> bool:
        scheme, host, port = _origin_parts(url_or_origin)
        for entry in self.allowlist:
            e_scheme, e_host, e_port = _origin_parts(
                entry.replace(":*", ""), any_port=":*" in entry
            )
            if (e_scheme, e_host) == (scheme, host) and e_port in (None, port):
                return True
        return False


def _origin_parts(url: str, *, any_port: bool = False) -> tuple[str, str, int | None]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if any_port:
        return scheme, host, None
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, host, port or (443 if scheme == "https" else 80)


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` (default ports written out), for comparisons."""
    scheme, host, port = _origin_parts(url)
    return f"{scheme}://{host}:{port}"


_policy_source: Callable[[], OutboundPolicy] = OutboundPolicy


def set_outbound_policy_source(source: Callable[[], OutboundPolicy]) -> None:
    """Where the policy comes from (the Django app reads settings on every call)."""
    global _policy_source
    _policy_source = source


def outbound_policy() -> OutboundPolicy:
    return _policy_source()


def check_provider_url(
    url: str,
    *,
    documented: Iterable[str] = (),
    vendor: str = "The provider",
    resolver: Callable[[str], Iterable[str]] | None = None,
) -> bool:
    """The SSRF guard for one request to a provider. Returns True when the host is trusted (a
    documented vendor host or an allow-listed origin) and False for an accepted custom public
    address; raises :class:`UnsafeURL` with a message for the admin otherwise.

    Called on every attempt, so a host name is resolved (and checked) again each time.
    """
    origin = origin_of(url)
    documented_origins = {origin_of(d) for d in documented}
    if origin in documented_origins:
        if urlsplit(url).username or urlsplit(url).password:
            raise UnsafeURL("Remove the user name and password from the URL.")
        return True
    policy = outbound_policy()
    if not policy.custom_urls:
        hosts = ", ".join(sorted({urlsplit(d).netloc for d in documented})) or "none"
        raise UnsafeURL(
            f"{vendor} can only be reached at its own address ({hosts}); "
            f"{urlsplit(url).netloc or url} is not one of them, and this server does not allow "
            "custom provider addresses. Choose the vendor's address in the settings."
        )
    if policy.allow_lists(url):
        assert_public_url(url, allow_private=True)
        return True
    try:
        assert_public_url(url, resolver=resolver)
    except UnsafeURL as exc:
        raise UnsafeURL(
            f"RecruitFlow will not call {vendor} at {urlsplit(url).netloc or url}. {exc} "
            f"Use {vendor}'s own address or a public one."
        ) from exc
    return False


class BlockedAddress(ProviderError):
    """A provider address was refused by the SSRF guard: nothing was sent."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "blocked_address")
        super().__init__(message, permanent=True, **kwargs)


def redirect_error(vendor: str, host: str, status: int) -> ProviderError:
    """A 3xx from a provider: never followed, because the request carried credentials."""
    return ProviderError(
        f"{vendor} at {host} answered with a redirect ({status}). RecruitFlow does not follow "
        "redirects, so the credentials were not sent anywhere else; check the address in the "
        "settings.",
        status=status,
        code="redirect",
        permanent=True,
    )


def untrusted_error(status: int, vendor: str, host: str) -> ProviderError:
    """An error from a custom (non-vendor) address, without echoing anything it sent."""
    said = f"{vendor} at the custom address {host} answered {status}"
    kwargs: dict[str, Any] = {"status": status, "code": "custom_host_error"}
    if status == 401:
        return AuthError(f"{said}: the credentials were rejected.", **kwargs)
    if status == 403:
        return PermissionDenied(f"{said}: access was refused.", **kwargs)
    if status == 404:
        return NotFound(f"{said}: not found.", **kwargs)
    if status in (400, 422):
        return ValidationFailed(f"{said}: the data was rejected.", **kwargs)
    if status == 429:
        return RateLimited(f"{said}: rate limited.", **kwargs)
    if status in RETRYABLE_STATUSES:
        return TransientError(f"{said}; we will retry later.", **kwargs)
    return ProviderError(f"{said}.", **kwargs)


# -- Transports that check the address they connect to (DNS rebinding) ------------------------


def _vetted_address(scheme: str, host: str, port: int) -> str | None:
    """The checked IP to connect to, or None to connect as usual (allow-listed origin)."""
    if outbound_policy().allow_lists(f"{scheme}://{host}:{port}"):
        return None
    try:
        addresses = _resolve(host.strip("[]"))
    except OSError:
        return None  # let the normal connect fail with its own resolution error
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise UnsafeURL(f"RecruitFlow will not connect to {host}: {problem}.")
    return addresses[0] if addresses else None


class _GuardedConnectionMixin:
    """urllib3 connection that refuses non-public peers (resolved at connect time)."""

    def _new_conn(self):  # type: ignore[no-untyped-def]
        scheme = "https" if isinstance(self, urllib3.connection.HTTPSConnection) else "http"
        if getattr(self, "proxy", None) is not None:
            return super()._new_conn()  # the target host was checked before the request
        address = _vetted_address(scheme, self.host, self.port)
        if address is None:
            return super()._new_conn()
        original = self._dns_host
        self._dns_host = address
        try:
            return super()._new_conn()
        finally:
            self._dns_host = original


class _GuardedHTTPConnection(_GuardedConnectionMixin, urllib3.connection.HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, urllib3.connection.HTTPSConnection):
    pass


class _GuardedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(requests.adapters.HTTPAdapter):
    """A requests adapter whose connections refuse non-public peers."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def guard_session(session: requests.Session) -> requests.Session:
    """Mount :class:`GuardedAdapter` on ``session`` for http and https. (Callers send with
    ``allow_redirects=False``; a 3xx is an error for them.)"""
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def guarded_session() -> requests.Session:
    return guard_session(requests.Session())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None  # urllib then raises HTTPError with the 3xx


def _checked_create_connection(scheme: str):
    def create(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):  # type: ignore[attr-defined]
        host, port = address
        vetted = _vetted_address(scheme, host, port)
        return socket.create_connection(
            (vetted or host, port), timeout, source_address=source_address
        )

    return create


class _GuardedUrllibHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _checked_create_connection("http")


class _GuardedUrllibHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _checked_create_connection("https")


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):  # type: ignore[no-untyped-def]
        return self.do_open(_GuardedUrllibHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):  # type: ignore[no-untyped-def]
        return self.do_open(_GuardedUrllibHTTPSConnection, req, context=self._context)


def guarded_urllib_opener() -> urllib.request.OpenerDirector:
    """A urllib opener that follows no redirect and refuses non-public peers (for SDKs on
    urllib, such as SendGrid's python-http-client)."""
    return urllib.request.build_opener(_NoRedirect, _GuardedHTTPHandler, _GuardedHTTPSHandler)


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


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
        reset = _parse_reset(response.headers.get("X-RateLimit-Reset"), now=self.clock())
        if reset is None:
            return
        with self._pacing.lock:
            self._pacing.paused_until = max(self._pacing.paused_until, reset)

    def _server_wait(self, response: requests.Response) -> float | None:
        now = self.clock()
        wait = parse_retry_after(response.headers.get("Retry-After"), now=now)
        if wait is None and response.status_code == 429:
            reset = _parse_reset(response.headers.get("X-RateLimit-Reset"), now=now)
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
    ) -> requests.Response:
        """Send one logical request, retrying as needed; return the response or raise.

        Non-idempotent requests (POST) are only resent when the server proves it did not act
        (429, 503) or the connection was never made, so a note is never written twice.
        """
        method = method.upper()
        url = self.url_for(path_or_url)
        expected = set(expect)
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
                    timeout=self.timeout,
                    allow_redirects=False,
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
                retryable = network and (idempotent or _never_sent(exc))
                if retryable and not last_attempt:
                    self.sleep(self.backoff(attempt))
                    continue
                raise Unreachable(
                    self._unreachable_message(exc, host, attempt, trusted=trusted)
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

            if status in RETRYABLE_STATUSES and (idempotent or status in NOT_PROCESSED_STATUSES):
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
