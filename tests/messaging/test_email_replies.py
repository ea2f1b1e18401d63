"""E-mail replies and e-mail consent end to end, over HTTP: a journey's e-mail goes out through
the sandbox SendGrid, the sandbox posts the candidate's reply as Inbound Parse does
(multipart, basic auth) to the running product, and SendGrid's events lock addresses."""

# ruff: noqa: F811 (test parameters are the imported Journeys fixtures, by name)

from __future__ import annotations

import base64
import time

import pytest
import requests
from django.db import OperationalError

from accounts.services import api_key_create
from candidates.models import TimelineEvent
from integrations.models import WebhookDelivery
from integrations.sendgrid.models import SendGridSettings
from journeys import engine, tasks
from journeys.models import JourneyRun, RunStatus, StepRun, StepRunStatus
from messaging import selectors
from messaging.email_consent import email_is_locked
from messaging.models import (
    Channel,
    Conversation,
    Direction,
    EmailOptOutEntry,
    EmailOptOutSource,
    Message,
)
from messaging.selectors import inbound_parse_url
from messaging.services import CannotSend, message_deliver, message_send
from recruitflow.tenancy import tenant_scope
from tests.journeys.conftest import (  # noqa: F401 (the Journeys fixtures, used by name)
    ats,
    eager_tasks,
    email_template,
    make_journey,
)

pytestmark = pytest.mark.django_db(transaction=True)

TWO_DAYS = {"mode": "duration", "days": 2, "hours": 0, "minutes": 0}


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except OperationalError:
            pass
        time.sleep(0.1)
    return predicate()


@pytest.fixture
def org(alice):
    return alice.organization


