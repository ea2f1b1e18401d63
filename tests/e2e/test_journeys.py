"""The seeds' example in a real browser: a recruiter builds a journey for the "Onsite Interview"
stage of the "Sales Rep" job that texts and emails the candidate, activates it, simulates it over
the sandbox history, then moves a candidate in the sandbox Greenhouse and sees the journey fire:
the run is listed, the text is on the sandbox phone and the e-mail in the sandbox outbox."""

from __future__ import annotations

import re
import time
from datetime import time as clock

import pytest
import requests
from playwright.sync_api import expect

from candidates import services as candidate_services
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from integrations.sendgrid.models import SendGridSettings
from library import services as library_services
from messaging.models import MessagingPreferences
from recruitflow.tenancy import tenant_scope
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Candidates the test adds to the sandbox Greenhouse (job "Sales Rep"), with their own numbers.
HISTORY = [
    ("Amara", "Mensah", "amara.mensah@example.com", "+12125550141"),
    ("Lars", "Larsen", "lars.larsen@example.com", "+12125550142"),
]
NEWCOMER = ("Jordan", "Rivera", "jordan.rivera@example.com", "+12125550143")
NOWHERE = "http://127.0.0.1:9"  # nothing listens on the discard port


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=30) as server:
        yield server


@pytest.fixture(autouse=True)
def celery_runs_in_process(celery_in_process):
    """Celery work runs inside the web request here (tests/e2e/conftest.py)."""


def _greenhouse(sandbox, path: str) -> str:
    return f"{sandbox.url}/greenhouse/_sandbox/api/{path}"


def _sales_rep(sandbox) -> dict:
    jobs = requests.get(_greenhouse(sandbox, "jobs"), timeout=5).json()
    return next(job for job in jobs if job["name"] == "Sales Rep")


def _stage(job: dict, name: str) -> dict:
    return next(stage for stage in job["stages"] if stage["name"] == name)


def _add_candidate(sandbox, job: dict, person: tuple, stage: str) -> dict:
    first, last, email, phone = person
    response = requests.post(
        _greenhouse(sandbox, "candidates"),
        json={
            "first_name": first,
            "last_name": last,
            "job_id": job["id"],
            "email": email,
            "phone": phone,
            "stage_id": _stage(job, stage)["id"],
        },
        timeout=5,
    )
    assert response.status_code == 201, response.text
    return response.json()["application"]


def _wait_for_delivery(sandbox, action: str, count: int, seconds: float = 15) -> list[dict]:
    """Wait until the sandbox has delivered ``count`` webhooks of ``action`` (and had them
    answered): the live server shares one in-memory database between its threads, so the
    browser must not race a webhook request."""
    deadline = time.monotonic() + seconds
    done: list[dict] = []
    while time.monotonic() < deadline:
        deliveries = requests.get(_greenhouse(sandbox, "deliveries"), timeout=5).json()
        done = [
            d
            for d in deliveries
            if d.get("action") == action and d.get("status") in ("delivered", "failed")
        ]
        if len(done) >= count:
            break
        time.sleep(0.2)
    return done


def _wait_for(fetch, predicate, seconds: float = 15):
    deadline = time.monotonic() + seconds
    value = fetch()
    while not predicate(value) and time.monotonic() < deadline:
        time.sleep(0.3)
        value = fetch()
    return value


def _connect_and_sync(organization, sandbox, base: str) -> None:
    """The sandbox Greenhouse connected (Harvest v1 key), fully synced, webhooks on; texts go to
    the sandbox Twilio (SANDBOX_URL) and e-mails to the sandbox SendGrid; no quiet hours, so the
    test does not depend on the hour it runs at."""
    with tenant_scope(organization):
        connection = GreenhouseConnection.objects.create(
            organization=organization,
            base_url=f"{sandbox.url}/greenhouse",
            api_version="v1",
            api_key="sandbox-harvest-key",
            status=ConnectionStatus.CONNECTED,
        )
        SendGridSettings.objects.create(
            organization=organization,
            api_key="SG.sandbox-key",
            from_email="talent@northwind.test",
            from_name="Northwind Talent",
            base_url=f"{sandbox.url}/sendgrid",
        )
        MessagingPreferences.objects.create(
            organization=organization, sms_window_start=clock.min, sms_window_end=clock.max
        )
        run = candidate_services.sync_request(organization=organization, full=True)
        run.refresh_from_db()
        assert run.status == "succeeded", run.error
        library_services.message_template_save(
            organization=organization,
            name="Onsite invitation (text)",
            channel="sms",
            text_body="Hi {{ candidate.first_name }}, you're invited to an onsite interview for "
            "{{ job.name }}. Details by e-mail. {{ opt_out_text }}",
        )
        library_services.message_template_save(
            organization=organization,
            name="Onsite details (e-mail)",
            channel="email",
            subject="Your onsite interview for {{ job.name }}",
            html_body="<p>Hi {{ candidate.first_name }},</p><p>We look forward to meeting you "
            "onsite for the {{ job.name }} role.</p>",
        )
    webhook_url = f"{base}/webhooks/greenhouse/{connection.endpoint_token}/"
    hook = requests.post(
        _greenhouse(sandbox, "webhook"),
        json={"url": webhook_url, "secret": connection.webhook_secret, "enabled": True},
        timeout=10,
    ).json()
    assert hook["enabled"], hook


