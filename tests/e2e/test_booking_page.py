"""The candidate's booking page on a phone (375×667), in a real browser: the zone the device
reports comes first in a list of current zone names, a month grid offers the days with free
times, the chosen day's times follow, and a confirm step repeats day, time and zone before
anything is booked. Without script the same steps work through page loads.

The clock is Monday 2 March 2026 09:00 in London; the template offers Mon–Fri 09:00–17:00
Europe/London, 45 minutes every 30, with 24 hours' notice (tests/scheduling/conftest.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from recruitflow.tenancy import tenant_scope
from scheduling.models import Booking

# The scheduling tests' fixtures (organization, interviewers, template, requests, the frozen
# Monday clock); their delivery_queued is autouse here too, so nothing is sent.
from tests.scheduling.conftest import *  # noqa: F403

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 667}
OBSOLETE = {"US/Pacific", "US/Eastern", "Asia/Calcutta", "Europe/Kiev", "GMT", "UTC0"}


@pytest.fixture
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": PHONE,
        "timezone_id": "America/New_York",
        "locale": "en-US",
    }


@pytest.fixture
def link(live_server, monday_morning, make_request):
    return live_server.url + reverse("booking:page", args=[make_request(send=False).token])


def _zone_values(page) -> list[str]:
    return page.locator("#tz option").evaluate_all("options => options.map(o => o.value)")


def test_a_candidate_on_a_phone_picks_a_day_a_time_confirms_and_is_booked(page, link, sched_org):
    page.goto(link)

    # The device's zone and clock are read once (New York, 12-hour in en-US).
    expect(page.locator(".booking-zone-current")).to_have_text(
        "Times shown in New York, United States (UTC-05:00)"
    )
    assert "tz=America%2FNew_York" in page.url and "clock=12" in page.url
    first_group = page.locator("#tz optgroup").first
    expect(first_group).to_have_attribute("label", "Detected on this device")
    expect(first_group.locator("option")).to_have_text(["New York, United States (UTC-05:00)"])
    values = _zone_values(page)
    assert values[0] == "America/New_York"
    assert not OBSOLETE & set(values)
    assert not [value for value in values if value.startswith("Etc/")]

    # A month grid: days without times cannot be chosen; nothing fits wider than the phone.
    expect(page.get_by_role("heading", name="March 2026")).to_be_visible()
    expect(page.get_by_role("button", name="Saturday 7 March, no free times")).to_be_disabled()
    expect(page.get_by_role("button", name="Monday 2 March, no free times")).to_be_disabled()
    expect(page.get_by_text("Pick a day above to see its free times.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("button", name=re.compile(r"^Wednesday 4 March, \d+ free times$")).click()
    expect(page.get_by_role("heading", name="Wednesday 4 March")).to_be_visible()
    expect(page.get_by_role("heading", name="Thursday 5 March")).to_be_hidden()
    page.get_by_role("button", name="Wednesday 4 March at 4:00 AM (America/New_York)").click()

    # The confirm step repeats what is about to be booked; nothing is booked yet.
    confirm = page.locator("#booking-confirm")
    expect(confirm.get_by_role("heading", name="Confirm your interview")).to_be_visible()
    expect(confirm.locator(".booking-confirm-day")).to_have_text("Wednesday 4 March 2026")
    expect(confirm.locator(".booking-confirm-time")).to_have_text("4:00 AM–4:45 AM")
    expect(confirm.locator(".booking-confirm-zone")).to_have_text(
        "New York, United States (UTC-05:00)"
    )
    expect(page.locator("#booking-picker")).to_be_hidden()
    with tenant_scope(sched_org):
        assert not Booking.objects.exists()

    # Changing one's mind goes back to the same day's times.
    confirm.get_by_role("link", name="Choose a different time").click()
    expect(page.get_by_role("heading", name="Wednesday 4 March")).to_be_visible()
    page.get_by_role("button", name="Wednesday 4 March at 4:30 AM (America/New_York)").click()
    expect(confirm.locator(".booking-confirm-time")).to_have_text("4:30 AM–5:15 AM")

    confirm.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".booking-alert.ok")).to_contain_text("You're booked.")
    expect(page.locator(".booking-when")).to_have_text(
        "Wednesday 4 March 2026, 4:30 AM–5:15 AM (America/New_York)"
    )
    with tenant_scope(sched_org):
        booking = Booking.objects.get()
    assert booking.start == datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    assert booking.candidate_time_zone == "America/New_York"


@pytest.mark.browser_context_args(timezone_id="Asia/Calcutta", locale="en-GB")
def test_a_device_reporting_an_obsolete_zone_name_gets_its_current_one_first(page, link):
    page.goto(link)

    expect(page.locator(".booking-zone-current")).to_have_text(
        "Times shown in Kolkata, India (UTC+05:30)"
    )
    assert _zone_values(page)[0] == "Asia/Kolkata"
    expect(page.locator("#tz")).to_have_value("Asia/Kolkata")
    page.get_by_role("button", name=re.compile(r"^Wednesday 4 March, \d+ free times$")).click()
    # en-GB reads a 24-hour clock: 09:00 London is 14:30 in Kolkata.
    expect(
        page.get_by_role("button", name="Wednesday 4 March at 14:30 (Asia/Kolkata)")
    ).to_be_visible()


@pytest.mark.browser_context_args(java_script_enabled=False)
def test_without_script_the_day_time_and_confirm_steps_are_page_loads(page, link, sched_org):
    page.goto(link)

    # No script: times in the candidate's known zone (the template's) on the organization's
    # clock (London: 24-hour).
    expect(page.locator(".booking-zone-current")).to_have_text(
        "Times shown in London, United Kingdom (UTC+00:00)"
    )
    page.get_by_role("button", name=re.compile(r"^Wednesday 4 March, \d+ free times$")).click()
    assert "day=2026-03-04" in page.url
    page.get_by_role("button", name="Wednesday 4 March at 09:00 (Europe/London)").click()
    confirm = page.locator("#booking-confirm")
    expect(confirm.locator(".booking-confirm-time")).to_have_text("09:00–09:45")
    confirm.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".booking-when")).to_have_text(
        "Wednesday 4 March 2026, 09:00–09:45 (Europe/London)"
    )
