"""The Inbox over HTTP: the conversation list and its filters, reading a thread, replying, the
opt-out lock in the composer, live updates by polling, and what each role may do."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from candidates.models import Candidate
from integrations.messaging import sms_segments
from integrations.twilio.webhooks import parse_webhook
from messaging import services
from messaging.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    OptOutEntry,
)
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member

from .conftest import LONDON_MOBILE, NEW_YORK_MOBILE

pytestmark = pytest.mark.django_db


@pytest.fixture
def celery_eager():
    """Run the delivery task in the request, as a worker would right after the commit."""
    from recruitflow.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def make_person(make_candidate, org):
    """A candidate with a name of the test's choosing."""

    def make(first_name="Sam", last_name="Okafor", **kwargs):
        candidate = make_candidate(**kwargs)
        with tenant_scope(org):
            Candidate.objects.filter(pk=candidate.pk).update(
                first_name=first_name, last_name=last_name
            )
        candidate.first_name, candidate.last_name = first_name, last_name
        return candidate

    return make


def _candidate_texts(sandbox, org, body, phone=LONDON_MOBILE):
    """The candidate texts us from the sandbox phone; its real inbound webhook is fed in."""
    sandbox.twilio.text_from(phone, body)
    assert sandbox.twilio.wait_idle(5)
    entry = [c for c in sandbox.twilio.callbacks if c["kind"] == "inbound"][-1]
    inbound = parse_webhook(entry["params"], url=entry["url"])[0]
    with tenant_scope(org):
        return services.inbound_sms_receive(organization=org, inbound=inbound)


def _message(org, candidate, body, *, direction=Direction.OUTBOUND, at=None, **fields):
    """A message already in the thread (as a journey or an earlier reply left it)."""
    with tenant_scope(org):
        conversation, _ = Conversation.objects.get_or_create(organization=org, candidate=candidate)
        at = at or timezone.now()
        message = Message.objects.create(
            organization=org,
            conversation=conversation,
            candidate=candidate,
            channel=fields.pop("channel", Channel.SMS),
            direction=direction,
            to_address=candidate.mobile_phone,
            body=body,
            status=fields.pop(
                "status",
                MessageStatus.RECEIVED if direction == Direction.INBOUND else MessageStatus.SENT,
            ),
            source=fields.pop("source", "journey"),
            **fields,
        )
        Message.objects.filter(pk=message.pk).update(created_at=at)
        unread = 1 if direction == Direction.INBOUND else 0
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message_at=at, unread_count=conversation.unread_count + unread
        )
        conversation.refresh_from_db()
        return conversation


def _rows(response) -> list[str]:
    """Candidate names in the conversation list, top to bottom."""
    html = response.content.decode()
    start = html.index('id="conversation-list"')
    names = []
    for chunk in html[start:].split('class="conversation-name">')[1:]:
        names.append(chunk.split("<", 1)[0].strip())
    return names


def _compose(client, conversation, **data):
    """Post the composer (``HTTP_*`` keywords are request headers, the rest form fields)."""
    headers = {k: data.pop(k) for k in list(data) if k.startswith("HTTP_")}
    payload = {"channel": "sms", "body": "", "subject": "", "send_key": uuid.uuid4().hex}
    payload.update(data)
    return client.post(f"/inbox/{conversation.pk}/send/", payload, **headers)


# --------------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------------


def test_empty_inbox_says_where_conversations_come_from(alice, client_for):
    response = client_for(alice).get("/inbox/")

    assert response.status_code == 200
    assert "No conversations yet" in response.content.decode()
    assert "from journeys or by hand" in response.content.decode()


def test_list_shows_newest_conversation_first_with_snippet_time_zone_and_unread_badge(
    alice, client_for, make_person
):
    org = alice.organization
    older = make_person(first_name="Ada", last_name="Lovelace")
    newer = make_person(first_name="Grace", last_name="Hopper", mobile_phone=NEW_YORK_MOBILE)
    _message(org, older, "Your interview is on Monday", at=timezone.now() - timedelta(hours=3))
    _message(org, newer, "Can we move it to 3pm?", direction=Direction.INBOUND)

    response = client_for(alice).get("/inbox/")
    html = response.content.decode()

    assert _rows(response) == ["Grace Hopper", "Ada Lovelace"]
    assert "Can we move it to 3pm?" in html
    assert "You: </span>Your interview is on Monday" in html
    assert "1 unread" in html
    assert "15:00 UTC" in html  # the time with its zone
    assert re.search(r'id="inbox-unread-badge"[^>]*>1</span>', html)  # the sidebar badge


