"""The login that `make run` prints opens the seeded demo organization."""

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_printed_demo_login_opens_the_demo_organization(live_server, page, csp_violations):
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent: a second run changes nothing
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", settings.DEMO_EMAIL)
    page.fill("input[name=password]", settings.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(".topbar")).to_contain_text("Acme Robotics")
    expect(page.get_by_role("heading", name="Welcome, Dana")).to_be_visible()
    assert csp_violations == []
