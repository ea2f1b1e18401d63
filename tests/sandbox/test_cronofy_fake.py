"""The sandbox Cronofy over real HTTP (no database, no product code): the documented contract."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
import requests
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from integrations.sandbox import cronofy as cy

CLIENT = {"client_id": cy.DEFAULT_CLIENT_ID, "client_secret": cy.DEFAULT_CLIENT_SECRET}
ANA = "ana.interviewer@sandbox.test"
DEV_UK = "dev.uk@sandbox.test"
REDIRECT = "https://app.example.test/calendar/callback"
SCOPE = "read_account list_calendars read_events create_event delete_event"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class Fake:
    def __init__(self):
        self.state = cy.CronofyState(page_size=10, retry_scale=0.0001)
        app = DispatcherMiddleware(Response("root"), {"/cronofy": cy.CronofyApp(self.state)})
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cronofy"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.state.dispatcher.stop()


@pytest.fixture(scope="module")
def fake():
    server = Fake()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _fresh(fake):
    fake.state.reset()
    yield
    fake.state.dispatcher.cancel_all()


def hmac_b64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def authorize(fake, email=ANA, *, base=None, scope=SCOPE, redirect_uri=REDIRECT, state="st-1"):
    """Sign in on the sandbox authorize page as ``email`` and return the redirect's query."""
    response = requests.post(
        f"{base or fake.url}/oauth/authorize",
        data={
            "response_type": "code",
            "client_id": cy.DEFAULT_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "email": email,
            "decision": "allow",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(redirect_uri)
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def token(fake, *, base=None, **form):
    return requests.post(f"{base or fake.url}/oauth/token", json={**CLIENT, **form}, timeout=5)


def connect(fake, email=ANA, *, base=None, scope=SCOPE) -> dict:
    code = authorize(fake, email, base=base, scope=scope)["code"]
    response = token(
        fake, base=base, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    )
    assert response.status_code == 200, response.text
    return response.json()


def api(fake, method, path, tokens, *, base=None, **kwargs):
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    return requests.request(
        method, f"{base or fake.url}{path}", headers=headers, timeout=5, **kwargs
    )


class Receiver:
    """A callback endpoint recording raw bodies and headers; answers ``status``."""

    def __init__(self, status: int = 200):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.status = status
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers), "body": raw})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cronofy/notifications"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.requests

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


# --------------------------------------------------------------------------------------------
# OAuth
# --------------------------------------------------------------------------------------------


def test_the_authorize_page_offers_the_people_of_its_data_center_and_names_the_scope(fake):
    params = {
        "response_type": "code",
        "client_id": cy.DEFAULT_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "s",
    }
    us = requests.get(f"{fake.url}/oauth/authorize", params=params, timeout=5)
    uk = requests.get(f"{fake.url}/uk/oauth/authorize", params=params, timeout=5)

    assert us.status_code == 200
    assert ANA in us.text and DEV_UK not in us.text
    assert SCOPE in us.text and "Allow" in us.text and "Deny" in us.text
    assert DEV_UK in uk.text and ANA not in uk.text


def test_an_unknown_client_or_a_missing_redirect_gets_an_error_page_not_a_redirect(fake):
    unknown = requests.get(
        f"{fake.url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": "nope",
            "redirect_uri": REDIRECT,
            "scope": SCOPE,
        },
        allow_redirects=False,
        timeout=5,
    )
    no_redirect = requests.get(
        f"{fake.url}/oauth/authorize",
        params={"response_type": "code", "client_id": cy.DEFAULT_CLIENT_ID, "scope": SCOPE},
        allow_redirects=False,
        timeout=5,
    )

    assert unknown.status_code == 400 and "Unknown client_id" in unknown.text
    assert no_redirect.status_code == 400 and "redirect_uri" in no_redirect.text


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"scope": ""}, "invalid_scope"),
        ({"scope": "read_events launch_missiles"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"decision": "deny"}, "access_denied"),
    ],
)
def test_refusals_after_the_client_is_known_go_back_to_the_redirect_with_the_state(
    fake, changes, error
):
    form = {
        "response_type": "code",
        "client_id": cy.DEFAULT_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "keep-me",
        "email": ANA,
        "decision": "allow",
        **changes,
    }
    response = requests.post(
        f"{fake.url}/oauth/authorize", data=form, allow_redirects=False, timeout=5
    )

    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["Location"]).query))
    assert response.status_code == 302
    assert query == {"error": error, "state": "keep-me"}


