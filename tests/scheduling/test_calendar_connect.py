"""My calendar (working hours, busy times, the feed link, connecting Cronofy) and Settings →
Calendars, driven through the pages; Cronofy is the sandbox over HTTP."""

from __future__ import annotations

import json
import re
import urllib.parse
from datetime import UTC, datetime

import pytest
import requests
from django.urls import reverse

from accounts.services import organization_create
from integrations.cronofy.client import sandbox_base_urls
from integrations.cronofy.models import (
    AuthMethod,
    CalendarConnection,
    CalendarConnectionStatus,
    CronofySettings,
)
from integrations.sandbox import cronofy as cy
from integrations.sandbox.server import SandboxServer
from recruitflow.tenancy import tenant_scope
from scheduling import calendar_services, calendars
from scheduling.models import BusyBlock, MemberCalendar

ANA = "ana.interviewer@sandbox.test"
NOWHERE = "http://127.0.0.1:9"
CALENDAR = reverse("scheduling:calendar")
SETTINGS = reverse("calendar_settings:index")


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=5) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(sandbox, settings):
    sandbox.cronofy.reset()
    settings.PUBLIC_BASE_URL = NOWHERE
    settings.SANDBOX_URL = ""
    yield
    sandbox.cronofy.dispatcher.cancel_all()


@pytest.fixture
def org(alice):
    return alice.organization


@pytest.fixture
def cronofy_settings(org, sandbox):
    api, app = sandbox_base_urls(sandbox.url)
    with tenant_scope(org):
        return CronofySettings.objects.create(
            organization=org,
            client_id=cy.DEFAULT_CLIENT_ID,
            client_secret=cy.DEFAULT_CLIENT_SECRET,
            api_base_url=api,
            app_base_url=app,
        )


def authorize(url: str, email: str = ANA, decision: str = "allow") -> str:
    """Do what the person does on Cronofy's page; returns where Cronofy sends them back."""
    page = requests.get(url, timeout=5)
    assert page.status_code == 200, page.text
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    answer = requests.post(
        url.split("?")[0],
        data={**query, "email": email, "decision": decision},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def local_path(url: str) -> str:
    assert url.startswith(NOWHERE), url
    return url[len(NOWHERE) :]


def messages_on(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def start_connect(client):
    response = client.post(reverse("scheduling:cronofy_connect"))
    assert response.status_code == 302
    return response["Location"]


# --------------------------------------------------------------------------------------------
# Connecting a Cronofy calendar
# --------------------------------------------------------------------------------------------


def test_connecting_a_calendar_ends_connected_with_its_name_and_a_push_channel(
    client_for, alice, org, cronofy_settings, sandbox
):
    client = client_for(alice)
    authorize_url = start_connect(client)
    assert authorize_url.startswith(f"{sandbox.url}/cronofy/oauth/authorize?")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url).query))
    assert query["redirect_uri"] == NOWHERE + reverse("scheduling:cronofy_callback")

    back = authorize(authorize_url)
    response = client.get(local_path(back), follow=True)

    text = messages_on(response)
    assert "Connected:" in text and "(Google)" in text
    html = response.content.decode()
    assert 'data-connection-status="connected"' in html
    with tenant_scope(org):
        connection = CalendarConnection.objects.get(user=alice.user)
    assert connection.status == CalendarConnectionStatus.CONNECTED
    assert connection.email == ANA and connection.auth_method == AuthMethod.OAUTH
    assert connection.calendar_name in text
    # Cronofy will tell us when an interviewer changes the calendar.
    assert connection.channel_id and connection.channel_id in sandbox.cronofy.channels


def test_a_denied_authorization_says_nothing_was_connected(
    client_for, alice, org, cronofy_settings
):
    client = client_for(alice)
    back = authorize(start_connect(client), decision="deny")
    assert "error=access_denied" in back

    response = client.get(local_path(back), follow=True)

    assert "You didn't allow RecruitFlow to use your calendar" in messages_on(response)
    assert "Traceback" not in response.content.decode()
    with tenant_scope(org):
        assert not CalendarConnection.objects.filter(user=alice.user).exists()