@pytest.fixture
def mailer(live_server, settings, sandbox, org):
    """Alice's organization e-mails through the sandbox SendGrid; replies to its reply domain
    are parsed to its own Inbound Parse URL (what an admin sets up at SendGrid)."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.REPLY_EMAIL_DOMAIN = "reply.acme.test"
    sendgrid = sandbox.sendgrid
    sendgrid.reset()
    with tenant_scope(org):
        SendGridSettings.objects.create(
            organization=org,
            api_key="SG.sandbox-key",
            from_email="jobs@acme.test",
            from_name="Acme Talent",
            base_url=f"{sandbox.url}/sendgrid",
            event_public_key=sendgrid.public_key_b64,
        )
        parse = inbound_parse_url(organization=org)
    response = requests.post(
        f"{sandbox.url}/sendgrid/v3/user/webhooks/parse/settings",
        json={"hostname": f"o{org.pk}.reply.acme.test", "url": parse.url_with_credentials},
        headers={"Authorization": "Bearer SG.sandbox-key"},
        timeout=10,
    )
    assert response.status_code == 201
    sendgrid.configure_events(url=None)
    return sendgrid


@pytest.fixture
def enter(ats, eager_tasks):
    def go(application):
        transition = ats.move(application, "Onsite Interview")
        with eager_tasks(), tenant_scope(ats.organization):
            engine.transitions_match(organization=ats.organization, transition_ids=[transition.pk])
        with tenant_scope(ats.organization):
            return JourneyRun.objects.get(transition=transition)

    return go


@pytest.fixture
def dispatch(eager_tasks):
    def go():
        with eager_tasks():
            return tasks.dispatch_due()

    return go


def sandbox_mails(sandbox, address):
    mails = requests.get(f"{sandbox.url}/sendgrid/_sandbox/api/mails", timeout=10).json()
    return [m for m in mails if any(r["email"] == address for r in m["recipients"])]


def timeline(org, candidate, kind):
    with tenant_scope(org):
        return list(TimelineEvent.objects.filter(candidate=candidate, kind=kind).order_by("pk"))


def test_journey_email_carries_the_reply_address_and_one_click_unsubscribe_headers(
    mailer,
    sandbox,
    ats,
    make_journey,
    email_template,
    enter,
):
    make_journey(steps=[("send_email", email_template)])
    candidate = ats.candidate(email="sam@example.com")

    enter(ats.apply(candidate))

    (mail,) = sandbox_mails(sandbox, "sam@example.com")
    with tenant_scope(ats.organization):
        conversation = Conversation.objects.get(candidate=candidate)
    assert mail["reply_to"]["email"].startswith(f"reply+c{conversation.pk}-")
    assert mail["reply_to"]["email"].endswith(f"@o{ats.organization.pk}.reply.acme.test")
    unsubscribe = mail["headers"]["List-Unsubscribe"]
    assert unsubscribe.startswith("<http") and "/email/unsubscribe/" in unsubscribe
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.strip("<>") in mail["text"]
    assert "Unsubscribe</a>" in mail["html"]

    # The link works: one click (a mail app's POST) locks e-mail for the address.
    response = requests.post(
        unsubscribe.strip("<>"),
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 200
    assert email_is_locked(ats.organization, "sam@example.com")


def test_inbound_parse_reply_lands_in_the_thread_trimmed_and_ends_the_journey_as_replied(
    mailer,
    sandbox,
    ats,
    make_journey,
    email_template,
    enter,
    dispatch,
):
    make_journey(
        steps=[("send_email", email_template), ("wait", TWO_DAYS), ("send_email", email_template)],
        exit_rules=["replied"],
    )
    candidate = ats.candidate(email="sam@example.com")
    run = enter(ats.apply(candidate))
    (mail,) = sandbox_mails(sandbox, "sam@example.com")

    posted = requests.post(
        f"{sandbox.url}/sendgrid/_sandbox/api/mails/{mail['id']}/reply",
        json={"text": "Yes, Tuesday at 10 works for me."},
        timeout=10,
    )
    assert posted.status_code == 201
    assert mailer.inbound_dispatcher.wait_idle(10)
    assert mailer.inbound_deliveries[-1]["status"] == "delivered"

    def reply():
        with tenant_scope(ats.organization):
            return Message.objects.filter(direction=Direction.INBOUND).first()

    assert wait_until(lambda: reply() is not None)
    message = reply()
    with tenant_scope(ats.organization):
        conversation = Conversation.objects.get(candidate=candidate)
    assert message.channel == Channel.EMAIL
    assert message.conversation_id == conversation.pk
    assert message.body == "Yes, Tuesday at 10 works for me."  # the quote is gone
    assert message.subject.startswith("Re: ")
    assert message.from_address == "sam@example.com"
    assert conversation.unread_count == 1
    (replied,) = timeline(ats.organization, candidate, "replied")
    assert replied.summary == "Replied by e-mail: Yes, Tuesday at 10 works for me."
    assert replied.data["channel"] == "email" and replied.data["reply"] == "first"

    dispatch()

    with tenant_scope(ats.organization):
        run.refresh_from_db()
        steps = {s.position: s for s in StepRun.objects.filter(run=run)}
    assert (run.status, run.exit_rule) == (RunStatus.EXITED, "replied")
    assert steps[2].status == StepRunStatus.CANCELED and 3 not in steps  # no second e-mail
    assert len(sandbox_mails(sandbox, "sam@example.com")) == 1

    # SendGrid retries a POST it thinks failed: the same Message-ID stores nothing new.
    delivery = mailer.inbound_deliveries[-1]
    again = requests.post(
        delivery["url"],
        data=delivery["body"].encode(),
        headers=delivery["headers"],
        timeout=10,
    )
    assert again.status_code == 200
    with tenant_scope(ats.organization):
        assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


def _counts(org):
    with tenant_scope(org):
        return WebhookDelivery.objects.count(), Message.objects.count()


def test_inbound_parse_with_wrong_auth_is_401_and_wrong_token_404_and_nothing_is_stored(
    mailer, org
):
    with tenant_scope(org):
        parse = inbound_parse_url(organization=org)
    fields = {
        "from": "Sam <sam@example.com>",
        "to": "reply+c1-0123456789abcdef0123@reply.acme.test",
        "subject": "Re: hi",
        "text": "Hello",
        "envelope": '{"to":["reply+c1-0123456789abcdef0123@reply.acme.test"],'
        '"from":"sam@example.com"}',
        "charsets": '{"text":"UTF-8"}',
    }
    multipart = {name: (None, value) for name, value in fields.items()}
    before = _counts(org)

    def auth(user, password):
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    wrong_password = requests.post(
        parse.url, files=multipart, headers=auth(parse.username, "guess"), timeout=10
    )
    no_auth = requests.post(parse.url, files=multipart, timeout=10)
    wrong_token = requests.post(
        parse.url.replace("/sendgrid/", "/sendgrid/x").replace("/inbound/", "x/inbound/"),
        files=multipart,
        headers=auth(parse.username, parse.password),
        timeout=10,
    )

    assert wrong_password.status_code == 401
    assert wrong_password.headers["WWW-Authenticate"].startswith("Basic")
    assert no_auth.status_code == 401
    assert wrong_token.status_code == 404
    assert _counts(org) == before

    # The right credentials are taken; an address that names no thread still finds the
    # candidate by the sender's address, or stays unmatched.
    accepted = requests.post(
        parse.url, files=multipart, headers=auth(parse.username, parse.password), timeout=10
    )
    assert accepted.status_code == 200
    assert wait_until(lambda: _counts(org)[1] == before[1] + 1)


def test_spam_report_and_hard_bounce_from_sendgrid_lock_email_for_the_address(
    mailer,
    sandbox,
    ats,
    org,
    alice,
    live_server,
):
    sam = ats.candidate(email="sam@example.com")
    gone = ats.candidate(first_name="Nobody", email="nobody@bounce.test")
    mailer.configure_events(url=selectors.callback_urls(organization=org).sendgrid_events)

    for candidate in (sam, gone):
        with tenant_scope(org):
            message = message_send(
                organization=org,
                candidate=candidate,
                channel=Channel.EMAIL,
                subject="Hello",
                body="Hi there",
                source="manual",
            )
            message_deliver(organization=org, message_id=message.pk)
    (mail,) = sandbox_mails(sandbox, "sam@example.com")
    mailer.emit_event(mail["id"], "spamreport")
    mailer.wait_idle(10)

    assert wait_until(lambda: email_is_locked(org, "sam@example.com"))
    assert wait_until(lambda: email_is_locked(org, "nobody@bounce.test"))
    with tenant_scope(org):
        sources = dict(EmailOptOutEntry.objects.values_list("email", "source"))
    assert sources == {
        "sam@example.com": EmailOptOutSource.SPAM_REPORT,
        "nobody@bounce.test": EmailOptOutSource.BOUNCE,
    }

    with tenant_scope(org), pytest.raises(CannotSend) as refused:
        message_send(
            organization=org,
            candidate=sam,
            channel=Channel.EMAIL,
            subject="Again",
            body="Hi",
            source="manual",
        )
    assert refused.value.reason.startswith("sam@example.com marked an e-mail as spam on ")

    # The API's e-mail opt-out list shows both, with why.
    with tenant_scope(org):
        _key, raw = api_key_create(actor=alice.membership, name="ATS bridge", scope="read")
    listed = requests.get(
        f"{live_server.url}/api/v1/opt-outs/email/",
        headers={"Authorization": f"Bearer {raw}"},
        timeout=10,
    ).json()
    assert {(e["email"], e["source_label"]) for e in listed["results"]} == {
        ("sam@example.com", "Marked an e-mail as spam"),
        ("nobody@bounce.test", "Address bounced"),
    }


def test_sending_through_the_sandbox_points_its_inbound_parse_at_the_organization(
    mailer, sandbox, settings, org, ats
):
    settings.SANDBOX_URL = sandbox.url
    settings.SANDBOX_SHORTCUTS = True
    mailer.parse_settings.clear()
    sam = ats.candidate(email="sam@example.com")

    with tenant_scope(org):
        message = message_send(
            organization=org,
            candidate=sam,
            channel=Channel.EMAIL,
            subject="Hello",
            body="Hi there",
            source="manual",
        )
        message_deliver(organization=org, message_id=message.pk)
        parse = inbound_parse_url(organization=org)

    host = f"o{org.pk}.reply.acme.test"
    assert mailer.parse_settings[host]["url"] == parse.url_with_credentials
    (mail,) = sandbox_mails(sandbox, "sam@example.com")
    assert mail["reply_to"]["email"].endswith(f"@{host}")
