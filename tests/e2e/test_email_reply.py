"""A candidate answers a journey e-mail from the sandbox SendGrid outbox ("Reply as the
candidate" posts an Inbound Parse request with basic auth to the organization's reply URL), and
the recruiter sees the answer, without the quoted e-mail, in the Inbox thread."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from candidates.models import Candidate
from integrations.sandbox.server import SandboxServer
from integrations.sendgrid.models import SendGridSettings
from messaging import services
from messaging.models import Channel, MessageStatus
from messaging.selectors import inbound_parse_url
from recruitflow.tenancy import tenant_scope
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=5) as server:
        yield server


@pytest.fixture(autouse=True)
def celery_runs_in_process(settings):
    """Deliveries run eagerly inside the request that queues them."""
    from recruitflow.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def test_candidate_replies_from_the_sandbox_outbox_and_the_reply_is_in_the_inbox(
    live_server, page, sandbox, settings, one_request_at_a_time
):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_URL = sandbox.url
    settings.SANDBOX_SHORTCUTS = True  # the sandbox is told where replies go, as in `make run`
    settings.REPLY_EMAIL_DOMAIN = "reply.northwind.test"
    sandbox.sendgrid.reset()
    sandbox.sendgrid.configure_events(url=None)
    org, _user, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    with tenant_scope(org):
        SendGridSettings.objects.create(
            organization=org,
            api_key="SG.sandbox-key",
            from_email="jobs@northwind.test",
            from_name="Northwind Hiring",
            base_url=f"{sandbox.url}/sendgrid",
            event_public_key=sandbox.sendgrid.public_key_b64,
        )
        parse = inbound_parse_url(organization=org)
        candidate = Candidate.objects.create(
            organization=org,
            provider="greenhouse",
            external_id="c-1",
            first_name="Sam",
            last_name="Okafor",
            primary_email="sam@example.com",
        )
        sent = services.message_send(
            organization=org,
            candidate=candidate,
            channel=Channel.EMAIL,
            subject="Your onsite interview",
            body="Hi Sam, could you come in on Tuesday at 10:00?",
            source="journey",
        )
        sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT
    # Sending through the sandbox pointed its Inbound Parse for the reply domain at us.
    settings_list = requests.get(
        f"{sandbox.url}/sendgrid/v3/user/webhooks/parse/settings",
        headers={"Authorization": "Bearer SG.sandbox-key"},
        timeout=10,
    ).json()["result"]
    assert [(s["hostname"], s["url"]) for s in settings_list] == [
        (f"o{org.pk}.reply.northwind.test", parse.url_with_credentials)
    ]

    # The candidate opens the e-mail in the sandbox outbox and replies.
    page.goto(f"{sandbox.url}/sendgrid/_sandbox/")
    page.get_by_role("link", name="Your onsite interview").click()
    expect(page.get_by_text("List-Unsubscribe-Post: List-Unsubscribe=One-Click")).to_be_visible()
    page.get_by_label("Reply text").fill("Tuesday at 10 works, see you then.")
    page.get_by_role("button", name="Reply as the candidate").click()
    expect(page.get_by_role("status")).to_have_text("Reply posted to the Inbound Parse URL.")
    assert sandbox.sendgrid.inbound_dispatcher.wait_idle(10)
    assert sandbox.sendgrid.inbound_deliveries[-1]["status"] == "delivered"

    # The recruiter finds it in the Inbox thread, without the quoted e-mail.
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "rita@northwind.test")
    page.fill("input[name=password]", "correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Rita")).to_be_visible()
    page.locator("nav.sidebar").get_by_role("link", name="Inbox").click()
    row = page.locator(".conversation", has_text="Sam Okafor")
    expect(row).to_contain_text("Tuesday at 10 works")
    row.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/inbox/{sent.conversation_id}/$"))
    answer = page.locator("#thread-messages .bubble-row.in").last
    expect(answer).to_contain_text("Tuesday at 10 works, see you then.")
    expect(answer).not_to_contain_text("wrote:")