def test_a_text_sent_brings_its_conversation_to_the_top_and_a_first_text_starts_one(
    alice, client_for, make_person
):
    """Sending a text touches the candidate's one conversation (its last message now): an
    older conversation comes back to the top of the list, and a candidate texted for the first
    time gets a conversation of their own."""
    org = alice.organization
    quiet = make_person(first_name="Ada", last_name="Lovelace")
    busy = make_person(first_name="Grace", last_name="Hopper", mobile_phone=NEW_YORK_MOBILE)
    first = make_person(first_name="Katherine", last_name="Johnson", mobile_phone="+14155550123")
    _message(org, quiet, "Your interview is on Monday", at=timezone.now() - timedelta(hours=3))
    _message(
        org, busy, "Thanks!", direction=Direction.INBOUND, at=timezone.now() - timedelta(hours=1)
    )
    client = client_for(alice)
    assert _rows(client.get("/inbox/")) == ["Grace Hopper", "Ada Lovelace"]

    with tenant_scope(org):
        for candidate, body in ((quiet, "See you at 10."), (first, "Welcome aboard.")):
            services.message_send(organization=org, candidate=candidate, channel=Channel.SMS,
                                  body=body, source="manual", respect_quiet_hours=False)  # fmt: skip
        conversations = {c.candidate_id: c for c in Conversation.objects.all()}
        sent = Message.objects.filter(body__in=["See you at 10.", "Welcome aboard."])
        threads = {m.candidate_id: m.conversation_id for m in sent}

    assert _rows(client.get("/inbox/")) == ["Katherine Johnson", "Ada Lovelace", "Grace Hopper"]
    assert len(conversations) == 3
    assert threads == {quiet.pk: conversations[quiet.pk].pk, first.pk: conversations[first.pk].pk}


def test_filters_narrow_to_unread_mine_and_opted_out_conversations(
    alice, bob, client_for, make_person
):
    org = alice.organization
    unread = make_person(first_name="Una", last_name="Read", mobile_phone="+447700900111")
    mine = make_person(first_name="Minnie", last_name="Mine", mobile_phone="+447700900222")
    locked = make_person(first_name="Otto", last_name="Out", mobile_phone="+447700900333")
    _message(org, unread, "Hello?", direction=Direction.INBOUND)
    _message(org, locked, "Reminder")
    conversation = _message(org, mine, "Thanks")
    with tenant_scope(org):
        Conversation.objects.filter(pk=conversation.pk).update(assigned_to=alice.user)
        services.opt_out_lock(
            organization=org, phone=locked.mobile_phone, source="keyword", keyword="STOP"
        )
    client = client_for(alice)

    assert _rows(client.get("/inbox/?view=unread")) == ["Una Read"]
    assert _rows(client.get("/inbox/?view=mine")) == ["Minnie Mine"]
    opted_out = client.get("/inbox/?view=opted_out")
    assert _rows(opted_out) == ["Otto Out"]
    assert 'Opted out <span class="count">1</span>' in opted_out.content.decode()
    client.force_login(bob.user)
    assert _rows(client.get("/inbox/?view=mine")) == []


def test_search_finds_a_conversation_by_name_or_by_a_number_typed_with_spaces(
    alice, client_for, make_person
):
    org = alice.organization
    _message(org, make_person(first_name="Sam", last_name="Okafor"), "Hi Sam")
    _message(
        org,
        make_person(first_name="Kim", last_name="Lee", mobile_phone="+12125550999"),
        "Hi Kim",
    )
    client = client_for(alice)

    assert _rows(client.get("/inbox/?q=okaf")) == ["Sam Okafor"]
    assert _rows(client.get("/inbox/?q=07700 900123")) == ["Sam Okafor"]  # national format
    assert _rows(client.get("/inbox/?q=(212) 555-0999")) == ["Kim Lee"]
    nothing = client.get("/inbox/?q=nobody")
    assert _rows(nothing) == []
    assert "Nothing matches “nobody”" in nothing.content.decode()