def test_a_code_used_twice_asks_to_connect_again(client_for, alice, org, cronofy_settings):
    client = client_for(alice)
    back = authorize(start_connect(client))
    client.get(local_path(back))
    # Replaying the same return address (with a fresh state of ours) reuses Cronofy's code.
    start_connect(client)
    state = client.session["scheduling:cronofy_oauth"]["state"]
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))["code"]

    response = client.get(
        reverse("scheduling:cronofy_callback"), {"code": code, "state": state}, follow=True
    )

    text = messages_on(response)
    assert "Your calendar was not connected" in text
    assert "Connect the calendar again" in text


def test_a_wrong_client_secret_is_named(client_for, alice, org, cronofy_settings):
    with tenant_scope(org):
        cronofy_settings.client_secret = "not-the-secret"
        cronofy_settings.save()
    client = client_for(alice)
    back = authorize(start_connect(client))

    response = client.get(local_path(back), follow=True)

    assert "rejected the client ID or client secret" in messages_on(response)
    with tenant_scope(org):
        assert not CalendarConnection.objects.filter(
            user=alice.user, status=CalendarConnectionStatus.CONNECTED
        ).exists()


def test_without_cronofy_settings_connecting_says_an_admin_must_add_them(client_for, bob):
    client = client_for(bob)

    page = client.get(CALENDAR).content.decode()
    response = client.post(reverse("scheduling:cronofy_connect"), follow=True)

    assert "Connecting calendars isn't set up" in page and "Connect calendar<" not in page
    assert "an admin must first add the Cronofy settings in Settings → Calendars" in messages_on(
        response
    )


def test_a_return_that_was_not_started_here_changes_nothing(
    client_for, alice, org, cronofy_settings
):
    client = client_for(alice)
    back = authorize(start_connect(client))
    tampered = re.sub(r"state=[^&]+", "state=forged", back)

    response = client.get(local_path(tampered), follow=True)

    assert "could not be matched" in messages_on(response)
    with tenant_scope(org):
        assert not CalendarConnection.objects.filter(user=alice.user).exists()


def test_disconnecting_withdraws_access_and_the_built_in_calendar_applies(
    client_for, alice, org, cronofy_settings, sandbox
):
    client = client_for(alice)
    client.get(local_path(authorize(start_connect(client))))

    response = client.post(reverse("scheduling:cronofy_disconnect"), follow=True)

    assert "Calendar disconnected" in messages_on(response)
    with tenant_scope(org):
        connection = CalendarConnection.objects.get(user=alice.user)
    assert connection.status == CalendarConnectionStatus.DISCONNECTED
    assert connection.access_token == "" and sandbox.cronofy.channels == {}
    assert 'data-connection-status="builtin"' in response.content.decode()


# --------------------------------------------------------------------------------------------
# Enterprise Connect
# --------------------------------------------------------------------------------------------


