"""ATS activity in a real browser: the owner turns write-back on in Settings → ATS activity
(the acting user typed by e-mail); a recruiter moves a candidate into "Onsite Interview" on the
sandbox Greenhouse screen, whose signed webhook starts a journey that texts and e-mails the
candidate; the candidate answers from the sandbox phone and from the sandbox SendGrid outbox
("Reply as the candidate"); after the write-back beat, the text, the e-mail and both answers are
on the sandbox Greenhouse candidate's activity feed, made as the acting user, and the RecruitFlow
timeline marks each of them "Written to the ATS"."""

from __future__ import annotations

import time
import urllib.parse
from datetime import time as clock

import pytest
import requests
from playwright.sync_api import expect

from candidates import services as candidate_services
from candidates.models import Candidate, Job
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from integrations.sendgrid.models import SendGridSettings
from integrations.twilio.models import TwilioSettings
from integrations.twilio.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, SANDBOX_SERVICE_SID
from journeys import editing as journey_editing
from journeys import services as journey_services
from journeys.models import StepKind, TriggerKind
from library import services as library_services
from messaging.models import Channel, Direction, Message, MessagingPreferences
from recruitflow.tenancy import tenant_scope
from tests.factories import make_org_with_owner
from writeback import tasks

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HARVEST_KEY = ("sandbox-harvest-key", "")
# The candidate the test adds to the sandbox Greenhouse (job "Sales Rep").
CANDIDATE = ("Jordan", "Rivera", "jordan.rivera@example.com", "+12125550143")


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=5, greenhouse_rate_limit=None) as server:
        yield server


@pytest.fixture(autouse=True)
def celery_runs_in_process(celery_in_process):
    """Celery work runs inside the web request here (tests/e2e/conftest.py)."""


def _control(sandbox, path: str) -> str:
    return f"{sandbox.url}/greenhouse/_sandbox/api/{path}"