def test_list_is_paginated_newest_first(alice, client_for, make_person):
    org = alice.organization
    start = timezone.now() - timedelta(days=1)
    for n in range(27):
        candidate = make_person(
            first_name=f"C{n:02d}", last_name="Person", mobile_phone=f"+4477009001{n:02d}"
        )
        _message(org, candidate, f"hello {n}", at=start + timedelta(minutes=n))
    client = client_for(alice)

    first = client.get("/inbox/")
    second = client.get("/inbox/?page=2")

    assert len(_rows(first)) == 25 and _rows(first)[0] == "C26 Person"
    assert _rows(second) == ["C01 Person", "C00 Person"]
    assert "Page 2 of 2" in second.content.decode()


# --------------------------------------------------------------------------------------------
# The thread
# --------------------------------------------------------------------------------------------


def test_opening_a_thread_marks_it_read_and_shows_both_directions_and_channels_in_order(
    alice, client_for, candidate
):
    org = alice.organization
    now = timezone.now()
    _message(org, candidate, "Interview tomorrow at 10?", at=now - timedelta(minutes=30))
    _message(
        org,
        candidate,
        "Details attached.",
        channel=Channel.EMAIL,
        subject="Your interview",
        at=now - timedelta(minutes=20),
        status=MessageStatus.DELIVERED,
    )
    conversation = _message(
        org, candidate, "Yes, see you then", direction=Direction.INBOUND, at=now
    )
    assert conversation.unread_count == 1

    response = client_for(alice).get(f"/inbox/{conversation.pk}/")
    html = response.content.decode()

    assert response.status_code == 200
    thread = html[html.index('id="thread-messages"') :]
    order = [thread.index(t) for t in ("Interview tomorrow", "Your interview", "Yes, see you")]
    assert order == sorted(order)
    assert 'aria-label="E-mail"' in html and 'aria-label="Text"' in html
    assert "Sam Okafor" in html and "Journey" in html  # who wrote each message
    conversation.refresh_from_db()
    assert conversation.unread_count == 0
    assert response["HX-Trigger"] == "inbox-changed"  # the list refreshes its badge


