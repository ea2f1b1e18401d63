import pytest

from candidates.models import TimelineEvent
from integrations.twilio.webhooks import parse_webhook
from messaging import selectors, services
from messaging.models import Channel, Conversation, Message, MessageStatus, OptOutEntry
from messaging.services import CannotSend

from .conftest import LONDON_MOBILE

pytestmark = pytest.mark.django_db


def _candidate_texts(sandbox, org, body):
    """The candidate texts us; the sandbox's real inbound webhook payload is fed in."""
    sandbox.twilio.text_from(LONDON_MOBILE, body)
    assert sandbox.twilio.wait_idle(5)
    entry = [c for c in sandbox.twilio.callbacks if c["kind"] == "inbound"][-1]
    inbound = parse_webhook(entry["params"], url=entry["url"])[0]
    return services.inbound_sms_receive(organization=org, inbound=inbound)


def _queue(org, candidate, django_capture_on_commit_callbacks, body="Interview at 10?"):
    with django_capture_on_commit_callbacks():
        return services.message_send(
            organization=org, candidate=candidate, channel=Channel.SMS, body=body, source="manual"
        )


def test_stop_locks_the_number_cancels_queued_texts_and_refuses_the_next_send(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    queued = _queue(scoped, candidate, django_capture_on_commit_callbacks)

    reply = _candidate_texts(sandbox, scoped, "Stop")

    assert reply.candidate == candidate
    assert Conversation.objects.get(candidate=candidate).unread_count == 1
    assert selectors.is_locked(scoped, LONDON_MOBILE)
    queued.refresh_from_db()
    assert queued.status == MessageStatus.CANCELED
    with pytest.raises(CannotSend, match=r"opted out on \d{4}-\d\d-\d\d by texting STOP"):
        _queue(scoped, candidate, django_capture_on_commit_callbacks)
    assert TimelineEvent.objects.filter(candidate=candidate, kind="replied").exists()
    assert TimelineEvent.objects.filter(candidate=candidate, kind="message_skipped").exists()


def test_start_unlocks_the_number_and_keeps_the_history_when_the_candidate_opts_back_in(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    _candidate_texts(sandbox, scoped, "STOP")
    _candidate_texts(sandbox, scoped, "START")

    assert not selectors.is_locked(scoped, LONDON_MOBILE)
    assert list(OptOutEntry.objects.values_list("action", flat=True)) == ["unlock", "lock"]
    message = _queue(scoped, candidate, django_capture_on_commit_callbacks)
    assert services.message_deliver(organization=scoped, message_id=message.pk).outcome == "sent"


def test_help_gets_the_organizations_help_reply_when_the_candidate_texts_help(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        _candidate_texts(sandbox, scoped, "HELP")

    reply = Message.objects.get(source="auto_reply")
    # The reply is queued for delivery once (the other callback refreshes the Inbox badge).
    assert [c.__qualname__ for c in callbacks if "unread_changed" not in c.__qualname__] == [
        "_enqueue.<locals>.<lambda>"
    ]
    services.message_deliver(organization=scoped, message_id=reply.pk)
    sent = [m["body"] for m in sandbox.twilio.messages.values() if m["direction"] == "outbound-api"]
    assert sent == [
        "Reply STOP to opt out. Questions? Reply here and a recruiter will get back to you."
    ]
    assert not selectors.is_locked(scoped, LONDON_MOBILE)


def test_twilio_21610_locks_the_number_when_the_provider_refuses_the_text(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    sandbox.twilio.text_from(LONDON_MOBILE, "STOP")  # Twilio knows; we missed the webhook
    message = _queue(scoped, candidate, django_capture_on_commit_callbacks)

    services.message_deliver(organization=scoped, message_id=message.pk)

    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == "21610"
    assert "replied STOP" in message.error_message
    entry = OptOutEntry.objects.get()
    assert entry.locked and entry.source == "provider_error_21610"


def test_unmatched_inbound_text_is_kept_without_a_conversation_when_no_candidate_has_the_number(
    scoped, twilio_settings, sandbox
):
    message = _candidate_texts(sandbox, scoped, "Who is this?")

    assert message.conversation is None and message.candidate is None
    assert message.status == MessageStatus.RECEIVED
    assert not Conversation.objects.exists()
