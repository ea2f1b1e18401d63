"""The Schedule's week view and Settings → Messaging's tabs in a real browser: a recruiter opens
Schedule, switches to the week view, goes to next week and sees an interview in its slot and a
cancelled one beside it, struck through, saying the candidate cancelled it; then opens Settings →
Messaging, moves to the Quiet hours tab, saves, and is still on that tab."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from candidates.models import Candidate
from recruitflow.tenancy import tenant_scope
from scheduling import services
from scheduling.models import CancelledBy, SchedulingTemplate
from scheduling.week import monday_of
from tests.e2e.steps import sign_in
from tests.factories import make_org_with_owner
from tests.scheduling.helpers import booked

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def next_week():
    """Northwind (Europe/London) with two interviews next Tuesday: Grace at 10:00 and Alan at
    10:30, which Alan cancelled."""
    organization, user, _ = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    organization.time_zone = "Europe/London"
    organization.save(update_fields=["time_zone"])
    tuesday = monday_of(datetime.now(LONDON).date()) + timedelta(days=8)
    with tenant_scope(organization):
        template = SchedulingTemplate.objects.create(
            organization=organization, name="Onsite loop", event_title="Onsite interview"
        )
        grace, alan = (
            Candidate.objects.create(
                organization=organization,
                provider="greenhouse",
                external_id=f"c-{first}",
                first_name=first,
                last_name=last,
                primary_email=f"{first.lower()}@example.com",
            )
            for first, last in (("Grace", "Hopper"), ("Alan", "Turing"))
        )
    kept = booked(
        organization,
        template,
        grace,
        [user],
        datetime.combine(tuesday, time(10, 0), tzinfo=LONDON),
        title="Onsite interview",
    )
    dropped = booked(
        organization,
        template,
        alan,
        [user],
        datetime.combine(tuesday, time(10, 30), tzinfo=LONDON),
        title="Onsite interview",
    )
    with tenant_scope(organization):
        services.booking_cancel(
            organization=organization, booking=dropped, by=CancelledBy.CANDIDATE
        )
    return {"tuesday": tuesday, "kept": kept, "dropped": dropped}


def test_week_view_shows_an_interview_in_its_slot_and_a_cancelled_one_struck_through(
    live_server, page, next_week
):
    sign_in(page, live_server.url, "rita@northwind.test", "Rita")
    page.get_by_role("link", name="Schedule", exact=True).first.click()
    page.get_by_role("navigation", name="How interviews are shown").get_by_role(
        "link", name="Week"
    ).click()
    expect(page).to_have_url(re.compile(r"/schedule/\?view=week"))
    page.get_by_role("link", name="Next week →").click()

    tuesday = next_week["tuesday"].isoformat()
    expect(page).to_have_url(
        re.compile(rf"view=week&week={(next_week['tuesday'] - timedelta(days=1)).isoformat()}")
    )
    expect(page.locator("#week-zone")).to_contain_text("Times in Europe/London")
    kept = page.locator(f'td[data-booking="{next_week["kept"].pk}"]')
    expect(kept).to_have_attribute("data-day", tuesday)
    expect(kept).to_have_attribute("data-start", "10:00")
    expect(kept).to_contain_text("10:00–10:45")
    expect(kept).to_contain_text("Grace Hopper")
    dropped = page.locator(f'td[data-booking="{next_week["dropped"].pk}"]')
    expect(dropped).to_have_attribute("data-day", tuesday)
    expect(dropped).to_contain_text("Alan Turing")
    expect(dropped).to_contain_text("Cancelled by the candidate")
    struck = dropped.locator("s")
    assert "line-through" in struck.evaluate("el => getComputedStyle(el).textDecorationLine")
    # Side by side: Tuesday's heading spans two lanes, and the two cells do not overlap.
    expect(page.locator(f'th[data-day="{tuesday}"]')).to_have_attribute("colspan", "2")
    first, second = kept.bounding_box(), dropped.bounding_box()
    assert (
        first["x"] + first["width"] <= second["x"] + 1
        or second["x"] + second["width"] <= first["x"] + 1
    )

    page.get_by_role("link", name="Today").click()
    expect(page.locator("#week .card-head h2")).not_to_contain_text(
        next_week["tuesday"].strftime("%-d %b")
    )


def test_messaging_settings_quiet_hours_tab_saves_and_stays_open(live_server, page, next_week):
    sign_in(page, live_server.url, "rita@northwind.test", "Rita")
    page.get_by_role("link", name="Settings", exact=True).first.click()
    page.get_by_role("navigation", name="Settings", exact=True).get_by_role(
        "link", name="Messaging"
    ).click()
    tabs = page.get_by_role("navigation", name="Messaging settings", exact=True)
    tabs.get_by_role("link", name="Texting provider").click()
    expect(page).to_have_url(re.compile(r"tab=texting"))
    expect(page.locator("#texting")).to_be_visible()
    expect(page.locator("#quiet-hours")).to_have_count(0)

    tabs.get_by_role("link", name="Quiet hours").click()
    expect(tabs.get_by_role("link", name="Quiet hours")).to_have_attribute("aria-current", "page")
    page.fill("#quiet_sms_window_start", "09:30")
    page.get_by_role("button", name="Save quiet hours").click()

    expect(page.get_by_text("Quiet hours saved.")).to_be_visible()
    expect(tabs.get_by_role("link", name="Quiet hours")).to_have_attribute("aria-current", "page")
    expect(page.locator("#quiet-hours")).to_contain_text("texts go out 09:30–21:00")
    expect(page.locator("#texting")).to_have_count(0)
