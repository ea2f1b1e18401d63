"""SendGrid's SDK transport (python-http-client on urllib) behind the SSRF guard.

Every request the SDK makes — Mail Send, the connection test, the Email Activity lookup — goes
through :meth:`GuardedSendGridHttp._make_request`: the address passes
:func:`integrations.http.check_provider_url` (SendGrid's documented hosts, or an allowed
custom one), the socket connects only to a checked address, no redirect is followed (the
request carries ``Authorization: Bearer SG…``), and nothing a custom host answered is shown.
"""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlsplit

import python_http_client
import python_http_client.exceptions as sg_errors

from integrations.http_guard import (
    BlockedAddress,
    UnsafeURL,
    check_provider_url,
    guarded_urllib_opener,
    redirect_error,
    untrusted_error,
)

DEFAULT_BASE_URL = "https://api.sendgrid.com"
# SendGrid's API hosts (global, and EU regional subusers): the only ones reached unless the
# operator allows custom provider addresses.
DOCUMENTED_BASE_URLS = (DEFAULT_BASE_URL, "https://api.eu.sendgrid.com")


class GuardedSendGridHttp(python_http_client.Client):
    """python-http-client whose every request (and every child client) is guarded."""

    def _build_client(self, name: Any = None) -> GuardedSendGridHttp:
        url_path = self._url_path + [name] if name else self._url_path
        return GuardedSendGridHttp(
            host=self.host,
            version=self._version,
            request_headers=self.request_headers,
            url_path=url_path,
            append_slash=self.append_slash,
            timeout=self.timeout,
        )

    def _make_request(self, opener, request, timeout=None):  # type: ignore[no-untyped-def]
        url = request.full_url
        host = urlsplit(url).netloc
        try:
            trusted = check_provider_url(url, documented=DOCUMENTED_BASE_URLS, vendor="SendGrid")
        except UnsafeURL as exc:
            raise BlockedAddress(str(exc)) from exc
        try:
            return super()._make_request(guarded_urllib_opener(), request, timeout=timeout)
        except UnsafeURL as exc:  # the connect-time address check
            raise BlockedAddress(str(exc)) from exc
        except sg_errors.HTTPError as exc:
            status = int(exc.status_code)
            if 300 <= status < 400:
                raise redirect_error("SendGrid", host, status) from None
            if not trusted:
                raise untrusted_error(status, "SendGrid", host) from None
            raise
        except (OSError, http.client.HTTPException):
            if not trusted:
                # One answer for every failure, so a custom address cannot probe ports.
                raise ConnectionError(f"the custom address {host} failed") from None
            raise


def guard_sdk(sg: Any) -> None:
    """Swap the SDK client's transport for :class:`GuardedSendGridHttp` (same host, headers)."""
    plain = sg.client
    sg.client = GuardedSendGridHttp(
        host=plain.host,
        request_headers=plain.request_headers,
        version=plain._version,
        url_path=plain._url_path,
        append_slash=plain.append_slash,
        timeout=plain.timeout,
    )
