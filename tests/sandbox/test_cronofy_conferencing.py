"""The sandbox Cronofy's conferencing over real HTTP (no database, no product code): a conference
per event asked with ``conferencing``, its join URL on reads (pending first), kept when the
event moves, an explicit link, none for a past event, and a disconnected conferencing profile."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from integrations.sandbox import cronofy as cy
from tests.sandbox.test_cronofy_fake import (
    ANA,
    Fake,
    Receiver,
    api,
    connect,
    create_channel,
    hmac_b64,
)


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


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


def _when(days: int, hour: int = 10) -> tuple[str, str]:
    day = (datetime.now(UTC) + timedelta(days=days)).date()
    start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return (
        start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _event(event_id="interview-9", days=3, **extra) -> dict:
    start, end = _when(days)
    return {
        "event_id": event_id,
        "summary": "Interview with Jordan",
        "start": start,
        "end": end,
        **extra,
    }


def _upsert(fake, tokens, body):
    calendar_id = fake.state.user(ANA)["calendars"][0]["calendar_id"]
    return api(fake, "POST", f"/v1/calendars/{calendar_id}/events", tokens, json=body)


def _read(fake, tokens, event_id="interview-9") -> dict:
    response = api(
        fake,
        "GET",
        "/v1/events",
        tokens,
        params={"tzid": "Etc/UTC", "include_managed": "true", "only_managed": "true"},
    )
    assert response.status_code == 200, response.text
    return next(e for e in response.json()["events"] if e.get("event_id") == event_id)


def test_a_conference_asked_with_the_default_profile_has_a_join_url_on_reads(fake):
    tokens = connect(fake)

    answer = _upsert(fake, tokens, _event(conferencing={"profile_id": "default"}))
    event = _read(fake, tokens)

    assert (answer.status_code, answer.text) == (202, "")
    assert event["conferencing"]["provider_description"] == "Sandbox Meet"
    assert event["conferencing"]["join_url"].startswith("https://meet.sandbox.example/")


def test_the_join_url_is_pending_until_cronofy_has_made_the_conference(fake):
    tokens = connect(fake)
    fake.state.configure(conferencing_delay=60)

    _upsert(fake, tokens, _event(conferencing={"profile_id": "default"}))
    pending = _read(fake, tokens)
    fake.state.configure(conferencing_delay=0)
    with fake.state.lock:
        for stored in fake.state.events.values():
            if stored["event_id"] == "interview-9":
                stored["conference_due"] = 0
    ready = _read(fake, tokens)

    assert pending["conferencing"] == {"pending": True}
    assert ready["conferencing"]["join_url"].startswith("https://meet.sandbox.example/")


def test_moving_the_event_without_conferencing_keeps_the_same_conference(fake):
    tokens = connect(fake)
    _upsert(fake, tokens, _event(conferencing={"profile_id": "default"}))
    first = _read(fake, tokens)["conferencing"]["join_url"]

    _upsert(fake, tokens, _event(days=4))
    moved = _read(fake, tokens)
    _upsert(fake, tokens, _event(days=5, conferencing={"profile_id": "default"}))
    asked_again = _read(fake, tokens)

    assert moved["start"] == _when(4)[0]
    assert moved["conferencing"]["join_url"] == first
    assert asked_again["conferencing"]["join_url"] == first


def test_an_explicit_join_url_is_shown_as_given(fake):
    tokens = connect(fake)

    _upsert(
        fake,
        tokens,
        _event(
            conferencing={
                "profile_id": "explicit",
                "provider_description": "Video call",
                "join_url": "https://meet.example.com/room-1",
            }
        ),
    )

    assert _read(fake, tokens)["conferencing"] == {
        "provider_description": "Video call",
        "join_url": "https://meet.example.com/room-1",
    }


def test_no_conference_is_made_for_a_past_event(fake):
    tokens = connect(fake)

    answer = _upsert(fake, tokens, _event(days=-2, conferencing={"profile_id": "default"}))
    response = api(
        fake,
        "GET",
        "/v1/events",
        tokens,
        params={
            "tzid": "Etc/UTC",
            "only_managed": "true",
            "from": (datetime.now(UTC) - timedelta(days=5)).date().isoformat(),
        },
    )
    event = next(e for e in response.json()["events"] if e.get("event_id") == "interview-9")

    assert answer.status_code == 202
    assert "conferencing" not in event


def test_invalid_conferencing_is_refused_in_cronofys_error_shape(fake):
    tokens = connect(fake)

    no_profile = _upsert(fake, tokens, _event(conferencing={}))
    unknown = _upsert(fake, tokens, _event(conferencing={"profile_id": "pro_nobody"}))
    explicit = _upsert(fake, tokens, _event(conferencing={"profile_id": "explicit"}))

    assert no_profile.status_code == unknown.status_code == explicit.status_code == 422
    assert no_profile.json()["errors"]["conferencing.profile_id"][0]["key"] == "errors.required"
    assert unknown.json()["errors"]["conferencing.profile_id"][0]["key"] == (
        "errors.unknown_profile"
    )
    assert set(explicit.json()["errors"]) == {
        "conferencing.join_url",
        "conferencing.provider_description",
    }


def test_a_disconnected_conferencing_profile_notifies_and_leaves_conferences_pending(
    fake, receiver
):
    tokens = connect(fake)
    channel = create_channel(fake, tokens, receiver.url)
    receiver.wait_for(1)

    answer = requests.post(
        f"{fake.url}/_sandbox/api/users/{ANA}/conferencing/disconnect", timeout=5
    )
    delivered = receiver.wait_for(2)[1]
    _upsert(fake, tokens, _event(conferencing={"profile_id": "default"}))
    while_disconnected = _read(fake, tokens)
    profiles = api(fake, "GET", "/v1/userinfo", tokens).json()["cronofy.data"][
        "conferencing_profiles"
    ]
    requests.post(f"{fake.url}/_sandbox/api/users/{ANA}/conferencing/reconnect", timeout=5)
    after_reconnect = _read(fake, tokens)

    assert answer.json()["profile_connected"] is False
    assert json.loads(delivered["body"]) == {
        "notification": {"type": "conferencing_profile_disconnected"},
        "channel": channel,
    }
    assert delivered["headers"]["Cronofy-HMAC-SHA256"] == hmac_b64(
        cy.DEFAULT_CLIENT_SECRET, delivered["body"]
    )
    assert while_disconnected["conferencing"] == {"pending": True}
    assert profiles[0]["profile_connected"] is False
    assert "profile_relink_url" in profiles[0]
    assert after_reconnect["conferencing"]["join_url"].startswith("https://meet.sandbox.example/")


def test_the_calendar_screen_shows_the_join_url_and_disconnects_conferencing(fake, receiver):
    tokens = connect(fake)
    _upsert(fake, tokens, _event(conferencing={"profile_id": "default"}))
    join_url = _read(fake, tokens)["conferencing"]["join_url"]

    page = requests.get(f"{fake.url}/_sandbox/users/{ANA}", timeout=5)
    pressed = requests.post(
        f"{fake.url}/_sandbox/users/{ANA}/conferencing/disconnect",
        allow_redirects=False,
        timeout=5,
    )
    after = requests.get(f"{fake.url}/_sandbox/users/{ANA}", timeout=5)

    assert join_url in page.text
    assert "Video conferencing (Sandbox Meet): connected" in page.text
    assert pressed.status_code in (302, 303)
    assert "Video conferencing (Sandbox Meet): disconnected" in after.text


@pytest.mark.parametrize("profile", ["default", "own"])
def test_the_persons_own_conferencing_profile_is_listed_and_usable(fake, profile):
    tokens = connect(fake)
    listed = api(fake, "GET", "/v1/userinfo", tokens).json()["cronofy.data"][
        "conferencing_profiles"
    ]
    profile_id = listed[0]["profile_id"] if profile == "own" else "default"

    answer = _upsert(fake, tokens, _event(conferencing={"profile_id": profile_id}))

    assert listed[0]["provider_name"] == "sandbox_meet"
    assert answer.status_code == 202
    assert _read(fake, tokens)["conferencing"]["join_url"]
