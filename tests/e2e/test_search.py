"""The top bar's search in a real browser: a recruiter types part of a name, sees the best
matches of each kind drop down as they type, picks the candidate with the keyboard and lands on
their page; a phone number typed as people type them finds the same candidate with a click; and
Enter with nothing picked opens the results page, grouped by kind."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from candidates.models import Candidate
from journeys import services as journey_services
from recruitflow.tenancy import tenant_scope
from tests.e2e.steps import sign_in
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def northwind():
    organization, _user, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    with tenant_scope(organization):
        grace = Candidate.objects.create(
            organization=organization,
            provider="greenhouse",
            external_id="c-1",
            first_name="Grace",
            last_name="Hopper",
            primary_email="grace.hopper@navy.test",
            mobile_phone="+14155550100",
        )
        Candidate.objects.create(
            organization=organization,
            provider="greenhouse",
            external_id="c-2",
            first_name="Alan",
            last_name="Turing",
            primary_email="alan@bletchley.test",
        )
        journey_services.journey_create(organization=organization, name="Hopper follow-up")
    return grace


def test_typing_in_the_top_bar_shows_matches_and_the_keyboard_opens_the_candidate(
    live_server, page, northwind
):
    sign_in(page, live_server.url, "rita@northwind.test", "Rita")
    page.wait_for_load_state("load")  # the page's scripts have run
    page.keyboard.press("/")  # the shortcut focuses the search box
    box = page.get_by_role("combobox", name="Search")
    expect(box).to_be_focused()
    box.press_sequentially("hopp", delay=40)

    suggestions = page.get_by_role("listbox", name="Search results")
    expect(suggestions.get_by_role("group", name="Candidates")).to_contain_text("Grace Hopper")
    expect(suggestions.get_by_role("group", name="Journeys")).to_contain_text("Hopper follow-up")
    expect(suggestions).not_to_contain_text("Alan Turing")
    expect(box).to_have_attribute("aria-expanded", "true")

    box.press("ArrowDown")
    first = suggestions.get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(first).to_contain_text("grace.hopper@navy.test")
    box.press("Enter")

    expect(page).to_have_url(re.compile(rf"/candidates/{northwind.pk}/$"))
    expect(page.get_by_role("heading", level=1, name="Grace Hopper")).to_be_visible()


def test_a_phone_number_in_any_format_finds_the_candidate_with_a_click(
    live_server, page, northwind
):
    sign_in(page, live_server.url, "rita@northwind.test", "Rita")
    box = page.get_by_role("combobox", name="Search")
    box.click()
    box.press_sequentially("(415) 555-0100", delay=30)
    option = page.get_by_role("option", name=re.compile("Grace Hopper"))
    expect(option).to_be_visible()
    option.click()
    expect(page).to_have_url(re.compile(rf"/candidates/{northwind.pk}/$"))


def test_enter_with_nothing_picked_opens_the_results_page_and_escape_closes_the_dropdown(
    live_server, page, northwind
):
    sign_in(page, live_server.url, "rita@northwind.test", "Rita")
    box = page.get_by_role("combobox", name="Search")
    box.click()
    box.press_sequentially("zzqq", delay=30)
    expect(page.locator("[data-search-message]")).to_contain_text(
        "Nothing matches “zzqq”. You can search candidates by name"
    )
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")

    box.fill("hopper")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=hopper$"))
    expect(page.get_by_role("heading", name="Results for “hopper”")).to_be_visible()
    candidates = page.get_by_role("region", name="Candidates")
    expect(candidates.get_by_role("link", name="Grace Hopper")).to_be_visible()
    expect(page.get_by_role("region", name="Journeys")).to_contain_text("Hopper follow-up")
    candidates.get_by_role("link", name="Grace Hopper").click()
    expect(page).to_have_url(re.compile(rf"/candidates/{northwind.pk}/$"))
