""" "Use the sandbox" (`/setup/sandbox/`): a new organization gets its own sandbox Greenhouse
company, connected, synced and wired to its webhook endpoint, with texting and e-mail through
the sandbox; once only, owners and admins only, and only where a sandbox runs."""

from __future__ import annotations

import time

import pytest
import requests
from django.contrib.messages import get_messages
from django.urls import reverse

from candidates.demo import demo_sandbox_wire, sandbox_sendgrid_account
from candidates.models import Candidate, StageTransition, SyncRun
from integrations.cronofy.models import CronofySettings
from integrations.greenhouse.models import GreenhouseConnection
from integrations.lever.models import LeverConnection
from integrations.models import ConnectionStatus, WebhookDelivery
from integrations.sandbox.server import SandboxServer
from integrations.screens import screens_for
from integrations.sendgrid.models import SendGridSettings
from integrations.twilio.models import TwilioSettings
from messaging import selectors as messaging_selectors
from recruitflow.sandbox_org import sandbox_company_key, sandbox_screen_url
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=12, n_jobs=3, webhook_retry_scale=0.001) as server:
        yield server


@pytest.fixture
def celery_eager(settings, monkeypatch):
    """The first sync and the webhook's work run in the request that queues them (the autouse
    ``_celery_not_left_eager`` puts Celery's flags back afterwards)."""
    from recruitflow.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    app.loader.import_default_modules()
    monkeypatch.setattr(
        app,
        "send_task",
        lambda name, args=None, kwargs=None, **options: app.tasks[name].apply(
            args=args, kwargs=kwargs
        ),
    )


@pytest.fixture
def on_sandbox(settings, sandbox, live_server, celery_eager):
    """This installation runs the sandbox, and the sandbox can reach the web app."""
    settings.SANDBOX_URL = sandbox.url
    settings.SANDBOX_SHORTCUTS = True
    settings.PUBLIC_BASE_URL = live_server.url
    return sandbox


def _companies(sandbox) -> dict:
    listed = requests.get(f"{sandbox.url}/greenhouse/_sandbox/api/companies", timeout=5).json()
    return {c["key"]: c for c in listed}


