"""The production Cronofy adapter and connection services, over HTTP against the sandbox."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pycronofy
import pytest
import requests
from django.db import connection as db_connection
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from integrations.calendars import Attendee, CalendarAccount, CalendarEvent
from integrations.cronofy import connections
from integrations.cronofy.client import (
    DATA_CENTERS,
    DEFAULT_SCOPE,
    CronofyClient,
    base_urls,
    sandbox_base_urls,
)
from integrations.cronofy.models import (
    AuthMethod,
    CalendarConnection,
    CalendarConnectionStatus,
    CronofySettings,
    DataCenter,
)
from integrations.cronofy.provider import CronofyProvider
from integrations.cronofy.webhooks import (
    InvalidPayload,
    InvalidSignature,
    check_signature,
    dedupe_key,
    parse_notification,
    parse_service_account_callback,
    signature,
    verify_signature,
)
from integrations.http import (
    AuthError,
    NotFound,
    ProviderError,
    RateLimited,
    Unreachable,
    ValidationFailed,
)
from integrations.models import ProviderCall
from integrations.registry import get_provider_class
from integrations.sandbox import cronofy as cy
from recruitflow.tenancy import tenant_scope

ANA = "ana.interviewer@sandbox.test"
BEN = "ben.hiring@sandbox.test"
DEV_UK = "dev.uk@sandbox.test"
REDIRECT = "https://recruitflow.example/calendars/cronofy/callback"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class Sandbox:
    def __init__(self):
        self.state = cy.CronofyState(page_size=7, retry_scale=0.0001)
        app = DispatcherMiddleware(Response("root"), {"/cronofy": cy.CronofyApp(self.state)})
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def config(self, data_center="us", **extra) -> dict:
        api, app = sandbox_base_urls(self.url, data_center)
        return {
            "client_id": cy.DEFAULT_CLIENT_ID,
            "client_secret": cy.DEFAULT_CLIENT_SECRET,
            "data_center": data_center,
            "api_base_url": api,
            "app_base_url": app,
            **extra,
        }

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.state.dispatcher.stop()


class Receiver:
    """Where the sandbox sends notifications and Enterprise Connect results."""

    def __init__(self):
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers), "body": raw})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/cronofy"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.requests) >= count, f"only {len(self.requests)} callbacks arrived"
        return self.requests

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sandbox():
    server = Sandbox()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _fresh(sandbox):
    sandbox.state.reset()
    yield
    sandbox.state.dispatcher.cancel_all()


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


def make_provider(sandbox, data_center="us", **kwargs) -> CronofyProvider:
    extra = kwargs.pop("config", {})
    return CronofyProvider(sandbox.config(data_center, **extra), sleep=lambda s: None, **kwargs)


def sign_in(url: str, email: str) -> dict:
    """Do what the person does on the authorize page: pick their account and allow."""
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and email in page.text
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    response = requests.post(
        url.split("?")[0],
        data={**query, "email": email, "decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 302, response.text
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["Location"]).query))


def connected_account(provider: CronofyProvider, email: str = ANA) -> CalendarAccount:
    url = provider.authorization_url(redirect_uri=REDIRECT, state="s")
    tokens = provider.exchange_code(code=sign_in(url, email)["code"], redirect_uri=REDIRECT)
    account = CalendarAccount(
        label=email,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        sub=tokens.sub,
    )
    profile = provider.account_profile(account)
    account.calendar_id = profile.default_calendar().calendar_id
    account.tzid = profile.tzid
    return account


def b64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# --------------------------------------------------------------------------------------------
# Data centers and the transport
# --------------------------------------------------------------------------------------------


def test_each_data_center_has_its_api_and_app_host_and_the_sdk_uses_them():
    assert base_urls("us") == ("https://api.cronofy.com", "https://app.cronofy.com")
    assert base_urls("de") == ("https://api-de.cronofy.com", "https://app-de.cronofy.com")
    assert set(DATA_CENTERS) == set(DataCenter.values) == {"us", "uk", "de", "au", "ca", "sg"}
    client = CronofyClient(client_id="id", client_secret="secret", data_center="sg")
    sdk = client.sdk("token")
    assert sdk.request_handler.base_url == "https://api-sg.cronofy.com"
    assert sdk.user_auth_link("https://x.test/cb").startswith(
        "https://app-sg.cronofy.com/oauth/authorize?"
    )
    with pytest.raises(ValueError, match="Unknown Cronofy data center 'jp': choose one of us, uk"):
        base_urls("jp")


def test_missing_application_credentials_say_where_to_put_them():
    with pytest.raises(ValueError, match="Settings → Calendars"):
        CronofyClient(client_id="", client_secret="")


def test_the_person_signs_in_at_their_data_center_and_the_code_becomes_tokens(sandbox):
    provider = make_provider(sandbox, "uk")

    url = provider.authorization_url(redirect_uri=REDIRECT, state="csrf-1")
    answer = sign_in(url, DEV_UK)
    tokens = provider.exchange_code(code=answer["code"], redirect_uri=REDIRECT)

    assert url.startswith(f"{sandbox.url}/cronofy/uk/oauth/authorize?")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["scope"] == DEFAULT_SCOPE and query["client_id"] == cy.DEFAULT_CLIENT_ID
    assert answer["state"] == "csrf-1"
    user = sandbox.state.user(DEV_UK)
    assert tokens.sub == user["sub"] and tokens.profile_id == user["profile_id"]
    assert tokens.provider_name == "google" and tokens.scope == DEFAULT_SCOPE
    assert timedelta(minutes=59) < tokens.expires_at - datetime.now(UTC) <= timedelta(hours=1)
    profile = provider.account_profile(
        CalendarAccount(label=DEV_UK, access_token=tokens.access_token)
    )
    assert (profile.email, profile.tzid) == (DEV_UK, "Europe/London")
    assert profile.default_calendar().primary and profile.default_calendar().writable
    assert [c.readonly for c in profile.calendars] == [False, True]


def test_a_used_code_explains_that_the_person_must_connect_again(sandbox):
    provider = make_provider(sandbox)
    code = sign_in(provider.authorization_url(redirect_uri=REDIRECT, state="s"), ANA)["code"]
    provider.exchange_code(code=code, redirect_uri=REDIRECT)

    with pytest.raises(AuthError) as error:
        provider.exchange_code(code=code, redirect_uri=REDIRECT)

    assert "invalid_grant" in str(error.value)
    assert "Connect the calendar again" in str(error.value)
    assert error.value.permanent


def test_a_wrong_client_secret_is_named_as_the_problem(sandbox):
    provider = make_provider(sandbox, config={"client_secret": "not-the-secret"})

    with pytest.raises(AuthError, match="rejected the client ID or client secret"):
        provider.exchange_code(code="whatever", redirect_uri=REDIRECT)


def test_every_call_has_a_timeout_so_a_silent_server_cannot_hang_a_worker():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]
    try:
        provider = CronofyProvider(
            {
                "client_id": "id",
                "client_secret": "secret",
                "api_base_url": f"http://127.0.0.1:{port}",
            },
            timeout=(0.5, 0.5),
            max_attempts=1,
        )
        account = CalendarAccount(label=ANA, access_token="t", calendar_id="cal_1")
        started = time.monotonic()
        with pytest.raises(Unreachable, match="did not answer in time"):
            provider.free_busy(account, datetime.now(UTC), datetime.now(UTC) + timedelta(days=1))
        assert time.monotonic() - started < 3
    finally:
        listener.close()


def test_rate_limited_and_failing_calls_are_retried_and_each_attempt_is_recorded(sandbox):
    records = []
    provider = make_provider(sandbox, on_call=records.append)
    account = connected_account(provider)
    sandbox.state.faults.add("/v1/free_busy", 429, count=1)
    sandbox.state.faults.add("/v1/free_busy", 502, count=1)
    records.clear()

    provider.free_busy(account, datetime.now(UTC), datetime.now(UTC) + timedelta(days=1))

    first_three = [(r.path, r.status, r.attempt) for r in records[:3]]
    assert first_three == [
        ("/cronofy/v1/free_busy", 429, 1),
        ("/cronofy/v1/free_busy", 502, 2),
        ("/cronofy/v1/free_busy", 200, 3),
    ]


def test_being_rate_limited_past_every_retry_is_a_transient_error(sandbox):
    provider = make_provider(sandbox, max_attempts=2)
    account = connected_account(provider)
    sandbox.state.faults.add("/v1/free_busy", 429, count=5)

    with pytest.raises(RateLimited) as error:
        provider.free_busy(account, datetime.now(UTC), datetime.now(UTC) + timedelta(days=1))

    assert not error.value.permanent


def test_a_next_page_link_to_another_host_is_not_followed_with_the_token(httpserver):
    httpserver.expect_request("/v1/free_busy").respond_with_json(
        {
            "pages": {
                "current": 1,
                "total": 2,
                "next_page": "https://evil.example/v1/free_busy/pages/1",
            },
            "free_busy": [],
        }
    )
    provider = CronofyProvider(
        {"client_id": "id", "client_secret": "secret", "api_base_url": httpserver.url_for("/")}
    )
    account = CalendarAccount(label=ANA, access_token="secret-token", calendar_id="cal_1")

    with pytest.raises(ProviderError, match="link to another host \\(evil.example\\)"):
        provider.free_busy(account, datetime.now(UTC), datetime.now(UTC) + timedelta(days=1))
    assert len(httpserver.log) == 1


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


def test_a_401_refreshes_once_and_the_rotated_tokens_reach_on_tokens(sandbox):
    saved = []
    provider = make_provider(sandbox, on_tokens=lambda account, tokens: saved.append(tokens))
    account = connected_account(provider)
    old_access, old_refresh = account.access_token, account.refresh_token
    sandbox.state.expire_tokens(ANA)

    busy = provider.free_busy(account, datetime.now(UTC), datetime.now(UTC) + timedelta(days=7))

    assert busy
    assert len(saved) == 1
    assert account.access_token == saved[0].access_token != old_access
    assert account.refresh_token == saved[0].refresh_token != old_refresh
    # Cronofy rotated the refresh token: the old one is spent.
    with pytest.raises(AuthError):
        provider.refresh(old_refresh)


def test_an_access_token_about_to_expire_is_refreshed_before_the_call(sandbox):
    records = []
    provider = make_provider(sandbox, on_call=records.append)
    account = connected_account(provider)
    account.expires_at = datetime.now(UTC) + timedelta(seconds=30)
    records.clear()

    provider.list_channels(account)

    assert [r.path for r in records] == ["/cronofy/oauth/token", "/cronofy/v1/channels"]
    assert [r.status for r in records] == [200, 200]
    assert account.expires_at > datetime.now(UTC) + timedelta(minutes=50)


def test_a_refused_refresh_says_who_must_reconnect(sandbox):
    provider = make_provider(sandbox)
    account = connected_account(provider)
    requests.post(
        f"{sandbox.url}/cronofy/oauth/token/revoke",
        json={
            "client_id": cy.DEFAULT_CLIENT_ID,
            "client_secret": cy.DEFAULT_CLIENT_SECRET,
            "token": account.refresh_token,
        },
        timeout=5,
    )

    with pytest.raises(AuthError) as error:
        provider.list_channels(account)

    message = str(error.value)
    assert f"Cronofy no longer accepts the calendar connection of {ANA}" in message
    assert "needs to connect their calendar again" in message


# --------------------------------------------------------------------------------------------
# Free/busy and events
# --------------------------------------------------------------------------------------------


def test_free_busy_reads_every_page_and_returns_the_busy_time_in_the_range(sandbox):
    records = []
    provider = make_provider(sandbox, on_call=records.append)
    account = connected_account(provider)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    end = start + timedelta(days=14)
    records.clear()

    busy = provider.free_busy(account, start, end)

    expected = sorted(
        (
            max(datetime.fromtimestamp(e["start_ts"], UTC), start),
            min(datetime.fromtimestamp(e["end_ts"], UTC), end),
            "tentative" if e["participation_status"] == "tentative" else "busy",
        )
        for e in sandbox.state.events_of(ANA, include_deleted=False)
        if e["start_ts"] < end.timestamp() and e["end_ts"] > start.timestamp()
    )
    assert [(b.start, b.end, b.status) for b in busy] == expected
    assert len(busy) > 7  # more than one page of 7
    pages = [r for r in records if "/free_busy" in r.path]
    assert len(pages) >= 2 and all(r.status == 200 for r in pages)
    assert "/cronofy/v1/free_busy/pages/" in pages[1].path
    assert all(b.calendar_id == account.calendar_id for b in busy)


def test_an_all_day_block_is_read_in_the_persons_zone_and_our_own_interviews_count_as_busy(sandbox):
    provider = make_provider(sandbox)
    account = connected_account(provider, BEN)  # America/New_York
    sandbox.state.add_busy(BEN, summary="Out of office", start="2031-03-10", end="2031-03-11")
    provider.upsert_event(
        account,
        CalendarEvent(
            event_id="booking-12",
            summary="Interview",
            start=datetime(2031, 3, 12, 15, tzinfo=UTC),
            end=datetime(2031, 3, 12, 16, tzinfo=UTC),
        ),
    )

    busy = provider.free_busy(
        account, datetime(2031, 3, 9, tzinfo=UTC), datetime(2031, 3, 14, tzinfo=UTC)
    )

    new_york = ZoneInfo("America/New_York")
    assert [(b.start, b.end, b.all_day) for b in busy] == [
        (datetime(2031, 3, 10, tzinfo=new_york), datetime(2031, 3, 11, tzinfo=new_york), True),
        (datetime(2031, 3, 12, 15, tzinfo=UTC), datetime(2031, 3, 12, 16, tzinfo=UTC), False),
    ]


def test_upsert_and_delete_are_idempotent_by_our_event_id(sandbox):
    provider = make_provider(sandbox)
    account = connected_account(provider)
    event = CalendarEvent(
        event_id="booking-41",
        summary="Interview: Sam Lee",
        description="Panel interview",
        start=datetime(2031, 1, 7, 10, tzinfo=UTC),
        end=datetime(2031, 1, 7, 11, tzinfo=UTC),
        location="Room 4",
        url="https://meet.example/abc",
        attendees=[Attendee("sam@example.test", "Sam Lee")],
        reminder_minutes=[10],
    )

    provider.upsert_event(account, event)
    provider.upsert_event(account, event)  # a retried task
    moved = CalendarEvent(
        **{
            **event.__dict__,
            "start": datetime(2031, 1, 8, 10, tzinfo=UTC),
            "end": datetime(2031, 1, 8, 11, tzinfo=UTC),
        }
    )
    provider.upsert_event(account, moved)
    ours = [e for e in sandbox.state.events_of(ANA) if e["event_id"] == "booking-41"]
    provider.delete_event(account, "booking-41")
    provider.delete_event(account, "booking-41")  # a retried task

    assert len(ours) == 1
    assert ours[0]["start"] == "2031-01-08T10:00:00Z"
    assert ours[0]["summary"] == "Interview: Sam Lee"
    assert ours[0]["location"] == {"description": "Room 4"}
    assert ours[0]["attendees"][0]["email"] == "sam@example.test"
    gone = [e for e in sandbox.state.events_of(ANA) if e["event_id"] == "booking-41"]
    assert [e["deleted"] for e in gone] == [True]
    upserts = [w for w in sandbox.state.writes if w["op"] == "upsert"]
    assert len(upserts) == 3 and {w["event_id"] for w in upserts} == {"booking-41"}


def test_rejected_event_data_lists_each_field_cronofy_complained_about(sandbox):
    provider = make_provider(sandbox)
    account = connected_account(provider)

    with pytest.raises(ValidationFailed) as error:
        provider.upsert_event(
            account,
            CalendarEvent(
                event_id="b" * 65,
                summary="  ",
                start=datetime(2031, 1, 7, 10, tzinfo=UTC),
                end=datetime(2031, 1, 7, 11, tzinfo=UTC),
            ),
        )

    fields = dict(error.value.field_errors)
    assert set(fields) == {"event_id", "summary"}
    assert "summary: summary must be specified" in str(error.value)


def test_writing_needs_a_chosen_calendar_and_an_event_that_ends_after_it_starts(sandbox):
    provider = make_provider(sandbox)
    account = connected_account(provider)
    backwards = CalendarEvent(
        event_id="b1",
        summary="x",
        start=datetime(2031, 1, 7, 11, tzinfo=UTC),
        end=datetime(2031, 1, 7, 10, tzinfo=UTC),
    )
    with pytest.raises(ValidationFailed, match="ends before it starts; nothing was sent"):
        provider.upsert_event(account, backwards)
    account.calendar_id = ""
    with pytest.raises(ValidationFailed, match="No calendar is chosen for ana.interviewer"):
        provider.delete_event(account, "b1")
    account.calendar_id = "cal_not_theirs"
    with pytest.raises(NotFound):
        provider.delete_event(account, "b1")


# --------------------------------------------------------------------------------------------
# Push notifications
# --------------------------------------------------------------------------------------------


def test_an_interviewer_deleting_our_event_arrives_as_a_verified_change(sandbox, receiver):
    provider = make_provider(sandbox)
    account = connected_account(provider)
    provider.upsert_event(
        account,
        CalendarEvent(
            event_id="booking-77",
            summary="Interview",
            start=datetime(2031, 2, 3, 9, tzinfo=UTC),
            end=datetime(2031, 2, 3, 10, tzinfo=UTC),
        ),
    )
    channel = provider.create_channel(account, receiver.url)
    time.sleep(1.1)  # changes_since has whole seconds

    sandbox.state.delete_as_user(ANA, event_id="booking-77")

    verification, change = receiver.wait_for(2)
    for delivered in (verification, change):
        assert provider.verify_webhook(delivered["body"], delivered["headers"])
        provider.check_webhook(delivered["body"], delivered["headers"])
    assert parse_notification(verification["body"]).type == "verification"
    notification = provider.parse_notification(change["body"])
    assert notification.is_change and notification.known
    assert notification.channel_id == channel.channel_id
    assert provider.list_channels(account) == [channel]
    changes = provider.changed_events(account, notification.changes_since)
    assert [(c.event_id, c.deleted) for c in changes] == [("booking-77", True)]
    assert changes[0].start == datetime(2031, 2, 3, 9, tzinfo=UTC)
    assert (
        dedupe_key(notification)
        == f"{channel.channel_id}:change:{notification.changes_since.isoformat()}"
    )
    provider.close_channel(account, channel.channel_id)
    assert provider.list_channels(account) == []


def test_a_forged_or_altered_notification_is_rejected(sandbox, receiver):
    provider = make_provider(sandbox)
    account = connected_account(provider)
    provider.create_channel(account, receiver.url)
    genuine = receiver.wait_for(1)[0]
    altered = genuine["body"].replace(b"verification", b"change")
    forged_header = {"Cronofy-HMAC-SHA256": b64_hmac("attacker-guess", genuine["body"])}

    assert provider.verify_webhook(genuine["body"], genuine["headers"])
    assert not provider.verify_webhook(altered, genuine["headers"])
    assert not provider.verify_webhook(genuine["body"], forged_header)
    assert not provider.verify_webhook(genuine["body"], {})
    with pytest.raises(InvalidSignature, match="matches neither the client secret"):
        provider.check_webhook(altered, genuine["headers"])


def test_a_wrong_stored_secret_gives_an_error_that_says_what_to_fix(sandbox, receiver):
    provider = make_provider(sandbox)
    account = connected_account(provider)
    provider.create_channel(account, receiver.url)
    delivered = receiver.wait_for(1)[0]
    misconfigured = make_provider(sandbox, config={"client_secret": "CRN_typo_in_settings"})

    with pytest.raises(InvalidSignature) as error:
        misconfigured.check_webhook(delivered["body"], delivered["headers"])
    message = str(error.value)
    assert "matches neither the client secret stored in Settings → Calendars" in message
    assert "paste the new one there" in message
    with pytest.raises(InvalidSignature, match="no Cronofy-HMAC-SHA256 header"):
        misconfigured.check_webhook(delivered["body"], {"Content-Type": "application/json"})
    with pytest.raises(InvalidSignature, match="Cronofy is not set up for this organization"):
        check_signature(delivered["body"], "abc", secret="")


def test_during_a_secret_rotation_either_secret_verifies(sandbox, receiver):
    provider = make_provider(sandbox)
    account = connected_account(provider)
    sandbox.state.set_client_secrets(
        cy.DEFAULT_CLIENT_ID, ["CRN_rotated", cy.DEFAULT_CLIENT_SECRET]
    )
    provider.create_channel(account, receiver.url)
    both = receiver.wait_for(1)[0]
    sandbox.state.set_client_secrets(cy.DEFAULT_CLIENT_ID, ["CRN_rotated"])
    provider.create_channel(account, receiver.url + "/2")
    only_new = receiver.wait_for(2)[1]

    rotating = make_provider(
        sandbox,
        config={"client_secret": "CRN_rotated", "previous_client_secret": cy.DEFAULT_CLIENT_SECRET},
    )
    not_updated = make_provider(sandbox)

    assert "," in both["headers"]["Cronofy-HMAC-SHA256"]
    assert rotating.verify_webhook(both["body"], both["headers"])
    assert rotating.verify_webhook(only_new["body"], only_new["headers"])
    assert not_updated.verify_webhook(both["body"], both["headers"])
    assert not not_updated.verify_webhook(only_new["body"], only_new["headers"])


def test_signatures_match_cronofys_published_example_and_the_sdk():
    secret = "CRN_NggYusqPGLxwjw5FHOJYOqSrTPNXy8WQf14OID"
    body = b'{"example":"well-known"}'
    expected = "5DxentQi5YSXODEzTVv06sRwJ3pULIz1KrYv20qxEK0="

    assert signature(body, secret) == expected
    assert verify_signature(body, f"nonsense,{expected}", ["other", secret])
    assert pycronofy.Client(client_secret=secret).hmac_valid(expected, body.decode())


def test_malformed_callbacks_are_refused_with_the_reason():
    with pytest.raises(InvalidPayload, match="not JSON"):
        parse_notification(b"<xml/>")
    with pytest.raises(InvalidPayload, match="no notification.type"):
        parse_notification(b'{"channel": {"channel_id": "chn_1"}}')
    with pytest.raises(InvalidPayload, match="needs changes_since"):
        parse_notification(b'{"notification": {"type": "change"}, "channel": {"channel_id": "c"}}')
    future = parse_notification(
        b'{"notification": {"type": "new_kind"}, "channel": {"channel_id": "c"}}'
    )
    assert not future.known and not future.is_change
    with pytest.raises(InvalidPayload, match="neither a code nor an error"):
        parse_service_account_callback(b'{"authorization": {"state": "s"}}')


# --------------------------------------------------------------------------------------------
# Stored settings and connections
# --------------------------------------------------------------------------------------------


@pytest.fixture
def org(alice):
    return alice.organization


@pytest.fixture
def cronofy_settings(org, sandbox):
    with tenant_scope(org):
        return CronofySettings.objects.create(organization=org, **sandbox.config())


def test_secrets_and_tokens_are_encrypted_at_rest(org, cronofy_settings, alice):
    with tenant_scope(org):
        CalendarConnection.objects.create(
            organization=org, user=alice.user, access_token="acc-token-123", refresh_token="ref-456"
        )
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM cronofy_cronofysettings")
        (stored_secret,) = cursor.fetchone()
        cursor.execute("SELECT access_token, refresh_token FROM cronofy_calendarconnection")
        stored_tokens = cursor.fetchone()

    assert stored_secret.startswith("fernet:") and cy.DEFAULT_CLIENT_SECRET not in stored_secret
    assert all(value.startswith("fernet:") for value in stored_tokens)
    assert "acc-token-123" not in stored_tokens[0]
    with tenant_scope(org):
        assert CronofySettings.objects.get().client_secret == cy.DEFAULT_CLIENT_SECRET


def test_a_sub_account_uses_its_parents_cronofy_settings(org, cronofy_settings, alice):
    from accounts.services import organization_create

    child = organization_create(name="Acme Talent EMEA", owner=alice.user, parent=org)

    assert connections.cronofy_settings_for(child) == cronofy_settings
    assert connections.provider_for(child).client.client_id == cy.DEFAULT_CLIENT_ID


def test_without_settings_the_error_says_where_to_add_them(mallory):
    with pytest.raises(connections.CronofyNotConfigured, match="Settings → Calendars"):
        connections.provider_for(mallory.organization)


def test_the_registry_knows_cronofy():
    assert get_provider_class("cronofy") is CronofyProvider


def test_connecting_a_person_stores_their_calendar_zone_and_encrypted_tokens(
    org, cronofy_settings, alice, sandbox
):
    provider = make_provider(sandbox)
    code = sign_in(provider.authorization_url(redirect_uri=REDIRECT, state="s"), ANA)["code"]

    with tenant_scope(org):
        connection = connections.connection_complete_oauth(
            organization=org, user=alice.user, code=code, redirect_uri=REDIRECT
        )
        stored = CalendarConnection.objects.get(pk=connection.pk)
        calls = list(ProviderCall.objects.filter(provider="cronofy").values_list("path", "status"))

    user = sandbox.state.user(ANA)
    assert stored.status == CalendarConnectionStatus.CONNECTED and stored.connected
    assert stored.auth_method == AuthMethod.OAUTH
    assert (stored.email, stored.tzid, stored.sub) == (ANA, "Europe/London", user["sub"])
    assert stored.calendar_id == user["calendars"][0]["calendar_id"]
    assert stored.access_token and stored.refresh_token and stored.token_expires_at
    assert calls and {path for path, _ in calls} >= {"/cronofy/oauth/token", "/cronofy/v1/userinfo"}


def connect_alice(org, alice, sandbox) -> CalendarConnection:
    provider = make_provider(sandbox)
    code = sign_in(provider.authorization_url(redirect_uri=REDIRECT, state="s"), ANA)["code"]
    with tenant_scope(org):
        return connections.connection_complete_oauth(
            organization=org, user=alice.user, code=code, redirect_uri=REDIRECT
        )


def test_tokens_refreshed_for_a_stored_connection_are_saved_on_it(
    org, cronofy_settings, alice, sandbox
):
    connection = connect_alice(org, alice, sandbox)
    old_refresh = connection.refresh_token
    sandbox.state.expire_tokens(ANA)

    with tenant_scope(org):
        provider, account = connections.connection_provider(connection)
        busy = provider.free_busy(account, datetime.now(UTC), datetime.now(UTC) + timedelta(days=7))
        stored = CalendarConnection.objects.get(pk=connection.pk)

    assert busy
    assert stored.refresh_token == account.refresh_token != old_refresh
    assert stored.access_token == account.access_token
    assert stored.status == CalendarConnectionStatus.CONNECTED


def test_a_second_worker_uses_tokens_another_refreshed_instead_of_spending_the_old_one(
    org, cronofy_settings, alice, sandbox
):
    connection = connect_alice(org, alice, sandbox)
    with tenant_scope(org):
        first_provider, first = connections.connection_provider(connection)
        second_provider, second = connections.connection_provider(connection)
        first_provider.refresh_account(first)  # worker one refreshes (the token rotates)
        second_provider.refresh_account(second)  # worker two, holding the old tokens
        stored = CalendarConnection.objects.get(pk=connection.pk)
        second_provider.list_channels(second)

    assert second.access_token == first.access_token == stored.access_token
    assert second.refresh_token == stored.refresh_token


def test_a_connection_whose_access_was_withdrawn_is_marked_needs_attention(
    org, cronofy_settings, alice, sandbox
):
    connection = connect_alice(org, alice, sandbox)
    sandbox.state.expire_tokens(ANA)
    requests.post(
        f"{sandbox.url}/cronofy/oauth/token/revoke",
        json={
            "client_id": cy.DEFAULT_CLIENT_ID,
            "client_secret": cy.DEFAULT_CLIENT_SECRET,
            "token": connection.refresh_token,
        },
        timeout=5,
    )

    with tenant_scope(org):
        provider, account = connections.connection_provider(connection)
        with pytest.raises(AuthError, match="needs to connect their calendar again"):
            provider.list_channels(account)
        stored = CalendarConnection.objects.get(pk=connection.pk)

    assert stored.status == CalendarConnectionStatus.ERROR
    assert "needs to connect their calendar again" in stored.last_error


def test_a_push_channel_is_created_once_and_reused(org, cronofy_settings, alice, sandbox, receiver):
    connection = connect_alice(org, alice, sandbox)

    with tenant_scope(org):
        first = connections.connection_ensure_channel(connection, callback_url=receiver.url)
        again = connections.connection_ensure_channel(connection, callback_url=receiver.url)
        stored = CalendarConnection.objects.get(pk=connection.pk)

    assert first == again and stored.channel_id == first.channel_id
    assert len(sandbox.state.channels) == 1


def test_disconnecting_closes_the_channel_revokes_access_and_forgets_the_tokens(
    org, cronofy_settings, alice, sandbox, receiver
):
    connection = connect_alice(org, alice, sandbox)
    access = connection.access_token
    with tenant_scope(org):
        connections.connection_ensure_channel(connection, callback_url=receiver.url)
        connections.connection_disconnect(connection)
        stored = CalendarConnection.objects.get(pk=connection.pk)

    assert stored.status == CalendarConnectionStatus.DISCONNECTED
    assert (stored.access_token, stored.refresh_token, stored.channel_id) == ("", "", "")
    assert sandbox.state.channels == {}
    revoked = requests.get(
        f"{sandbox.url}/cronofy/v1/userinfo",
        headers={"Authorization": f"Bearer {access}"},
        timeout=5,
    )
    assert revoked.status_code == 401


def authorize_enterprise_connect(org, sandbox) -> CronofySettings:
    provider = make_provider(sandbox)
    url = provider.enterprise_connect_url(redirect_uri=REDIRECT, state="admin-1")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and cy.ENTERPRISE_DOMAIN in page.text
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    answer = requests.post(
        url.split("?")[0], data={**query, "decision": "allow"}, allow_redirects=False, timeout=5
    )
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["Location"]).query))[
        "code"
    ]
    with tenant_scope(org):
        return connections.enterprise_connect_complete(
            organization=org, code=code, redirect_uri=REDIRECT, admin_email="it@sandbox.test"
        )


def test_enterprise_connect_connects_a_persons_calendar_by_email(
    org, cronofy_settings, alice, sandbox, receiver
):
    row = authorize_enterprise_connect(org, sandbox)
    assert row.enterprise_connected and row.service_account_id.startswith("ser_")

    with tenant_scope(org):
        pending = connections.connection_request_enterprise_connect(
            organization=org, user=alice.user, email=ANA, callback_url=receiver.url
        )
        assert pending.status == CalendarConnectionStatus.PENDING
        delivered = receiver.wait_for(1)[0]
        provider = connections.provider_for(org)
        provider.check_webhook(delivered["body"], delivered["headers"])
        result = provider.parse_service_account_callback(delivered["body"])
        connection = connections.connection_complete_enterprise_connect(
            organization=org, result=result, callback_url=receiver.url
        )
        replay = connections.connection_complete_enterprise_connect(
            organization=org, result=result, callback_url=receiver.url
        )

    assert result.ok and result.state == pending.authorization_state
    assert connection.status == CalendarConnectionStatus.CONNECTED
    assert connection.auth_method == AuthMethod.ENTERPRISE_CONNECT
    assert (
        connection.email == ANA and connection.calendar_id and connection.authorization_state == ""
    )
    assert replay is None  # a redelivered result finds nothing waiting


def test_enterprise_connect_for_an_unknown_person_explains_the_failure(
    org, cronofy_settings, alice, sandbox, receiver
):
    authorize_enterprise_connect(org, sandbox)

    with tenant_scope(org):
        connections.connection_request_enterprise_connect(
            organization=org,
            user=alice.user,
            email="nobody@sandbox.test",
            callback_url=receiver.url,
        )
        result = parse_service_account_callback(receiver.wait_for(1)[0]["body"])
        connection = connections.connection_complete_enterprise_connect(
            organization=org, result=result, callback_url=receiver.url
        )

    assert connection.status == CalendarConnectionStatus.ERROR
    assert "nobody@sandbox.test" in connection.last_error
    assert connection.last_error.startswith("Cronofy could not authorize the calendar")


def test_enterprise_connect_must_be_authorized_before_people_are_connected(
    org, cronofy_settings, alice
):
    with tenant_scope(org), pytest.raises(connections.CronofyNotConfigured, match="administrator"):
        connections.connection_request_enterprise_connect(
            organization=org, user=alice.user, email=ANA, callback_url="https://x.test/cb"
        )


def test_the_service_account_token_is_refreshed_and_saved_when_it_expires(
    org, cronofy_settings, alice, sandbox, receiver
):
    row = authorize_enterprise_connect(org, sandbox)
    old = row.service_account_access_token
    with sandbox.state.lock:
        for info in sandbox.state.access_tokens.values():
            info["exp"] = 0

    with tenant_scope(org):
        connections.connection_request_enterprise_connect(
            organization=org, user=alice.user, email=ANA, callback_url=receiver.url
        )
        stored = CronofySettings.objects.get(pk=row.pk)

    assert receiver.wait_for(1)
    assert stored.service_account_access_token != old
    assert json.loads(receiver.requests[0]["body"])["authorization"]["code"]
