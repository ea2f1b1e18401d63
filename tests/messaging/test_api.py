"""The messaging partner API: sending exactly once with Idempotency-Key, refusals with their
reasons, conversations and their filters and pages, the opt-out ledger, and tenancy."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from candidates.models import Candidate, TimelineEvent
from messaging import services
from messaging.models import (
    Channel,
    Conversation,
    Message,
    MessageStatus,
    OptOutEntry,
    OptOutSource,
)
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(alice):
    with tenant_scope(alice.organization):
        _, raw = account_services.api_key_create(
            actor=alice.membership, name="ATS bridge", scope="write"
        )
    return raw


@pytest.fixture
def api(client, key):
    class Api:
        def get(self, url, **params):
            return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {key}")

        def post(self, url, body, *, idempotency_key=None, raw_key=key):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
            if idempotency_key is not None:
                headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
            return client.post(url, body, content_type="application/json", **headers)

    return Api()


def send(api, candidate, *, key=None, channel="sms", body="Hi Sam, are you free for a call?", **kw):
    return api.post(
        "/api/v1/messages/",
        {"candidate": candidate.pk, "channel": channel, "body": body, **kw},
        idempotency_key=key or str(uuid.uuid4()),
    )


def messages_of(org):
    with tenant_scope(org):
        return list(Message.objects.order_by("id"))


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_returns_the_first_message_and_sends_nothing_again(
    api, alice, candidate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as first_enqueued:
        first = send(api, candidate, key="order-4711")
    with django_capture_on_commit_callbacks() as retry_enqueued:
        retry = send(api, candidate, key="order-4711")

    assert first.status_code == 201
    assert first.json()["status"] == "queued"
    assert first.json()["to_address"] == "+447700900123"
    assert first.json()["sent_by"]["email"] == "alice@acme.test"  # the key's creator
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    assert retry["Idempotent-Replayed"] == "true"
    assert len(first_enqueued) == 1 and retry_enqueued == []  # handed to the worker once
    (message,) = messages_of(alice.organization)
    assert message.source == "api" and message.body == "Hi Sam, are you free for a call?"


def test_the_same_key_for_a_different_message_is_refused_and_nothing_is_sent(api, alice, candidate):
    send(api, candidate, key="k-1", body="First message")

    reused = send(api, candidate, key="k-1", body="Another message")

    assert reused.status_code == 422
    assert reused["Content-Type"] == "application/problem+json"
    assert reused.json()["type"].endswith("#problem-idempotency_conflict")
    assert "already used for POST /api/v1/messages/" in reused.json()["detail"]
    assert [m.body for m in messages_of(alice.organization)] == ["First message"]


def test_a_send_without_an_idempotency_key_is_refused_with_how_to_fix_it(api, alice, candidate):
    response = api.post(
        "/api/v1/messages/", {"candidate": candidate.pk, "channel": "sms", "body": "Hello"}
    )

    assert response.status_code == 400
    assert "Send an Idempotency-Key header" in response.json()["errors"]["Idempotency-Key"][0]
    assert messages_of(alice.organization) == []


@pytest.mark.parametrize(
    ("mobile_phone", "code", "reason"),
    [
        ("", "no_mobile_number", "No mobile number"),
        ("07700 900123", "invalid_number", "is not a full international mobile number"),
    ],
)
def test_a_candidate_without_a_usable_number_is_refused_with_the_reason(
    api, alice, make_candidate, mobile_phone, code, reason
):
    candidate = make_candidate(mobile_phone=mobile_phone)

    response = send(api, candidate)

    assert response.status_code == 422
    assert response.json()["code"] == code
    assert reason in response.json()["detail"]
    assert messages_of(alice.organization) == []


def test_an_opted_out_candidate_is_refused_and_the_refusal_is_on_their_timeline(
    api, alice, candidate
):
    with tenant_scope(alice.organization):
        services.opt_out_lock(
            organization=alice.organization,
            phone=candidate.mobile_phone,
            source=OptOutSource.KEYWORD,
            keyword="STOP",
        )

    response = send(api, candidate)

    assert response.status_code == 422
    assert response.json()["code"] == "opted_out"
    assert "+447700900123 opted out on" in response.json()["detail"]
    assert "by texting STOP" in response.json()["detail"]
    with tenant_scope(alice.organization):
        skipped = TimelineEvent.objects.get(candidate=candidate, kind="message_skipped")
    assert "opted out" in skipped.summary
    assert messages_of(alice.organization) == []


def test_emails_need_a_subject_and_texts_have_none(api, alice, candidate):
    no_subject = send(api, candidate, channel="email", body="Hello Sam")
    text_subject = send(api, candidate, channel="sms", body="Hi", subject="Interview")
    email = send(api, candidate, channel="email", body="Hello Sam", subject="Your interview")

    assert no_subject.status_code == 400
    assert "E-mails need a subject" in no_subject.json()["errors"]["subject"][0]
    assert text_subject.status_code == 400
    assert email.status_code == 201
    assert email.json()["to_address"] == "sam@example.com"
    assert email.json()["subject"] == "Your interview"


def test_a_text_longer_than_1600_characters_is_refused_with_its_length(api, candidate):
    response = send(api, candidate, body="x" * 1601)

    assert response.status_code == 400
    assert "this one has 1601" in response.json()["errors"]["body"][0]


def test_a_text_queued_during_quiet_hours_is_held_until_the_window_opens(
    api, candidate, time_machine
):
    from datetime import UTC, datetime

    time_machine.move_to(datetime(2025, 1, 15, 22, 10, tzinfo=UTC), tick=False)  # London night

    response = send(api, candidate)

    assert response.status_code == 201
    assert response.json()["status"] == MessageStatus.HELD
    assert response.json()["hold_until"] == "2025-01-16T08:00:00Z"


def test_a_read_only_key_cannot_send(client, alice, candidate):
    with tenant_scope(alice.organization):
        _, raw = account_services.api_key_create(actor=alice.membership, name="RO", scope="read")

    response = client.post(
        "/api/v1/messages/",
        {"candidate": candidate.pk, "channel": "sms", "body": "Hi"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_IDEMPOTENCY_KEY="ro-1",
    )

    assert response.status_code == 403
    assert messages_of(alice.organization) == []


# ---------------------------------------------------------------------------------------------
# Tenancy
# ---------------------------------------------------------------------------------------------


def test_another_organizations_key_gets_404_for_every_conversation_url_and_cannot_send(
    api, alice, mallory, candidate
):
    first = send(api, candidate).json()
    with tenant_scope(mallory.organization):
        _, mallory_key = account_services.api_key_create(
            actor=mallory.membership, name="Mallory", scope="write"
        )
    conversation = first["conversation"]

    outsider = Client(HTTP_AUTHORIZATION=f"Bearer {mallory_key}")
    detail = outsider.get(f"/api/v1/conversations/{conversation}/")
    thread = outsider.get(f"/api/v1/conversations/{conversation}/messages/")
    listing = outsider.get("/api/v1/conversations/")
    sent = outsider.post(
        "/api/v1/messages/",
        {"candidate": candidate.pk, "channel": "sms", "body": "Hi from Mallory"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="m-1",
    )
    locked = outsider.get("/api/v1/opt-outs/", {"history": "true"})

    assert detail.status_code == thread.status_code == sent.status_code == 404
    assert "Sam" not in detail.content.decode() + thread.content.decode()
    assert listing.status_code == 200 and listing.json()["results"] == []
    assert locked.json()["results"] == []
    assert [m.body for m in messages_of(alice.organization)] == ["Hi Sam, are you free for a call?"]


# ---------------------------------------------------------------------------------------------
# Conversations
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def five_conversations(alice, api):
    """Five candidates texted through the API; Ana replied (unread), Ben opted out."""
    with tenant_scope(alice.organization):
        candidates = [
            Candidate.objects.create(
                organization=alice.organization,
                provider="greenhouse",
                external_id=f"gh-{n}",
                first_name=name,
                last_name="Okafor",
                mobile_phone=f"+44770090010{n}",
                primary_email=f"{name.lower()}@example.com",
            )
            for n, name in enumerate(["Ana", "Ben", "Cy", "Di", "Ed"])
        ]
    for candidate in candidates:
        assert send(api, candidate, body=f"Hello {candidate.first_name}").status_code == 201
    with tenant_scope(alice.organization):
        Conversation.objects.filter(candidate=candidates[0]).update(unread_count=2)
        services.opt_out_lock(
            organization=alice.organization,
            phone=candidates[1].mobile_phone,
            source=OptOutSource.KEYWORD,
            keyword="STOP",
        )
    return candidates


def test_conversations_are_read_in_cursor_pages(api, five_conversations):
    seen, url, pages = [], "/api/v1/conversations/?page_size=2", 0
    while url:
        page = api.get(url).json()
        pages += 1
        seen += [c["candidate"]["name"] for c in page["results"]]
        url = page["next"]

    assert pages == 3
    assert sorted(seen) == ["Ana Okafor", "Ben Okafor", "Cy Okafor", "Di Okafor", "Ed Okafor"]


def test_conversations_filter_by_unread_opted_out_and_candidate(api, five_conversations):
    ana, ben, cy = five_conversations[:3]

    unread = api.get("/api/v1/conversations/", unread="true").json()["results"]
    opted_out = api.get("/api/v1/conversations/", opted_out="true").json()["results"]
    reachable = api.get("/api/v1/conversations/", opted_out="false").json()["results"]
    one = api.get("/api/v1/conversations/", candidate=cy.pk).json()["results"]
    bad = api.get("/api/v1/conversations/", candidate="cy")

    assert [c["candidate"]["id"] for c in unread] == [ana.pk]
    assert unread[0]["unread_count"] == 2
    assert [c["candidate"]["id"] for c in opted_out] == [ben.pk]
    assert opted_out[0]["opted_out"] is True
    assert ben.pk not in [c["candidate"]["id"] for c in reachable] and len(reachable) == 4
    assert [c["last_message"]["preview"] for c in one] == ["Hello Cy"]
    assert bad.status_code == 400 and "candidate" in bad.json()["errors"]


def test_conversation_list_costs_the_same_queries_for_two_or_five_conversations(
    api, five_conversations
):
    with CaptureQueriesContext(connection) as two:
        api.get("/api/v1/conversations/", page_size=2)
    with CaptureQueriesContext(connection) as five:
        api.get("/api/v1/conversations/", page_size=5)

    assert len(two.captured_queries) == len(five.captured_queries)


def test_a_conversation_shows_the_candidates_time_zone_and_its_messages(
    api, five_conversations, make_candidate
):
    new_yorker = make_candidate(mobile_phone="+12125550123")
    conversation = send(api, new_yorker, body="Hi Sam").json()["conversation"]

    detail = api.get(f"/api/v1/conversations/{conversation}/").json()
    thread = api.get(f"/api/v1/conversations/{conversation}/messages/").json()

    assert detail["candidate_time_zone"]["zone"] == "America/New_York"
    assert "area code 212" in detail["candidate_time_zone"]["evidence"]
    assert detail["candidate"]["name"] == "Sam Okafor"
    assert detail["last_message"]["preview"] == "Hi Sam"
    assert [(m["direction"], m["body"], m["status_label"]) for m in thread["results"]] == [
        ("outbound", "Hi Sam", "Queued")
    ]


# ---------------------------------------------------------------------------------------------
# Opt-outs
# ---------------------------------------------------------------------------------------------


def test_locking_a_number_by_hand_records_who_and_cancels_its_queued_texts(api, alice, candidate):
    queued = send(api, candidate).json()

    locked = api.post("/api/v1/opt-outs/", {"phone": "+447700900123"})
    again = api.post("/api/v1/opt-outs/", {"phone": "+447700900123"})

    assert locked.status_code == 201
    assert locked.json()["source"] == "manual" and locked.json()["locked"] is True
    assert locked.json()["actor"]["email"] == "alice@acme.test"
    assert again.status_code == 200 and again.json()["id"] == locked.json()["id"]
    with tenant_scope(alice.organization):
        assert Message.objects.get(pk=queued["id"]).status == MessageStatus.CANCELED
        assert OptOutEntry.objects.count() == 1
    # And the number is never texted again.
    assert send(api, candidate).json()["code"] == "opted_out"


def test_opt_outs_list_current_locks_and_a_numbers_full_history(api, alice):
    for phone in ("+447700900201", "+447700900202"):
        api.post("/api/v1/opt-outs/", {"phone": phone})
    with tenant_scope(alice.organization):
        services.opt_out_unlock(
            organization=alice.organization,
            phone="+447700900201",
            source=OptOutSource.KEYWORD,
            keyword="START",
        )

    current = api.get("/api/v1/opt-outs/").json()["results"]
    history = api.get("/api/v1/opt-outs/", history="true", phone="+447700900201").json()["results"]
    one_current = api.get("/api/v1/opt-outs/", phone="+447700900202").json()["results"]

    assert [e["phone"] for e in current] == ["+447700900202"]
    assert [(e["action"], e["source"], e["keyword"]) for e in history] == [
        ("unlock", "keyword", "START"),
        ("lock", "manual", ""),
    ]
    assert [e["phone"] for e in one_current] == ["+447700900202"]


def test_a_number_that_is_not_e164_is_refused_with_the_form_to_use(api, alice):
    response = api.post("/api/v1/opt-outs/", {"phone": "07700 900123"})
    listing = api.get("/api/v1/opt-outs/", phone="07700900123")

    assert response.status_code == listing.status_code == 400
    assert "E.164" in response.json()["errors"]["phone"][0]
    with tenant_scope(alice.organization):
        assert not OptOutEntry.objects.exists()


def test_channel_values_are_the_documented_ones(api, candidate):
    response = send(api, candidate, channel="fax")

    assert response.status_code == 400
    assert "channel" in response.json()["errors"]
    assert Channel.SMS == "sms"
