"""In a real browser: a member signs out in a second tab; the bell of the first tab stops
polling and takes that page to sign-in (with the way back to it), instead of showing the
sign-in form inside the bell."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (  # noqa: F401 (fixtures)
    browser_errors,
    csp_violations,
    one_request_at_a_time,
)
from tests.e2e.steps import sign_in
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_signing_out_in_another_tab_takes_the_bells_page_to_sign_in(
    live_server,
    page,
    csp_violations,  # noqa: F811
    settings,
    one_request_at_a_time,  # noqa: F811
):
    settings.NOTIFICATIONS_POLL_SECONDS = 1
    make_org_with_owner(name="Northwind Hiring", email="rita@northwind.test", first_name="Rita")
    sign_in(page, live_server.url, "rita@northwind.test", "Rita")
    page.goto(f"{live_server.url}/notifications/")
    expect(page.locator("#notification-bell-count")).to_be_attached()

    other = page.context.new_page()
    other.goto(f"{live_server.url}/")
    other.locator("[data-menu-toggle]").click()
    other.get_by_role("button", name="Sign out").click()
    expect(other).to_have_url(re.compile(r"/accounts/login/|/$"))

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/notifications/$"), timeout=10_000)
    expect(page.locator("input[name=login]")).to_be_visible()
    expect(page.locator("#notification-bell")).to_have_count(0)
    assert not csp_violations
