"""Deleting a candidate's personal data reaches every copy of it: the write-back outbox, partner
webhook payloads and their delivery log, the vendors' webhook bodies the intake stored and
vendor call errors, journey and bulk action reasons quoting the candidate, the partner API's
stored answers, and the team's notifications — checked by reading every text, JSON and binary
column of every installed model afterwards, so a copy added later by any app is caught too.
Rows and counts stay; a write or delivery still waiting never carries the personal data; the
Schedule says why an interview was cancelled."""

from __future__ import annotations

import importlib
import json
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from accounts.models import IdempotencyRecord
from bulk.models import BulkAction, BulkActionItem
from candidates.erasure import API_ANSWER_EMPTIED, ERASED, erase_candidate
from candidates.models import Application, CandidateErasure, StageTransition, TimelineEvent
from integrations.models import ProviderCall, WebhookDelivery
from journeys.models import JourneyRun, StepRun
from messaging.models import Message
from notifications.models import Kind, Notification
from partners import delivery as partner_delivery
from partners.collector import payload_body
from partners.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, Subscription
from partners.sources import candidate_data
from recruitflow.tenancy import tenant_scope
from scheduling.erasure import CANCEL_REASON
from scheduling.models import Booking, BookingStatus, CancelledBy
from scheduling.week import cancelled_words
from tests.candidates.test_erasure import _history, recordings_folder  # noqa: F401
from tests.factories import live_onsite_journey, onsite_stage_change
from tests.partners.receiver import Receiver
from tests.scheduling.test_schedule_week import entry
from writeback.models import ActivityWrite, WriteKind, WriteStatus
from writeback.selectors import write_state
from writeback.services import write_enqueue

# Everything that identifies Rita or says what she wrote, in the spellings vendors store.
IDENTIFIERS = (
    "Rita",
    "rita@example.com",
    "rita%40example.com",
    "2125550100",
    "Elm Street",
    "Elm+Street",
    "divorce",
)
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.BinaryField)


