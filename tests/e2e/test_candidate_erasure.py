"""Deleting a candidate's personal data in a real browser, as an admin does it: from the
candidate's page, "Delete this candidate's personal data" with the name typed to confirm; the page
that follows lists what was emptied (messages, the booking, the ATS write stopped, the partner
event, the stored vendor webhook, the notification), the candidate page shows the erased state
with nothing of the person, and the Schedule's week view says the interview was cancelled when
the candidate's data was erased."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from candidates.models import Candidate, TimelineEvent
from integrations.models import WebhookDelivery
from messaging.models import Conversation, Message
from notifications.models import Kind, Notification
from partners.collector import payload_body
from partners.models import Event
from partners.sources import candidate_data
from recruitflow.tenancy import tenant_scope
from scheduling.models import SchedulingTemplate
from scheduling.week import monday_of
from tests.factories import make_org_with_owner
from tests.scheduling.helpers import booked
from writeback.models import ActivityWrite, WriteKind

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-9"


@pytest.fixture
def nina():
    """Northwind's owner Rita, and the candidate Nina Petrova with a text, an interview next
    week, a note waiting to be written to the ATS, a partner event, a stored inbound text and a
    notification about her reply."""
    organization, user, _ = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    now = timezone.now()
    with tenant_scope(organization):
        candidate = Candidate.objects.create(
            organization=organization, provider="greenhouse", external_id="880001",
            first_name="Nina", last_name="Petrova", primary_email="nina@example.com",
            mobile_phone="+12125550123", emails=[{"value": "nina@example.com", "type": "personal"}],
            phones=[{"value": "+12125550123", "type": "mobile"}],
        )  # fmt: skip
        conversation = Conversation.objects.create(organization=organization, candidate=candidate)
        text = Message.objects.create(
            organization=organization, conversation=conversation, candidate=candidate,
            channel="sms", direction="inbound", to_address="+12125550199",
            from_address="+12125550123", body="Tuesday works, I'm at 4 Birch Lane",
            status="received",
        )  # fmt: skip
        reply = TimelineEvent.objects.create(
            organization=organization, candidate=candidate, kind="replied",
            summary="Nina Petrova replied: Tuesday works", occurred_at=now,
        )  # fmt: skip
        ActivityWrite.objects.create(
            organization=organization, candidate=candidate, kind=WriteKind.REPLY,
            dedupe_key="reply:1", body="Nina Petrova: Tuesday works, I'm at 4 Birch Lane",
            marker="m1", next_attempt_at=now, occurred_at=now,
        )  # fmt: skip
        data = {"candidate": candidate_data(candidate), "message": {"body": text.body}}
        Event.objects.create(
            organization=organization, type="message.received", source_key="message:1",
            body=payload_body("message.received", data, now), occurred_at=now,
        )  # fmt: skip
        WebhookDelivery.objects.create(
            organization=organization, provider="twilio", kind="inbound", event_id="inbound:1",
            raw_body=json.dumps({"From": "+12125550123", "Body": text.body}), received_at=now,
            state=WebhookDelivery.State.PROCESSED,
        )  # fmt: skip
        Notification.objects.create(
            organization=organization, user=user, kind=Kind.REPLIED,
            title="Nina Petrova replied", body=reply.summary, link="/inbox/",
            source_key=f"timeline:{reply.pk}", created_at=now,
        )  # fmt: skip
        template = SchedulingTemplate.objects.create(
            organization=organization, name="Onsite loop", event_title="Onsite interview"
        )
    start = (now + timedelta(days=8)).replace(hour=15, minute=0, second=0, microsecond=0)
    booking = booked(
        organization, template, candidate, [user], start, title="Onsite with Nina Petrova"
    )
    return {"organization": organization, "candidate": candidate, "booking": booking}


def test_an_admin_erases_a_candidate_and_sees_what_was_emptied(live_server, page, nina):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "rita@northwind.test")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Rita")).to_be_visible()

    page.goto(f"{live_server.url}/candidates/{nina['candidate'].pk}/")
    expect(page.get_by_role("heading", name="Nina Petrova", level=1)).to_be_visible()
    button = page.get_by_role("button", name="Delete this candidate's personal data")
    page.get_by_label("Type Nina Petrova to confirm").fill("Nina Petrova")
    button.click()

    done = page.locator(".messages").first
    expect(done).to_contain_text("The candidate's personal data was deleted (1 message")
    for words in (
        "1 booking",
        "1 ATS write stopped",
        "1 partner webhook event",
        "1 stored vendor webhook",
        "1 notification",
    ):
        expect(done).to_contain_text(words)
    expect(page.get_by_role("heading", name="[erased]", level=1)).to_be_visible()
    expect(page.locator("#erased-notice")).to_contain_text("Personal data deleted")
    expect(page.locator("#erased-notice")).to_contain_text("by Rita")
    # The panel keeps saying what was emptied after the message is gone.
    page.reload()
    expect(page.locator("#erased-counts")).to_contain_text("1 ATS write stopped")
    expect(page.locator("#erased-counts")).to_contain_text("1 stored vendor webhook")
    body = page.locator("body").inner_text()
    for personal in ("Nina", "Petrova", "nina@example.com", "2125550123", "Birch Lane"):
        assert personal not in body

    monday = monday_of(nina["booking"].start.date())
    page.goto(f"{live_server.url}/schedule/?view=week&week={monday.isoformat()}")
    cell = page.locator(f'td[data-booking="{nina["booking"].pk}"]')
    expect(cell).to_contain_text(re.compile(r"Cancelled when the candidate's data was erased on"))
    expect(cell).not_to_contain_text("Nina")
