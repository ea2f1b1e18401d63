"""TextUs Next HTTP client on the shared :class:`~integrations.http.HttpClient`.

Thin: bearer token, the JSON-LD media type, TextUs's error texts. TextUs allows 1,000 requests
per 5 minutes per token and says so in ``X-RateLimit-*`` headers; HttpClient paces on them and
honours ``Retry-After`` on a 429, so no pacing code lives here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

from integrations.http import (
    AuthError,
    HttpClient,
    NotFound,
    PermissionDenied,
    ProviderError,
    ValidationFailed,
    response_body,
    vendor_message,
)
from integrations.messaging import InvalidNumber, OptedOut

DEFAULT_BASE_URL = "https://next.textus.com"
# TextUs's API host: the only one reached unless the operator allows custom provider addresses.
DOCUMENTED_BASE_URLS = (DEFAULT_BASE_URL,)
MEDIA_TYPE = "application/vnd.textus+jsonld"
# TextUs does not document the error for texting an opted-out contact; these phrasings cover
# the wordings its UI and docs use ("opted out", "opt-out").
OPT_OUT_MARKERS = ("opted out", "opted-out", "opted_out", "optedout", "opt-out", "opt out")
INVALID_NUMBER_MARKERS = ("invalid phone", "not a valid phone", "invalid number", "not a mobile")


def textus_message(body: Any) -> str | None:
    """The human text of a TextUs error body (Hydra ``hydra:description``, ``detail``,
    Rails-style ``errors{field: [..]}``) or None."""
    if isinstance(body, Mapping):
        for key in ("hydra:description", "detail", "hydra:title", "title"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        errors = body.get("errors")
        if isinstance(errors, Mapping):
            parts = []
            for field_name, messages in errors.items():
                items = messages if isinstance(messages, list) else [messages]
                parts.extend(f"{field_name} {m}" for m in items if m)
            if parts:
                return "; ".join(str(p) for p in parts)
    return vendor_message(body)


def phone_path(phone: str) -> str:
    """A phone number as one path segment ("+" percent-encoded so no server reads a space)."""
    return quote(phone.strip(), safe="")


def make_error_mapper(account_slug: str) -> Callable[[requests.Response], ProviderError | None]:
    """TextUs error responses -> messages an admin or recruiter can act on."""

    def mapper(response: requests.Response) -> ProviderError | None:
        status = response.status_code
        body = response_body(response)
        detail = textus_message(body) or ""
        said = f"{status} {detail}".strip()
        lowered = detail.lower()
        common: dict[str, Any] = {"status": status, "body": body}
        if status == 401:
            return AuthError(
                f"TextUs rejected the API token ({said}). Create a token for the RecruitFlow "
                "user in TextUs (Profile → API Tokens) and paste it again; a token stops "
                "working when its user is removed.",
                code="invalid_credentials",
                **common,
            )
        if status == 403:
            return PermissionDenied(
                f"The TextUs user that owns the token cannot use the account "
                f"“{account_slug}” ({said}). Add the user to that account in TextUs.",
                vendor_message=detail,
                code="forbidden",
                **common,
            )
        if 400 <= status < 500 and any(marker in lowered for marker in OPT_OUT_MARKERS):
            return OptedOut(
                f"The contact has opted out of texts from this TextUs account ({said}).",
                code="opted_out",
                **common,
            )
        if status in (400, 422) and any(marker in lowered for marker in INVALID_NUMBER_MARKERS):
            return InvalidNumber(
                f"TextUs cannot text this number ({said}). Check the candidate's phone number.",
                code="invalid_number",
                **common,
            )
        if status == 404:
            return NotFound(f"TextUs could not find it ({said}).", code="not_found", **common)
        if status in (400, 409, 422):
            return ValidationFailed(
                f"TextUs rejected the request ({said}).", code="validation", **common
            )
        return None

    return mapper


class TextUsClient:
    """Bearer-token client for ``https://next.textus.com`` (JSON-LD in and out).

    Extra keyword arguments go to :class:`HttpClient` (``on_call``, ``sleep``, ``timeout``...).
    """

    def __init__(
        self,
        token: str,
        *,
        account_slug: str = "",
        base_url: str = DEFAULT_BASE_URL,
        http: HttpClient | None = None,
        **http_kwargs: Any,
    ) -> None:
        if not token or not token.strip():
            raise AuthError("Paste the TextUs API token.", code="missing_credentials")
        self.headers = {"Authorization": f"Bearer {token.strip()}", "Accept": MEDIA_TYPE}
        self.http = http or HttpClient(
            base_url or DEFAULT_BASE_URL,
            vendor="TextUs",
            error_mapper=make_error_mapper(account_slug),
            documented=DOCUMENTED_BASE_URLS,
            **http_kwargs,
        )

    def request(
        self, method: str, path: str, *, json: Any = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(self.headers)
        if json is not None:
            # requests would say application/json; TextUs wants its own media type.
            headers["Content-Type"] = MEDIA_TYPE
        return self.http.request(method, path, json=json, headers=headers, **kwargs)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return response_body(self.request("GET", path, params=params))

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, json=json, **kwargs)
