"""A recruiter filters the candidates list, selects everyone matching, sends a Library text to
all of them: the preview shows who gets it and who is skipped (no mobile number), the confirm
starts the run, the page follows its progress to done, and the text is on a candidate's
timeline and at the sandbox phone."""

from __future__ import annotations

import re
import threading
import time as clock
from datetime import time

import pytest
import requests
from django.db import connection
from playwright.sync_api import expect

from bulk import tasks as bulk_tasks
from candidates.models import Application, Candidate, Job, Stage
from integrations.sandbox.server import SandboxServer
from library.models import MessageTemplate
from messaging import selectors
from recruitflow.tenancy import tenant_scope
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MOBILE = "+447700900123"
PEOPLE = [("Sam", "Okafor", MOBILE), ("Kemi", "Okafor", ""), ("Lee", "Park", "+447700900456")]


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=5) as server:
        yield server


@pytest.fixture
def worker(celery_in_process, monkeypatch):
    """The bulk run starts a moment after the confirm's response, in a thread of its own, as a
    worker would pick it up; what it queues (deliveries) runs in that thread."""
    threads: list[threading.Thread] = []

    def later(organization_id, action_id):
        def run():
            clock.sleep(1.5)
            try:
                bulk_tasks.run_action.apply(args=[organization_id, action_id])
            finally:
                connection.close()

        thread = threading.Thread(target=run, daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(bulk_tasks.run_action, "delay", later)
    yield
    for thread in threads:
        thread.join(timeout=30)


def _setup(sandbox, settings, live_server):
    settings.SANDBOX_URL = sandbox.url
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_SHORTCUTS = True
    sandbox.twilio.reset()
    sandbox.twilio.configure(sent_delay=0.2, delivery_delay=0.2, inbound_url=None)
    org, _user, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    org.is_demo = True  # texts through the sandbox phone without settings, as the demo does
    org.time_zone = "Europe/London"
    org.save(update_fields=["is_demo", "time_zone"])
    with tenant_scope(org):
        job = Job.objects.create(
            organization=org, provider="greenhouse", external_id="j-1", name="Sales Rep"
        )
        stage = Stage.objects.create(
            organization=org, provider="greenhouse", external_id="s-1", name="Onsite", job=job
        )
        made = {}
        for index, (first, last, mobile) in enumerate(PEOPLE):
            candidate = Candidate.objects.create(
                organization=org,
                provider="greenhouse",
                external_id=f"c-{index}",
                first_name=first,
                last_name=last,
                mobile_phone=mobile,
                primary_email=f"{first.lower()}@example.com",
            )
            Application.objects.create(
                organization=org,
                provider="greenhouse",
                external_id=f"a-{index}",
                candidate=candidate,
                job=job,
                stage=stage,
                stage_name="Onsite",
            )
            made[first] = candidate
        # This organization texts around the clock, whatever hour the test runs at.
        prefs = selectors.preferences_for(organization=org)
        prefs.sms_window_start, prefs.sms_window_end = time(0, 0), time(23, 59, 59, 999999)
        prefs.save()
        MessageTemplate.objects.create(
            organization=org,
            name="Quick hello",
            channel="sms",
            text_body="Hi {{ candidate.first_name }}, thanks for applying to {{ job.name }}!",
        )
    return made


def _texts_seen_by_the_phone(sandbox) -> list[str]:
    messages = requests.get(f"{sandbox.url}/twilio/_sandbox/api/messages", timeout=5).json()
    return [m["body"] for m in messages if m["to"] == MOBILE]


def test_recruiter_sends_a_template_to_everyone_matching_a_filter(
    live_server, page, sandbox, settings, worker
):
    made = _setup(sandbox, settings, live_server)
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "rita@northwind.test")
    page.fill("input[name=password]", "correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Rita")).to_be_visible()

    page.locator("nav.sidebar").get_by_role("link", name="Candidates").click()
    filters = page.locator("#candidate-filters")
    filters.get_by_label("Search").fill("Okafor")
    filters.get_by_role("button", name="Filter").click()
    expect(page.locator("#candidate-counts")).to_contain_text("2 candidates")

    bulk = page.locator("#bulk-form")
    # Ticking one says so; "select all matching" takes over the page's boxes.
    page.get_by_label("Select Sam Okafor").check()
    expect(bulk.locator("[data-bulk-count]")).to_have_text("1 selected on this page")
    bulk.get_by_label("Select all 2 candidates matching this filter").check()
    expect(bulk.locator("[data-bulk-count]")).to_have_text(
        "All 2 candidates matching this filter selected"
    )
    expect(page.get_by_label("Select Kemi Okafor")).to_be_disabled()
    expect(bulk.get_by_label("Journey")).to_be_hidden()
    bulk.get_by_label("Action").select_option(label="Send a template")
    bulk.get_by_label("Library template").select_option(label="Quick hello (text)")
    bulk.get_by_role("button", name="Preview…").click()

    # The preview: who gets it, who is skipped and why; nothing sent yet.
    expect(page.get_by_role("heading", name="Send “Quick hello”")).to_be_visible()
    expect(page.locator("#bulk-going")).to_contain_text("1 will get it")
    expect(page.locator("#bulk-going")).to_contain_text("Sam Okafor")
    skipped = page.locator("#bulk-skipped [data-skip=no_mobile]")
    expect(skipped).to_contain_text("No mobile number")
    expect(skipped).to_contain_text("Kemi Okafor")
    assert _texts_seen_by_the_phone(sandbox) == []

    page.get_by_role("button", name="Send to 1").click()
    expect(page).to_have_url(re.compile(r"/candidates/bulk/\d+/$"))
    progress = page.locator("#bulk-progress")
    expect(progress.locator("[data-bulk-state]")).to_have_text(
        re.compile("Waiting to start|Running|Done")
    )
    # The page follows the run by itself and shows the summary once done.
    expect(progress.locator("[data-bulk-state]")).to_have_text("Done", timeout=30_000)
    expect(progress).to_contain_text("2 / 2 processed")
    summary = page.locator("#bulk-summary")
    expect(summary.locator("[data-outcome=done]")).to_contain_text("Sam Okafor")
    expect(summary.locator("[data-outcome=skipped]")).to_contain_text("No mobile number")
    expect(summary.locator("[data-outcome=skipped]")).to_contain_text("Kemi Okafor")

    summary.get_by_role("link", name="Sam Okafor").click()
    expect(page).to_have_url(re.compile(rf"/candidates/{made['Sam'].pk}/$"))
    expect(page.locator("#timeline")).to_contain_text(
        "Text sent: Hi Sam, thanks for applying to Sales Rep!"
    )
    assert sandbox.twilio.wait_idle(10)
    assert "Hi Sam, thanks for applying to Sales Rep!" in _texts_seen_by_the_phone(sandbox)