def test_an_admin_authorizes_enterprise_connect_and_connects_a_teammate_by_email(
    client_for, alice, bob, org, cronofy_settings, sandbox
):
    client = client_for(alice)
    start = client.post(reverse("calendar_settings:enterprise_start"))
    assert "/enterprise_connect/oauth/authorize?" in start["Location"]
    back = authorize(start["Location"])
    done = client.get(local_path(back), follow=True)
    assert "Enterprise Connect authorized by alice@acme.test" in messages_on(done)

    page = client.get(reverse("scheduling:schedule")).content.decode()
    assert 'id="connect-by-email"' in page
    asked = client.post(
        reverse("scheduling:connect_by_email"),
        {"member": bob.user.pk, "email": ANA},
        follow=True,
    )
    assert f"Asked Cronofy for {ANA}'s calendar" in messages_on(asked)
    delivery = next(
        d for d in sandbox.cronofy.deliveries if d.get("type") == "service_account_authorization"
    )
    with tenant_scope(org):
        result_url = calendars.enterprise_connect_callback_url(org)
    assert delivery["url"] == result_url

    # Cronofy's signed result reaches the public endpoint.
    anonymous = type(client)()
    forged = anonymous.post(
        local_path(result_url),
        data=delivery["body"],
        content_type="application/json",
        headers={"Cronofy-HMAC-SHA256": "Zm9yZ2Vk"},
    )
    with tenant_scope(org):
        assert CalendarConnection.objects.get(user=bob.user).status == "pending"
    genuine = anonymous.post(
        local_path(result_url),
        data=delivery["body"],
        content_type="application/json",
        headers={"Cronofy-HMAC-SHA256": delivery["headers"]["Cronofy-HMAC-SHA256"]},
    )

    assert forged.status_code == 403
    assert genuine.status_code == 200
    with tenant_scope(org):
        connection = CalendarConnection.objects.get(user=bob.user)
    assert connection.status == CalendarConnectionStatus.CONNECTED
    assert connection.auth_method == AuthMethod.ENTERPRISE_CONNECT and connection.email == ANA
    schedule = client.get(reverse("scheduling:schedule")).content.decode()
    bob_row = re.search(rf'<tr id="member-{bob.user.pk}">(.*?)</tr>', schedule, re.S).group(1)
    assert "Connected" in bob_row


def test_connect_by_email_is_for_admins(client_for, bob, alice, org, cronofy_settings):
    response = client_for(bob).post(
        reverse("scheduling:connect_by_email"), {"member": alice.user.pk, "email": ANA}
    )

    assert response.status_code == 403
    with tenant_scope(org):
        assert not CalendarConnection.objects.exists()


# --------------------------------------------------------------------------------------------
# The built-in calendar
# --------------------------------------------------------------------------------------------


def hours_post(**days) -> dict:
    data = {"time_zone": "Europe/London"}
    for day, (start, end) in days.items():
        data[f"d{day}_on"] = "on"
        data[f"d{day}_start"] = start
        data[f"d{day}_end"] = end
    return data


def test_working_hours_are_saved_in_my_zone(client_for, bob, org):
    client = client_for(bob)
    data = hours_post(**{"0": ("08:30", "12:00"), "2": ("10:00", "18:00")})
    data["d0_start2"], data["d0_end2"] = "13:00", "17:30"

    response = client.post(reverse("scheduling:working_hours"), data, follow=True)

    assert "Working hours saved (Europe/London)" in messages_on(response)
    with tenant_scope(org):
        calendar = MemberCalendar.objects.get(user=bob.user)
    assert calendar.time_zone == "Europe/London"
    assert calendar.working_hours == [
        {"weekday": 0, "start": "08:30", "end": "12:00"},
        {"weekday": 0, "start": "13:00", "end": "17:30"},
        {"weekday": 2, "start": "10:00", "end": "18:00"},
    ]
    html = response.content.decode()
    assert 'value="13:00"' in html and "your times in Europe/London" in html


