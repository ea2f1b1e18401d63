"""One HTTP path: every request a vendor adapter or its SDK sends goes out through
``integrations.http.HttpClient``.

Each adapter is driven against the sandbox fakes over a real socket while three things are
watched on this thread: every HTTP request that leaves the process (``http.client`` — whatever
library sends it, urllib or urllib3), every SSRF check of a request's address
(``check_provider_url``) and every connect-time address check. Each request that left must have
passed the guard and be stored as a ProviderCall row (method, path, status, attempt) for the
organization — the Twilio and SendGrid SDKs included. And a 429 with ``Retry-After`` on a
Twilio read is waited out and retried by HttpClient.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests

from integrations import http as http_module
from integrations import http_guard
from integrations.calendars import CalendarAccount
from integrations.connections import CallRecorder
from integrations.cronofy.client import sandbox_base_urls
from integrations.cronofy.provider import CronofyProvider
from integrations.greenhouse.provider import GreenhouseProvider
from integrations.http import RateLimited
from integrations.lever.provider import LeverProvider
from integrations.messaging import EmailMessage
from integrations.models import ProviderCall
from integrations.sandbox import cronofy as cy
from integrations.sandbox import greenhouse as gh
from integrations.sandbox import lever as lv
from integrations.sandbox import sendgrid as sg
from integrations.sandbox import textus as tx
from integrations.sandbox import twilio as tw
from integrations.sandbox.server import SandboxServer
from integrations.sendgrid.client import SendGridClient
from integrations.sendgrid.provider import SendGridEmailProvider
from integrations.textus.provider import TextUsSMSProvider
from integrations.twilio.provider import TwilioSMSProvider
from recruitflow.tenancy import tenant_scope

PHONE = "+14155550123"
REDIRECT = "https://recruitflow.example/calendars/cronofy/callback"
ANA = "ana.interviewer@sandbox.test"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=20) as server:
        yield server


class Watch:
    """What left this thread over HTTP, and what the SSRF guard saw, while it is on."""

    def __init__(self, monkeypatch) -> None:
        self.thread = threading.get_ident()
        self.sent: list[tuple[str, str]] = []
        self.guarded: list[tuple[str, str]] = []
        self.connected: list[tuple[str, int]] = []
        real_putrequest = http.client.HTTPConnection.putrequest
        real_check = http_module.check_provider_url
        real_vetted = http_guard._vetted_address
        watch = self

        def putrequest(conn, method, url, *args, **kwargs):
            if threading.get_ident() == watch.thread:
                watch.sent.append((method, urlsplit(url).path))
            return real_putrequest(conn, method, url, *args, **kwargs)

        def check(url, *args, **kwargs):
            watch.guarded.append(urlsplit(url).path)
            return real_check(url, *args, **kwargs)

        def vetted(scheme, host, port):
            if threading.get_ident() == watch.thread:
                watch.connected.append((host, port))
            return real_vetted(scheme, host, port)

        monkeypatch.setattr(http.client.HTTPConnection, "putrequest", putrequest)
        monkeypatch.setattr(http_module, "check_provider_url", check)
        monkeypatch.setattr(http_guard, "_vetted_address", vetted)


def _walk(organization, vendor: str, monkeypatch, calls: Callable[[CallRecorder], object]):
    """Run ``calls`` with a recorder, store its records; (what left, rows, the watch)."""
    recorder = CallRecorder(organization=organization, provider=vendor)
    watch = Watch(monkeypatch)
    calls(recorder)
    monkeypatch.undo()
    with tenant_scope(organization):
        recorder.flush()
        rows = list(
            ProviderCall.objects.filter(provider=vendor)
            .order_by("started_at", "pk")
            .values_list("method", "path", "status", "attempt")
        )
    return rows, watch


def _greenhouse(sandbox, recorder):
    for version in ("v1", "v3"):
        provider = GreenhouseProvider(
            {
                "api_version": version,
                "base_url": f"{sandbox.url}/greenhouse",
                "api_key": gh.DEFAULT_V1_KEY,
                "client_id": gh.DEFAULT_V3_CLIENT_ID,
                "client_secret": gh.DEFAULT_V3_CLIENT_SECRET,
            },
            on_call=recorder,
        )
        assert next(provider.iter_users()).external_id


def _lever(sandbox, recorder):
    provider = LeverProvider(
        {"api_key": lv.DEFAULT_API_KEY, "base_url": f"{sandbox.url}/lever/v1"}, on_call=recorder
    )
    assert list(provider.iter_stages())
    assert list(provider.iter_users())


def _twilio(sandbox, recorder):
    provider = TwilioSMSProvider(
        {
            "account_sid": tw.DEFAULT_ACCOUNT_SID,
            "auth_token": tw.DEFAULT_AUTH_TOKEN,
            "messaging_service_sid": tw.DEFAULT_SERVICE_SID,
            "base_url": f"{sandbox.url}/twilio",
        },
        on_call=recorder,
    )
    since = datetime.now(UTC) - timedelta(minutes=1)
    sent = provider.send(PHONE, "Your interview is on Tuesday.")
    assert provider.get_status(sent.provider_message_id).provider_message_id
    found = provider.find_recent(PHONE, "Your interview is on Tuesday.", since=since)
    assert found is not None and found.provider_message_id == sent.provider_message_id


def _textus(sandbox, recorder):
    provider = TextUsSMSProvider(
        {
            "token": tx.DEFAULT_TOKEN,
            "account_slug": "acme-talent",
            "base_url": f"{sandbox.url}/textus",
        },
        on_call=recorder,
    )
    sent = provider.send(PHONE, "Your interview is on Tuesday.")
    assert provider.get_status(sent.provider_message_id).provider_message_id


def _sendgrid(sandbox, recorder):
    provider = SendGridEmailProvider(
        {
            "api_key": sg.DEFAULT_API_KEY,
            "base_url": f"{sandbox.url}/sendgrid",
            "from_email": "jobs@acme.test",
        },
        on_call=recorder,
    )
    message = EmailMessage(
        to_email="cand@example.test", subject="Your interview", text="See you Tuesday."
    )
    assert provider.send(message).provider_message_id
    # The SDK's own call (the connection test's sandbox-mode send) takes the same path.
    SendGridClient(
        sg.DEFAULT_API_KEY, base_url=f"{sandbox.url}/sendgrid", on_call=recorder
    ).check_send(
        {
            "personalizations": [{"to": [{"email": "jobs@acme.test"}]}],
            "from": {"email": "jobs@acme.test"},
            "subject": "Connection test",
            "content": [{"type": "text/plain", "value": "Test"}],
            "mail_settings": {"sandbox_mode": {"enable": True}},
        }
    )


def _cronofy_code(sandbox) -> tuple[dict, str]:
    """The person's side of the OAuth dance (their browser, not RecruitFlow): a code."""
    api, app = sandbox_base_urls(sandbox.url)
    config = {
        "client_id": cy.DEFAULT_CLIENT_ID,
        "client_secret": cy.DEFAULT_CLIENT_SECRET,
        "api_base_url": api,
        "app_base_url": app,
    }
    url = CronofyProvider(config).authorization_url(redirect_uri=REDIRECT, state="s")
    query = dict(urllib.parse.parse_qsl(urlsplit(url).query))
    answer = requests.post(
        url.split("?")[0],
        data={**query, "email": ANA, "decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    location = urlsplit(answer.headers["Location"]).query
    return config, dict(urllib.parse.parse_qsl(location))["code"]


def _cronofy(config: dict, code: str, recorder):
    provider = CronofyProvider(config, on_call=recorder)
    tokens = provider.exchange_code(code=code, redirect_uri=REDIRECT)
    account = CalendarAccount(
        label=ANA,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        sub=tokens.sub,
    )
    assert provider.account_profile(account).default_calendar() is not None


WALKS = {
    "greenhouse": _greenhouse,
    "lever": _lever,
    "twilio": _twilio,
    "textus": _textus,
    "sendgrid": _sendgrid,
}


@pytest.mark.django_db
@pytest.mark.parametrize("vendor", [*WALKS, "cronofy"])
def test_every_request_of_every_adapter_is_guarded_and_stored_as_a_provider_call(
    alice, sandbox, monkeypatch, vendor
):
    if vendor == "cronofy":
        config, code = _cronofy_code(sandbox)

        def walk(recorder):
            _cronofy(config, code, recorder)
    else:

        def walk(recorder):
            WALKS[vendor](sandbox, recorder)

    rows, watch = _walk(alice.organization, vendor, monkeypatch, walk)

    assert len(watch.sent) >= 2, f"{vendor}: the walk made too few calls to prove anything"
    # Every request that left is a ProviderCall row, in order, and nothing else is.
    assert [(method, path) for method, path, _, _ in rows] == watch.sent
    # Each passed the SSRF guard before it was sent, and its connection was checked too.
    assert watch.guarded == [path for _, path in watch.sent]
    port = urlsplit(sandbox.url).port
    assert watch.connected and {p for _, p in watch.connected} == {port}
    # All of them answered, at the first attempt.
    assert all(200 <= status < 300 and attempt == 1 for *_, status, attempt in rows), rows
    assert all(path.startswith(f"/{vendor}/") for _, path, _, _ in rows)


# -- Twilio reads: a 429 is HttpClient's to wait out -----------------------------------------

SID = "AC" + "1" * 32
MESSAGE = "SM" + "b" * 32
FETCH = f"/twilio/2010-04-01/Accounts/{SID}/Messages/{MESSAGE}.json"
TOO_MANY = {"code": 20429, "message": "Too Many Requests", "status": 429}


def _twilio_at(httpserver, calls: list, sleeps: list) -> TwilioSMSProvider:
    return TwilioSMSProvider(
        {
            "account_sid": SID,
            "auth_token": "token",
            "messaging_service_sid": "MG" + "2" * 32,
            "base_url": httpserver.url_for("/twilio"),
        },
        on_call=calls.append,
        sleep=sleeps.append,
    )


def _message() -> dict:
    return {
        "sid": MESSAGE,
        "account_sid": SID,
        "to": PHONE,
        "status": "delivered",
        "error_code": None,
        "error_message": None,
        "date_updated": "Tue, 24 Nov 2026 10:00:00 +0000",
    }


def test_a_429_with_retry_after_on_a_twilio_read_is_waited_out_and_retried(httpserver):
    calls: list = []
    sleeps: list = []
    httpserver.expect_ordered_request(FETCH, method="GET").respond_with_json(
        TOO_MANY, status=429, headers={"Retry-After": "3"}
    )
    httpserver.expect_ordered_request(FETCH, method="GET").respond_with_json(_message())

    update = _twilio_at(httpserver, calls, sleeps).get_status(MESSAGE)

    assert update.status == "delivered"
    assert sleeps == [3]  # the wait Twilio asked for
    assert [(c.status, c.attempt) for c in calls] == [(429, 1), (200, 2)]
    assert len(httpserver.log) == 2


def test_a_twilio_read_told_to_wait_longer_than_a_worker_should_raises_rate_limited(httpserver):
    calls: list = []
    sleeps: list = []
    httpserver.expect_request(FETCH, method="GET").respond_with_json(
        TOO_MANY, status=429, headers={"Retry-After": "600"}
    )

    with pytest.raises(RateLimited) as excinfo:
        _twilio_at(httpserver, calls, sleeps).get_status(MESSAGE)

    assert excinfo.value.retry_after == 600  # the task reschedules itself instead
    assert "too many requests" in excinfo.value.message  # in Twilio's words
    assert sleeps == [] and len(httpserver.log) == 1
    assert [(c.status, c.attempt) for c in calls] == [(429, 1)]
