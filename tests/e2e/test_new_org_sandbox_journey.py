"""Issue 17 end to end, in Chromium on a fresh database: a new organization signs up, clicks
"Use the sandbox" (its own sandbox Greenhouse company, connected and synced, webhook on),
copies the "Onsite interview invitation" starter from the gallery and makes it live, opens its
own sandbox Greenhouse screen, moves a candidate into the onsite stage there, and sees the run
on the journey's Runs page within seconds — with no "Sync now" and no waiting for the poll."""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import Organization
from candidates.models import SyncRun
from integrations.greenhouse.models import GreenhouseConnection
from integrations.sandbox.server import SandboxServer
from journeys.models import Journey, JourneyRun
from recruitflow.sandbox_org import sandbox_company_key
from recruitflow.tenancy import scopes_disabled

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ONSITE = "Onsite Interview"


@pytest.fixture
def sandbox(settings, live_server, celery_in_process):
    """The sandbox `make run` starts, reachable from the app and calling it back."""
    with SandboxServer(port=0, n_candidates=30, webhook_retry_scale=0.001) as server:
        settings.SANDBOX_URL = server.url
        settings.SANDBOX_SHORTCUTS = True
        settings.PUBLIC_BASE_URL = live_server.url
        yield server


def _sign_up(page, base: str) -> None:
    page.goto(f"{base}/accounts/signup/")
    page.fill("input[name=email]", "nia@harbor.test")
    page.fill("input[name=first_name]", "Nia")
    page.fill("input[name=organization_name]", "Harbor Talent")
    page.fill("input[name=password1]", "Sturdy-passphrase-42")
    page.fill("input[name=password2]", "Sturdy-passphrase-42")
    page.get_by_role("button", name=re.compile("Sign up", re.I)).click()
    expect(page.get_by_role("heading", name="Welcome, Nia")).to_be_visible()


def _candidate_to_move(company_api: str) -> tuple[str, str]:
    """A candidate with an active application on a job that has an onsite stage they are not
    in yet: (their name, the job's name)."""
    listed = requests.get(
        f"{company_api}/candidates", params={"status": "active", "per_page": 500}, timeout=5
    ).json()["items"]
    jobs = {job["id"]: job for job in requests.get(f"{company_api}/jobs", timeout=5).json()}
    for candidate in listed:
        if len(candidate["applications"]) != 1:
            continue  # one row on the screen
        app = candidate["applications"][0]
        stages = [s["name"] for s in jobs[app["job_id"]]["stages"]]
        if app["status"] == "active" and ONSITE in stages and app["stage_name"] != ONSITE:
            return candidate["name"], app["job_name"]
    raise AssertionError("The sandbox company has no candidate to move into the onsite stage.")


def test_a_new_organization_starts_a_journey_from_its_own_sandbox_in_seconds(
    live_server, page, sandbox, csp_violations
):
    base = live_server.url
    _sign_up(page, base)

    # "Use the sandbox" on the dashboard's checklist: the organization's own company.
    page.locator("#setup-checklist").get_by_role("button", name="Use the sandbox").click()
    flash = page.locator(".messages")
    expect(flash).to_contain_text("The sandbox is set up")
    expect(flash).to_contain_text("webhook on")
    screen_link = flash.get_by_role("link", name=re.compile("Open your sandbox Greenhouse"))
    screen_url = screen_link.get_attribute("href")
    with scopes_disabled():
        organization = Organization.objects.get(name="Harbor Talent")
        connection = GreenhouseConnection.objects.get(organization=organization)
        assert SyncRun.objects.get(organization=organization).status == "succeeded"
    key = sandbox_company_key(organization)
    assert screen_url == f"{sandbox.url}/greenhouse/companies/{key}/_sandbox/"
    assert connection.client_id == f"sandbox-client-{key}"

    # The starter gallery: "Onsite interview invitation" uses the synced onsite stage.
    page.locator(".sidebar").get_by_role("link", name="Journeys").click()
    page.get_by_role("link", name="Start from a template").click()
    card = page.locator("#starter-onsite-invitation")
    expect(card).to_contain_text(f"Uses your stage “{ONSITE}”")
    card.get_by_role("button", name="Use “Onsite interview invitation”").click()
    expect(page).to_have_url(re.compile(r"/journeys/\d+/$"))
    expect(page.get_by_text("copied as a paused journey")).to_be_visible()

    # Make it live.
    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".messages")).to_contain_text("is active")
    with scopes_disabled():
        journey = Journey.objects.get(organization=organization)
    assert journey.is_active

    # The journey's Runs page, open while the candidate moves.
    page.get_by_role("link", name=re.compile("^Runs")).click()
    expect(page).to_have_url(re.compile(rf"/journeys/{journey.pk}/runs/"))

    # The organization's own sandbox Greenhouse screen, in another tab: move a candidate.
    name, job = _candidate_to_move(f"{sandbox.url}/greenhouse/companies/{key}/_sandbox/api")
    screen = page.context.new_page()
    screen.goto(screen_url)
    expect(screen.locator("h1")).to_contain_text("Harbor Talent")
    screen.fill("input[name=q]", name)
    screen.get_by_role("button", name="Search").click()
    row = screen.locator("tr", has_text=name).filter(has_text=job)
    row.locator("select[name=stage_id]").select_option(label=ONSITE)
    moved_at = time.monotonic()
    row.get_by_role("button", name="Move").click()
    expect(screen.locator("tr", has_text=name).filter(has_text=job)).to_contain_text(ONSITE)

    # Back on the Runs page, the run shows up by itself within seconds.
    page.bring_to_front()
    expect(page.locator("[data-run]", has_text=name)).to_be_visible(timeout=15000)
    seconds = time.monotonic() - moved_at
    with scopes_disabled():
        run = JourneyRun.objects.get(journey=journey)
    assert run.candidate.full_name == name
    assert seconds < 15
    assert csp_violations == []