def test_recruiter_builds_the_onsite_journey_simulates_it_and_sees_it_fire(
    live_server, page, csp_violations, sandbox, settings
):
    settings.SANDBOX_URL = sandbox.url
    # Delivery callbacks of the sandbox Twilio go nowhere: the live server shares one in-memory
    # database between its threads, and a callback arriving while the journey is still sending
    # would race it. (Callbacks are covered by the messaging tests.)
    settings.PUBLIC_BASE_URL = NOWHERE
    base = live_server.url
    organization, _, _ = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    settings.SANDBOX_SHORTCUTS = True
    organization.is_demo = True  # texts through the sandbox without settings, as the demo does
    organization.save(update_fields=["is_demo"])
    sales_rep = _sales_rep(sandbox)
    history = [_add_candidate(sandbox, sales_rep, p, "Hiring Manager Screen") for p in HISTORY]
    newcomer = _add_candidate(sandbox, sales_rep, NEWCOMER, "Hiring Manager Screen")
    _connect_and_sync(organization, sandbox, base)

    # Sandbox history: two Sales Rep candidates reached the onsite before the journey existed.
    for application in history:
        moved = requests.post(
            _greenhouse(sandbox, f"applications/{application['id']}/move"),
            json={"stage_name": "Onsite Interview"},
            timeout=10,
        )
        assert moved.status_code == 200, moved.text
    delivered = _wait_for_delivery(sandbox, "candidate_stage_change", len(history))
    assert [d["status"] for d in delivered] == ["delivered"] * len(history), delivered

    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "rita@northwind.test")
    page.fill("input[name=password]", "correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Rita")).to_be_visible()

    # The Journeys page explains what a journey is and offers to make one.
    page.get_by_role("link", name="Journeys").first.click()
    expect(page.locator("#journeys-empty")).to_contain_text("No journeys yet")
    page.locator("#journeys-empty").get_by_role("link", name="New journey").click()
    page.get_by_label("Name").fill("Onsite invitation · Sales Rep")
    page.get_by_role("button", name="Create journey").click()
    expect(page.get_by_role("heading", name="Onsite invitation · Sales Rep")).to_be_visible()
    expect(page.locator("#journey-version")).to_contain_text("Version 1")

    # Trigger: entered "Onsite Interview", for the "Sales Rep" job, picked from synced values.
    trigger = page.locator("#trigger-form")
    expect(trigger.get_by_label("Candidate entered a stage")).to_be_checked()
    stages = trigger.locator("#picker-stage_names")
    stages.get_by_placeholder("Filter stages").fill("onsite")
    expect(stages.get_by_label("Recruiter Phone Screen")).to_be_hidden()
    stages.get_by_label("Onsite Interview", exact=True).check()
    jobs = trigger.locator("#picker-job_ids")
    jobs.get_by_placeholder("Filter jobs").fill("sales")
    jobs.get_by_label("Sales Rep", exact=True).check()
    expect(jobs.locator("[data-picker-summary]")).to_have_text("Chosen: Sales Rep")
    trigger.get_by_role("button", name="Save trigger").click()
    expect(page.locator(".messages")).to_contain_text("Trigger and criteria saved.")
    expect(page.locator("#journey-summary")).to_have_text("Enters Onsite Interview · Sales Rep")

    # Steps, edited in place: a text, then an e-mail.
    steps = page.locator("#steps")
    url_before = page.url
    page.locator("#add-step-kind").select_option(label="Send text message")
    page.locator("#add-step").get_by_role("button", name="Add step").click()
    step = steps.locator("li.step").nth(0)
    step.get_by_label("Text message template").select_option(label="Onsite invitation (text)")
    step.get_by_role("button", name="Save step").click()
    expect(step).to_contain_text("Send text message “Onsite invitation (text)”")
    # The sample is written for a real candidate who matches the trigger (one of the two at the
    # onsite already), and the page says whose data it uses.
    expect(step).to_contain_text(
        re.compile(r"Hi (Amara|Lars), you're invited to an onsite interview for Sales Rep\.")
    )
    expect(page.locator("#sample-note")).to_contain_text("a candidate who matches the trigger")
    page.locator("#add-step-kind").select_option(label="Send e-mail")
    page.locator("#add-step").get_by_role("button", name="Add step").click()
    step = steps.locator("li.step").nth(1)
    step.get_by_label("E-mail template").select_option(label="Onsite details (e-mail)")
    step.get_by_role("button", name="Save step").click()
    expect(step).to_contain_text("Send e-mail “Onsite details (e-mail)”")
    assert page.url == url_before  # all of it in place, without a page load
    expect(steps.locator("li.step")).to_have_count(2)

    # Publish: never live yet, so the Publish page lists what it will do, then makes it live.
    expect(page.locator("#draft-label")).to_have_text("Draft — not live")
    page.locator("#journey-publish").click()
    expect(page.locator("#publish-diff")).to_contain_text("Adds step 1:")
    page.locator("#publish-form").get_by_role("button", name="Publish").click()
    expect(page.locator(".messages")).to_contain_text(
        "Published: “Onsite invitation · Sales Rep” is live."
    )
    expect(page.locator("#journey-status")).to_have_text("Active")
    expect(page.locator("#journey-banner")).to_contain_text(
        "Your edits go to a draft, and nothing changes for candidates until you publish it"
    )

    # Simulate over the sandbox history: the two onsite candidates, what they'd get, nothing sent.
    page.get_by_role("link", name="Simulate").click()
    expect(page.locator("#nothing-sent")).to_contain_text("Nothing is sent")
    simulation = page.locator("#simulation")
    for first, last, _, _ in HISTORY:
        expect(simulation).to_contain_text(f"{first} {last}")
    expect(simulation).not_to_contain_text("Jordan Rivera")
    expect(simulation).to_contain_text("Send text message “Onsite invitation (text)”: sent")
    expect(simulation).to_contain_text("Send e-mail “Onsite details (e-mail)”: sent")
    expect(page.locator("#stat-entered")).to_have_text(str(len(HISTORY)))
    expect(page.locator("svg.entries-chart")).to_be_visible()
    sms_before = requests.get(f"{sandbox.url}/twilio/_sandbox/api/messages", timeout=5).json()
    assert sms_before == []

    # A recruiter moves Jordan into Onsite Interview on the sandbox Greenhouse screen...
    page.goto(f"{sandbox.url}/greenhouse/_sandbox/?q={NEWCOMER[2]}")
    row = page.locator("tr", has=page.locator(f"input[value='{newcomer['id']}']")).first
    row.locator("select[name=stage_id]").select_option(
        str(_stage(sales_rep, "Onsite Interview")["id"])
    )
    row.get_by_role("button", name="Move").click()
    delivered = _wait_for_delivery(sandbox, "candidate_stage_change", len(history) + 1)
    assert delivered[-1]["status"] == "delivered", delivered[-1]

    # ...the journey fires: the text reaches the sandbox phone, the e-mail the sandbox outbox...
    texts = _wait_for(
        lambda: requests.get(f"{sandbox.url}/twilio/_sandbox/api/messages", timeout=5).json(),
        lambda found: any(m["to"] == NEWCOMER[3] for m in found),
    )
    (text,) = [m for m in texts if m["to"] == NEWCOMER[3]]
    assert text["body"].startswith(
        "Hi Jordan, you're invited to an onsite interview for Sales Rep."
    )
    assert {m["to"] for m in texts} == {NEWCOMER[3]}  # nobody from the history was texted
    mails = _wait_for(
        lambda: requests.get(f"{sandbox.url}/sendgrid/_sandbox/api/mails", timeout=5).json(),
        lambda found: any(
            r["email"] == NEWCOMER[2] for m in found for r in m.get("recipients", [])
        ),
    )
    (mail,) = [m for m in mails if any(r["email"] == NEWCOMER[2] for r in m["recipients"])]
    assert mail["subject"] == "Your onsite interview for Sales Rep"

    # ...and the run is in the journey's Runs, linked to Jordan's timeline.
    page.goto(f"{base}/journeys/")
    expect(page.locator("#journeys")).to_contain_text("Enters Onsite Interview · Sales Rep")
    page.locator("#journeys").get_by_role("link", name="Onsite invitation · Sales Rep").click()
    page.get_by_role("link", name=re.compile(r"^Runs")).click()
    runs = page.locator("#runs")
    expect(runs).to_contain_text("Jordan Rivera")
    expect(runs.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#run-tabs")).to_contain_text("All 1")
    runs.get_by_role("link", name="Details").click()
    expect(page.locator("#step-runs")).to_contain_text(
        "Send text message “Onsite invitation (text)”"
    )
    expect(page.locator("#step-runs")).to_contain_text(f"Text to {NEWCOMER[3]}")
    page.get_by_role("link", name="Candidate's timeline").click()
    expect(page.locator("#timeline")).to_contain_text(
        "Moved from Hiring Manager Screen to Onsite Interview"
    )

    assert csp_violations == []
