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
from tests.e2e.test_library import sign_in
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
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/schedule/calendar/")
    page.get_by_role("button", name="Connect calendar").click()
    # Cronofy's page: the person picks their account and allows access.
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    page.get_by_label("ana.interviewer@sandbox.test", exact=False).check()
    page.get_by_role("button", name="Allow").click()

    expect(page.locator(".messages, .alert, [role=status]").first).to_contain_text("Connected")
    assert page.url.startswith(f"{live_server.url}/schedule/calendar/")
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
    sign_in_origin = "{0.scheme}://{0.netloc}".format(urlsplit(app))
    assert form_action.split()[1:] == ["'self'", sign_in_origin]
