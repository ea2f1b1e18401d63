"""SendGrid's SDK transport: python-http-client, sending through :class:`HttpClient`.

The SDK (``sendgrid.SendGridAPIClient`` on python-http-client) builds every request — Mail
Send, the connection test, the Email Activity lookup — and hands it to
:meth:`SendGridHttp._make_request`, which sends it with the shared
:class:`integrations.http.HttpClient` instead of urllib: the same timeout, retries (``Retry-After``
and ``X-RateLimit-Reset`` honoured), pacing, :class:`CallRecord` per attempt and SSRF guard
(SendGrid's documented hosts or an allowed custom one, a checked address, no redirect — the
request carries ``Authorization: Bearer SG…`` — and nothing shown of what a custom host
answered) as every other vendor's call. Error answers never reach the SDK: HttpClient raises
them as :class:`ProviderError`.
"""

from __future__ import annotations

from typing import Any

import python_http_client
import requests

from integrations.http import HttpClient

DEFAULT_BASE_URL = "https://api.sendgrid.com"
# SendGrid's API hosts (global, and EU regional subusers): the only ones reached unless the
# operator allows custom provider addresses.
DOCUMENTED_BASE_URLS = (DEFAULT_BASE_URL, "https://api.eu.sendgrid.com")
# Only a 429 proves SendGrid did not act on a send (a 5xx may come after it queued the e-mail).
NOT_PROCESSED = frozenset({429})
SUCCESS = range(200, 300)


class _Answer:
    """A ``requests.Response`` as python-http-client reads a urllib answer."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response

    def getcode(self) -> int:
        return int(self.response.status_code)

    def read(self) -> bytes:
        return self.response.content

    def info(self) -> Any:
        return self.response.headers


class SendGridHttp(python_http_client.Client):
    """python-http-client whose every request (and every child client's) goes out through
    ``http``."""

    def __init__(self, *, http: HttpClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.http = http

    def _build_client(self, name: Any = None) -> SendGridHttp:
        url_path = self._url_path + [name] if name else self._url_path
        return SendGridHttp(
            http=self.http,
            host=self.host,
            version=self._version,
            request_headers=self.request_headers,
            url_path=url_path,
            append_slash=self.append_slash,
            timeout=self.timeout,
        )

    def _make_request(self, opener, request, timeout=None):  # type: ignore[no-untyped-def]
        response = self.http.request(
            request.get_method(),
            request.full_url,
            data=request.data,
            headers=dict(request.header_items()),
            expect=SUCCESS,
            not_processed=NOT_PROCESSED,
            timeout=timeout or self.timeout,
        )
        return _Answer(response)


def use_http(sg: Any, http: HttpClient) -> None:
    """Swap the SDK client's transport for :class:`SendGridHttp` (same host and headers)."""
    plain = sg.client
    sg.client = SendGridHttp(
        http=http,
        host=plain.host,
        request_headers=plain.request_headers,
        version=plain._version,
        url_path=plain._url_path,
        append_slash=plain.append_slash,
        timeout=plain.timeout,
    )
