"""Connecting one's calendar in a real browser: the "Connect calendar" button on My calendar
leads to the (sandbox) Cronofy sign-in page and back, connected. The page's Content-Security-
Policy lets that form go to the organization's Cronofy data center and nowhere else."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from integrations.cronofy.client import sandbox_base_urls
from integrations.cronofy.models import CalendarConnection, CronofySettings
from integrations.sandbox import cronofy as cy
from integrations.sandbox.server import SandboxServer
from recruitflow.tenancy import tenant_scope
from tests.e2e.steps import sign_in
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=2) as server:
        yield server


def test_connect_calendar_button_reaches_cronofy_and_comes_back_connected(
    live_server, page, csp_violations, sandbox, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    organization, user, _ = make_org_with_owner(
        name="Northwind Hiring", email="nora@northwind.test", first_name="Nora"
    )
    api, app = sandbox_base_urls(sandbox.url)
    with tenant_scope(organization):
        CronofySettings.objects.create(
            organization=organization,
            client_id=cy.DEFAULT_CLIENT_ID,
            client_secret=cy.DEFAULT_CLIENT_SECRET,
            api_base_url=api,
            app_base_url=app,
        )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server.url, "nora@northwind.test", "Nora")

    # From the sidebar: Schedule → My calendar, as a member finds it.
    page.locator("nav.sidebar").get_by_role("link", name="Schedule").click()
    page.locator(".page-head").get_by_role("link", name="My calendar").click()
    expect(page.get_by_role("heading", name="My calendar", exact=True)).to_be_visible()
    expect(page.locator("[data-connection-status]")).to_have_text("Built-in calendar")
    page.get_by_role("button", name="Connect calendar").click()

    # Cronofy's authorization page (the sandbox's, on the organization's data center): the
    # person picks their account and allows access.
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    sign_in_origin = "{0.scheme}://{0.netloc}".format(urlsplit(app))
    assert page.url.startswith(sign_in_origin), page.url
    assert urlsplit(page.url).netloc != urlsplit(live_server.url).netloc
    page.get_by_label("ana.interviewer@sandbox.test", exact=False).check()
    page.get_by_role("button", name="Allow").click()

    # Back on My calendar, connected.
    expect(page.locator("ul.messages li.success")).to_contain_text("Connected: ")
    assert page.url.startswith(f"{live_server.url}/schedule/calendar/")
    expect(page.locator("[data-connection-status]")).to_have_text("Connected")
    expect(page.locator("#connected-calendar")).to_contain_text("ana.interviewer@sandbox.test")
    expect(page.get_by_role("button", name="Connect calendar")).to_have_count(0)
    with tenant_scope(organization):
        connection = CalendarConnection.objects.get(user=user)
    assert connection.connected
    assert csp_violations == []
    assert errors == []
    # Only the organization's own data center is added to where the page's forms may lead.
    policy = page.request.get(f"{live_server.url}/schedule/calendar/").headers[
        "content-security-policy"
    ]
    form_action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert form_action.split()[1:] == ["'self'", sign_in_origin]