def _copies(organization, rita: dict, *, receiver_url: str) -> dict:
    """The copies other apps keep of Rita's data: ATS writes (one written, one waiting), partner
    events (one delivered with its log, one waiting), stored vendor webhooks (an ATS event, an
    inbound text not applied yet, an e-mail event) and a bell notification, plus another
    candidate's vendor webhook that must stay."""
    candidate = rita["candidate"]
    email, text = rita["messages"]
    now = timezone.now()
    journey = live_onsite_journey(organization)
    onsite_stage_change(organization, candidate)
    with tenant_scope(organization):
        Message.objects.filter(pk=text.pk).update(provider_message_id="SMf00dfeed42")
        entry_ = TimelineEvent.objects.create(
            organization=organization,
            candidate=candidate,
            kind="replied",
            summary="Rita Recorded replied: I live at 12 Elm Street",
            occurred_at=now,
        )
        written = ActivityWrite.objects.create(
            organization=organization, candidate=candidate, kind=WriteKind.EMAIL,
            dedupe_key="email:1", subject="Hi Rita, your interview",
            body="Dear Rita, see you Monday.", email_to="rita@example.com",
            email_from="jobs@acme.test", marker="m1", status=WriteStatus.WRITTEN,
            external_id="ats-1", occurred_at=now,
        )  # fmt: skip
        waiting = ActivityWrite.objects.create(
            organization=organization, candidate=candidate, kind=WriteKind.ATTACHMENT,
            dedupe_key="transcript:1", filename="Texts with Rita Recorded.pdf",
            data=b"%PDF I live at 12 Elm Street", producer_args={"to": "+12125550100"},
            marker="m2", status=WriteStatus.PENDING, next_attempt_at=now, occurred_at=now,
        )  # fmt: skip
        subscription = Subscription.objects.create(
            organization=organization, url=receiver_url, event_types=["message.received"]
        )
        events = []
        for type_, data in (
            (
                "message.received",
                {
                    "candidate": candidate_data(candidate),
                    "message": {"id": text.pk, "from": "+12125550100", "body": text.body},
                },
            ),
            ("opt_out.changed", {"channel": "email", "address": "rita@example.com"}),
        ):
            events.append(
                Event.objects.create(
                    organization=organization,
                    type=type_,
                    source_key=f"{type_}:{len(events)}",
                    body=payload_body(type_, data, now),
                    occurred_at=now,
                )  # fmt: skip
            )
        sent = Delivery.objects.create(
            organization=organization, subscription=subscription, event=events[1],
            status=DeliveryStatus.DELIVERED, window_started_at=now, delivered_at=now,
        )  # fmt: skip
        DeliveryAttempt.objects.create(
            organization=organization, delivery=sent, number=1, url=receiver_url,
            request_body=events[1].body, response_status=200,
            response_body='{"received": "rita@example.com"}', started_at=now,
        )  # fmt: skip
        pending = Delivery.objects.create(
            organization=organization, subscription=subscription, event=events[0],
            status=DeliveryStatus.PENDING, window_started_at=now, next_attempt_at=now,
        )  # fmt: skip
        ats_body = {
            "action": "candidate_stage_change",
            "payload": {
                "application": {
                    "candidate": {
                        "id": int(candidate.external_id)
                        if candidate.external_id.isdigit()
                        else candidate.external_id,
                        "first_name": "Rita",
                        "email_addresses": [{"value": "rita@example.com"}],
                    }
                }
            },
        }
        stored = [
            WebhookDelivery.objects.create(
                organization=organization, provider=candidate.provider, kind="candidate",
                event_id="gh-1", raw_body=json.dumps(ats_body), received_at=now,
                state=WebhookDelivery.State.PROCESSED,
            ),
            WebhookDelivery.objects.create(
                organization=organization, provider="twilio", kind="inbound",
                event_id="inbound:SMf00dfeed42",
                raw_body=urlencode({"MessageSid": "SMf00dfeed42", "From": "+12125550100",
                                    "To": "+12125550199", "Body": "I live at 12 Elm Street"}),
                received_at=now, state=WebhookDelivery.State.RECEIVED, next_attempt_at=now,
            ),
            WebhookDelivery.objects.create(
                organization=organization, provider="sendgrid", kind="events", event_id="sg-1",
                raw_body=json.dumps([{"email": "rita@example.com", "event": "delivered"}]),
                received_at=now, state=WebhookDelivery.State.PROCESSED,
            ),
        ]  # fmt: skip
        other_body = json.dumps({"payload": {"candidate": {"id": 4242, "first_name": "Omar"}}})
        other = WebhookDelivery.objects.create(
            organization=organization, provider=candidate.provider, kind="candidate",
            event_id="gh-2", raw_body=other_body, received_at=now,
            state=WebhookDelivery.State.RECEIVED, next_attempt_at=now,
        )  # fmt: skip
        ProviderCall.objects.create(
            organization=organization, provider="twilio", method="POST",
            path="/2010-04-01/Accounts/AC1/Messages.json", status=400, started_at=now,
            error="HTTP 400: The 'To' number +12125550100 is not a valid phone number.",
        )  # fmt: skip
        application = Application.objects.filter(candidate=candidate).first()
        run = JourneyRun.objects.create(
            organization=organization, journey=journey, version=journey.current_version,
            transition=StageTransition.objects.filter(candidate=candidate).first(),
            application=application, candidate=candidate, status="failed",
            reason="Stopped: +12125550100 is not a valid mobile number", started_at=now,
        )  # fmt: skip
        StepRun.objects.create(
            organization=organization, run=run, step=journey.current_version.steps.get(),
            position=1, status="failed", due_at=now,
            reason="Twilio refused +12125550100: not a mobile number",
        )  # fmt: skip
        action = BulkAction.objects.create(
            organization=organization, token="t", kind="send", target_name="Quick hello", total=1
        )
        BulkActionItem.objects.create(
            organization=organization, action=action, candidate=candidate, outcome="failed",
            detail="Not sent: rita@example.com bounced before",
        )  # fmt: skip
        IdempotencyRecord.objects.create(
            organization=organization, principal="key:1", key="send-1", fingerprint="f" * 64,
            method="POST", path="/api/v1/messages/", status_code=201,
            content_type="application/json",
            body=json.dumps({"to": "+12125550100", "body": "See you, Rita"}).encode(),
        )  # fmt: skip
        member = rita["review"].reviewer
        told = Notification.objects.create(
            organization=organization, user=member, kind=Kind.REPLIED,
            title="Rita Recorded replied", body=entry_.summary, link="/inbox/",
            source_key=f"timeline:{entry_.pk}", created_at=now, email_pending=True,
        )  # fmt: skip
    return {
        "writes": (written, waiting),
        "events": events,
        "pending": pending,
        "stored": stored,
        "other": other,
        "told": told,
    }


