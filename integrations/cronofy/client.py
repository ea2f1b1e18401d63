"""Cronofy over HTTP: the official SDK (``pycronofy``) with our transport underneath.

``pycronofy`` builds the requests (paths, parameters, bodies, pagination); every request it
makes goes through :class:`CronofyRequestHandler`, which sends it with
:class:`integrations.http.HttpClient` — so Cronofy calls get explicit timeouts (the SDK sets
none), retries on 429/5xx honouring ``Retry-After``, a :class:`CallRecord` per attempt and
:class:`ProviderError` subclasses with messages written for the person who must act.

An account lives in one data center and every call for it must go there; ``base_urls`` gives
the API and app (OAuth pages) hosts for a data center, or the overrides used for the sandbox.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import pycronofy
import requests
from pycronofy import settings as sdk_settings
from pycronofy.request_handler import RequestHandler

from integrations.http import (
    AuthError,
    CallRecord,
    HttpClient,
    NotFound,
    PermissionDenied,
    ProviderError,
    ValidationFailed,
    response_body,
    same_origin,
)

VENDOR = "Cronofy"
# Data centers as Cronofy's docs list them: (label, API host, app host for the OAuth pages).
DATA_CENTERS: dict[str, tuple[str, str, str]] = {
    "us": ("United States", "https://api.cronofy.com", "https://app.cronofy.com"),
    "uk": ("United Kingdom", "https://api-uk.cronofy.com", "https://app-uk.cronofy.com"),
    "de": ("Germany", "https://api-de.cronofy.com", "https://app-de.cronofy.com"),
    "au": ("Australia", "https://api-au.cronofy.com", "https://app-au.cronofy.com"),
    "ca": ("Canada", "https://api-ca.cronofy.com", "https://app-ca.cronofy.com"),
    "sg": ("Singapore", "https://api-sg.cronofy.com", "https://app-sg.cronofy.com"),
}
# Cronofy's own hosts: the only ones reached unless the operator allows custom addresses.
DOCUMENTED_BASE_URLS = tuple(url for _, api, app in DATA_CENTERS.values() for url in (api, app))
# What we ask a person for: read free/busy and events, write and delete our own events.
DEFAULT_SCOPE = " ".join(sdk_settings.DEFAULT_OAUTH_SCOPE)
# What an administrator grants for Enterprise Connect (authorize people's calendars by e-mail).
SERVICE_ACCOUNT_SCOPE = "service_account/accounts/manage"
DEFAULT_TIMEOUT = (5.0, 20.0)
# Upserts are keyed by our event_id, so resending one after a lost answer cannot duplicate it.
IDEMPOTENT_POST = re.compile(r"/v1/calendars/[^/]+/events$")


def base_urls(
    data_center: str, *, api_base_url: str = "", app_base_url: str = ""
) -> tuple[str, str]:
    """``(api_base, app_base)`` for ``data_center``; explicit bases win (the sandbox)."""
    if data_center not in DATA_CENTERS:
        choices = ", ".join(DATA_CENTERS)
        raise ValueError(
            f"Unknown Cronofy data center {data_center!r}: choose one of {choices} (the one "
            "your Cronofy application was created in, shown as the SDK identifier on its "
            "dashboard)."
        )
    _, api, app = DATA_CENTERS[data_center]
    return (api_base_url or api).rstrip("/"), (app_base_url or app).rstrip("/")


def sandbox_base_urls(sandbox_url: str, data_center: str = "us") -> tuple[str, str]:
    """The sandbox Cronofy's API and app bases for ``data_center`` (both on one mount)."""
    base_urls(data_center)
    root = sandbox_url.rstrip("/") + "/cronofy"
    base = root if data_center == "us" else f"{root}/{data_center}"
    return base, base


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _field_errors(body: Any) -> list[tuple[str | None, str]]:
    """``[(field, description)]`` from Cronofy's ``{"errors": {field: [{key, description}]}}``."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    out: list[tuple[str | None, str]] = []
    if isinstance(errors, Mapping):
        for name, items in errors.items():
            for item in items if isinstance(items, list) else [items]:
                if isinstance(item, Mapping):
                    out.append((name, str(item.get("description") or item.get("key") or "")))
                else:
                    out.append((name, str(item)))
    return out


def map_error(response: requests.Response) -> ProviderError | None:
    """Cronofy error responses in words for whoever has to act on them."""
    status = response.status_code
    body = response_body(response)
    token_call = response.request is not None and "/oauth/token" in (response.request.url or "")
    if status == 400 and isinstance(body, Mapping) and body.get("error"):
        error = str(body["error"])
        said = (
            f"{error}: {body.get('error_description')}" if body.get("error_description") else error
        )
        if error == "invalid_client":
            return AuthError(
                f"Cronofy rejected the client ID or client secret ({said}). Copy both again "
                "from the Cronofy developer dashboard into Settings → Calendars.",
                status=status,
                code=error,
                body=body,
            )
        if error == "invalid_grant":
            return AuthError(
                f"Cronofy refused the authorization ({said}): the code was already used or has "
                "expired, or the calendar access was withdrawn. Connect the calendar again.",
                status=status,
                code=error,
                body=body,
            )
        return ValidationFailed(
            f"Cronofy refused the request ({said}).", status=status, code=error, body=body
        )
    if status == 401:
        what = "the client credentials" if token_call else "the calendar access token"
        return AuthError(
            f"Cronofy did not accept {what} (401).", status=status, code="unauthorized", body=body
        )
    if status == 402:
        return PermissionDenied(
            "The Cronofy plan of this application does not include this feature (402). "
            "Upgrade the plan in the Cronofy dashboard.",
            status=status,
            body=body,
        )
    if status == 403:
        return PermissionDenied(
            "Cronofy refused: the calendar connection lacks a permission this needs (403). "
            "Connect the calendar again and allow calendar access.",
            status=status,
            body=body,
        )
    if status == 404:
        return NotFound(
            "Cronofy could not find the calendar or record (404); it may have been removed.",
            status=status,
            body=body,
        )
    if status == 422:
        field_errors = _field_errors(body)
        detail = "; ".join(f"{name}: {text}" if name else text for name, text in field_errors)
        return ValidationFailed(
            f"Cronofy rejected the data ({detail or 'no details given'}).",
            field_errors=field_errors,
            status=status,
            body=body,
        )
    return None


# --------------------------------------------------------------------------------------------
# Transport
# --------------------------------------------------------------------------------------------


class CronofyRequestHandler(RequestHandler):
    """pycronofy's request handler, sending through :class:`HttpClient`.

    Keeps the SDK's URL building (``base_url`` + ``/v1/`` + endpoint, or a full ``url`` for
    next pages) and its two kinds of authorization (the account's access token, or the client
    secret for application-level calls). Returns the ``requests.Response`` like the original.
    """

    def __init__(self, auth, http: HttpClient):
        self.auth = auth
        self.http = http
        self.base_url = http.base_url
        self.user_agent = f"RecruitFlow ({pycronofy.__name__} {pycronofy.__version__})"

    def _request(
        self,
        request_method,
        endpoint="",
        url="",
        data=None,
        params=None,
        use_api_key=False,
        omit_api_version=False,
    ):
        if endpoint and not url:
            version = "" if omit_api_version else f"/{sdk_settings.API_VERSION}"
            url = f"{self.base_url}{version}/{endpoint}"
        elif not same_origin(url, self.base_url):
            # A next_page link elsewhere would carry the account's token off Cronofy.
            raise ProviderError(
                f"Cronofy sent a link to another host ({urlsplit(url).netloc}); it was not "
                "followed, so the calendar token stayed private."
            )
        authorization = self.auth.get_api_key() if use_api_key else self.auth.get_authorization()
        method = request_method.upper()
        return self.http.request(
            method,
            url,
            params=params or None,
            json=data if data else None,
            headers={"Authorization": authorization, "User-Agent": self.user_agent},
            expect=(200, 202),
            idempotent=method != "POST" or bool(IDEMPOTENT_POST.search(url.split("?")[0])),
        )


class CronofyClient:
    """One Cronofy application (client id and secret) in one data center.

    ``sdk(access_token)`` gives a ``pycronofy.Client`` acting as that account (or as the
    application when no token is given) whose requests go through our transport.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        data_center: str = "us",
        api_base_url: str = "",
        app_base_url: str = "",
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_attempts: int = 3,
        on_call: Callable[[CallRecord], Any] | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError(
                "Cronofy needs the application's client ID and client secret: copy them from "
                "the Cronofy developer dashboard into Settings → Calendars."
            )
        self.client_id = client_id
        self.client_secret = client_secret
        self.data_center = data_center
        self.api_base, self.app_base = base_urls(
            data_center, api_base_url=api_base_url, app_base_url=app_base_url
        )
        self.http = HttpClient(
            self.api_base,
            timeout=timeout,
            max_attempts=max_attempts,
            on_call=on_call,
            sleep=sleep,
            session=session,
            vendor=VENDOR,
            error_mapper=map_error,
            documented=DOCUMENTED_BASE_URLS,
        )

    def sdk(self, access_token: str | None = None, refresh_token: str | None = None):
        client = pycronofy.Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            access_token=access_token,
            refresh_token=refresh_token,
            data_center=None if self.data_center == "us" else self.data_center,
        )
        client.request_handler = CronofyRequestHandler(client.auth, self.http)
        client.app_base_url = self.app_base
        return client

    def token_request(self, **fields: str) -> dict:
        """POST ``/oauth/token`` with the client credentials; the whole JSON answer.

        (The SDK's own helpers keep only the tokens and drop ``sub``, ``scope`` and the
        linked profile, which we store.)
        """
        response = self.sdk().request_handler.post(
            endpoint="oauth/token",
            omit_api_version=True,
            data={"client_id": self.client_id, "client_secret": self.client_secret, **fields},
        )
        return response.json()