def test_thread_swapped_in_by_htmx_is_only_the_thread(alice, client_for, candidate):
    conversation = _message(alice.organization, candidate, "Hi")

    response = client_for(alice).get(
        f"/inbox/{conversation.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="thread-pane"
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<article class="thread"')
    assert "<html" not in html


@pytest.mark.parametrize(
    ("fields", "label", "detail"),
    [
        ({"status": MessageStatus.DELIVERED}, "Delivered", ""),
        ({"status": MessageStatus.QUEUED}, "Queued", ""),
        (
            {"status": MessageStatus.UNDELIVERED, "error_code": "30003"},
            "Not delivered",
            "Error 30003: The phone was switched off or out of coverage",
        ),
        (
            {
                "status": MessageStatus.CANCELED,
                "error_message": "Canceled: +447700900123 opted out of texts.",
            },
            "Canceled: opted out",
            "",
        ),
        ({"status": MessageStatus.UNKNOWN}, "Unknown — check before resending", ""),
        (
            {
                "status": MessageStatus.HELD,
                "hold_until": datetime(2025, 1, 16, 8, 0, tzinfo=UTC),
            },
            "Held until Thu 16 Jan 08:00 Europe/London (quiet hours)",
            "",
        ),
    ],
)
def test_outbound_messages_show_their_status_as_recruiters_know_it(
    alice, client_for, candidate, fields, label, detail
):
    conversation = _message(alice.organization, candidate, "Hello", **fields)

    html = client_for(alice).get(f"/inbox/{conversation.pk}/").content.decode()

    assert f"data-status-label>{label}</span>" in html
    assert detail in html


def test_reply_at_night_is_held_until_the_window_opens_and_the_composer_said_so(
    alice, client_for, candidate, twilio_settings, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(datetime(2025, 1, 15, 2, 0, tzinfo=UTC), tick=False)  # 02:00 London
    conversation = _message(alice.organization, candidate, "Hi")
    client = client_for(alice)

    page = client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert (
        "It is 02:00 for the candidate (Europe/London): a text sent now is held until 08:00 "
        "(quiet hours)."
    ) in page
    with django_capture_on_commit_callbacks():
        _compose(client, conversation, body="Are you free today?")

    html = client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert "data-status-label>Held until 08:00 Europe/London (quiet hours)</span>" in html


def test_failed_text_can_be_retried_from_the_thread(
    alice, client_for, candidate, twilio_settings, django_capture_on_commit_callbacks
):
    org = alice.organization
    conversation = _message(
        org,
        candidate,
        "Reminder: interview at 10",
        status=MessageStatus.FAILED,
        error_code="20003",
    )
    with tenant_scope(org):
        failed = Message.objects.get()
    client = client_for(alice)
    html = client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert "Error 20003: Twilio rejected the Account SID or Auth Token." in html
    assert ">Retry</button>" in html

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            f"/inbox/{conversation.pk}/messages/{failed.pk}/retry/", HTTP_HX_REQUEST="true"
        )

    failed.refresh_from_db()
    assert failed.status == MessageStatus.QUEUED and len(callbacks) == 1
    assert "data-status-label>Queued</span>" in response.content.decode()


def test_retry_to_a_number_that_opted_out_since_says_why_and_sends_nothing(
    alice, client_for, candidate, django_capture_on_commit_callbacks
):
    org = alice.organization
    conversation = _message(org, candidate, "Reminder", status=MessageStatus.FAILED)
    with tenant_scope(org):
        failed = Message.objects.get()
        services.opt_out_lock(organization=org, phone=LONDON_MOBILE, source="keyword")

    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(alice).post(
            f"/inbox/{conversation.pk}/messages/{failed.pk}/retry/", HTTP_HX_REQUEST="true"
        )

    assert "they get no texts until they reply START" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == MessageStatus.FAILED and callbacks == []


def test_assign_to_me_and_unassign_from_the_thread(alice, client_for, candidate):
    conversation = _message(alice.organization, candidate, "Hi")
    client = client_for(alice)

    client.post(f"/inbox/{conversation.pk}/assign/", {"to": "me"})
    conversation.refresh_from_db()
    assert conversation.assigned_to == alice.user
    assert "Assigned to you" in client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert _rows(client.get("/inbox/?view=mine")) == ["Sam Okafor"]

    response = client.post(
        f"/inbox/{conversation.pk}/assign/", {"to": "nobody"}, HTTP_HX_REQUEST="true"
    )
    conversation.refresh_from_db()
    assert conversation.assigned_to is None
    assert 'id="thread-head" class="thread-head" hx-swap-oob="true"' in response.content.decode()
    assert "Unassigned" in response.content.decode()


def test_recruiter_sets_the_candidates_own_time_zone_and_it_wins_over_the_phone_number(
    alice, client_for, candidate
):
    conversation = _message(alice.organization, candidate, "Hi")
    client = client_for(alice)
    page = html.unescape(client.get(f"/inbox/{conversation.pk}/").content.decode())
    assert "from the phone number's country (+44, GB)" in page

    client.post(f"/inbox/{conversation.pk}/time-zone/", {"time_zone": "Asia/Tokyo"})
    page = html.unescape(client.get(f"/inbox/{conversation.pk}/").content.decode())
    assert "Asia/Tokyo, set by" in page
    with tenant_scope(alice.organization):
        candidate.refresh_from_db()
        assert candidate.time_zone == "Asia/Tokyo"
        assert candidate.events.filter(kind="time_zone_set").exists()

    response = client.post(
        f"/inbox/{conversation.pk}/time-zone/", {"time_zone": "Mars/Olympus"}, follow=True
    )
    assert "'Mars/Olympus' is not a time zone" in html.unescape(response.content.decode())
    with tenant_scope(alice.organization):
        candidate.refresh_from_db()
        assert candidate.time_zone == "Asia/Tokyo"  # a bad value changes nothing

    client.post(f"/inbox/{conversation.pk}/time-zone/", {"time_zone": ""})
    page = html.unescape(client.get(f"/inbox/{conversation.pk}/").content.decode())
    assert "from the phone number's country (+44, GB)" in page


# --------------------------------------------------------------------------------------------
# Replying
# --------------------------------------------------------------------------------------------


def test_recruiter_replies_by_text_through_the_sandbox_and_sees_it_delivered(
    alice,
    client_for,
    candidate,
    twilio_settings,
    sandbox,
    celery_eager,
    django_capture_on_commit_callbacks,
):
    org = alice.organization
    conversation = _message(org, candidate, "Can you make Tuesday?", direction=Direction.INBOUND)
    client = client_for(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = _compose(client, conversation, body="Tuesday 10:00 works, see you then!")

    assert response.status_code == 302
    with tenant_scope(org):
        sent = Message.objects.get(direction=Direction.OUTBOUND)
    assert sent.source == "inbox" and sent.sent_by == alice.user
    assert sent.status == MessageStatus.SENT
    assert (sent.encoding, sent.segments) == ("GSM-7", 1)  # the server counted too
    assert [
        m["body"] for m in sandbox.twilio.messages.values() if m["direction"] == "outbound-api"
    ] == ["Tuesday 10:00 works, see you then!"]
    # The sandbox reports delivery; the callbacks it posted are applied.
    assert sandbox.twilio.wait_idle(5)
    with tenant_scope(org):
        for entry in [c for c in sandbox.twilio.callbacks if c["kind"] == "status"]:
            (update,) = parse_webhook(entry["params"], url=entry["url"])
            services.message_status_apply(organization=org, update=update)
    html = client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert "Tuesday 10:00 works" in html
    assert "data-status-label>Delivered</span>" in html
    assert "1 segment (GSM-7)" in html


def test_htmx_send_returns_an_empty_composer_and_the_new_message_in_the_thread(
    alice, client_for, candidate, twilio_settings, django_capture_on_commit_callbacks
):
    conversation = _message(alice.organization, candidate, "Hi")

    with django_capture_on_commit_callbacks():
        response = _compose(
            client_for(alice), conversation, body="On my way 🚀", HTTP_HX_REQUEST="true"
        )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="composer"')
    assert "On my way 🚀</textarea>" not in html  # the composer is ready for the next one
    assert 'id="thread-messages"' in html and "hx-swap-oob" in html
    assert "On my way 🚀" in html and "1 segment (UCS-2)" in html
    assert response["HX-Trigger"] == "inbox-changed"


def test_email_reply_needs_a_subject_and_keeps_everything_typed(
    alice, client_for, candidate, django_capture_on_commit_callbacks
):
    conversation = _message(alice.organization, candidate, "Hi")

    response = _compose(
        client_for(alice),
        conversation,
        channel="email",
        body="Please find the schedule below.",
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert "An e-mail needs a subject" in html
    assert "Please find the schedule below.</textarea>" in html
    with tenant_scope(alice.organization):
        assert Message.objects.count() == 1  # nothing was sent


def test_email_reply_goes_out_with_its_subject(
    alice, client_for, candidate, celery_eager, django_capture_on_commit_callbacks
):
    from django.core import mail

    conversation = _message(alice.organization, candidate, "Hi")

    with django_capture_on_commit_callbacks(execute=True):
        _compose(
            client_for(alice),
            conversation,
            channel="email",
            subject="Your interview on Tuesday",
            body="See you at 10:00.",
        )

    assert [m.subject for m in mail.outbox] == ["Your interview on Tuesday"]
    assert mail.outbox[0].to == ["Sam Okafor <sam@example.com>"]


def test_text_longer_than_1600_characters_is_refused_with_its_length(
    alice, client_for, candidate, twilio_settings
):
    conversation = _message(alice.organization, candidate, "Hi")
    body = "x" * 1700

    html = _compose(
        client_for(alice), conversation, body=body, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert "A text can be at most 1,600 characters; this one has 1,700." in html
    assert f"{body}</textarea>" in html


def test_empty_reply_is_refused_with_what_to_do(alice, client_for, candidate, twilio_settings):
    conversation = _message(alice.organization, candidate, "Hi")

    response = _compose(client_for(alice), conversation, body="   ")

    assert response.status_code == 400
    assert "Write a message before sending." in response.content.decode()


def test_sending_twice_with_the_same_form_sends_once(
    alice, client_for, candidate, twilio_settings, django_capture_on_commit_callbacks
):
    conversation = _message(alice.organization, candidate, "Hi")
    client = client_for(alice)

    with django_capture_on_commit_callbacks():
        _compose(client, conversation, body="Double click", send_key="same")
        _compose(client, conversation, body="Double click", send_key="same")

    with tenant_scope(alice.organization):
        assert Message.objects.filter(body="Double click").count() == 1


def test_segment_count_matches_the_server_rules_for_long_and_unicode_texts():
    # The numbers the composer's counter shows (static/js/inbox.js ports the same function;
    # the browser test checks it against these).
    assert sms_segments("a" * 160)[:2] == ("GSM-7", 1)
    assert sms_segments("a" * 161)[:2] == ("GSM-7", 2)
    assert sms_segments("€" * 80)[:2] == ("GSM-7", 1)  # extension characters count double
    assert sms_segments("€" * 81)[:2] == ("GSM-7", 2)
    assert sms_segments("é" + "ł" * 69)[:2] == ("UCS-2", 1)
    assert sms_segments("ł" * 71)[:2] == ("UCS-2", 2)


# --------------------------------------------------------------------------------------------
# The lock
# --------------------------------------------------------------------------------------------


def test_locked_number_replaces_the_text_channel_with_the_opt_out_notice_and_history(
    alice, client_for, candidate, sandbox, twilio_settings
):
    org = alice.organization
    _message(org, candidate, "Interview tomorrow?")
    reply = _candidate_texts(sandbox, org, "STOP")

    html = client_for(alice).get(f"/inbox/{reply.conversation_id}/").content.decode()

    assert 'id="composer-lock"' in html
    assert (
        f"{LONDON_MOBILE} opted out on 15 Jan 2025 by texting STOP — texts are blocked until "
        "they reply START."
    ) in html
    assert 'value="sms"' not in html  # the Text channel is gone
    assert 'value="email" checked' in html  # e-mail still works
    assert "Opt-out history of +447700900123 (1)" in html
    assert "Opted out: the candidate texted STOP" in html


def test_text_to_a_locked_number_is_refused_inline_and_the_text_is_kept(
    alice, client_for, candidate, twilio_settings
):
    org = alice.organization
    conversation = _message(org, candidate, "Hi")
    with tenant_scope(org):
        services.opt_out_lock(
            organization=org, phone=LONDON_MOBILE, source="keyword", keyword="STOP"
        )

    html = _compose(
        client_for(alice), conversation, body="Are you still there?", HTTP_HX_REQUEST="true"
    ).content.decode()

    assert "opted out on 15 Jan 2025 by texting STOP" in html
    assert "Are you still there?</textarea>" in html
    with tenant_scope(org):
        assert not Message.objects.filter(body="Are you still there?").exists()


def test_cannot_send_reason_from_the_service_is_shown_inline(
    alice, client_for, make_candidate, monkeypatch, twilio_settings
):
    """The service has the last word (a lock may land between the page and the send)."""
    candidate = make_candidate()
    conversation = _message(alice.organization, candidate, "Hi")
    original = services.message_send

    def lock_first(**kwargs):
        services.opt_out_lock(
            organization=kwargs["organization"], phone=LONDON_MOBILE, source="keyword"
        )
        return original(**kwargs)

    monkeypatch.setattr(services, "message_send", lock_first)

    html = _compose(
        client_for(alice), conversation, body="Quick question", HTTP_HX_REQUEST="true"
    ).content.decode()

    assert "they get no texts until they reply START" in html
    assert "Quick question</textarea>" in html


def test_recruiter_locks_a_number_by_hand_and_the_history_says_who(
    alice, client_for, candidate, django_capture_on_commit_callbacks
):
    org = alice.organization
    conversation = _message(org, candidate, "Hi")
    with tenant_scope(org), django_capture_on_commit_callbacks():
        queued = services.message_send(
            organization=org, candidate=candidate, channel="sms", body="Later", source="journey"
        )
    client = client_for(alice)

    response = client.post(f"/inbox/{conversation.pk}/lock/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "was locked by Alice on 15 Jan 2025" in html
    assert "Locked by Alice" in html
    with tenant_scope(org):
        entry = OptOutEntry.objects.get()
        queued.refresh_from_db()
    assert (entry.source, entry.actor) == ("manual", alice.user)
    assert queued.status == MessageStatus.CANCELED  # queued texts are canceled
    assert "Canceled: opted out" in html

    client.post(f"/inbox/{conversation.pk}/unlock/")
    with tenant_scope(org):
        assert list(OptOutEntry.objects.values_list("action", flat=True)) == ["unlock", "lock"]


def test_a_candidates_own_stop_cannot_be_undone_by_hand(
    alice, client_for, candidate, sandbox, twilio_settings
):
    org = alice.organization
    reply = _candidate_texts(sandbox, org, "STOP")
    client = client_for(alice)

    html = client.get(f"/inbox/{reply.conversation_id}/").content.decode()
    assert "Undo the manual lock" not in html
    client.post(f"/inbox/{reply.conversation_id}/unlock/")

    with tenant_scope(org):
        assert list(OptOutEntry.objects.values_list("action", flat=True)) == ["lock"]


# --------------------------------------------------------------------------------------------
# Live updates
# --------------------------------------------------------------------------------------------


def test_thread_poll_is_empty_until_the_candidate_answers_then_shows_the_reply_and_lock(
    alice, client_for, candidate, sandbox, twilio_settings
):
    org = alice.organization
    conversation = _message(org, candidate, "Interview at 10?")
    client = client_for(alice)
    html = client.get(f"/inbox/{conversation.pk}/").content.decode()
    poll_url = html.split('id="thread-messages" class="thread-messages" hx-get="', 1)[1]
    poll_url = poll_url.split('"', 1)[0].replace("&amp;", "&")

    assert client.get(poll_url).status_code == 204  # nothing new

    _candidate_texts(sandbox, org, "Yes, 10 works")
    update = client.get(poll_url)
    assert update.status_code == 200
    assert "Yes, 10 works" in update.content.decode()
    assert 'id="composer-channels"' not in update.content.decode()  # typing is left alone
    conversation.refresh_from_db()
    assert conversation.unread_count == 0  # seen in the open thread

    _candidate_texts(sandbox, org, "STOP")
    locked = client.get(poll_url).content.decode()
    assert 'id="composer-channels" class="composer-channels" hx-swap-oob="true"' in locked
    assert "opted out on 15 Jan 2025 by texting STOP" in locked


def test_list_poll_is_empty_until_something_changes(alice, client_for, candidate, make_person):
    org = alice.organization
    _message(org, candidate, "Hello")
    client = client_for(alice)
    html = client.get("/inbox/").content.decode()
    poll_url = html.split('id="conversation-list" class="conversation-list" hx-get="', 1)[1]
    poll_url = poll_url.split('"', 1)[0].replace("&amp;", "&")

    assert client.get(poll_url).status_code == 204

    _message(
        org,
        make_person(first_name="New", mobile_phone=NEW_YORK_MOBILE),
        "Hi",
        direction="inbound",
    )
    update = client.get(poll_url)
    assert update.status_code == 200
    assert _rows(update) == ["New Okafor", "Sam Okafor"]
    assert 'id="inbox-unread-badge" class="nav-count" hx-swap-oob="true"' in update.content.decode()


def test_empty_inbox_reloads_itself_when_the_first_conversation_arrives(
    alice, client_for, candidate
):
    client = client_for(alice)
    html = client.get("/inbox/").content.decode()
    watch = html.split('id="inbox-empty-watch" hx-get="', 1)[1].split('"', 1)[0]
    watch = watch.replace("&amp;", "&")

    assert client.get(watch).status_code == 204

    _message(alice.organization, candidate, "Hello", direction="inbound")
    assert client.get(watch)["HX-Refresh"] == "true"


# --------------------------------------------------------------------------------------------
# Sandbox phone, roles, tenancy, starting a conversation
# --------------------------------------------------------------------------------------------


def test_sandbox_phone_link_points_at_the_candidates_number_with_the_default_provider(
    alice, client_for, candidate, sandbox, settings
):
    settings.SANDBOX_URL = sandbox.url
    alice.organization.is_demo = True  # the demo texts through the sandbox without settings
    alice.organization.save(update_fields=["is_demo"])
    conversation = _message(alice.organization, candidate, "Hi")

    html = client_for(alice).get(f"/inbox/{conversation.pk}/").content.decode()

    assert f'href="{sandbox.url}/twilio/_sandbox/phone/+447700900123"' in html
    assert "Open sandbox phone" in html


def test_no_sandbox_phone_link_when_the_organization_has_its_own_provider(
    alice, client_for, candidate, sandbox, settings, twilio_settings
):
    settings.SANDBOX_URL = sandbox.url
    conversation = _message(alice.organization, candidate, "Hi")

    html = client_for(alice).get(f"/inbox/{conversation.pk}/").content.decode()

    assert "Open sandbox phone" not in html


def test_composer_says_texting_is_not_set_up_when_there_is_no_provider(
    alice, client_for, candidate
):
    conversation = _message(alice.organization, candidate, "Hi")

    html = client_for(alice).get(f"/inbox/{conversation.pk}/").content.decode()

    assert "Texting is not set up: connect Twilio or TextUs in Settings → Messaging." in html
    assert 'value="sms"' not in html


def test_viewer_reads_but_cannot_send_assign_or_lock(alice, client_for, candidate):
    org = alice.organization
    conversation = _message(org, candidate, "Hi")
    viewer = add_member(organization=org, email="vic@acme.test", role=Role.VIEWER)
    client = client_for(alice)
    client.force_login(viewer.user)

    html = client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert "Your role can read conversations but not send messages." in html
    assert 'id="composer" class="composer" method="post"' not in html

    assert _compose(client, conversation, body="Sneaky").status_code == 403
    assert client.post(f"/inbox/{conversation.pk}/lock/").status_code == 403
    assert client.post(f"/inbox/{conversation.pk}/assign/", {"to": "me"}).status_code == 403
    with tenant_scope(org):
        assert Message.objects.count() == 1
        assert not OptOutEntry.objects.exists()
        assert Conversation.objects.get().assigned_to is None


def test_another_organizations_conversation_is_not_found(alice, mallory, client_for, candidate):
    conversation = _message(alice.organization, candidate, "Private")
    client = client_for(mallory)

    assert client.get(f"/inbox/{conversation.pk}/").status_code == 404
    assert _compose(client, conversation, body="Hi").status_code == 404
    assert client.post(f"/inbox/{conversation.pk}/lock/").status_code == 404


def test_new_message_finds_a_candidate_and_opens_an_empty_conversation(
    alice, client_for, make_person, twilio_settings
):
    candidate = make_person(first_name="Nia", last_name="Jones")
    client = client_for(alice)

    found = client.get("/inbox/new/?q=nia").content.decode()
    assert "Nia Jones" in found and "Write to Nia" in found

    response = client.post("/inbox/new/", {"candidate": candidate.pk})
    with tenant_scope(alice.organization):
        conversation = Conversation.objects.get(candidate=candidate)
    assert response["Location"] == f"/inbox/{conversation.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert "No messages yet." in html and 'value="sms" checked' in html


# --------------------------------------------------------------------------------------------
# Query counts
# --------------------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_inbox_and_thread_cost_the_same_queries_however_many_conversations_and_messages(
    alice, client_for, make_person
):
    org = alice.organization
    client = client_for(alice)

    def grow(start, count):
        for n in range(start, start + count):
            candidate = make_person(
                first_name=f"P{n}", mobile_phone=f"+4477009002{n:02d}", email=f"p{n}@x.test"
            )
            _message(org, candidate, f"to {n}")
            _message(org, candidate, f"from {n}", direction=Direction.INBOUND)
            _message(org, candidate, f"mail {n}", channel=Channel.EMAIL, subject="S")
            with tenant_scope(org):
                services.opt_out_lock(
                    organization=org, phone=candidate.mobile_phone, source="manual"
                )
        with tenant_scope(org):
            return Conversation.objects.order_by("id").first()

    conversation = grow(0, 2)
    client.get("/inbox/")  # warm caches (and let the preferences row be created)
    client.get(f"/inbox/{conversation.pk}/")
    small = {
        url: _queries(client, url)
        for url in ("/inbox/", "/inbox/?view=opted_out", f"/inbox/{conversation.pk}/")
    }
    grow(2, 20)
    for n in range(10):
        _message(org, conversation.candidate, f"more {n}", direction=Direction.INBOUND)
    large = {url: _queries(client, url) for url in small}

    assert large == small
