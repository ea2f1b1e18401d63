"""Issue 17 end to end, in Chromium on a fresh database: a new organization signs up, clicks
"Use the sandbox" (its own sandbox Greenhouse company, connected and synced, webhook on),
copies the "Onsite interview invitation" starter from the gallery and publishes it, opens its
own sandbox Greenhouse screen, moves a candidate into the onsite stage there, and sees the run
on the journey's Runs page within seconds — with no "Sync now" and no waiting for the poll."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from candidates.models import SyncRun
from integrations.greenhouse.models import GreenhouseConnection
from journeys.models import Journey, JourneyRun
from recruitflow.sandbox_org import sandbox_company_key
from recruitflow.tenancy import scopes_disabled
from tests.e2e.new_org_steps import (  # noqa: F401 (sandbox: the fixture)
    move_to_onsite,
    publish_onsite_starter,
    sandbox,
    sign_up,
    use_sandbox,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_new_organization_starts_a_journey_from_its_own_sandbox_in_seconds(
    live_server,
    page,
    sandbox,  # noqa: F811 (the fixture imported above)
    csp_violations,
):
    base = live_server.url
    sign_up(page, base, email="nia@harbor.test", first_name="Nia", organization="Harbor Talent")

    # "Use the sandbox" on the dashboard's checklist: the organization's own company.
    organization, screen_url = use_sandbox(page, sandbox.url, "Harbor Talent")
    with scopes_disabled():
        connection = GreenhouseConnection.objects.get(organization=organization)
        assert SyncRun.objects.get(organization=organization).status == "succeeded"
    assert connection.client_id == f"sandbox-client-{sandbox_company_key(organization)}"

    # The starter gallery: "Onsite interview invitation" uses the synced onsite stage; publish.
    publish_onsite_starter(page)
    with scopes_disabled():
        journey = Journey.objects.get(organization=organization)
    assert journey.is_active

    # The journey's Runs page, open while the candidate moves.
    page.get_by_role("link", name=re.compile("^Runs")).click()
    expect(page).to_have_url(re.compile(rf"/journeys/{journey.pk}/runs/"))

    # The organization's own sandbox Greenhouse screen, in another tab: move a candidate.
    name, moved_at = move_to_onsite(page, screen_url, "Harbor Talent")

    # Back on the Runs page, the run shows up by itself within seconds.
    expect(page.locator("[data-run]", has_text=name)).to_be_visible(timeout=15000)
    seconds = time.monotonic() - moved_at
    with scopes_disabled():
        run = JourneyRun.objects.get(journey=journey)
    assert run.candidate.full_name == name
    assert seconds < 15
    assert csp_violations == []
