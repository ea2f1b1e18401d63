"""A new customer signs up (the organization starts in the browser's time zone), invites a teammate, creates an API key, reads the API docs and calls
the API, in a real browser."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Organization

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.browser_context_args(timezone_id="Europe/Berlin")
def test_signup_invite_api_key_docs_and_api_call(live_server, page, csp_violations):
    base = live_server.url
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_role("link", name=re.compile("Sign up", re.I)).click()

    page.fill("input[name=email]", "founder@brightpath.test")
    page.fill("input[name=first_name]", "Fiona")
    page.fill("input[name=organization_name]", "BrightPath Recruiting")
    page.fill("input[name=password1]", "Sturdy-passphrase-42")
    page.fill("input[name=password2]", "Sturdy-passphrase-42")
    page.get_by_role("button", name=re.compile("Sign up", re.I)).click()

    # Landed on the new organization's dashboard, inside the app shell.
    expect(page.get_by_role("heading", name="Welcome, Fiona")).to_be_visible()
    expect(page.locator(".topbar")).to_contain_text("BrightPath Recruiting")
    # The browser's zone (Chromium reports the context's) is the organization's.
    expect(page.locator(".page-head")).to_contain_text("times in Europe/Berlin")
    assert Organization.objects.get(name="BrightPath Recruiting").time_zone == "Europe/Berlin"
    for item in ("Candidates", "Journeys", "Library", "Inbox", "Interviews", "Schedule"):
        expect(page.locator(".sidebar")).to_contain_text(item)

    # An empty state says what to do next.
    page.get_by_role("link", name="Journeys").click()
    expect(page.get_by_text("No journeys yet")).to_be_visible()

    # Invite a teammate.
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Team").click()
    page.fill("#invite-form input[name=email]", "teammate@brightpath.test")
    page.select_option("#invite-form select[name=role]", "recruiter")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to teammate@brightpath.test")).to_be_visible()
    expect(page.locator("#invitations")).to_contain_text("teammate@brightpath.test")
    assert [m.to for m in mail.outbox if "invited" in m.subject] == [["teammate@brightpath.test"]]

    # Create an API key; it is shown once.
    page.get_by_role("link", name="API keys").click()
    page.fill("input[name=name]", "Data warehouse")
    page.select_option("select[name=scope]", "read")
    page.get_by_role("button", name="Create key").click()
    raw_key = page.locator("#new-key-value").inner_text().strip()
    assert raw_key.startswith("rf_")
    expect(page.locator("#api-keys")).to_contain_text("Data warehouse")

    # The self-hosted Swagger UI renders the schema.
    page.goto(f"{base}/api/v1/docs/")
    expect(page.get_by_text("RecruitFlow partner API")).to_be_visible(timeout=15000)
    expect(page.locator(".opblock-summary-path").first).to_be_visible()

    # The key works against the API.
    response = page.request.get(f"{base}/api/v1/", headers={"Authorization": f"Bearer {raw_key}"})
    assert response.status == 200
    assert response.json()["organization"]["name"] == "BrightPath Recruiting"
    members = page.request.get(
        f"{base}/api/v1/members/", headers={"Authorization": f"Bearer {raw_key}"}
    ).json()
    assert [m["email"] for m in members["results"]] == ["founder@brightpath.test"]

    assert csp_violations == []
