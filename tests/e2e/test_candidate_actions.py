"""A recruiter acts on a candidate from their page in a real browser: a text from a Library
template (filled in for the candidate before sending) goes out through the sandbox phone and
appears on the timeline; then a scheduling request goes out now and its link is on the page,
ready to copy."""

from __future__ import annotations

import re
from datetime import time

import pytest
import requests
from playwright.sync_api import expect

from candidates.models import Application, Candidate, Job, Stage
from integrations.sandbox.server import SandboxServer
from library.models import MessageTemplate
from messaging import selectors
from recruitflow.tenancy import tenant_scope
from scheduling.models import MemberCalendar, SchedulingTemplate, SchedulingTemplateMember
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MOBILE = "+447700900123"
EVERY_DAY = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)]


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=5) as server:
        yield server


@pytest.fixture(autouse=True)
def celery_runs_in_process(settings):
    """Deliveries run eagerly inside the web request, so the page shows their outcome."""
    from recruitflow.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def _texts_seen_by_the_phone(sandbox) -> list[str]:
    messages = requests.get(f"{sandbox.url}/twilio/_sandbox/api/messages", timeout=5).json()
    return [m["body"] for m in messages if m["to"] == MOBILE]


def _setup(sandbox, settings, live_server):
    settings.SANDBOX_URL = sandbox.url
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_SHORTCUTS = True
    sandbox.twilio.reset()
    sandbox.twilio.configure(sent_delay=0.2, delivery_delay=0.2, inbound_url=None)
    org, user, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    org.is_demo = True  # texts through the sandbox phone without settings, as the demo does
    org.time_zone = "Europe/London"
    org.save(update_fields=["is_demo", "time_zone"])
    with tenant_scope(org):
        candidate = Candidate.objects.create(
            organization=org,
            provider="greenhouse",
            external_id="c-1",
            first_name="Sam",
            last_name="Okafor",
            mobile_phone=MOBILE,
            primary_email="sam@example.com",
        )
        job = Job.objects.create(
            organization=org, provider="greenhouse", external_id="j-1", name="Sales Rep"
        )
        stage = Stage.objects.create(
            organization=org, provider="greenhouse", external_id="s-1", name="Onsite", job=job
        )
        Application.objects.create(
            organization=org,
            provider="greenhouse",
            external_id="a-1",
            candidate=candidate,
            job=job,
            stage=stage,
            stage_name="Onsite",
        )
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
        request_sms = MessageTemplate.objects.create(
            organization=org,
            name="Request to Schedule (text)",
            channel="sms",
            text_body="Hi {{ candidate.first_name }}, pick a time: {{ scheduling_link }}",
        )
        MemberCalendar.objects.create(
            organization=org, user=user, time_zone="Europe/London", working_hours=EVERY_DAY
        )
        template = SchedulingTemplate.objects.create(
            organization=org,
            name="Onsite interview",
            event_title="Onsite interview",
            time_zone="Europe/London",
            windows=EVERY_DAY,
            request_sms=request_sms,
        )
        SchedulingTemplateMember.objects.create(
            organization=org, template=template, user=user, required=True
        )
    return org, candidate


def test_recruiter_texts_from_a_template_and_sends_a_scheduling_request(
    live_server, page, sandbox, settings
):
    _org, candidate = _setup(sandbox, settings, live_server)
    base = live_server.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "rita@northwind.test")
    page.fill("input[name=password]", "correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Rita")).to_be_visible()

    page.locator("nav.sidebar").get_by_role("link", name="Candidates").click()
    page.get_by_role("link", name="Sam Okafor").click()
    expect(page).to_have_url(re.compile(rf"/candidates/{candidate.pk}/$"))

    # A text from the Library, filled in for Sam before it goes.
    form = page.locator("#send-message")
    expect(form.get_by_label("Text")).to_be_checked()
    expect(form.get_by_label("Subject")).to_be_hidden()
    form.get_by_label("Library template").select_option(label="Quick hello (text)")
    body = form.get_by_label("Message")
    expect(body).to_have_value("Hi Sam, thanks for applying to Sales Rep!")
    expect(form.locator("[data-message-preview]")).to_be_visible()
    form.get_by_role("button", name="Send").click()

    expect(page.locator("ul.messages")).to_contain_text("Text to Sam Okafor queued.")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Text sent: Hi Sam, thanks for applying to Sales Rep!")
    assert sandbox.twilio.wait_idle(10)
    assert "Hi Sam, thanks for applying to Sales Rep!" in _texts_seen_by_the_phone(sandbox)

    # A scheduling request now: its link is on the page with a Copy button.
    scheduling = page.locator("#send-scheduling-request")
    scheduling.get_by_label("Scheduling template").select_option(label="Onsite interview")
    scheduling.get_by_role("button", name="Send request").click()
    expect(page.locator("ul.messages")).to_contain_text(
        "Request to Schedule “Onsite interview” sent to Sam Okafor. Their link: "
    )
    link = page.locator("#send-scheduling-request code")
    expect(link).to_have_text(re.compile(r"^http://.+/s/[^/]+/$"))
    url = link.text_content().strip()
    expect(timeline).to_contain_text("Request to Schedule “Onsite interview” sent by text message")
    scheduling.get_by_role("button", name="Copy").click()
    expect(scheduling.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url

    # The link is the candidate's booking page.
    booking = page.context.new_page()
    booking.goto(url)
    expect(booking.get_by_text("Onsite interview").first).to_be_visible()
    booking.close()
