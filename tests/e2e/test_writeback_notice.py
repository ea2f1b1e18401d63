"""The recording notice in a real browser: the owner ticks it in Settings → ATS activity, an
e-mail to a candidate is about to be written to the sandbox Greenhouse, so the candidate gets
the one-time notice (through the sandbox SendGrid); the candidate opens its link from the
sandbox outbox, presses "Stop recording…", and the recruiter sees on the candidate page that
the candidate paused it, and what happened since marked "Not written (paused)"."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from candidates.models import AtsUser, Candidate
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from integrations.sendgrid.models import SendGridSettings
from messaging import services as messaging
from messaging.models import Channel, Message, MessageStatus
from recruitflow.tenancy import tenant_scope
from tests.factories import make_org_with_owner
from writeback import tasks
from writeback.notice import NOTICE_SOURCE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HARVEST_KEY = ("sandbox-harvest-key", "")
SUBJECT = "Your conversation with Northwind Hiring is recorded in our applicant tracking system"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=5, greenhouse_rate_limit=None) as server:
        yield server


@pytest.fixture(autouse=True)
def celery_runs_in_process(settings):
    """E-mails are delivered eagerly, inside the call that queues them."""
    from recruitflow.celery import app  # noqa: PLC0415 - the Celery app of the test's settings

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def _connected_org(sandbox):
    org, _user, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    base = f"{sandbox.url}/greenhouse"
    user = requests.get(f"{base}/v1/users", auth=HARVEST_KEY, timeout=10).json()[0]
    cand = requests.get(f"{base}/v1/candidates", auth=HARVEST_KEY, timeout=10).json()[0]
    with tenant_scope(org):
        GreenhouseConnection.objects.create(
            organization=org, base_url=base, api_version="v1", api_key=HARVEST_KEY[0],
            status=ConnectionStatus.CONNECTED,
        )  # fmt: skip
        AtsUser.objects.create(
            organization=org, provider="greenhouse", external_id=str(user["id"]),
            name=user["name"], email=user["primary_email_address"],
        )  # fmt: skip
        SendGridSettings.objects.create(
            organization=org, api_key="SG.sandbox-key", from_email="jobs@northwind.test",
            from_name="Northwind Hiring", base_url=f"{sandbox.url}/sendgrid",
            event_public_key=sandbox.sendgrid.public_key_b64,
        )  # fmt: skip
        candidate = Candidate.objects.create(
            organization=org, provider="greenhouse", external_id=str(cand["id"]),
            first_name="Sam", last_name="Okafor", primary_email="sam@example.com",
        )  # fmt: skip
    return org, candidate, user


def test_the_candidate_stops_recording_from_the_notice_and_the_recruiter_sees_who_paused(
    live_server, page, csp_violations, sandbox, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_URL = sandbox.url
    settings.SANDBOX_SHORTCUTS = True
    settings.REPLY_EMAIL_DOMAIN = "reply.northwind.test"
    settings.WRITEBACK_SETTLE_SECONDS = 0
    settings.MESSAGING_PROVIDER_MAX_ATTEMPTS = 1
    sandbox.greenhouse.reset()
    sandbox.sendgrid.reset()
    sandbox.sendgrid.configure_events(url=None)
    org, candidate, ats_user = _connected_org(sandbox)
    base = live_server.url

    # The owner turns ATS activity on, with the candidate notice.
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "rita@northwind.test")
    page.fill("input[name=password]", "correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Rita")).to_be_visible()
    page.goto(f"{base}/settings/ats-activity/")
    page.get_by_label("Write activity to the ATS").check()
    page.get_by_label("Write as (ATS user's e-mail)").fill(ats_user["primary_email_address"])
    notice_box = page.get_by_label(
        "Tell each candidate once that their conversation is recorded in the ATS"
    )
    expect(notice_box).not_to_be_checked()
    notice_box.check()
    page.get_by_role("button", name="Save ATS activity settings").click()
    expect(page.locator("#writeback-state")).to_have_text("On")
    expect(notice_box).to_be_checked()

    # A journey e-mails the candidate; beat reads it: about to be written, so the notice goes.
    with tenant_scope(org):
        sent = messaging.message_send(
            organization=org, candidate=candidate, channel=Channel.EMAIL,
            subject="Your onsite interview", body="Hi Sam, could you come in on Tuesday?",
            source="journey", respect_quiet_hours=False,
        )  # fmt: skip
        assert Message.objects.get(pk=sent.pk).status == MessageStatus.SENT
    tasks.read_activity()
    assert tasks.write_due() == 1  # the journey's e-mail, on the sandbox Greenhouse
    tasks.read_activity()  # a second tick: still one notice
    with tenant_scope(org):
        notices = list(Message.objects.filter(source=NOTICE_SOURCE))
    assert [n.status for n in notices] == [MessageStatus.SENT]

    # The candidate opens the notice in the sandbox outbox and follows its link.
    page.goto(f"{sandbox.url}/sendgrid/_sandbox/")
    page.get_by_role("link", name=SUBJECT).click()
    text_part = page.locator("pre").filter(has_text="Stop recording this conversation")
    found = re.search(r"(https?://\S+/ats-notice/\S+/)", text_part.inner_text())
    assert found, text_part.inner_text()
    page.goto(found.group(1))
    expect(
        page.get_by_role("heading", name="Your conversation with Northwind Hiring")
    ).to_be_visible()
    page.get_by_role(
        "button", name="Stop recording this conversation in Northwind Hiring's ATS"
    ).click()
    expect(page.get_by_role("heading")).to_have_text(
        "We no longer record this conversation in Northwind Hiring's ATS"
    )
    page.goto(found.group(1))
    expect(page.get_by_role("heading")).to_have_text(
        "This conversation is already not recorded in Northwind Hiring's ATS"
    )

    # The notice e-mail itself is read after the pause: kept here, not written.
    tasks.read_activity()
    assert tasks.write_due() == 0

    # The recruiter sees who paused it, and can resume.
    page.goto(f"{base}/candidates/{candidate.pk}/")
    expect(page.locator("[data-ats-paused]")).to_have_text("ATS recording paused by the candidate")
    expect(page.locator("#timeline")).to_contain_text(
        "The candidate stopped the recording of this conversation in the ATS"
    )
    expect(page.locator("[data-ats-write=written]")).to_have_count(1)
    expect(page.locator("[data-ats-write=paused]")).to_have_count(1)
    page.get_by_role("button", name="Resume writing to the ATS").click()
    expect(page.locator("[data-ats-paused]")).to_have_count(0)
    expect(page.get_by_role("button", name="Pause writing to the ATS")).to_be_visible()
    assert csp_violations == []
