"""The one webhook intake, seen through a text a candidate sends: stored once however often the
provider delivers it, applied by the intake's task, left for the sweep when the task is lost,
failed with the reason when its handler fails, and applied again by staff's Reprocess in the
admin."""

from __future__ import annotations

import urllib.parse
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from integrations import intake
from integrations import tasks as intake_tasks
from integrations.models import WebhookDelivery
from integrations.twilio import webhooks as twilio_webhooks
from integrations.twilio.models import TwilioSettings
from messaging.models import Direction, Message
from messaging.services import callbacks
from recruitflow.tenancy import tenant_scope

from .conftest import LONDON_MOBILE

pytestmark = pytest.mark.django_db

OUR_NUMBER = "+15005550199"


@pytest.fixture
def twilio(org):
    with tenant_scope(org):
        TwilioSettings.objects.create(
            organization=org,
            account_sid="AC" + "1" * 32,
            auth_token="a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4",
            from_number=OUR_NUMBER,
        )


@pytest.fixture
def queued(monkeypatch):
    """The apply tasks the intake queues (no worker here): run them with ``run_queued``."""
    sent: list[tuple] = []
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply, "delay", lambda *args: sent.append(args)
    )
    return sent


def run_queued(queued: list[tuple]) -> None:
    while queued:
        intake_tasks.webhook_delivery_apply(*queued.pop(0))


def reply_body(sid: str = "SM" + "b" * 32, text: str = "Yes, 3pm works") -> str:
    return urllib.parse.urlencode(
        {
            "MessageSid": sid,
            "AccountSid": "AC" + "1" * 32,
            "From": LONDON_MOBILE,
            "To": OUR_NUMBER,
            "Body": text,
            "SmsStatus": "received",
        }
    )


def store_reply(org, capture, body: str | None = None):
    body = body or reply_body()
    sid = urllib.parse.parse_qs(body)["MessageSid"][0]
    with capture(execute=True):
        return intake.store(
            organization=org,
            provider="twilio",
            kind="inbound",
            event_id=f"inbound:{sid}",
            raw_body=body.encode(),
            url="https://rf.example/webhooks/twilio/t/inbound/",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


def replies(org) -> list[str]:
    with tenant_scope(org):
        return list(
            Message.objects.filter(direction=Direction.INBOUND).values_list("body", flat=True)
        )


def test_a_delivery_sent_three_times_is_stored_once_and_its_task_queued_once(
    org, candidate, twilio, queued, django_capture_on_commit_callbacks
):
    first, created = store_reply(org, django_capture_on_commit_callbacks)
    again = [store_reply(org, django_capture_on_commit_callbacks) for _ in range(2)]

    assert created and [was_created for _, was_created in again] == [False, False]
    assert {delivery.pk for delivery, _ in again} == {first.pk}
    assert queued == [(org.pk, first.pk)]
    run_queued(queued)

    first.refresh_from_db()
    assert (first.state, first.attempts, first.error) == ("processed", 1, "")
    assert replies(org) == ["Yes, 3pm works"]
    with tenant_scope(org):
        assert WebhookDelivery.objects.count() == 1


def test_a_delivery_whose_task_was_lost_is_applied_by_the_sweep_once(
    org, candidate, twilio, queued, django_capture_on_commit_callbacks, time_machine
):
    delivery, _ = store_reply(org, django_capture_on_commit_callbacks)
    queued.clear()  # the broker lost it

    assert intake.sweep() == 0  # its task may still come
    time_machine.shift(timedelta(minutes=3))
    assert (intake.sweep(), intake.sweep()) == (1, 0)  # two beats at once queue it once
    run_queued(queued)

    delivery.refresh_from_db()
    assert delivery.state == "processed" and delivery.next_attempt_at is None
    assert replies(org) == ["Yes, 3pm works"]


def test_a_broker_that_refuses_the_task_is_logged_and_the_delivery_is_kept(
    org, candidate, twilio, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def refuse(*args):
        raise ConnectionRefusedError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr(intake_tasks.webhook_delivery_apply, "delay", refuse)

    delivery, created = store_reply(org, django_capture_on_commit_callbacks)

    assert created and delivery.state == "received" and delivery.next_attempt_at is not None
    assert "the sweep will queue it" in caplog.text


def test_a_handler_error_marks_the_delivery_failed_with_the_reason_until_it_is_tried_again(
    org, candidate, twilio, queued, monkeypatch, django_capture_on_commit_callbacks, time_machine
):
    def inbox_down(**kwargs):
        raise RuntimeError("the inbox is being moved")

    monkeypatch.setattr(callbacks, "inbound_sms_accept", inbox_down)
    delivery, _ = store_reply(org, django_capture_on_commit_callbacks)
    run_queued(queued)

    delivery.refresh_from_db()
    assert delivery.state == "failed"
    assert delivery.error == "the record: RuntimeError: the inbox is being moved"
    assert delivery.next_attempt_at is not None and delivery.attempts == 1
    assert replies(org) == []

    monkeypatch.undo()  # the inbox is back
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply, "delay", lambda *args: queued.append(args)
    )
    time_machine.shift(timedelta(minutes=2))
    assert intake.sweep() == 1
    run_queued(queued)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.error, delivery.attempts) == ("processed", "", 2)
    assert replies(org) == ["Yes, 3pm works"]