def test_a_code_is_redeemed_once_with_its_redirect_uri_for_the_account_and_profile(fake):
    code = authorize(fake)["code"]

    wrong_redirect = token(
        fake, grant_type="authorization_code", code=code, redirect_uri=REDIRECT + "x"
    )
    code = authorize(fake)["code"]
    first = token(fake, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    again = token(fake, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)

    assert wrong_redirect.status_code == 400 and wrong_redirect.json()["error"] == "invalid_grant"
    body = first.json()
    user = fake.state.user(ANA)
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["sub"] == body["account_id"] == user["sub"]
    assert body["scope"] == SCOPE
    assert body["linking_profile"] == {
        "provider_name": "google",
        "profile_id": user["profile_id"],
        "profile_name": ANA,
    }
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_the_token_endpoint_refuses_a_wrong_secret_and_unknown_grants(fake):
    code = authorize(fake)["code"]
    bad_secret = requests.post(
        f"{fake.url}/oauth/token",
        data={
            "client_id": cy.DEFAULT_CLIENT_ID,
            "client_secret": "wrong",
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
        },
        timeout=5,
    )
    unknown = token(fake, grant_type="password")

    assert bad_secret.status_code == 400 and bad_secret.json()["error"] == "invalid_client"
    assert unknown.json()["error"] == "unsupported_grant_type"


def test_refreshing_rotates_the_refresh_token_and_the_old_one_stops_working(fake):
    first = connect(fake)

    refreshed = token(fake, grant_type="refresh_token", refresh_token=first["refresh_token"])
    replay = token(fake, grant_type="refresh_token", refresh_token=first["refresh_token"])

    body = refreshed.json()
    assert refreshed.status_code == 200
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert body["sub"] == first["sub"]
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert api(fake, "GET", "/v1/userinfo", body).json()["email"] == ANA


def test_an_expired_or_revoked_token_gets_401(fake):
    tokens = connect(fake)
    assert api(fake, "GET", "/v1/calendars", tokens).status_code == 200

    fake.state.expire_tokens(ANA)
    expired = api(fake, "GET", "/v1/calendars", tokens)
    fresh = token(fake, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    requests.post(
        f"{fake.url}/oauth/token/revoke", json={**CLIENT, "token": fresh["access_token"]}, timeout=5
    )
    revoked = api(fake, "GET", "/v1/calendars", fresh)

    assert expired.status_code == 401
    assert "invalid_token" in expired.headers["WWW-Authenticate"]
    assert revoked.status_code == 401


def test_an_account_lives_in_one_data_center(fake):
    uk_base = f"{fake.url}/uk"
    uk_tokens = connect(fake, DEV_UK, base=uk_base)
    us_code = authorize(fake)["code"]

    at_uk = api(fake, "GET", "/v1/userinfo", uk_tokens, base=uk_base)
    at_us = api(fake, "GET", "/v1/userinfo", uk_tokens)
    us_code_at_uk = token(
        fake, base=uk_base, grant_type="authorization_code", code=us_code, redirect_uri=REDIRECT
    )

    assert at_uk.json()["email"] == DEV_UK
    assert at_us.status_code == 401
    assert us_code_at_uk.json()["error"] == "invalid_grant"


def test_a_token_without_the_write_scope_may_read_but_not_write(fake):
    tokens = connect(fake, scope="read_free_busy")
    calendar_id = fake.state.user(ANA)["calendars"][0]["calendar_id"]

    read = api(fake, "GET", "/v1/free_busy", tokens, params={"tzid": "Etc/UTC"})
    write = api(fake, "POST", f"/v1/calendars/{calendar_id}/events", tokens, json={"event_id": "x"})

    assert read.status_code == 200
    assert write.status_code == 403


# --------------------------------------------------------------------------------------------
# Free/busy and events
# --------------------------------------------------------------------------------------------


def test_free_busy_needs_a_tzid_and_says_so_in_cronofys_error_shape(fake):
    tokens = connect(fake)

    missing = api(fake, "GET", "/v1/free_busy", tokens)
    unknown = api(fake, "GET", "/v1/free_busy", tokens, params={"tzid": "Mars/Olympus"})

    assert missing.status_code == 422
    assert missing.json() == {
        "errors": {"tzid": [{"key": "errors.required", "description": "tzid must be specified"}]}
    }
    assert unknown.json()["errors"]["tzid"][0]["key"] == "errors.unknown_tzid"


def test_free_busy_is_paged_and_next_page_links_reach_every_block(fake):
    tokens = connect(fake)
    today = datetime.now(UTC).date()
    params = {"tzid": "Europe/London", "from": str(today), "to": str(today + timedelta(days=21))}

    page = api(fake, "GET", "/v1/free_busy", tokens, params=params).json()
    blocks, pages, sizes = list(page["free_busy"]), [page["pages"]], [len(page["free_busy"])]
    while "next_page" in page["pages"]:
        page = requests.get(
            page["pages"]["next_page"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=5,
        ).json()
        blocks += page["free_busy"]
        sizes.append(len(page["free_busy"]))
        pages.append(page["pages"])

    seeded = [
        e
        for e in fake.state.events_of(ANA, include_deleted=False)
        if e["start_ts"]
        < datetime.combine(today + timedelta(days=21), datetime.min.time(), UTC).timestamp() + 3600
        and e["end_ts"] > datetime.combine(today, datetime.min.time(), UTC).timestamp() - 3600
    ]
    assert pages[0]["current"] == 1 and pages[0]["total"] == len(pages) > 2
    assert [p["current"] for p in pages] == list(range(1, len(pages) + 1))
    assert len(blocks) == len(seeded)
    assert max(sizes) == 10 and sizes[:-1] == [10] * (len(sizes) - 1)
    assert {b["free_busy_status"] for b in blocks} <= {"busy", "tentative"}
    assert blocks == sorted(blocks, key=lambda b: b["start"])
    assert all(b["start"].endswith("Z") or len(b["start"]) == 10 for b in blocks)


def test_events_we_manage_count_in_free_busy_only_when_asked(fake):
    tokens = connect(fake)
    calendar_id = fake.state.user(ANA)["calendars"][0]["calendar_id"]
    api(
        fake,
        "POST",
        f"/v1/calendars/{calendar_id}/events",
        tokens,
        json={
            "event_id": "interview-1",
            "summary": "Interview",
            "start": "2030-01-07T10:00:00Z",
            "end": "2030-01-07T11:00:00Z",
        },
    )
    params = {"tzid": "Etc/UTC", "from": "2030-01-07", "to": "2030-01-08"}

    without = api(fake, "GET", "/v1/free_busy", tokens, params=params).json()["free_busy"]
    with_managed = api(
        fake, "GET", "/v1/free_busy", tokens, params={**params, "include_managed": "true"}
    ).json()["free_busy"]

    assert without == []
    assert with_managed == [
        {
            "calendar_id": calendar_id,
            "start": "2030-01-07T10:00:00Z",
            "end": "2030-01-07T11:00:00Z",
            "free_busy_status": "busy",
        }
    ]


def test_upserts_are_keyed_by_event_id_and_deletes_succeed_when_already_gone(fake):
    tokens = connect(fake)
    calendar_id = fake.state.user(ANA)["calendars"][0]["calendar_id"]
    event = {
        "event_id": "interview-7",
        "summary": "Interview with Sam",
        "description": "Panel",
        "start": "2030-01-07T10:00:00Z",
        "end": "2030-01-07T11:00:00Z",
        "location": {"description": "Room 4"},
        "attendees": {"invite": [{"email": "sam@example.test", "display_name": "Sam"}]},
    }

    created = api(fake, "POST", f"/v1/calendars/{calendar_id}/events", tokens, json=event)
    moved = api(
        fake,
        "POST",
        f"/v1/calendars/{calendar_id}/events",
        tokens,
        json={**event, "start": "2030-01-08T10:00:00Z", "end": "2030-01-08T11:00:00Z"},
    )
    ours = [e for e in fake.state.events_of(ANA) if e["event_id"] == "interview-7"]
    deleted = api(
        fake,
        "DELETE",
        f"/v1/calendars/{calendar_id}/events",
        tokens,
        json={"event_id": "interview-7"},
    )
    again = api(
        fake,
        "DELETE",
        f"/v1/calendars/{calendar_id}/events",
        tokens,
        json={"event_id": "interview-7"},
    )
    never = api(
        fake,
        "DELETE",
        f"/v1/calendars/{calendar_id}/events",
        tokens,
        json={"event_id": "never-made"},
    )

    assert (created.status_code, created.text) == (202, "")
    assert moved.status_code == 202
    assert len(ours) == 1
    assert ours[0]["start"] == "2030-01-08T10:00:00Z"
    assert ours[0]["attendees"] == [
        {"email": "sam@example.test", "display_name": "Sam", "status": "needs_action"}
    ]
    assert deleted.status_code == again.status_code == never.status_code == 202
    assert [e["deleted"] for e in fake.state.events_of(ANA) if e["event_id"] == "interview-7"] == [
        True
    ]


def test_an_invalid_event_gets_every_problem_at_once(fake):
    tokens = connect(fake)
    user = fake.state.user(ANA)
    calendar_id = user["calendars"][0]["calendar_id"]
    readonly_id = user["calendars"][1]["calendar_id"]

    bad = api(
        fake,
        "POST",
        f"/v1/calendars/{calendar_id}/events",
        tokens,
        json={"summary": "", "start": "2030-01-07T11:00:00Z", "end": "2030-01-07T10:00:00Z"},
    )
    readonly = api(
        fake,
        "POST",
        f"/v1/calendars/{readonly_id}/events",
        tokens,
        json={
            "event_id": "e",
            "summary": "s",
            "start": "2030-01-07T10:00:00Z",
            "end": "2030-01-07T11:00:00Z",
        },
    )
    unknown = api(fake, "POST", "/v1/calendars/cal_nope/events", tokens, json={"event_id": "e"})

    errors = bad.json()["errors"]
    assert bad.status_code == 422
    assert set(errors) == {"event_id", "summary", "end"}
    assert errors["end"] == [
        {"key": "errors.must_be_after_start", "description": "end must be after start"}
    ]
    assert readonly.json()["errors"]["calendar_id"][0]["key"] == "errors.calendar_readonly"
    assert unknown.status_code == 404


# --------------------------------------------------------------------------------------------
# Push notifications
# --------------------------------------------------------------------------------------------


def create_channel(fake, tokens, url, **filters):
    body = {"callback_url": url, **({"filters": filters} if filters else {})}
    response = api(fake, "POST", "/v1/channels", tokens, json=body)
    assert response.status_code == 200, response.text
    return response.json()["channel"]


def test_a_new_channel_gets_a_signed_verification_notification(fake, receiver):
    tokens = connect(fake)

    channel = create_channel(fake, tokens, receiver.url)
    listed = api(fake, "GET", "/v1/channels", tokens).json()["channels"]

    delivered = receiver.wait_for(1)[0]
    body = json.loads(delivered["body"])
    assert channel["channel_id"].startswith("chn_")
    assert listed == [channel]
    assert body == {"notification": {"type": "verification"}, "channel": channel}
    assert delivered["headers"]["Cronofy-HMAC-SHA256"] == hmac_b64(
        cy.DEFAULT_CLIENT_SECRET, delivered["body"]
    )
    assert delivered["headers"]["Content-Type"] == "application/json; charset=utf-8"


def test_the_interviewer_deleting_our_event_sends_a_change_and_events_show_it_deleted(
    fake, receiver
):
    tokens = connect(fake)
    calendar_id = fake.state.user(ANA)["calendars"][0]["calendar_id"]
    api(
        fake,
        "POST",
        f"/v1/calendars/{calendar_id}/events",
        tokens,
        json={
            "event_id": "interview-9",
            "summary": "Interview",
            "start": "2030-01-07T10:00:00Z",
            "end": "2030-01-07T11:00:00Z",
        },
    )
    create_channel(fake, tokens, receiver.url)
    receiver.wait_for(1)
    time.sleep(1.1)  # changes_since has whole seconds

    fake.state.delete_as_user(ANA, event_id="interview-9")

    change = json.loads(receiver.wait_for(2)[1]["body"])
    assert change["notification"]["type"] == "change"
    since = change["notification"]["changes_since"]
    events = api(
        fake,
        "GET",
        "/v1/events",
        tokens,
        params={
            "tzid": "Etc/UTC",
            "last_modified": since,
            "include_deleted": "true",
            "include_managed": "true",
        },
    ).json()["events"]
    assert [(e["event_id"], e["deleted"]) for e in events] == [("interview-9", True)]
    hidden = api(
        fake,
        "GET",
        "/v1/events",
        tokens,
        params={"tzid": "Etc/UTC", "last_modified": since, "include_managed": "true"},
    ).json()["events"]
    assert hidden == []


def test_writes_through_the_api_do_not_notify_but_changes_in_the_calendar_do(fake, receiver):
    tokens = connect(fake)
    calendar_id = fake.state.user(ANA)["calendars"][0]["calendar_id"]
    create_channel(fake, tokens, receiver.url)
    receiver.wait_for(1)

    api(
        fake,
        "POST",
        f"/v1/calendars/{calendar_id}/events",
        tokens,
        json={
            "event_id": "quiet",
            "summary": "Interview",
            "start": "2030-01-07T10:00:00Z",
            "end": "2030-01-07T11:00:00Z",
        },
    )
    api(fake, "DELETE", f"/v1/calendars/{calendar_id}/events", tokens, json={"event_id": "quiet"})
    fake.state.wait_idle(2)
    quiet = len(receiver.requests)
    fake.state.add_busy(
        ANA, summary="Dentist", start="2030-01-09T09:00:00Z", end="2030-01-09T10:00:00Z"
    )

    assert quiet == 1
    assert json.loads(receiver.wait_for(2)[1]["body"])["notification"]["type"] == "change"


def test_only_managed_channels_ignore_the_persons_own_events(fake, receiver):
    tokens = connect(fake)
    create_channel(fake, tokens, receiver.url, only_managed=True)
    receiver.wait_for(1)

    fake.state.add_busy(
        ANA, summary="Gym", start="2030-01-09T07:00:00Z", end="2030-01-09T08:00:00Z"
    )
    fake.state.wait_idle(2)

    assert len(receiver.requests) == 1


def test_while_rotating_secrets_every_active_secret_signs_comma_separated(fake, receiver):
    fake.state.set_client_secrets(
        cy.DEFAULT_CLIENT_ID, ["CRN_new_secret", cy.DEFAULT_CLIENT_SECRET]
    )
    tokens = connect(fake)

    create_channel(fake, tokens, receiver.url)

    delivered = receiver.wait_for(1)[0]
    assert delivered["headers"]["Cronofy-HMAC-SHA256"].split(",") == [
        hmac_b64("CRN_new_secret", delivered["body"]),
        hmac_b64(cy.DEFAULT_CLIENT_SECRET, delivered["body"]),
    ]


def test_a_failing_callback_is_retried_until_it_answers_2xx(fake, receiver):
    receiver.status = 500
    tokens = connect(fake)
    create_channel(fake, tokens, receiver.url)
    receiver.wait_for(2)
    receiver.status = 200

    fake.state.wait_idle(5)

    log = fake.state.deliveries[0]
    assert log["status"] == "delivered"
    assert [a["http_status"] for a in log["attempts"]][:2] == [500, 500]
    assert log["attempts"][-1]["http_status"] == 200
    assert len({r["body"] for r in receiver.requests}) == 1


# --------------------------------------------------------------------------------------------
# Enterprise Connect
# --------------------------------------------------------------------------------------------


def service_account_tokens(fake) -> dict:
    response = requests.post(
        f"{fake.url}/enterprise_connect/oauth/authorize",
        data={
            "response_type": "code",
            "client_id": cy.DEFAULT_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "scope": "service_account/accounts/manage",
            "delegated_scope": SCOPE,
            "state": "admin",
            "decision": "allow",
        },
        allow_redirects=False,
        timeout=5,
    )
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["Location"]).query))[
        "code"
    ]
    body = token(fake, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
    return body


def test_enterprise_connect_authorizes_a_person_by_email_through_a_signed_callback(fake, receiver):
    service = service_account_tokens(fake)
    assert service["service_account_id"].startswith("ser_") and service["expires_in"] == 1800
    assert "sub" not in service

    accepted = api(
        fake,
        "POST",
        "/v1/service_account_authorizations",
        service,
        json={
            "email": ANA,
            "callback_url": receiver.url,
            "scope": "read_events create_event",
            "state": "conn-42",
        },
    )

    delivered = receiver.wait_for(1)[0]
    result = json.loads(delivered["body"])["authorization"]
    assert accepted.status_code == 202 and accepted.text == ""
    assert delivered["headers"]["Cronofy-HMAC-SHA256"] == hmac_b64(
        cy.DEFAULT_CLIENT_SECRET, delivered["body"]
    )
    assert result["state"] == "conn-42" and len(result["code"]) == 32


def test_enterprise_connect_code_redeems_with_the_callback_url(fake, receiver):
    service = service_account_tokens(fake)
    api(
        fake,
        "POST",
        "/v1/service_account_authorizations",
        service,
        json={"email": ANA, "callback_url": receiver.url, "scope": "read_events create_event"},
    )
    code = json.loads(receiver.wait_for(1)[0]["body"])["authorization"]["code"]

    tokens = token(
        fake, grant_type="authorization_code", code=code, redirect_uri=receiver.url
    ).json()

    assert tokens["sub"] == fake.state.user(ANA)["sub"]
    assert api(fake, "GET", "/v1/userinfo", tokens).json()["email"] == ANA


def test_enterprise_connect_reports_unknown_people_and_refuses_undelegated_scopes(fake, receiver):
    service = service_account_tokens(fake)
    person = connect(fake)

    unknown = api(
        fake,
        "POST",
        "/v1/service_account_authorizations",
        service,
        json={
            "email": "nobody@sandbox.test",
            "callback_url": receiver.url,
            "scope": "read_events",
            "state": "s9",
        },
    )
    too_much = api(
        fake,
        "POST",
        "/v1/service_account_authorizations",
        service,
        json={"email": ANA, "callback_url": receiver.url, "scope": "read_write"},
    )
    not_a_service_account = api(
        fake,
        "POST",
        "/v1/service_account_authorizations",
        person,
        json={"email": ANA, "callback_url": receiver.url, "scope": "read_events"},
    )

    result = json.loads(receiver.wait_for(1)[0]["body"])["authorization"]
    assert unknown.status_code == 202
    assert result["error"] == "access_denied" and result["state"] == "s9"
    assert "nobody@sandbox.test" in result["error_description"]
    assert too_much.status_code == 422 and "scope" in too_much.json()["errors"]
    assert not_a_service_account.status_code == 403


# --------------------------------------------------------------------------------------------
# Limits, faults, controls and screens
# --------------------------------------------------------------------------------------------


def test_more_requests_than_the_rate_limit_get_429(fake):
    tokens = connect(fake)
    # The minute window: five requests fall in it however slow a loaded machine is (a
    # one-second window would not reliably see them together).
    fake.state.configure(rate_per_minute=3)

    statuses = [api(fake, "GET", "/v1/calendars", tokens).status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]


def test_injected_faults_answer_the_next_matching_requests(fake):
    tokens = connect(fake)
    requests.post(
        f"{fake.url}/_sandbox/api/faults",
        json={"match": "/v1/calendars", "status": 503, "count": 1},
        timeout=5,
    )

    first = api(fake, "GET", "/v1/calendars", tokens)
    second = api(fake, "GET", "/v1/calendars", tokens)

    assert (first.status_code, second.status_code) == (503, 200)


def test_seeded_calendars_are_the_same_for_the_same_seed_and_anchor():
    one = cy.CronofyState(seed=3, anchor=datetime(2026, 3, 2).date())
    two = cy.CronofyState(seed=3, anchor=datetime(2026, 3, 2).date())
    other = cy.CronofyState(seed=4, anchor=datetime(2026, 3, 2).date())

    def shape(state):
        return [(e["event_uid"], e["start"], e["end"], e["summary"]) for e in state.events_of(ANA)]

    assert shape(one) == shape(two)
    assert shape(one) != shape(other)
    weekdays = {datetime.fromtimestamp(e["start_ts"], UTC).weekday() for e in one.events_of(ANA)}
    assert weekdays <= {0, 1, 2, 3, 4}
    for state in (one, two, other):
        state.dispatcher.stop()


def test_the_control_api_adds_people_and_busy_blocks(fake):
    created = requests.post(
        f"{fake.url}/_sandbox/api/users",
        json={"email": "Eve@Sandbox.test", "zone": "Asia/Tokyo", "data_center": "sg"},
        timeout=5,
    )
    busy = requests.post(
        f"{fake.url}/_sandbox/api/users/eve@sandbox.test/events",
        json={"summary": "Flight", "start": "2030-02-01T00:00:00Z", "end": "2030-02-01T12:00:00Z"},
        timeout=5,
    )
    bad = requests.post(
        f"{fake.url}/_sandbox/api/users",
        json={"email": "x@sandbox.test", "data_center": "mars"},
        timeout=5,
    )
    missing = requests.get(f"{fake.url}/_sandbox/api/users/nobody@sandbox.test/events", timeout=5)

    assert created.status_code == 201 and created.json()["data_center"] == "sg"
    assert busy.status_code == 201 and busy.json()["summary"] == "Flight"
    assert bad.status_code == 400 and "Unknown data center" in bad.json()["error"]
    assert missing.status_code == 404


def test_the_calendar_screen_deletes_an_event_as_the_interviewer(fake, receiver):
    tokens = connect(fake)
    calendar_id = fake.state.user(ANA)["calendars"][0]["calendar_id"]
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    api(
        fake,
        "POST",
        f"/v1/calendars/{calendar_id}/events",
        tokens,
        json={
            "event_id": "interview-screen",
            "summary": "Interview with Sam",
            "start": soon.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (soon + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    create_channel(fake, tokens, receiver.url)
    receiver.wait_for(1)
    ours = next(e for e in fake.state.events_of(ANA) if e["event_id"] == "interview-screen")

    screen = requests.get(f"{fake.url}/_sandbox/users/{ANA}", timeout=5)
    index = requests.get(f"{fake.url}/_sandbox/", timeout=5)
    clicked = requests.post(
        f"{fake.url}/_sandbox/users/{ANA}/events/{ours['event_uid']}/delete",
        allow_redirects=False,
        timeout=5,
    )

    assert "Interview with Sam" in screen.text and "Delete as Ana Interviewer" in screen.text
    assert "ours (managed)" in screen.text
    assert ANA in index.text and receiver.url in index.text
    assert clicked.status_code == 303
    assert json.loads(receiver.wait_for(2)[1]["body"])["notification"]["type"] == "change"
    assert next(e for e in fake.state.events_of(ANA) if e["event_id"] == "interview-screen")[
        "deleted"
    ]


def test_the_sandbox_server_mounts_cronofy_beside_the_other_fakes():
    from integrations.sandbox.server import SandboxServer

    with SandboxServer(port=0, n_candidates=5, n_jobs=2) as server:
        root = requests.get(server.url, timeout=5).text
        screen = requests.get(f"{server.url}/cronofy/_sandbox/", timeout=5)
        page_ = requests.get(
            f"{server.url}/cronofy/uk/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": cy.DEFAULT_CLIENT_ID,
                "redirect_uri": REDIRECT,
                "scope": SCOPE,
            },
            timeout=5,
        )

        assert "/cronofy/_sandbox/" in root
        assert screen.status_code == 200 and ANA in screen.text
        assert DEV_UK in page_.text
        assert "Cronofy" in server.describe()
        assert server.cronofy.user(ANA)["zone"] == "Europe/London"
