"""The SSRF guard: which addresses may be called at all (no loopback, private, link-local or
mapped forms), which provider addresses may be called (the outbound policy: the vendor's
documented hosts or an allow-listed one), and transports that check the address they actually
connect to (DNS rebinding), for the requests session under :class:`HttpClient`.

No Django imports here: the module must import without settings."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3
import urllib3.connection

from integrations.http_errors import (
    RETRYABLE_STATUSES,
    AuthError,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    UnsafeURL,
    ValidationFailed,
)

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
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]


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
    (:func:`guarded_session`, under every :class:`HttpClient`) check the address they connect
    to.
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
