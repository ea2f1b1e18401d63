"""A new organization signs up, opens the starter gallery from the Journeys page, copies
"Phone-screen scheduling" and lands in the journey builder with the copied step, in a real
browser."""

import re

import pytest
from playwright.sync_api import expect

from journeys.models import Journey, JourneyStep, StepKind
from recruitflow.tenancy import scopes_disabled
from scheduling.models import SchedulingTemplate

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_new_organization_copies_phone_screen_scheduling_from_the_gallery(
    live_server, page, csp_violations
):
    base = live_server.url
    page.goto(f"{base}/accounts/signup/")
    page.fill("input[name=email]", "gia@northwind.test")
    page.fill("input[name=first_name]", "Gia")
    page.fill("input[name=organization_name]", "Northwind Hiring")
    page.fill("input[name=password1]", "Sturdy-passphrase-42")
    page.fill("input[name=password2]", "Sturdy-passphrase-42")
    page.get_by_role("button", name=re.compile("Sign up", re.I)).click()
    expect(page.get_by_role("heading", name="Welcome, Gia")).to_be_visible()

    # The checklist's next step is the ATS; its journey step links the gallery too.
    checklist = page.locator("#setup-checklist")
    expect(checklist.locator("li[aria-current=step]")).to_contain_text("applicant tracking")
    expect(checklist.locator("li[data-item=journey]")).to_contain_text("Start from a template")

    page.locator(".sidebar").get_by_role("link", name="Journeys").click()
    page.get_by_role("link", name="Start from a template").click()
    expect(page.get_by_role("heading", name="Start from a template")).to_be_visible()
    card = page.locator("#starter-phone-screen-scheduling")
    # No stages are synced yet: the card says the trigger will need one.
    expect(card).to_contain_text("No phone screen stage found")
    card.locator("summary").click()
    expect(card).to_contain_text("Pick a time for a call about")
    card.get_by_role("button", name="Use “Phone-screen scheduling”").click()

    expect(page).to_have_url(re.compile(r"/journeys/\d+/$"))
    expect(page.get_by_text("copied as a paused journey")).to_be_visible()
    expect(page.get_by_text("needs a stage")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Phone-screen scheduling")
    expect(page.locator("body")).to_contain_text("Phone screen")

    with scopes_disabled():
        journey = Journey.objects.get(organization__name="Northwind Hiring")
        kinds = list(
            JourneyStep.objects.filter(version=journey.current_version).values_list(
                "kind", flat=True
            )
        )
        assert SchedulingTemplate.objects.filter(
            organization=journey.organization, name="Phone screen"
        ).exists()
    assert journey.is_active is False
    assert kinds == [StepKind.SEND_SCHEDULING_REQUEST]
    assert csp_violations == []