def test_working_hours_that_end_before_they_start_are_refused_and_named(client_for, bob, org):
    client = client_for(bob)
    client.get(CALENDAR)
    with tenant_scope(org):
        before = MemberCalendar.objects.get(user=bob.user).working_hours

    response = client.post(
        reverse("scheduling:working_hours"), hours_post(**{"1": ("17:00", "09:00")})
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Tuesday: the end (09:00) is before the start (17:00)" in html
    assert 'value="17:00"' in html  # what was typed is kept
    with tenant_scope(org):
        assert MemberCalendar.objects.get(user=bob.user).working_hours == before


def test_a_new_calendar_starts_with_weekday_office_hours_in_the_organizations_zone(
    client_for, bob, org
):
    org.time_zone = "Europe/Berlin"
    org.save(update_fields=["time_zone"])

    html = client_for(bob).get(CALENDAR).content.decode()

    with tenant_scope(org):
        calendar = MemberCalendar.objects.get(user=bob.user)
    assert calendar.time_zone == "Europe/Berlin"
    assert [w["weekday"] for w in calendar.working_hours] == [0, 1, 2, 3, 4]
    assert "your times in Europe/Berlin" in html


def test_a_busy_block_is_read_in_my_zone_and_shown_back(client_for, bob, org):
    client = client_for(bob)
    client.post(reverse("scheduling:working_hours"), hours_post(**{"0": ("09:00", "17:00")}))

    response = client.post(
        reverse("scheduling:busy_add"),
        {"title": "Dentist", "start": "2031-07-01T14:00", "end": "2031-07-01T15:30"},
        follow=True,
    )

    assert "added: candidates won't be offered that time with you" in messages_on(response)
    with tenant_scope(org):
        block = BusyBlock.objects.get(user=bob.user)
    # 14:00 in London in July is 13:00 UTC.
    assert block.start == datetime(2031, 7, 1, 13, 0, tzinfo=UTC)
    assert block.end == datetime(2031, 7, 1, 14, 30, tzinfo=UTC)
    html = response.content.decode()
    assert "Tue 1 Jul 2031 14:00 – 15:30 (Europe/London)" in re.sub(r"\s+", " ", html)
    assert "Dentist" in html


def test_a_busy_block_ending_before_it_starts_is_refused_and_named(client_for, bob, org):
    response = client_for(bob).post(
        reverse("scheduling:busy_add"),
        {"title": "Oops", "start": "2031-07-01T15:00", "end": "2031-07-01T14:00"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "The end (Tue 1 Jul 14:00) is before the start (Tue 1 Jul 15:00)" in html
    assert 'value="Oops"' in html
    with tenant_scope(org):
        assert not BusyBlock.objects.exists()


def test_only_my_own_busy_blocks_can_be_removed(client_for, alice, bob, org):
    with tenant_scope(org):
        mine = BusyBlock.objects.create(
            organization=org,
            user=bob.user,
            start=datetime(2031, 7, 1, 13, tzinfo=UTC),
            end=datetime(2031, 7, 1, 14, tzinfo=UTC),
        )
        hers = BusyBlock.objects.create(
            organization=org,
            user=alice.user,
            start=datetime(2031, 7, 1, 13, tzinfo=UTC),
            end=datetime(2031, 7, 1, 14, tzinfo=UTC),
        )
    client = client_for(bob)

    refused = client.post(reverse("scheduling:busy_delete", args=[hers.pk]))
    removed = client.post(reverse("scheduling:busy_delete", args=[mine.pk]))

    assert refused.status_code == 404 and removed.status_code == 302
    with tenant_scope(org):
        assert list(BusyBlock.objects.values_list("pk", flat=True)) == [hers.pk]


def test_resetting_the_feed_link_makes_a_new_address_and_the_old_one_stops(
    client_for, bob, org, settings
):
    settings.PUBLIC_BASE_URL = "https://app.recruitflow.test"
    client = client_for(bob)
    client.get(CALENDAR)
    with tenant_scope(org):
        old_url = calendar_services.feed_url(MemberCalendar.objects.get(user=bob.user))

    response = client.post(reverse("scheduling:feed_reset"), follow=True)

    with tenant_scope(org):
        new_url = calendar_services.feed_url(MemberCalendar.objects.get(user=bob.user))
    html = response.content.decode()
    assert new_url != old_url and new_url.endswith(".ics")
    assert new_url.startswith("https://app.recruitflow.test/calendar/")
    assert new_url in html and old_url not in html
    assert "The old link stops working now" in messages_on(response)
    feed = type(client)().get(new_url.removeprefix(settings.PUBLIC_BASE_URL))
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    assert type(client)().get(old_url.removeprefix(settings.PUBLIC_BASE_URL)).status_code == 404


# --------------------------------------------------------------------------------------------
# Settings → Calendars
# --------------------------------------------------------------------------------------------


def test_saved_secrets_are_kept_and_never_shown(client_for, alice, org, sandbox):
    api, app = sandbox_base_urls(sandbox.url)
    client = client_for(alice)
    first = client.post(
        reverse("calendar_settings:save"),
        {
            "client_id": cy.DEFAULT_CLIENT_ID,
            "client_secret": cy.DEFAULT_CLIENT_SECRET,
            "previous_client_secret": "CRN_old_secret_9876",
            "data_center": "us",
            "api_base_url": api,
            "app_base_url": app,
        },
        follow=True,
    )
    assert "Cronofy accepted the client ID and client secret" in messages_on(first)

    again = client.post(
        reverse("calendar_settings:save"),
        {
            "client_id": cy.DEFAULT_CLIENT_ID,
            "client_secret": "",
            "previous_client_secret": "",
            "data_center": "us",
            "api_base_url": api,
            "app_base_url": app,
        },
        follow=True,
    )

    with tenant_scope(org):
        row = CronofySettings.objects.get()
    assert row.client_secret == cy.DEFAULT_CLIENT_SECRET
    assert row.previous_client_secret == "CRN_old_secret_9876"
    html = again.content.decode()
    assert cy.DEFAULT_CLIENT_SECRET not in html and "CRN_old_secret_9876" not in html
    assert "Saved (" in html and "9876" in html
    assert "In progress: notifications signed with the previous secret are accepted" in html

    done = client.post(
        reverse("calendar_settings:save"),
        {
            "client_id": cy.DEFAULT_CLIENT_ID,
            "data_center": "us",
            "api_base_url": api,
            "app_base_url": app,
            "clear_previous_secret": "on",
        },
    )
    assert done.status_code == 302
    with tenant_scope(org):
        assert CronofySettings.objects.get().previous_client_secret == ""


def test_a_wrong_secret_is_reported_when_the_settings_are_saved(client_for, alice, sandbox):
    api, app = sandbox_base_urls(sandbox.url)

    response = client_for(alice).post(
        reverse("calendar_settings:save"),
        {
            "client_id": cy.DEFAULT_CLIENT_ID,
            "client_secret": "wrong",
            "data_center": "us",
            "api_base_url": api,
            "app_base_url": app,
        },
        follow=True,
    )

    assert "saved, but they don't work" in messages_on(response)
    assert "rejected the client ID or client secret" in messages_on(response)


def test_the_first_save_needs_a_client_secret(client_for, alice, org):
    response = client_for(alice).post(
        reverse("calendar_settings:save"), {"client_id": "abc", "data_center": "us"}
    )

    assert response.status_code == 400
    assert "Paste the client secret from the Cronofy dashboard." in response.content.decode()
    with tenant_scope(org):
        assert not CronofySettings.objects.exists()


def test_the_sandbox_shortcut_fills_the_sandbox_cronofy(client_for, alice, settings):
    settings.SANDBOX_URL = "http://127.0.0.1:8100"

    html = client_for(alice).get(SETTINGS).content.decode()

    match = re.search(r'data-fill="([^"]+)"', html)
    assert "Use the sandbox Cronofy" in html and match
    fill = json.loads(match.group(1).replace("&quot;", '"'))
    assert fill["client_id"] == "sandbox-cronofy-client"
    assert fill["client_secret"] == "CRN_sandbox_cronofy_secret"
    assert fill["api_base_url"] == fill["app_base_url"] == "http://127.0.0.1:8100/cronofy"


def test_a_sub_account_uses_its_parents_settings_and_says_so(
    client_for, alice, org, cronofy_settings
):
    child = organization_create(name="Acme EMEA", owner=alice.user, parent=org)
    client = client_for(alice)
    session = client.session
    session["organization_id"] = child.pk
    session.save()

    html = client.get(SETTINGS).content.decode()

    assert "Using <strong>Acme Talent</strong>'s Cronofy settings" in html
    assert cy.DEFAULT_CLIENT_SECRET not in html


def test_calendar_settings_are_for_admins(client_for, bob):
    assert client_for(bob).get(SETTINGS).status_code == 403
