"""E-mail consent: the ATS's can_email, the one-click unsubscribe link, and what the Inbox
composer and later journey e-mails make of them."""

# ruff: noqa: F811 (test parameters are the imported Journeys fixtures, by name)

from __future__ import annotations

import base64

import pytest
from django.core import mail

from candidates.models import TimelineEvent
from candidates.sync.mapping import candidate_row
from integrations.greenhouse.provider import candidate_from_payload
from integrations.models import WebhookDelivery
from integrations.sendgrid.models import SendGridSettings
from journeys import engine
from journeys.models import JourneyRun, StepRun, StepRunStatus
from messaging.email_consent import email_is_locked, unsubscribe_url
from messaging.models import (
    Conversation,
    EmailOptOutEntry,
    EmailOptOutSource,
    EmailReplyEndpoint,
)
from messaging.selectors import inbound_parse_url, preferences_for
from recruitflow.tenancy import tenant_scope
from tests.journeys.conftest import (  # noqa: F401 (the Journeys fixtures, used by name)
    ats,
    eager_tasks,
    email_template,
    make_journey,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def enter(ats, eager_tasks):
    def go(application):
        transition = ats.move(application, "Onsite Interview")
        with eager_tasks(), tenant_scope(ats.organization):
            engine.transitions_match(organization=ats.organization, transition_ids=[transition.pk])
        with tenant_scope(ats.organization):
            run = JourneyRun.objects.get(transition=transition)
            return run, {s.position: s for s in StepRun.objects.filter(run=run)}

    return go


def skipped(org, candidate):
    with tenant_scope(org):
        return list(
            TimelineEvent.objects.filter(candidate=candidate, kind="message_skipped").values_list(
                "summary", flat=True
            )
        )


def test_greenhouse_can_email_false_reaches_the_candidate_mirror(alice):
    payload = {"id": 7, "first_name": "Sam", "last_name": "Okafor", "can_email": False,
               "email_addresses": [{"value": "sam@example.com", "type": "personal"}]}  # fmt: skip
    ext = candidate_from_payload(payload)
    assert ext.can_email is False
    assert candidate_row(alice.organization, "greenhouse", ext).can_email is False
    assert candidate_from_payload({**payload, "can_email": True}).can_email is True
    assert candidate_from_payload({"id": 8}).can_email is True  # absent: allowed


def test_can_email_false_sends_no_email_and_says_why_on_the_timeline(
    ats,
    make_journey,
    email_template,
    enter,
):
    make_journey(steps=[("send_email", email_template)])
    candidate = ats.candidate(email="sam@example.com")
    with tenant_scope(ats.organization):
        candidate.can_email = False
        candidate.save(update_fields=["can_email"])

    _run, steps = enter(ats.apply(candidate))

    assert mail.outbox == []
    assert steps[1].status == StepRunStatus.SKIPPED
    assert "may not be e-mailed (can_email is off)" in steps[1].reason
    (summary,) = skipped(ats.organization, candidate)
    assert summary.startswith("E-mail not sent: the candidate's ATS record says they may not")


def test_one_click_unsubscribe_locks_email_once_and_a_later_journey_email_is_skipped(
    client,
    ats,
    make_journey,
    email_template,
    enter,
):
    org = ats.organization
    url = unsubscribe_url(organization=org, email="Sam@Example.com")
    path = url.split("://", 1)[1].split("/", 1)[1]

    page = client.get(f"/{path}")
    assert page.status_code == 200
    assert b"Unsubscribe</button>" in page.content
    assert not email_is_locked(org, "sam@example.com")  # a link scanner's GET changes nothing

    for _ in range(2):  # a mail app may send it twice: idempotent
        response = client.post(
            f"/{path}",
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
    with tenant_scope(org):
        (entry,) = EmailOptOutEntry.objects.all()
    assert (entry.email, entry.source) == ("sam@example.com", EmailOptOutSource.ONE_CLICK)
    assert b"You are unsubscribed" in client.get(f"/{path}").content

    make_journey(steps=[("send_email", email_template)])
    candidate = ats.candidate(email="sam@example.com")
    _run, steps = enter(ats.apply(candidate))

    assert mail.outbox == []
    assert steps[1].status == StepRunStatus.SKIPPED
    assert steps[1].reason.startswith(
        "sam@example.com unsubscribed with their mail app's unsubscribe button on "
    )


def test_a_tampered_unsubscribe_link_is_not_found_and_locks_nothing(client, alice):
    url = unsubscribe_url(organization=alice.organization, email="sam@example.com")
    path = url.split("://", 1)[1].split("/", 1)[1]
    tampered = path.replace("unsubscribe/", "unsubscribe/x", 1)

    response = client.post(f"/{tampered}", data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 404
    assert not email_is_locked(alice.organization, "sam@example.com")


def test_inbox_composer_shows_email_locked_with_why(client_for, alice, ats):
    org = ats.organization
    candidate = ats.candidate(email="sam@example.com")
    with tenant_scope(org):
        conversation = Conversation.objects.create(organization=org, candidate=candidate)
    client = client_for(alice)
    client.post(
        "/" + unsubscribe_url(organization=org, email="sam@example.com").split("/", 3)[3],
        data={},
    )

    page = client.get(f"/inbox/{conversation.pk}/").content.decode()

    assert "E-mail is locked: sam@example.com unsubscribed with the link in an e-mail on" in page


def test_sendgrid_card_shows_the_inbound_parse_url_with_its_basic_auth(client_for, alice):
    org = alice.organization
    with tenant_scope(org):
        SendGridSettings.objects.create(
            organization=org, api_key="SG.key", from_email="jobs@acme.test"
        )
        parse = inbound_parse_url(organization=org)

    page = client_for(alice).get("/settings/messaging/?tab=email").content.decode()

    assert "Inbound Parse URL (candidates&#x27; replies)" in page
    assert parse.url_with_credentials in page
    assert parse.url_with_credentials.startswith(f"http://inbound:{parse.password}@")


def test_reply_endpoint_never_shown_to_an_admin_refuses_and_makes_no_credentials(client, alice):
    org = alice.organization
    token = preferences_for(organization=org).endpoint_token
    guess = base64.b64encode(b"inbound:guess").decode()

    response = client.post(
        f"/webhooks/sendgrid/{token}/inbound/",
        data={"from": "sam@example.com", "text": "hi"},
        HTTP_AUTHORIZATION=f"Basic {guess}",
    )

    assert response.status_code == 401
    with tenant_scope(org):
        assert not EmailReplyEndpoint.objects.exists()
        assert not WebhookDelivery.objects.exists()
