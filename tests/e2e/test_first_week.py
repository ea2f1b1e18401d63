"""Issue 17's "Done when" as one flow in Chromium on a fresh database, as a new organization
(not the demo): sign up, Use the sandbox, publish the onsite starter, move a candidate on the
organization's own sandbox Greenhouse screen and see the run within seconds; connect the sandbox
calendar from My calendar; copy the phone-screen starter (it brings the "Phone screen"
scheduling template); send that candidate a one-off scheduling request from their page, copy
the link, book it on a phone through the date picker and the confirm step, and see the booking
on the candidate's timeline in the recruiter's session."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from recruitflow.tenancy import scopes_disabled
from scheduling.models import Booking
from tests.e2e.new_org_steps import (  # noqa: F401 (sandbox: the fixture)
    move_to_onsite,
    publish_onsite_starter,
    sandbox,
    sign_up,
    use_sandbox,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
ORG = "Harbor Talent"


def _connect_calendar(page) -> None:
    page.locator("nav.sidebar").get_by_role("link", name="Schedule").click()
    page.locator(".page-head").get_by_role("link", name="My calendar").click()
    page.get_by_role("button", name="Connect calendar").click()
    page.get_by_label("ana.interviewer@sandbox.test", exact=False).check()
    page.get_by_role("button", name="Allow").click()
    expect(page.locator("[data-connection-status]")).to_have_text("Connected")


def _copy_phone_screen_starter(page) -> None:
    page.locator(".sidebar").get_by_role("link", name="Journeys").click()
    page.get_by_role("link", name="Start from a template").click()
    card = page.locator("#starter-phone-screen-scheduling")
    card.get_by_role("button", name="Use “Phone-screen scheduling”").click()
    expect(page).to_have_url(re.compile(r"/journeys/\d+/$"))


def _send_scheduling_link(page, name: str) -> str:
    page.locator("nav.sidebar").get_by_role("link", name="Candidates").click()
    page.get_by_role("link", name=name).first.click()
    scheduling = page.locator("#send-scheduling-request")
    scheduling.get_by_label("Scheduling template").select_option(label="Phone screen")
    page.once("dialog", lambda dialog: dialog.accept())
    scheduling.get_by_role("button", name="Send request").click()
    link = page.locator("#send-scheduling-request code").first
    expect(link).to_have_text(re.compile(r"^http://.+/s/[^/]+/$"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    scheduling.get_by_role("button", name="Copy").first.click()
    expect(scheduling.get_by_role("button", name="Copied")).to_be_visible()
    return page.evaluate("navigator.clipboard.readText()").strip()


def _book_on_a_phone(browser, link: str) -> str:
    """Book the first free time on a phone; the confirm step's day, time and zone."""
    context = browser.new_context(**PHONE)
    phone = context.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    phone.goto(link)
    day = phone.get_by_role("button", name=re.compile(r", \d+ free times?$")).first
    day_name = (day.get_attribute("aria-label") or day.text_content() or "").split(",")[0]
    day.click()
    slot = phone.locator("#booking-picker").get_by_role("button", name=re.compile(r" at .+\(.+\)$"))
    when = re.match(r"(.+) at (.+) \((.+)\)$", slot.first.get_attribute("aria-label") or "")
    slot.first.click()
    confirm = phone.locator("#booking-confirm")
    expect(confirm.get_by_role("heading", name="Confirm your interview")).to_be_visible()
    said = [
        (confirm.locator(f".booking-confirm-{part}").text_content() or "").strip()
        for part in ("day", "time", "zone")
    ]
    # The confirm step repeats the day and the time chosen, and the zone they are in.
    assert when and day_name, (when, day_name)
    assert said[0].startswith(day_name.strip()) and said[1].startswith(when.group(2)), said
    assert said[2], said
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    confirm.get_by_role("button", name="Confirm booking").click()
    expect(phone.locator(".booking-alert.ok")).to_contain_text("You're booked.")
    context.close()
    assert errors == [], errors
    return " ".join(said)


def test_a_new_organizations_first_week_from_signup_to_a_booked_interview(
    live_server,
    page,
    browser,
    sandbox,  # noqa: F811 (the fixture imported above)
    csp_violations,
):
    sign_up(page, live_server.url, email="nia@harbor.test", first_name="Nia", organization=ORG)
    organization, screen_url = use_sandbox(page, sandbox.url, ORG)
    publish_onsite_starter(page)
    page.get_by_role("link", name=re.compile("^Runs")).click()
    name, moved_at = move_to_onsite(page, screen_url, ORG)
    expect(page.locator("[data-run]", has_text=name)).to_be_visible(timeout=15000)
    assert time.monotonic() - moved_at < 15

    _connect_calendar(page)
    _copy_phone_screen_starter(page)
    link = _send_scheduling_link(page, name)
    confirmed = _book_on_a_phone(browser, link)

    # The recruiter's session: the booking is on the candidate's timeline.
    page.reload()
    expect(page.locator("#timeline, .timeline").first).to_contain_text("Booked Phone screen")
    with scopes_disabled():
        booking = Booking.objects.get(organization=organization)
    assert booking.candidate.full_name == name and confirmed
    assert csp_violations == []