def _wait_for(fetch, predicate, seconds: float = 20):
    deadline = time.monotonic() + seconds
    value = fetch()
    while not predicate(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = fetch()
    return value


def _connected_org(sandbox, base: str):
    """Rita's organization: the sandbox Greenhouse connected (Harvest v1 key), synced, its
    webhook pointed at us; texts through the sandbox Twilio, e-mails through the sandbox
    SendGrid; no quiet hours. Returns the organization, the "Sales Rep" job (sandbox JSON) and
    the Greenhouse user the test writes as."""
    org, _user, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    jobs = requests.get(_control(sandbox, "jobs"), timeout=10).json()
    sales_rep = next(job for job in jobs if job["name"] == "Sales Rep")
    first, last, email, phone = CANDIDATE
    created = requests.post(
        _control(sandbox, "candidates"),
        json={
            "first_name": first, "last_name": last, "job_id": sales_rep["id"],
            "email": email, "phone": phone,
            "stage_id": next(s["id"] for s in sales_rep["stages"]
                             if s["name"] == "Hiring Manager Screen"),
        },
        timeout=10,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    acting = requests.get(
        f"{sandbox.url}/greenhouse/v1/users", auth=HARVEST_KEY, timeout=10
    ).json()[0]
    with tenant_scope(org):
        connection = GreenhouseConnection.objects.create(
            organization=org, base_url=f"{sandbox.url}/greenhouse", api_version="v1",
            api_key=HARVEST_KEY[0], status=ConnectionStatus.CONNECTED,
        )  # fmt: skip
        TwilioSettings.objects.create(
            organization=org, account_sid=SANDBOX_ACCOUNT_SID, auth_token=SANDBOX_AUTH_TOKEN,
            messaging_service_sid=SANDBOX_SERVICE_SID, base_url=f"{sandbox.url}/twilio",
        )  # fmt: skip
        SendGridSettings.objects.create(
            organization=org, api_key="SG.sandbox-key", from_email="talent@northwind.test",
            from_name="Northwind Talent", base_url=f"{sandbox.url}/sendgrid",
            event_public_key=sandbox.sendgrid.public_key_b64,
        )  # fmt: skip
        MessagingPreferences.objects.create(
            organization=org, sms_window_start=clock.min, sms_window_end=clock.max
        )
        run = candidate_services.sync_request(organization=org, full=True)
        run.refresh_from_db()
        assert run.status == "succeeded", run.error
    hook = requests.post(
        _control(sandbox, "webhook"),
        json={
            "url": f"{base}/webhooks/greenhouse/{connection.endpoint_token}/",
            "secret": connection.webhook_secret,
            "enabled": True,
        },
        timeout=10,
    ).json()
    assert hook["enabled"], hook
    return org, sales_rep, acting


def _onsite_journey(org, sales_rep: dict) -> None:
    """An active journey: entering "Onsite Interview" on "Sales Rep" sends a text, then an
    e-mail."""
    with tenant_scope(org):
        text = library_services.message_template_save(
            organization=org, name="Onsite invitation (text)", channel="sms",
            text_body="Hi {{ candidate.first_name }}, you're invited to an onsite interview for "
            "{{ job.name }}. {{ opt_out_text }}",
        )  # fmt: skip
        email = library_services.message_template_save(
            organization=org, name="Onsite details (e-mail)", channel="email",
            subject="Your onsite interview for {{ job.name }}",
            html_body="<p>Hi {{ candidate.first_name }},</p><p>Could you come in on Tuesday "
            "at 10:00?</p>",
        )  # fmt: skip
        journey = journey_services.journey_create(organization=org, name="Onsite invitation")
        job = Job.objects.get(provider="greenhouse", external_id=str(sales_rep["id"]))
        journey_editing.journey_trigger_update(
            journey=journey, trigger=TriggerKind.ENTERED_STAGE,
            stage_names=["Onsite Interview"], job_ids=[job.pk],
        )  # fmt: skip
        journey_editing.journey_step_add(
            journey=journey, kind=StepKind.SEND_SMS, message_template=text
        )
        journey_editing.journey_step_add(
            journey=journey, kind=StepKind.SEND_EMAIL, message_template=email
        )
        journey = journey_services.journey_activate(journey=journey)
        assert journey.is_active


def test_stage_move_journey_and_replies_land_in_greenhouse_and_read_written_on_the_timeline(
    live_server, page, csp_violations, sandbox, settings, one_request_at_a_time
):
    base = live_server.url
    settings.PUBLIC_BASE_URL = base  # delivery reports, texts and e-mail replies come here
    settings.SANDBOX_URL = sandbox.url
    settings.SANDBOX_SHORTCUTS = True  # the sandboxes are told where replies go, as in `make run`
    settings.REPLY_EMAIL_DOMAIN = "reply.northwind.test"
    settings.WRITEBACK_SETTLE_SECONDS = 0
    settings.MESSAGING_PROVIDER_MAX_ATTEMPTS = 1
    sandbox.greenhouse.reset()
    sandbox.twilio.reset()
    sandbox.twilio.configure(sent_delay=0.01, delivery_delay=0.02)
    sandbox.sendgrid.reset()
    sandbox.sendgrid.configure_events(url=None)
    org, sales_rep, acting = _connected_org(sandbox, base)
    first, last, email, phone = CANDIDATE

    # The owner turns ATS activity on, writing as the Greenhouse user typed by e-mail.
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "rita@northwind.test")
    page.fill("input[name=password]", "correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Rita")).to_be_visible()
    page.goto(f"{base}/settings/organization/")
    page.get_by_role("link", name="ATS activity").click()
    page.get_by_label("Write activity to the ATS").check()
    page.get_by_label("Write as (ATS user's e-mail)").fill(acting["primary_email_address"])
    page.get_by_label("Texts per note (minutes)").fill("0")
    page.get_by_role("button", name="Save ATS activity settings").click()
    expect(page.locator("#acting-user")).to_contain_text(f"Writing as {acting['name']}")
    expect(page.locator("#writeback-state")).to_have_text("On")

    _onsite_journey(org, sales_rep)

    # A recruiter moves Jordan into "Onsite Interview" on the sandbox Greenhouse screen; its
    # signed webhook reaches us and the journey texts and e-mails Jordan.
    page.goto(f"{sandbox.url}/greenhouse/_sandbox/?q={urllib.parse.quote(email)}")
    row = page.locator("tr", has_text=f"{first} {last}").filter(has_text="Sales Rep")
    onsite = next(s for s in sales_rep["stages"] if s["name"] == "Onsite Interview")
    row.locator("select[name=stage_id]").select_option(str(onsite["id"]))
    row.get_by_role("button", name="Move").click()
    expect(page.locator("tr", has_text=f"{first} {last}")).to_contain_text("Onsite Interview")
    deliveries = _wait_for(
        lambda: requests.get(_control(sandbox, "deliveries"), timeout=5).json(),
        lambda found: any(
            d.get("action") == "candidate_stage_change"
            and d.get("status") in ("delivered", "failed")
            for d in found
        ),
    )
    moves = [d for d in deliveries if d.get("action") == "candidate_stage_change"]
    assert [d["status"] for d in moves] == ["delivered"], moves

    # Jordan reads the text on the sandbox phone and answers it.
    page.goto(f"{sandbox.url}/twilio/_sandbox/phone/{urllib.parse.quote(phone, safe='+')}")
    expect(page.locator(".thread")).to_contain_text(
        "Hi Jordan, you're invited to an onsite interview for Sales Rep."
    )
    page.fill("input[name=body]", "Sounds great, thank you!")
    page.locator("form.reply").get_by_role("button", name="Send").click()
    expect(page.locator(".thread")).to_contain_text("Sounds great, thank you!")

    # Jordan opens the e-mail in the sandbox outbox and replies to it.
    page.goto(f"{sandbox.url}/sendgrid/_sandbox/")
    page.get_by_role("link", name="Your onsite interview for Sales Rep").click()
    page.get_by_label("Reply text").fill("Tuesday at 10 works, see you then.")
    page.get_by_role("button", name="Reply as the candidate").click()
    # The sandbox answers once RecruitFlow's Inbound Parse endpoint has (it stores and applies
    # the reply before its 2xx): on a loaded machine that takes more than the default 5 s.
    expect(page.get_by_role("status")).to_have_text(
        "Reply posted to the Inbound Parse URL.", timeout=20_000
    )

    # Both answers reached RecruitFlow.
    assert sandbox.twilio.wait_idle(10)
    assert sandbox.sendgrid.inbound_dispatcher.wait_idle(10)
    with tenant_scope(org):
        candidate = Candidate.objects.get(provider="greenhouse", first_name=first, last_name=last)

        def replies():
            return set(
                Message.objects.filter(candidate=candidate, direction=Direction.INBOUND)
                .values_list("channel", flat=True)
            )  # fmt: skip

        assert _wait_for(replies, lambda found: len(found) == 2) == {Channel.SMS, Channel.EMAIL}

    # Beat's two entries: the reader, then the outbox worker.
    tasks.read_activity()
    assert tasks.write_due() == 4

    # Each item is on the sandbox Greenhouse candidate's activity feed, made as the acting user.
    page.goto(f"{sandbox.url}/greenhouse/_sandbox/?q={urllib.parse.quote(email)}")
    page.get_by_role("link", name=f"{first} {last}").click()
    notes = page.locator("#notes [data-note]")
    expect(notes).to_have_count(2)
    expect(notes.filter(has_text="you're invited to an onsite interview")).to_contain_text(
        f"by {acting['name']}"
    )
    expect(notes.filter(has_text="Sounds great, thank you!")).to_contain_text(
        f"by {acting['name']}"
    )
    emails = page.locator("#emails [data-email]")
    expect(emails).to_have_count(2)
    expect(emails.filter(has_text="Could you come in on Tuesday at 10:00?")).to_contain_text(
        f"by {acting['name']}"
    )
    expect(emails.filter(has_text="Tuesday at 10 works, see you then.")).to_contain_text(
        f"by {acting['name']}"
    )

    # ...and the RecruitFlow timeline marks each of the four entries written.
    page.goto(f"{base}/candidates/{candidate.pk}/")
    written = page.locator("[data-ats-write=written]")
    expect(written).to_have_count(4)
    for entry in range(4):
        expect(written.nth(entry)).to_contain_text("Written to the ATS")
    assert csp_violations == []
