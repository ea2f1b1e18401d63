"""How a partner URL is checked and called: https only (plain http, and private addresses, only
for hosts the operator lists in ``PARTNER_WEBHOOK_HTTP_HOSTS``), the host resolved and refused
when it is or resolves to a loopback, private, link-local (metadata) or reserved address — at
save and at every delivery — and the connection made to the address that was checked (so a name
that resolves elsewhere a moment later, DNS rebinding, is not followed). No redirect is followed,
the timeout is 10 s and at most 64 KB of the answer is read.

Built on the SSRF guard of :mod:`integrations.http_guard` (``assert_public_url`` and
``address_problem``), with the partner allow-list instead of the providers' one."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3
import urllib3.connection
from django.conf import settings

from integrations.http_errors import UnsafeURL
from integrations.http_guard import address_problem, assert_public_url

TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "RecruitFlow-Webhooks/1.0"


def allow_listed_hosts() -> set[str]:
    return {h.strip().lower() for h in getattr(settings, "PARTNER_WEBHOOK_HTTP_HOSTS", []) if h}


def is_allow_listed(host: str) -> bool:
    return host.strip("[]").rstrip(".").lower() in allow_listed_hosts()


def check_url(url: str) -> str:
    """Raise :class:`UnsafeURL` (with a sentence for the admin) unless RecruitFlow may send to
    ``url``. Resolves the host name now."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme == "http" and not is_allow_listed(host):
        raise UnsafeURL("Use an https:// address: webhooks are only sent over https.")
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Use an https:// address.")
    if parts.fragment:
        raise UnsafeURL("Remove the #fragment from the address.")
    return assert_public_url(url, allow_private=is_allow_listed(host))


def _vetted_address(host: str, port: int) -> str | None:
    """The checked address to connect to (None: connect as usual, an allow-listed host)."""
    bare = host.strip("[]")
    if is_allow_listed(bare):
        return None
    try:
        infos = socket.getaddrinfo(bare, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise UnsafeURL(f"The host {bare} could not be resolved.") from exc
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise UnsafeURL(f"RecruitFlow will not connect to {bare}: {problem}.")
    return addresses[0]


class _CheckedConnectionMixin:
    def _new_conn(self):  # type: ignore[no-untyped-def]
        address = _vetted_address(self.host, self.port)  # type: ignore[attr-defined]
        if address is None:
            return super()._new_conn()  # type: ignore[misc]
        original = self._dns_host  # type: ignore[has-type]
        self._dns_host = address
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = original


class _HTTPConnection(_CheckedConnectionMixin, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_CheckedConnectionMixin, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _CheckedAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # never through a proxy: the address checked is the one connected to
    adapter = _CheckedAdapter(pool_connections=4, pool_maxsize=8)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


@dataclass
class Answer:
    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(http: requests.Session, url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST once; never raises for network trouble (the answer says what happened)."""
    started = time.monotonic()
    answer = Answer()
    try:
        check_url(url)
        with http.post(
            url,
            data=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as response:
            answer.status = response.status_code
            answer.headers = {k: v[:500] for k, v in list(response.headers.items())[:50]}
            raw = response.raw.read(MAX_RESPONSE_BYTES, decode_content=True) or b""
            answer.body = raw.decode(response.encoding or "utf-8", errors="replace")
            if 300 <= response.status_code < 400:
                answer.error = (
                    f"Answered with a redirect ({response.status_code}); redirects are not "
                    "followed. Use the final address."
                )
    except UnsafeURL as exc:
        answer.error = f"Refused: {exc}"
    except requests.exceptions.Timeout:
        answer.error = f"No answer within {TIMEOUT_SECONDS} s."
    except requests.exceptions.SSLError:
        answer.error = "The TLS certificate could not be verified."
    except requests.exceptions.ConnectionError as exc:
        inner = exc.args[0] if exc.args else exc
        reason = getattr(inner, "reason", None)
        if isinstance(reason, UnsafeURL):
            answer.error = f"Refused: {reason}"
        else:
            answer.error = "Could not connect (connection refused or reset)."
    except requests.exceptions.RequestException as exc:
        answer.error = f"The request failed ({type(exc).__name__})."
    answer.duration_ms = int((time.monotonic() - started) * 1000)
    return answer