def test_a_record_that_cannot_be_applied_fails_for_good_and_the_sweep_leaves_it(
    org, candidate, twilio, queued, monkeypatch, django_capture_on_commit_callbacks, time_machine
):
    def refuse(**kwargs):
        raise ValueError("The number +447700900123 belongs to no organization.")

    monkeypatch.setattr(callbacks, "inbound_sms_accept", refuse)
    delivery, _ = store_reply(org, django_capture_on_commit_callbacks)
    run_queued(queued)
    time_machine.shift(timedelta(hours=3))

    assert intake.sweep() == 0
    delivery.refresh_from_db()
    assert delivery.state == "failed" and delivery.next_attempt_at is None
    assert delivery.error == "the record: The number +447700900123 belongs to no organization."


def test_staff_reprocess_in_the_admin_applies_a_failed_delivery(
    client, org, candidate, twilio, queued, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(**kwargs):
        raise ValueError("The inbox refused it.")

    monkeypatch.setattr(callbacks, "inbound_sms_accept", refuse)
    delivery, _ = store_reply(org, django_capture_on_commit_callbacks)
    run_queued(queued)
    monkeypatch.undo()
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply, "delay", lambda *args: queued.append(args)
    )
    staff = get_user_model().objects.create_superuser("staff@platform.test", "staff@platform.test")
    client.force_login(staff)
    url = "/admin/integrations/webhookdelivery/"

    listing = client.get(url, {"state__exact": "failed", "provider__exact": "twilio"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"action": "reprocess", "_selected_action": [delivery.pk]}, follow=True
        )
    run_queued(queued)

    assert listing.status_code == 200
    assert "The inbox refused it." in listing.content.decode()
    assert [str(m) for m in response.context["messages"]] == [
        "1 webhook delivery(ies) queued to be applied again."
    ]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.error) == ("processed", "")
    assert replies(org) == ["Yes, 3pm works"]


def test_the_admin_filters_deliveries_by_provider_state_and_organization(
    client, org, candidate, twilio, queued, django_capture_on_commit_callbacks
):
    store_reply(org, django_capture_on_commit_callbacks)
    staff = get_user_model().objects.create_superuser("staff@platform.test", "staff@platform.test")
    client.force_login(staff)
    url = "/admin/integrations/webhookdelivery/"

    received = client.get(url, {"state__exact": "received", "organization__id__exact": org.pk})
    processed = client.get(url, {"state__exact": "processed"})
    lever = client.get(url, {"provider__exact": "lever"})

    event_id = "inbound:SM" + "b" * 32
    assert received.status_code == processed.status_code == lever.status_code == 200
    assert event_id in received.content.decode()
    assert event_id not in processed.content.decode()
    assert event_id not in lever.content.decode()


def test_settings_show_the_last_callback_and_why_it_could_not_be_applied(
    client, alice, org, candidate, twilio, queued, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(**kwargs):
        raise ValueError("The inbox refused it.")

    client.force_login(alice.user)
    store_reply(org, django_capture_on_commit_callbacks)
    waiting = client.get("/settings/messaging/?tab=texting").content.decode()
    monkeypatch.setattr(callbacks, "inbound_sms_accept", refuse)
    run_queued(queued)
    failed = client.get("/settings/messaging/?tab=texting").content.decode()

    assert "Last callback from Twilio" in waiting and "(inbound text)" in waiting
    assert "could not be applied yet" not in waiting
    assert "The last callback could not be applied yet:</strong> the record: The inbox" in failed


def test_a_vendor_reader_that_breaks_leaves_the_delivery_failed_to_be_tried_again(
    org, candidate, twilio, queued, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise KeyError("MessageSid")

    monkeypatch.setattr(twilio_webhooks, "parse_stored", broken)
    delivery, _ = store_reply(org, django_capture_on_commit_callbacks)
    run_queued(queued)

    delivery.refresh_from_db()
    assert delivery.state == "failed" and delivery.next_attempt_at is not None
    assert delivery.error == "Reading the body failed: KeyError: 'MessageSid'"
    assert replies(org) == []
