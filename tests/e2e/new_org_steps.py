"""Steps a new organization takes in the browser in its first days, shared by the issue-17
flows: sign up, "Use the sandbox", copy a starter from the gallery and publish it, and move a
candidate on the organization's own sandbox Greenhouse screen."""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import Organization
from integrations.sandbox.server import SandboxServer
from recruitflow.sandbox_org import sandbox_company_key
from recruitflow.tenancy import scopes_disabled

ONSITE = "Onsite Interview"


@pytest.fixture
def sandbox(settings, live_server, celery_in_process):
    """The sandbox `make run` starts, reachable from the app and calling it back."""
    with SandboxServer(port=0, n_candidates=30, webhook_retry_scale=0.001) as server:
        settings.SANDBOX_URL = server.url
        settings.SANDBOX_SHORTCUTS = True
        settings.PUBLIC_BASE_URL = live_server.url
        yield server


def sign_up(page, base: str, *, email: str, first_name: str, organization: str) -> None:
    page.goto(f"{base}/accounts/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=first_name]", first_name)
    page.fill("input[name=organization_name]", organization)
    page.fill("input[name=password1]", "Sturdy-passphrase-42")
    page.fill("input[name=password2]", "Sturdy-passphrase-42")
    page.get_by_role("button", name=re.compile("Sign up", re.I)).click()
    expect(page.get_by_role("heading", name=f"Welcome, {first_name}")).to_be_visible()


def use_sandbox(page, sandbox_url: str, organization_name: str) -> tuple[Organization, str]:
    """Click "Use the sandbox" on the dashboard's checklist; the organization and the link to
    its own sandbox Greenhouse screen."""
    page.locator("#setup-checklist").get_by_role("button", name="Use the sandbox").click()
    flash = page.locator(".messages")
    expect(flash).to_contain_text("The sandbox is set up")
    expect(flash).to_contain_text("webhook on")
    link = flash.get_by_role("link", name=re.compile("Open your sandbox Greenhouse"))
    screen_url = link.get_attribute("href") or ""
    with scopes_disabled():
        organization = Organization.objects.get(name=organization_name)
    key = sandbox_company_key(organization)
    assert screen_url == f"{sandbox_url}/greenhouse/companies/{key}/_sandbox/"
    return organization, screen_url


def publish_onsite_starter(page) -> None:
    """From the sidebar: Journeys → the starter gallery → "Onsite interview invitation",
    copied and published."""
    page.locator(".sidebar").get_by_role("link", name="Journeys").click()
    page.get_by_role("link", name="Start from a template").click()
    card = page.locator("#starter-onsite-invitation")
    expect(card).to_contain_text(f"Uses your stage “{ONSITE}”")
    card.get_by_role("button", name="Use “Onsite interview invitation”").click()
    expect(page).to_have_url(re.compile(r"/journeys/\d+/$"))
    page.get_by_role("link", name="Publish").first.click()
    # The Publish page says what the journey will do, then its button makes it live.
    expect(page).to_have_url(re.compile(r"/journeys/\d+/publish/$"))
    page.locator("#publish-form").get_by_role("button", name="Publish").click()
    expect(page.locator(".messages")).to_contain_text(re.compile("is active|is live"))


def _candidate_to_move(company_api: str) -> tuple[str, str, str]:
    """A candidate with an active application on a job that has an onsite stage they are not
    in yet: (their name, their e-mail address, the job's name). Two candidates may share a
    name; the address is theirs alone."""
    listed = requests.get(
        f"{company_api}/candidates", params={"status": "active", "per_page": 500}, timeout=5
    ).json()["items"]
    jobs = {job["id"]: job for job in requests.get(f"{company_api}/jobs", timeout=5).json()}
    for candidate in listed:
        if len(candidate["applications"]) != 1 or not candidate["email"]:
            continue  # one row on the screen, found by the address
        app = candidate["applications"][0]
        stages = [s["name"] for s in jobs[app["job_id"]]["stages"]]
        if app["status"] == "active" and ONSITE in stages and app["stage_name"] != ONSITE:
            return candidate["name"], candidate["email"], app["job_name"]
    raise AssertionError("The sandbox company has no candidate to move into the onsite stage.")


def move_to_onsite(page, screen_url: str, organization_name: str) -> tuple[str, float]:
    """On the organization's sandbox Greenhouse screen, in another tab, move a candidate into
    the onsite stage; their name and when the move was made (``time.monotonic()``)."""
    name, email, job = _candidate_to_move(screen_url.rstrip("/") + "/api")
    screen = page.context.new_page()
    screen.goto(screen_url)
    expect(screen.locator("h1")).to_contain_text(organization_name)
    screen.fill("input[name=q]", email)
    screen.get_by_role("button", name="Search").click()
    row = screen.locator("tr", has_text=email).filter(has_text=job)
    expect(row).to_contain_text(name)
    row.locator("select[name=stage_id]").select_option(label=ONSITE)
    moved_at = time.monotonic()
    row.get_by_role("button", name="Move").click()
    expect(screen.locator("tr", has_text=email).filter(has_text=job)).to_contain_text(ONSITE)
    page.bring_to_front()
    return name, moved_at
