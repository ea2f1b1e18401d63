"""A batch of deliveries takes its turns in the providers' send rates together, and never hands
an account more than its rate in any second."""

from datetime import timedelta

import pytest

from messaging import send_limits, services
from messaging.models import Message, MessageStatus
from messaging.services import delivery
from messaging.tasks import message_deliver_batch

pytestmark = pytest.mark.django_db


def _outbound(sandbox):
    return [m for m in sandbox.twilio.messages.values() if m["direction"] == "outbound-api"]


@pytest.fixture
def takes(monkeypatch) -> list:
    """Each trip to the shared cache for turns: the counters it moved."""
    trips: list = []
    real_take = send_limits._take

    def take(counts):
        trips.append(dict(counts))
        return real_take(counts)

    monkeypatch.setattr(send_limits, "_take", take)
    return trips


def _queued(org, make_candidate, n, capture) -> list[int]:
    with capture():
        return [
            services.message_send(
                organization=org,
                candidate=make_candidate(mobile_phone=f"+4477009005{i:02d}"),
                channel="sms",
                body="Hi, can we talk?",
                source="bulk",
            ).pk
            for i in range(n)
        ]


def test_turns_taken_together_are_the_turns_taken_one_after_another():
    now = 2_000.25
    assert send_limits.send_waits(
        {"twilio:acct-c": (2, 5), "sendgrid:acct-c": (None, 2)}, now=now
    ) == {
        "twilio:acct-c": pytest.approx([0.0, 0.0, 0.75, 1.25, 1.75]),
        "sendgrid:acct-c": [0.0, 0.0],
    }
    # The next send of the account comes after the five.
    assert send_limits.send_wait("twilio:acct-c", 2, now=now) == pytest.approx(2.25)


def test_a_batch_takes_its_turns_in_one_trip_to_the_shared_cache(
    scoped,
    twilio_settings,
    make_candidate,
    sandbox,
    takes,
    time_machine,
    django_capture_on_commit_callbacks,
):
    ids = _queued(scoped, make_candidate, 5, django_capture_on_commit_callbacks)
    time_machine.move_to("2025-01-15 15:00:00.000 +00:00", tick=False)  # within one second

    assert message_deliver_batch(scoped.pk, ids) == {"sent": 5}

    assert len(takes) == 1 and list(takes[0].values()) == [5]
    assert len(_outbound(sandbox)) == 5


def test_a_batch_that_outlasts_its_second_takes_new_turns_for_the_rest(
    scoped,
    twilio_settings,
    make_candidate,
    sandbox,
    settings,
    time_machine,
    requeued,
    takes,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    settings.MESSAGING_SEND_RATE_PER_S = {"twilio": 2}
    ids = _queued(scoped, make_candidate, 5, django_capture_on_commit_callbacks)
    time_machine.move_to("2025-01-15 15:00:00.900 +00:00", tick=False)
    real_mark_sent = delivery._mark_sent

    def mark_sent_a_second_later(organization, message, **kwargs):
        if message.pk == ids[0]:  # the second turns while the first answer is written
            time_machine.shift(timedelta(seconds=0.2))
        return real_mark_sent(organization, message, **kwargs)

    monkeypatch.setattr(delivery, "_mark_sent", mark_sent_a_second_later)

    assert message_deliver_batch(scoped.pk, ids) == {"sent": 4, "throttled": 1}

    # 15:00:00 had the first two turns; the rest took theirs at 15:00:01: two of them go now,
    # the last at 15:00:02.
    assert [args[1] for args, _, _ in requeued] == [ids[4]]
    assert requeued[0][1] == pytest.approx(0.9)
    assert [list(trip.values()) for trip in takes] == [[5], [3]]
    assert len(_outbound(sandbox)) == 4
    assert Message.objects.get(pk=ids[4]).status == MessageStatus.QUEUED
