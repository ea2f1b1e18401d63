"""Members' Cronofy calendars, over HTTP against the sandbox Cronofy: free/busy for the slots,
interview events pushed and removed, and push notifications (an interviewer deleting the
interview in their calendar cancels it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
import requests

from integrations import tasks as intake_tasks
from integrations.cronofy import connections
from integrations.cronofy.client import sandbox_base_urls
from integrations.cronofy.models import (
    CalendarConnection,
    CalendarConnectionStatus,
    CronofySettings,
)
from integrations.models import WebhookDelivery
from integrations.sandbox import cronofy as cy
from integrations.sandbox.server import SandboxServer
from messaging.selectors import preferences_for
from recruitflow.tenancy import tenant_scope
from scheduling import calendars, services
from scheduling.models import (
    Booking,
    BookingStatus,
    CancelledBy,
)
from tests.scheduling.helpers import booked

ANA = "ana.interviewer@sandbox.test"
BEN = "ben.hiring@sandbox.test"
REDIRECT = "https://recruitflow.example/schedule/calendar/cronofy/callback/"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=10, webhook_retry_scale=0.0005) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_cronofy(sandbox):
    sandbox.cronofy.reset()
    yield
    sandbox.cronofy.dispatcher.cancel_all()


@pytest.fixture
def celery_eager():
    """Run tasks where they are queued, as a worker would right after the commit."""
    from recruitflow.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def cronofy_settings(sched_org, sandbox):
    api, app = sandbox_base_urls(sandbox.url)
    with tenant_scope(sched_org):
        return CronofySettings.objects.create(
            organization=sched_org,
            client_id=cy.DEFAULT_CLIENT_ID,
            client_secret=cy.DEFAULT_CLIENT_SECRET,
            api_base_url=api,
            app_base_url=app,
        )


def sign_in(url: str, email: str) -> str:
    """What the person does on the authorize page: pick their account and allow."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    response = requests.post(
        url.split("?")[0],
        data={**query, "email": email, "decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 302, response.text
    location = urllib.parse.urlsplit(response.headers["Location"]).query
    return dict(urllib.parse.parse_qsl(location))["code"]


@pytest.fixture
def connect(sched_org, cronofy_settings):
    def connect_user(user, email: str) -> CalendarConnection:
        with tenant_scope(sched_org):
            provider = connections.provider_for(sched_org)
            code = sign_in(provider.authorization_url(redirect_uri=REDIRECT, state="s"), email)
            return connections.connection_complete_oauth(
                organization=sched_org, user=user, code=code, redirect_uri=REDIRECT
            )

    return connect_user


def book(organization, template, candidate, users, start) -> Booking:
    return booked(
        organization,
        template,
        candidate,
        users,
        start,
        video_link="https://meet.example.com/onsite",
    )


def in_three_days(hour: int) -> datetime:
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def live_events(sandbox, email: str) -> list[dict]:
    return [e for e in sandbox.cronofy.events_of(email) if not e["deleted"]]


def signed(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# --------------------------------------------------------------------------------------------
# Free/busy for the slots
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_connected_members_cronofy_meetings_are_not_offered_to_candidates(
    sched_org, make_template, interviewers, connect, sandbox
):
    morgan = interviewers[0]
    template = make_template(required=[morgan], minimum_notice_hours=1)
    with tenant_scope(sched_org):
        built_in = services.template_slots(organization=sched_org, template=template, days=7)
    connect(morgan, ANA)
    extra = in_three_days(13)
    sandbox.cronofy.add_busy(ANA, summary="Board call", start=extra, end=extra + timedelta(hours=1))

    with tenant_scope(sched_org):
        slots = services.template_slots(organization=sched_org, template=template, days=7)

    meetings = [
        (datetime.fromtimestamp(e["start_ts"], UTC), datetime.fromtimestamp(e["end_ts"], UTC))
        for e in live_events(sandbox, ANA)
    ]
    assert slots, "a calendar with free time offers some times"
    assert len(slots) < len(built_in)
    for slot in slots:
        clash = [m for m in meetings if m[0] < slot.end and slot.start < m[1]]
        assert not clash, f"{slot.start} is offered during Ana's meeting {clash[0]}"
    # The built-in calendar would have offered the board call's hour: Cronofy removed it.
    assert any(s.start < extra + timedelta(hours=1) and extra < s.end for s in built_in)


@pytest.mark.django_db
def test_a_calendar_cronofy_no_longer_accepts_blocks_the_member_and_says_why(
    sched_org, make_template, interviewers, connect, sandbox
):
    morgan = interviewers[0]
    template = make_template(required=[morgan], minimum_notice_hours=1)
    connection = connect(morgan, ANA)
    sandbox.cronofy.expire_tokens(ANA)
    requests.post(
        f"{sandbox.url}/cronofy/oauth/token/revoke",
        json={
            "client_id": cy.DEFAULT_CLIENT_ID,
            "client_secret": cy.DEFAULT_CLIENT_SECRET,
            "token": connection.refresh_token,
        },
        timeout=5,
    )

    with tenant_scope(sched_org):
        slots = services.template_slots(organization=sched_org, template=template, days=7)
        status = calendars.calendar_statuses(organization=sched_org, users=[morgan])[morgan.pk]
        stored = CalendarConnection.objects.get(pk=connection.pk)

    assert slots == []
    assert stored.status == CalendarConnectionStatus.ERROR
    assert not status.connected
    assert status.problem.startswith("Morgan Lee's calendar can't be read: ")
    assert "needs to connect their calendar again" in status.problem


# --------------------------------------------------------------------------------------------
# Interview events in members' calendars
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_booking_is_put_in_each_connected_calendar_and_removed_when_cancelled(
    sched_org, scheduling_template, interviewers, candidate, connect, sandbox
):
    morgan, sam = interviewers
    connect(morgan, ANA)
    connect(sam, BEN)
    booking = book(sched_org, scheduling_template, candidate, interviewers, in_three_days(10))

    with tenant_scope(sched_org):
        problems = calendars.booking_events_push(organization=sched_org, booking=booking)

    assert problems == []
    for email, tzid in ((ANA, "Europe/London"), (BEN, "America/New_York")):
        (event,) = [e for e in live_events(sandbox, email) if e["event_id"] == booking.event_id]
        assert event["summary"] == "Onsite interview · Sales Rep"
        assert event["start"] == booking.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert event["tzid"] == tzid
        assert "Candidate: Jordan Rivera" in event["description"]
        # The candidate's invitation is our e-mail with the .ics, not the calendar service's.
        assert {a["email"] for a in event["attendees"]} == {
            "morgan.lee@acme.test",
            "sam.patel@acme.test",
        }

    # Pushing again (a reschedule) updates the same event instead of adding one.
    with tenant_scope(sched_org):
        Booking.objects.filter(pk=booking.pk).update(
            start=booking.start + timedelta(hours=2), end=booking.end + timedelta(hours=2)
        )
        booking.refresh_from_db()
        assert calendars.booking_events_push(organization=sched_org, booking=booking) == []
    ours = [e for e in live_events(sandbox, ANA) if e["event_id"] == booking.event_id]
    assert [e["start"] for e in ours] == [booking.start.strftime("%Y-%m-%dT%H:%M:%SZ")]

    with tenant_scope(sched_org):
        problems = calendars.booking_events_remove(organization=sched_org, booking=booking)

    assert problems == []
    for email in (ANA, BEN):
        assert not [e for e in live_events(sandbox, email) if e["event_id"] == booking.event_id]


@pytest.mark.django_db
def test_a_calendar_that_refuses_the_event_is_reported_and_the_others_still_get_it(
    sched_org, scheduling_template, interviewers, candidate, connect, sandbox
):
    morgan, sam = interviewers
    connect(morgan, ANA)
    broken = connect(sam, BEN)
    with tenant_scope(sched_org):
        CalendarConnection.objects.filter(pk=broken.pk).update(calendar_id="cal_gone")
    booking = book(sched_org, scheduling_template, candidate, interviewers, in_three_days(11))

    with tenant_scope(sched_org):
        problems = calendars.booking_events_push(organization=sched_org, booking=booking)

    assert len(problems) == 1
    assert problems[0].startswith("Couldn't add the interview to Sam Patel's calendar: ")
    assert [e["event_id"] for e in live_events(sandbox, ANA) if e["event_id"]] == [booking.event_id]


# --------------------------------------------------------------------------------------------
# Push notifications
# --------------------------------------------------------------------------------------------


def notification_body(channel_id: str, kind: str = "change") -> bytes:
    notification = {"type": kind}
    if kind == "change":
        notification["changes_since"] = "2020-01-01T00:00:00Z"
    return json.dumps(
        {"notification": notification, "channel": {"channel_id": channel_id}}
    ).encode()


@pytest.mark.django_db
def test_a_forged_notification_is_refused_and_changes_nothing(
    client, sched_org, scheduling_template, interviewers, candidate, connect, sandbox, outbox
):
    morgan = interviewers[0]
    connection = connect(morgan, ANA)
    with tenant_scope(sched_org):
        CalendarConnection.objects.filter(pk=connection.pk).update(channel_id="chn_morgan")
        url = calendars.push_callback_url(sched_org).split("://", 1)[1].split("/", 1)[1]
    booking = book(sched_org, scheduling_template, candidate, [morgan], in_three_days(10))
    body = notification_body("chn_morgan")

    forged = client.post(
        "/" + url,
        body,
        content_type="application/json",
        HTTP_CRONOFY_HMAC_SHA256=signed(body, "attacker-guess"),
    )
    unsigned = client.post("/" + url, body, content_type="application/json")

    assert forged.status_code == 403 and unsigned.status_code == 403
    assert "matches neither the client secret" in forged.content.decode()
    assert "no Cronofy-HMAC-SHA256 header" in unsigned.content.decode()
    with tenant_scope(sched_org):
        booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert outbox(candidate) == []
    assert not [w for w in sandbox.cronofy.writes if w["op"] != "token"]  # nothing was read
    unknown = client.post(
        "/webhooks/cronofy/not-a-token/",
        body,
        content_type="application/json",
        HTTP_CRONOFY_HMAC_SHA256=signed(body, cy.DEFAULT_CLIENT_SECRET),
    )
    assert unknown.status_code == 404
    # The Enterprise Connect result endpoint checks the signature the same way.
    authorization = client.post(
        "/" + url + "authorization/",
        b'{"authorization": {"code": "stolen", "state": "s"}}',
        content_type="application/json",
        HTTP_CRONOFY_HMAC_SHA256="forged",
    )
    assert authorization.status_code == 403


@pytest.mark.django_db
def test_during_a_secret_rotation_a_notification_signed_with_the_previous_secret_is_accepted(
    client, sched_org, cronofy_settings
):
    with tenant_scope(sched_org):
        cronofy_settings.client_secret = "CRN_rotated_secret"
        cronofy_settings.previous_client_secret = cy.DEFAULT_CLIENT_SECRET
        cronofy_settings.save()
        token = preferences_for(organization=sched_org).endpoint_token
    body = notification_body("chn_any", kind="verification")

    old = client.post(
        f"/webhooks/cronofy/{token}/",
        body,
        content_type="application/json",
        HTTP_CRONOFY_HMAC_SHA256=signed(body, cy.DEFAULT_CLIENT_SECRET),
    )
    new = client.post(
        f"/webhooks/cronofy/{token}/",
        body,
        content_type="application/json",
        HTTP_CRONOFY_HMAC_SHA256=signed(body, "CRN_rotated_secret"),
    )
    stale = client.post(
        f"/webhooks/cronofy/{token}/",
        body,
        content_type="application/json",
        HTTP_CRONOFY_HMAC_SHA256=signed(body, "CRN_retired_long_ago"),
    )

    assert (old.status_code, new.status_code, stale.status_code) == (200, 200, 403)


@pytest.mark.django_db(transaction=True)
def test_an_interviewer_deleting_the_interview_in_their_calendar_cancels_it_and_tells_the_candidate(
    live_server,
    settings,
    celery_eager,
    sched_org,
    scheduling_template,
    interviewers,
    candidate,
    connect,
    sandbox,
    outbox,
):
    settings.PUBLIC_BASE_URL = live_server.url
    morgan, sam = interviewers
    morgan_connection = connect(morgan, ANA)
    connect(sam, BEN)
    with tenant_scope(sched_org):
        channel = connections.connection_ensure_channel(
            morgan_connection, callback_url=calendars.push_callback_url(sched_org)
        )
    booking = book(sched_org, scheduling_template, candidate, interviewers, in_three_days(10))
    with tenant_scope(sched_org):
        assert calendars.booking_events_push(organization=sched_org, booking=booking) == []
    assert sandbox.cronofy.wait_idle(5)
    (verification,) = sandbox.cronofy.deliveries
    assert verification["status"] == "delivered", verification
    time.sleep(1.1)  # changes_since has whole seconds

    deleted = requests.post(
        f"{sandbox.url}/cronofy/_sandbox/api/users/{ANA}/events/delete",
        json={"event_id": booking.event_id},
        timeout=5,
    )
    assert deleted.status_code == 200
    # The notification is answered once the change has been read and applied (tasks run
    # where they are queued here).
    deadline = time.monotonic() + 15
    while len(sandbox.cronofy.deliveries) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox.cronofy.wait_idle(15)
    with tenant_scope(sched_org):
        booking.refresh_from_db()

    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancelled_by == CancelledBy.INTERVIEWER
    assert booking.cancelled_by_user == morgan  # the Schedule says "in Morgan Lee's calendar"
    assert booking.cancel_reason == "Morgan Lee deleted the interview from their calendar"
    change = sandbox.cronofy.deliveries[-1]
    assert (change["type"], change["channel_id"]) == ("change", channel.channel_id)
    assert change["status"] == "delivered", change
    subjects = [m.subject for m in outbox(candidate) if m.channel == "email"]
    assert subjects == ["Cancelled: Onsite interview · Sales Rep"]
    assert any(m.channel == "sms" and "is cancelled" in m.body for m in outbox(candidate))
    # The interview left Sam's calendar too.
    assert not [e for e in live_events(sandbox, BEN) if e["event_id"] == booking.event_id]
    with tenant_scope(sched_org):
        timeline = booking.candidate.events.filter(kind="booking_cancelled").get()
        stored = WebhookDelivery.objects.get(kind="change")
    assert timeline.summary.startswith("Morgan Lee removed Onsite interview")
    assert "from their calendar" in timeline.summary
    assert (stored.provider, stored.state) == ("cronofy", "processed")


# --------------------------------------------------------------------------------------------
# The one webhook intake: a notification is stored once, applied by the intake's task
# --------------------------------------------------------------------------------------------


def _post_notification(client, sched_org, body):
    with tenant_scope(sched_org):
        token = preferences_for(organization=sched_org).endpoint_token
    return client.post(
        f"/webhooks/cronofy/{token}/",
        body,
        content_type="application/json",
        HTTP_CRONOFY_HMAC_SHA256=signed(body, cy.DEFAULT_CLIENT_SECRET),
    )


@pytest.mark.django_db
def test_a_cronofy_notification_is_stored_once_and_a_redelivery_stores_nothing(
    client, sched_org, cronofy_settings, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[tuple] = []
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply, "delay", lambda *args: queued.append(args)
    )
    body = notification_body("chn_nobody")

    with django_capture_on_commit_callbacks(execute=True):
        first = _post_notification(client, sched_org, body)
    with django_capture_on_commit_callbacks(execute=True):
        again = _post_notification(client, sched_org, body)  # Cronofy delivers it twice

    assert (first.status_code, again.status_code) == (200, 200)
    with tenant_scope(sched_org):
        (stored,) = WebhookDelivery.objects.all()
    assert (stored.provider, stored.kind, stored.state) == ("cronofy", "change", "received")
    assert stored.event_id == "chn_nobody:change:2020-01-01T00:00:00+00:00"
    assert queued == [(sched_org.pk, stored.pk)]  # applied once, by the intake's task

    intake_tasks.webhook_delivery_apply(*queued[0])
    stored.refresh_from_db()
    assert stored.state == "ignored"
    assert stored.error == "No calendar connection has the channel chn_nobody."


@pytest.mark.django_db
def test_a_verification_is_kept_as_ignored_and_a_disconnected_profile_needs_attention(
    client, sched_org, interviewers, connect, monkeypatch, django_capture_on_commit_callbacks
):
    task = intake_tasks.webhook_delivery_apply
    monkeypatch.setattr(task, "delay", lambda *args: task(*args))
    connection = connect(interviewers[0], ANA)
    with tenant_scope(sched_org):
        CalendarConnection.objects.filter(pk=connection.pk).update(channel_id="chn_morgan")

    with django_capture_on_commit_callbacks(execute=True):
        verification = _post_notification(
            client, sched_org, notification_body("chn_morgan", kind="verification")
        )
        disconnected = _post_notification(
            client, sched_org, notification_body("chn_morgan", kind="profile_disconnected")
        )

    assert (verification.status_code, disconnected.status_code) == (200, 200)
    with tenant_scope(sched_org):
        rows = dict(WebhookDelivery.objects.values_list("kind", "state"))
        connection.refresh_from_db()
    assert rows == {"verification": "ignored", "profile_disconnected": "processed"}
    assert connection.status == CalendarConnectionStatus.ERROR
    assert "Connect the calendar again" in connection.last_error