def _flash(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_use_sandbox_connects_a_new_organization_to_its_own_company_when_an_admin_asks(
    client_for, alice, on_sandbox
):
    response = client_for(alice).post(reverse("use_sandbox"))

    assert response.status_code == 302 and response.url == reverse("dashboard")
    organization = alice.organization
    key = sandbox_company_key(organization)
    company = _companies(on_sandbox)[key]
    with tenant_scope(organization):
        connection = GreenhouseConnection.objects.get(organization=organization)
        run = SyncRun.objects.get()
        synced = Candidate.objects.count()
    assert connection.client_id == company["client_id"] != "sandbox-client-id"
    assert connection.status == ConnectionStatus.CONNECTED
    assert run.status == "succeeded", run.error
    assert synced == company["candidates"] == 12
    # The company's webhook goes to this organization's endpoint, signed with its secret.
    hook = company["webhook"]
    assert hook["enabled"] and hook["url"].endswith(f"/{connection.endpoint_token}/")
    assert hook["secret"] == connection.webhook_secret
    # The default company (the demo's) is untouched.
    default = requests.get(f"{on_sandbox.url}/greenhouse/_sandbox/api/webhook", timeout=5).json()
    assert default["url"] != hook["url"]
    flash = _flash(response)
    assert "The sandbox is set up" in flash and "webhook on" in flash
    assert f"/greenhouse/companies/{key}/_sandbox/" in flash
    assert sandbox_screen_url(organization) == (
        f"{on_sandbox.url}/greenhouse/companies/{key}/_sandbox/"
    )
    # Settings → Integrations links to the organization's own sandbox screen.
    page = client_for(alice).get(reverse("integrations:index")).content.decode()
    assert f'href="{on_sandbox.url}/greenhouse/companies/{key}/_sandbox/"' in page
    # Texts go out from a sandbox number of the organization's own; e-mail to the outbox.
    with tenant_scope(organization):
        twilio = TwilioSettings.objects.get(organization=organization)
        sendgrid = SendGridSettings.objects.get(organization=organization)
    assert twilio.from_number == messaging_selectors.sandbox_sms_number(organization)
    assert sendgrid.base_url == f"{on_sandbox.url}/sendgrid"
    # Calendars: the sandbox calendar service, for members to connect their own.
    with tenant_scope(organization):
        calendars = CronofySettings.objects.get(organization=organization)
    assert calendars.api_base_url == f"{on_sandbox.url}/cronofy"
    assert "Calendars: the sandbox calendar service" in flash


def test_a_stage_change_in_the_organizations_company_reaches_only_that_organization(
    client_for, alice, mallory, on_sandbox
):
    client_for(alice).post(reverse("use_sandbox"))
    client_for(mallory).post(reverse("use_sandbox"))
    alice_key = sandbox_company_key(alice.organization)
    state = on_sandbox.greenhouse_companies.state_for(alice_key)
    app = next(a for a in state.co.applications.values() if a["status"] == "active")
    stages = state.co.job_stages(app["job_id"])
    target = next(s for s in stages if s["id"] != app["stage_id"])

    state.move_application(app["id"], target["id"])
    assert state.dispatcher.wait_idle(10)

    assert state.deliveries[-1]["status"] == "delivered"
    with tenant_scope(alice.organization):
        moved = StageTransition.objects.filter(application__external_id=str(app["id"]))
        assert [t.to_stage_name for t in moved] == [target["name"]]
    with tenant_scope(mallory.organization):
        assert not StageTransition.objects.filter(to_stage_name=target["name"]).exists()
        assert not WebhookDelivery.objects.filter(kind="candidate_stage_change").exists()


def test_use_sandbox_twice_keeps_one_company_one_connection_and_the_settings(
    client_for, alice, on_sandbox
):
    client = client_for(alice)
    client.post(reverse("use_sandbox"))
    with tenant_scope(alice.organization):
        first = GreenhouseConnection.objects.get()
        number = TwilioSettings.objects.get().from_number

    response = client.post(reverse("use_sandbox"))

    key = sandbox_company_key(alice.organization)
    assert sum(1 for k in _companies(on_sandbox) if k == key) == 1
    with tenant_scope(alice.organization):
        again = GreenhouseConnection.objects.get()
        assert TwilioSettings.objects.get().from_number == number
        assert SyncRun.objects.count() == 2  # a later click syncs what changed
    assert (again.pk, again.client_id, again.endpoint_token) == (
        first.pk,
        first.client_id,
        first.endpoint_token,
    )
    assert "kept the texting settings" in _flash(response)


def test_a_recruiter_cannot_use_the_sandbox_for_the_organization(client_for, bob, on_sandbox):
    response = client_for(bob).post(reverse("use_sandbox"))

    assert response.status_code == 403
    assert sandbox_company_key(bob.organization) not in _companies(on_sandbox)
    with tenant_scope(bob.organization):
        assert not GreenhouseConnection.objects.exists()


def test_use_sandbox_explains_it_is_not_available_without_a_sandbox(client_for, alice, settings):
    settings.SANDBOX_URL = ""

    response = client_for(alice).post(reverse("use_sandbox"))

    assert response.status_code == 302
    assert "not available on this installation" in _flash(response)
    with tenant_scope(alice.organization):
        assert not GreenhouseConnection.objects.exists()


def test_use_sandbox_leaves_an_organizations_own_ats_alone(client_for, alice, on_sandbox):
    with tenant_scope(alice.organization):
        LeverConnection.objects.create(
            organization=alice.organization,
            api_key="their-own-key",
            status=ConnectionStatus.CONNECTED,
        )

    response = client_for(alice).post(reverse("use_sandbox"))

    assert "connected to its own ATS" in _flash(response)
    with tenant_scope(alice.organization):
        assert not GreenhouseConnection.objects.exists()
        assert LeverConnection.objects.get().api_key == "their-own-key"


def test_use_sandbox_is_a_post(client_for, alice, settings):
    assert client_for(alice).get(reverse("use_sandbox")).status_code == 405


def test_an_organization_on_the_sandboxs_shared_company_keeps_it(client_for, alice, on_sandbox):
    with tenant_scope(alice.organization):
        shared = GreenhouseConnection.objects.create(
            organization=alice.organization,
            base_url=f"{on_sandbox.url}/greenhouse",
            client_id="sandbox-client-id",
            client_secret="sandbox-client-secret",
            status=ConnectionStatus.CONNECTED,
        )

    response = client_for(alice).post(reverse("use_sandbox"))

    assert "shared company; it is kept" in _flash(response)
    assert f"{on_sandbox.url}/greenhouse/_sandbox/" in _flash(response)
    assert sandbox_company_key(alice.organization) not in _companies(on_sandbox)
    with tenant_scope(alice.organization):
        kept = GreenhouseConnection.objects.get()
        assert not SyncRun.objects.exists()
    assert (kept.pk, kept.client_id) == (shared.pk, "sandbox-client-id")


def test_the_demo_wiring_still_uses_the_sandboxs_default_company(alice, on_sandbox, settings):
    said: list[str] = []

    wired = demo_sandbox_wire(
        organization=alice.organization,
        sandbox_url=on_sandbox.url,
        public_base_url=settings.PUBLIC_BASE_URL,
        wait_seconds=30,
        log=said.append,
    )

    assert wired, said
    with tenant_scope(alice.organization):
        connection = GreenhouseConnection.objects.get()
        assert SyncRun.objects.get().status == "succeeded"
    assert connection.client_id == "sandbox-client-id"
    hook = requests.get(f"{on_sandbox.url}/greenhouse/_sandbox/api/webhook", timeout=5).json()
    assert hook["enabled"] and hook["url"].endswith(f"/{connection.endpoint_token}/")
    assert any("webhook →" in line for line in said)


def _email_and_wait(organization, candidate, subject: str):
    """Send ``candidate`` an e-mail from ``organization`` and wait for its delivery events."""
    from messaging.models import Message
    from messaging.services import message_send

    with tenant_scope(organization):
        sent = message_send(
            organization=organization,
            candidate=candidate,
            channel="email",
            subject=subject,
            body="Hello from the sandbox.",
            source="manual",
            respect_quiet_hours=False,
        )
    deadline = time.monotonic() + 20
    while True:
        with tenant_scope(organization):
            message = Message.objects.get(pk=sent.pk)
        if message.status == "delivered" or time.monotonic() > deadline:
            return message
        time.sleep(0.2)


def test_each_organizations_sendgrid_events_reach_that_organization(
    client_for, alice, mallory, on_sandbox
):
    # The demo-like organization e-mails through the sandbox's shared key, whose account's
    # Event Webhook points at its endpoint (what the demo's wiring sets up).
    demo = mallory.organization
    shared_key = "SG.sandbox-key"
    demo_events = messaging_selectors.callback_urls(organization=demo).urls["sendgrid-events"]
    demo_public_key = sandbox_sendgrid_account(
        sandbox_url=on_sandbox.url, api_key=shared_key, event_url=demo_events
    )
    screen = next(s for s in screens_for("email") if s.identifier == "sendgrid")
    with tenant_scope(demo):
        screen.save_settings(
            organization=demo,
            base_url=f"{on_sandbox.url}/sendgrid",
            api_key=shared_key,
            from_email="talent@recruitflow.test",
            from_name="Demo",
            reply_to="",
            event_public_key=demo_public_key,
        )
        demo_candidate = Candidate.objects.create(
            organization=demo,
            provider="greenhouse",
            external_id="demo-1",
            first_name="Dana",
            last_name="Demo",
            primary_email="dana@example.com",
        )

    client_for(alice).post(reverse("use_sandbox"))
    organization = alice.organization
    with tenant_scope(organization):
        own = SendGridSettings.objects.get(organization=organization)
        candidate = Candidate.objects.exclude(primary_email="").first()
    assert own.api_key != shared_key and own.event_public_key
    hook = requests.get(
        f"{on_sandbox.url}/sendgrid/_sandbox/api/config", params={"api_key": own.api_key}, timeout=5
    ).json()
    own_events = messaging_selectors.callback_urls(organization=organization).urls[
        "sendgrid-events"
    ]
    assert hook["url"] == own_events != demo_events

    mine = _email_and_wait(organization, candidate, "From the new organization")
    theirs = _email_and_wait(demo, demo_candidate, "From the demo")

    assert mine.status == "delivered", (mine.status, mine.error_message)
    assert theirs.status == "delivered", (theirs.status, theirs.error_message)
    outbox = {m["subject"]: m for m in on_sandbox.sendgrid.mails.values()}
    assert outbox["From the new organization"]["account"] == own.api_key
    assert outbox["From the demo"]["account"] == shared_key
    # Each batch of events went to the endpoint of the organization that sent the mail.
    posted = [d["url"] for d in on_sandbox.sendgrid.deliveries]
    assert own_events in posted and demo_events in posted