def _personal_copies(skip_organization) -> list[str]:
    """Every text, JSON or binary value in the database (any installed app) that still holds
    one of Rita's identifiers; ``skip_organization``'s rows (another tenant's Tess shares her
    phone number) are left out."""
    found = []
    for model in apps.get_models():
        columns = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, TEXT_FIELDS) and not f.is_relation
        ]
        if not columns:
            continue
        rows = model._base_manager.all()
        if any(f.name == "organization" for f in model._meta.concrete_fields):
            rows = rows.exclude(organization=skip_organization)
        for row in rows.values("pk", *columns).iterator():
            for column in columns:
                value = row[column]
                if isinstance(value, bytes | memoryview):
                    text = bytes(value).decode("latin-1")
                else:
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                hits = [needle for needle in IDENTIFIERS if needle.lower() in text.lower()]
                if hits:
                    found.append(f"{model._meta.label}.{column} #{row['pk']}: {hits}")
    return found


@pytest.fixture
def rita(alice, bob):
    return _history(alice.organization, first_name="Rita", interviewer=bob.user)


@pytest.fixture
def tess(mallory):
    return _history(mallory.organization, first_name="Tess", interviewer=mallory.user)


@pytest.fixture
def receiver(settings):
    settings.PARTNER_WEBHOOK_HTTP_HOSTS = ["127.0.0.1"]
    with Receiver() as server:
        yield server


@pytest.mark.django_db
def test_no_table_of_any_app_keeps_the_candidates_name_address_or_text_after_erasure(
    client_for, alice, rita, tess, receiver
):
    organization = alice.organization
    copies = _copies(organization, rita, receiver_url=receiver.url)
    assert _personal_copies(tess["candidate"].organization), "the check finds the copies"

    page = client_for(alice).post(
        f"/candidates/{rita['candidate'].pk}/erase/",
        {"confirmation": "Rita Recorded"},
        follow=True,
    )

    assert _personal_copies(tess["candidate"].organization) == []
    text = page.content.decode()
    for words in (
        "2 ATS writes",
        "1 ATS write stopped",
        "2 partner webhook events",
        "1 partner webhook delivery log",
        "3 stored vendor webhooks",
        "1 notification",
        "1 vendor call error",
        "1 stored API answer",
        "2 journey reasons",
        "1 bulk action detail",
    ):
        assert words in text
    with tenant_scope(organization):
        record = CandidateErasure.objects.get(candidate=rita["candidate"])
        written, waiting = (ActivityWrite.objects.get(pk=w.pk) for w in copies["writes"])
        stored = [WebhookDelivery.objects.get(pk=d.pk) for d in copies["stored"]]
        other = WebhookDelivery.objects.get(pk=copies["other"].pk)
        told = Notification.objects.get(pk=copies["told"].pk)
        assert Event.objects.count() == 2 and DeliveryAttempt.objects.count() == 1
    assert record.counts | {"ats_writes": 2, "ats_writes_stopped": 1} == record.counts
    assert (record.counts["webhook_deliveries"], record.counts["notifications"]) == (3, 1)
    assert (record.counts["provider_call_errors"], record.counts["api_answers"]) == (1, 1)
    assert (record.counts["journey_reasons"], record.counts["bulk_action_details"]) == (2, 1)
    with tenant_scope(organization):
        assert bytes(IdempotencyRecord.objects.get(key="send-1").body) == API_ANSWER_EMPTIED
    # The outbox keeps its rows; the waiting file is never written and says why.
    assert (written.status, written.external_id, written.body) == ("written", "ats-1", ERASED)
    assert (waiting.status, waiting.next_attempt_at, waiting.data) == ("rule_off", None, None)
    assert waiting.reason == "the candidate's personal data was deleted"
    # The stored webhooks keep provider, kind and time; the one not applied yet never will be.
    assert [(d.provider, d.raw_body) for d in stored] == [
        (rita["candidate"].provider, ""),
        ("twilio", ""),
        ("sendgrid", ""),
    ]
    assert (stored[1].state, stored[1].next_attempt_at) == ("ignored", None)
    assert (other.raw_body, other.state) == (copies["other"].raw_body, "received")
    # The bell keeps the item, unread, with nothing of the candidate, and e-mails nothing.
    assert (told.title, told.body, told.read_at, told.email_pending) == (ERASED, "", None, False)

    # The partner delivery still waiting goes out with the erased payload.
    assert partner_delivery.deliver_due() == 1
    (received,) = receiver.delivered()
    payload = json.loads(received.body)
    assert payload["type"] == "message.received"
    assert payload["data"]["candidate"]["id"] == rita["candidate"].pk
    assert payload["data"]["message"] == {"id": rita["messages"][1].pk, "from": ERASED,
                                          "body": ERASED}  # fmt: skip
    assert not any(needle.lower() in received.body.decode().lower() for needle in IDENTIFIERS)


