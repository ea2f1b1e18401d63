"""What one send costs, and the per-account send rate: a big campaign queues in order."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import organization_create
from integrations.sendgrid.models import SendGridSettings
from integrations.twilio.models import TwilioSettings
from messaging import services
from messaging.models import Channel, Message, MessageStatus
from messaging.send_limits import send_wait
from messaging.tasks import message_deliver
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db

MAX_QUERIES_PER_SEND = 8


def _outbound(sandbox):
    return [m for m in sandbox.twilio.messages.values() if m["direction"] == "outbound-api"]


def _sendgrid(org, sandbox):
    return SendGridSettings.objects.create(
        organization=org,
        api_key="SG.sandbox-key",
        from_email="jobs@acme.test",
        from_name="Acme Talent",
        base_url=f"{sandbox.url}/sendgrid",
        event_public_key=sandbox.sendgrid.public_key_b64,
    )


def _queued(org, candidate, capture, *, channel=Channel.SMS, body="Hi Sam, can we talk?"):
    with capture():
        return services.message_send(
            organization=org,
            candidate=candidate,
            channel=channel,
            subject="Your application" if channel == Channel.EMAIL else "",
            body=body,
            source="journey",
        )


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL])
def test_a_send_through_the_worker_task_costs_at_most_eight_queries(
    scoped, twilio_settings, make_candidate, sandbox, channel, django_capture_on_commit_callbacks
):
    _sendgrid(scoped, sandbox)
    counts = []
    for n in range(3):  # the first send of a process resolves the organization's settings
        candidate = make_candidate(mobile_phone=f"+4477009001{n:02d}", email=f"s{n}@example.com")
        message = _queued(scoped, candidate, django_capture_on_commit_callbacks, channel=channel)
        with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks():
            assert message_deliver(scoped.pk, message.pk) == "sent"  # the task, org load included
        counts.append(len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"].upper()]))
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT and message.provider_message_id
    assert max(counts[1:]) <= MAX_QUERIES_PER_SEND, counts
    if channel == Channel.SMS:
        assert len(_outbound(sandbox)) == 3


def test_a_removed_texting_account_stops_the_next_send_at_once_also_in_sub_accounts(
    scoped, alice, twilio_settings, make_candidate, sandbox, django_capture_on_commit_callbacks
):
    child = organization_create(name="Acme North", owner=alice.user, parent=scoped)
    with tenant_scope(child):
        first = _queued(
            child, make_candidate(organization=child), django_capture_on_commit_callbacks
        )
        assert message_deliver(child.pk, first.pk) == "sent"  # through the parent's Twilio
    TwilioSettings.objects.filter(pk=twilio_settings.pk).first().delete()
    with tenant_scope(child):
        second = _queued(
            child,
            make_candidate(organization=child, mobile_phone="+447700900124"),
            django_capture_on_commit_callbacks,
        )
        assert message_deliver(child.pk, second.pk) == "failed"
        second.refresh_from_db()
    assert "Texting is not set up" in second.error_message
    assert len(_outbound(sandbox)) == 1


def test_past_the_accounts_rate_the_next_sends_wait_their_turn_in_order():
    now = 1_000.25
    waits = [send_wait("twilio:acct-a", 2, now=now) for _ in range(5)]
    assert waits[:2] == [0.0, 0.0]
    # The third and fourth go in the next second, the fifth in the one after.
    assert waits[2:] == pytest.approx([0.75, 1.25, 1.75])
    assert send_wait("twilio:acct-b", 2, now=now) == 0.0  # another account has its own
    assert send_wait("twilio:acct-a", 2, now=now + 1) == 0.0  # the next window
    assert send_wait("twilio:acct-a", None, now=now) == 0.0  # no limit


def test_a_campaign_past_the_rate_is_queued_again_never_dropped_and_sent_once(
    scoped,
    twilio_settings,
    make_candidate,
    sandbox,
    settings,
    monkeypatch,
    time_machine,
    django_capture_on_commit_callbacks,
):
    settings.MESSAGING_SEND_RATE_PER_S = {"twilio": 1}
    requeued = []
    monkeypatch.setattr(
        message_deliver, "apply_async", lambda args, countdown: requeued.append((args, countdown))
    )
    messages = [
        _queued(
            scoped,
            make_candidate(mobile_phone=f"+4477009002{n:02d}"),
            django_capture_on_commit_callbacks,
        )
        for n in range(2)
    ]
    time_machine.move_to("2025-01-15 15:00:00.100 +00:00", tick=False)
    assert message_deliver(scoped.pk, messages[0].pk) == "sent"
    assert message_deliver(scoped.pk, messages[1].pk) == "throttled"

    assert Message.objects.get(pk=messages[1].pk).status == MessageStatus.QUEUED
    assert len(_outbound(sandbox)) == 1
    assert requeued == [((scoped.pk, messages[1].pk), pytest.approx(0.9))]

    time_machine.move_to("2025-01-15 15:00:01.000 +00:00", tick=False)  # its turn
    assert message_deliver(*requeued[0][0]) == "sent"
    assert message_deliver(*requeued[0][0]) == "not_claimed"  # a duplicate task sends nothing
    assert [m["to"] for m in _outbound(sandbox)] == ["+447700900200", "+447700900201"]