@pytest.mark.django_db
def test_the_schedule_says_an_interview_was_cancelled_when_the_candidates_data_was_erased(
    client_for, alice, rita
):
    upcoming = rita["bookings"][1]
    with tenant_scope(alice.organization):
        erase_candidate(
            organization=alice.organization, candidate=rita["candidate"], requested_by=alice.user
        )
        upcoming.refresh_from_db()

    week = upcoming.start.date().isoformat()
    html = client_for(alice).get(f"/schedule/?view=week&week={week}").content.decode()

    words = entry(html, upcoming)
    assert "Cancelled when the candidate's data was erased on " in words
    assert "team member" not in words and "Alice" not in words


@pytest.mark.django_db
def test_activity_read_after_the_erasure_is_kept_but_never_written_to_the_ats(alice, rita):
    organization = alice.organization
    with tenant_scope(organization):
        erase_candidate(
            organization=organization, candidate=rita["candidate"], requested_by=alice.user
        )
        late, created = write_enqueue(
            organization=organization,
            candidate_id=rita["candidate"].pk,
            kind=WriteKind.REPLY,
            dedupe_key="reply:after-erasure",
            occurred_at=timezone.now(),
            body="Replied",
        )

    assert created
    assert (late.status, late.next_attempt_at) == (WriteStatus.RULE_OFF, None)
    assert write_state(late).text == "Not written (the candidate's personal data was deleted)"


@pytest.mark.django_db
def test_interviews_an_earlier_erasure_cancelled_say_so_after_the_migration(alice, rita):
    migration = importlib.import_module(
        "scheduling.migrations.0009_erased_bookings_cancelled_by_erasure"
    )
    past, upcoming = rita["bookings"]
    with tenant_scope(alice.organization):
        Booking.objects.filter(pk=upcoming.pk).update(
            status=BookingStatus.CANCELLED, cancelled_at=timezone.now(),
            cancelled_by=CancelledBy.RECRUITER, cancel_reason=CANCEL_REASON,
        )  # fmt: skip
        Booking.objects.filter(pk=past.pk).update(
            status=BookingStatus.CANCELLED, cancelled_at=timezone.now(),
            cancelled_by=CancelledBy.RECRUITER, cancel_reason="The role was filled.",
        )  # fmt: skip

    migration.forwards(apps, None)

    with tenant_scope(alice.organization):
        erased, by_team = (Booking.objects.get(pk=b.pk) for b in (upcoming, past))
    assert cancelled_words(erased, "UTC").startswith(
        "Cancelled when the candidate's data was erased"
    )
    assert cancelled_words(by_team, "UTC").startswith("Cancelled by a team member")
