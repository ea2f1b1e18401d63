"""Nothing stuck, nothing lost: the delivery recovery sweep settles what a dead worker left
behind — always asking the provider before anything is sent again — SendGrid e-mails whose
send was cut off are settled through the Email Activity API or the Event Webhook, and a stored
callback left unapplied is applied by the webhook intake's sweep."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from integrations import intake
from integrations import tasks as intake_tasks
from integrations.models import WebhookDelivery
from integrations.sendgrid.models import SendGridSettings
from messaging import services
from messaging.models import Channel, Message, MessageStatus
from messaging.recovery import delivery_recover
from messaging.services import DeliveryOutcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def apply_inline(monkeypatch):
    """The intake's apply task runs in process when queued (no worker in these tests)."""
    task = intake_tasks.webhook_delivery_apply
    monkeypatch.setattr(task, "delay", lambda *args: task(*args))


def _outbound(sandbox):
    return [m for m in sandbox.twilio.messages.values() if m["direction"] == "outbound-api"]


def _queued(org, candidate, capture, **kw):
    with capture():
        return services.message_send(
            organization=org,
            candidate=candidate,
            channel=kw.pop("channel", Channel.SMS),
            body=kw.pop("body", "Your onsite is Tuesday 10:00."),
            subject=kw.pop("subject", ""),
            source="journey",
        )


def _later(time_machine, minutes=6):
    time_machine.shift(timedelta(minutes=minutes))


# -- Item 1: a text stuck in "sending" ------------------------------------------------------


def test_text_twilio_got_before_the_worker_died_is_adopted_by_the_sweep_never_sent_again(
    scoped, twilio_settings, candidate, sandbox, time_machine, django_capture_on_commit_callbacks
):
    message = _queued(scoped, candidate, django_capture_on_commit_callbacks)
    services.message_deliver(organization=scoped, message_id=message.pk)
    (sent,) = _outbound(sandbox)
    # The worker died before Twilio's answer was saved: the row still says "sending".
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, provider_message_id="", sent_at=None
    )

    delivery_recover()  # within the deadline: left alone
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENDING
    _later(time_machine)
    with django_capture_on_commit_callbacks() as enqueued:
        report = delivery_recover()

    assert report.sending_settled == 1 and enqueued == []
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (MessageStatus.SENT, sent["sid"])
    assert len(_outbound(sandbox)) == 1  # counted from Twilio's own records


def test_text_left_sending_before_twilio_got_it_goes_out_once_after_the_sweep_asked(
    scoped, twilio_settings, candidate, sandbox, time_machine, django_capture_on_commit_callbacks
):
    message = _queued(scoped, candidate, django_capture_on_commit_callbacks)
    # Claimed (queued → sending committed), then the worker died before calling Twilio.
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, attempts=1, status_updated_at=timezone.now()
    )
    _later(time_machine)
    with django_capture_on_commit_callbacks() as enqueued:
        delivery_recover()
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and len(enqueued) == 1
    assert "never received this text" in message.error_message

    for callback in enqueued:  # the delivery task it queued
        services.message_deliver(organization=scoped, message_id=message.pk)
        del callback
    delivery_recover()
    assert services.message_deliver(organization=scoped, message_id=message.pk).outcome == (
        DeliveryOutcome.NOT_CLAIMED
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(_outbound(sandbox)) == 1


# -- Item 2: lost tasks ---------------------------------------------------------------------


def test_queued_text_whose_task_was_lost_is_queued_again_and_goes_out_once(
    scoped, twilio_settings, candidate, sandbox, time_machine, django_capture_on_commit_callbacks
):
    message = _queued(scoped, candidate, django_capture_on_commit_callbacks)  # task never ran
    delivery_recover()
    _later(time_machine)
    with django_capture_on_commit_callbacks() as enqueued:
        assert delivery_recover().queued_requeued == 1
    assert len(enqueued) == 1
    with django_capture_on_commit_callbacks() as again:
        assert delivery_recover().queued_requeued == 0  # it waits again before re-queuing
    assert again == []

    services.message_deliver(organization=scoped, message_id=message.pk)
    services.message_deliver(organization=scoped, message_id=message.pk)  # the lost task, late
    assert len(_outbound(sandbox)) == 1
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENT


def test_unknown_text_whose_reconcile_task_was_lost_is_settled_by_the_sweep(
    scoped, twilio_settings, candidate, sandbox, time_machine, django_capture_on_commit_callbacks
):
    message = _queued(scoped, candidate, django_capture_on_commit_callbacks)
    sandbox.twilio.inject_fault(status=500, count=1)
    with django_capture_on_commit_callbacks():  # the reconcile task it queues is lost
        services.message_deliver(organization=scoped, message_id=message.pk)
    assert Message.objects.get(pk=message.pk).status == MessageStatus.UNKNOWN

    _later(time_machine)
    with django_capture_on_commit_callbacks() as enqueued:
        assert delivery_recover().unknown_asked == 1
    services.message_deliver(organization=scoped, message_id=message.pk)

    assert len(enqueued) == 1
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENT
    assert len(_outbound(sandbox)) == 1


def _sendgrid(org, sandbox):
    return SendGridSettings.objects.create(
        organization=org,
        api_key="SG.sandbox-key",
        from_email="jobs@acme.test",
        from_name="Acme Talent",
        base_url=f"{sandbox.url}/sendgrid",
        event_public_key=sandbox.sendgrid.public_key_b64,
    )


def _unknown_email(org, candidate, capture):
    message = _queued(
        org, candidate, capture, channel=Channel.EMAIL, subject="Your onsite", body="Tuesday."
    )
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.UNKNOWN, status_updated_at=timezone.now()
    )
    return message


def test_sendgrid_event_left_unapplied_is_applied_by_the_sweep_and_settles_the_unknown_email(
    scoped, candidate, sandbox, time_machine, django_capture_on_commit_callbacks, apply_inline
):
    _sendgrid(scoped, sandbox)
    message = _unknown_email(scoped, candidate, django_capture_on_commit_callbacks)
    batch = [
        {
            "email": "sam@example.com",
            "timestamp": int(timezone.now().timestamp()),
            "event": "delivered",
            "sg_event_id": "ev-delivered-1",
            "sg_message_id": "XMID123.filter-1",
            "recruitflow_message_id": str(message.pk),
        }
    ]
    delivery, _ = intake.store(
        organization=scoped,
        provider="sendgrid",
        kind="events",
        event_id="batch-1",
        url="https://example.test/webhooks/sendgrid/t/events/",
        raw_body=json.dumps(batch).encode(),
    )  # stored, then the worker died before applying it (its task never ran)

    assert intake.sweep() == 0  # not lost yet: its task may still come
    _later(time_machine)
    assert intake.sweep() == 1

    delivery.refresh_from_db()
    message.refresh_from_db()
    assert delivery.state == "processed" and delivery.processed_at is not None
    assert message.status == MessageStatus.DELIVERED
    _later(time_machine)
    assert intake.sweep() == 0


def test_callback_whose_body_cannot_be_read_fails_for_good_with_the_reason(
    scoped, time_machine, apply_inline
):
    delivery, _ = intake.store(
        organization=scoped,
        provider="sendgrid",
        kind="events",
        event_id="batch-broken",
        url="https://example.test/webhooks/sendgrid/t/events/",
        raw_body=b"not json",
    )
    _later(time_machine)
    assert intake.sweep() == 1
    delivery.refresh_from_db()
    assert delivery.state == "failed" and delivery.next_attempt_at is None
    assert delivery.error.startswith("The body cannot be read:")
    _later(time_machine, minutes=60)
    assert intake.sweep() == 0  # not tried again: only staff's Reprocess does
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1


# -- Item 8: SendGrid reconcile -------------------------------------------------------------


def test_email_sendgrid_accepted_is_found_in_the_email_activity_by_our_id_and_adopted(
    scoped, candidate, sandbox, django_capture_on_commit_callbacks
):
    sandbox.sendgrid.reset()
    _sendgrid(scoped, sandbox)
    message = _queued(
        scoped, candidate, django_capture_on_commit_callbacks, channel=Channel.EMAIL,
        subject="Your onsite", body="Tuesday.",
    )  # fmt: skip
    sandbox.sendgrid.inject_fault(status=500, count=1)
    with django_capture_on_commit_callbacks():
        services.message_deliver(organization=scoped, message_id=message.pk)
    assert Message.objects.get(pk=message.pk).status == MessageStatus.UNKNOWN
    # SendGrid took it after all (its answer was lost): the accepted mail is in its activity.
    mail = sandbox.sendgrid.send(
        {
            "personalizations": [
                {
                    "to": [{"email": "sam@example.com"}],
                    "custom_args": {"recruitflow_message_id": str(message.pk)},
                }
            ],
            "from": {"email": "jobs@acme.test"},
            "subject": "Your onsite",
            "content": [{"type": "text/plain", "value": "Tuesday."}],
        }
    )

    # Without the paid add-on SendGrid refuses the lookup: the e-mail stays unknown.
    outcome = services.message_reconcile(organization=scoped, message_id=message.pk)
    assert outcome.outcome == DeliveryOutcome.UNKNOWN
    sandbox.sendgrid.email_activity = True
    outcome = services.message_reconcile(organization=scoped, message_id=message.pk)

    assert outcome.outcome == DeliveryOutcome.SENT
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (MessageStatus.SENT, mail["id"])
    assert len(sandbox.sendgrid.mails_to("sam@example.com")) == 1


def test_email_sendgrid_never_accepted_is_sent_once_when_its_activity_has_settled(
    scoped, candidate, sandbox, time_machine, django_capture_on_commit_callbacks
):
    sandbox.sendgrid.reset()
    sandbox.sendgrid.email_activity = True
    _sendgrid(scoped, sandbox)
    message = _unknown_email(scoped, candidate, django_capture_on_commit_callbacks)

    # Not in the activity yet may only mean not indexed yet.
    outcome = services.message_reconcile(organization=scoped, message_id=message.pk)
    assert outcome.outcome == DeliveryOutcome.RETRY
    time_machine.shift(timedelta(seconds=services.EMAIL_ACTIVITY_SETTLE_S + 60))
    with django_capture_on_commit_callbacks() as enqueued:
        outcome = services.message_reconcile(organization=scoped, message_id=message.pk)
    assert outcome.outcome == DeliveryOutcome.REQUEUED and len(enqueued) == 1
    services.message_deliver(organization=scoped, message_id=message.pk)

    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENT
    assert len(sandbox.sendgrid.mails_to("sam@example.com")) == 1


def test_sandbox_email_activity_answers_like_sendgrid(sandbox):
    import urllib.error
    import urllib.parse
    import urllib.request

    sandbox.sendgrid.reset()

    def get(query):
        request = urllib.request.Request(
            f"{sandbox.url}/sendgrid/v3/messages?"
            + urllib.parse.urlencode({"query": query, "limit": 10}),
            headers={"Authorization": "Bearer SG.sandbox-key"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    assert get('to_email="a@b.test"')[0] == 403  # a paid add-on
    sandbox.sendgrid.email_activity = True
    assert get("nonsense")[0] == 400
    mail = sandbox.sendgrid.send(
        {
            "personalizations": [
                {"to": [{"email": "a@b.test"}], "custom_args": {"recruitflow_message_id": "7"}}
            ],
            "from": {"email": "jobs@acme.test"},
            "subject": "Hi",
            "content": [{"type": "text/plain", "value": "Hi"}],
        }
    )
    status, body = get('unique_args[\'recruitflow_message_id\']="7" AND to_email="a@b.test"')
    assert status == 200
    (row,) = body["messages"]
    assert row["msg_id"].startswith(mail["id"] + ".") and row["status"] == "delivered"
    assert get("unique_args['recruitflow_message_id']=\"8\"")[1]["messages"] == []
    assert len(get(f"msg_id LIKE '{mail['id']}%'")[1]["messages"]) == 1


# -- Items 2 and 6: worker and database settings --------------------------------------------


def test_lost_worker_requeues_its_task_and_connections_are_checked_before_reuse(settings):
    from recruitflow.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_beat_runs_the_recovery_sweep_every_minute():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="messaging.tasks.delivery_recover")
    assert task.enabled and task.interval.every == 60 and task.interval.period == "seconds"


def test_staff_reprocess_applies_a_stored_callback_again_and_changes_nothing_applied_twice(
    scoped, candidate, sandbox, django_capture_on_commit_callbacks, apply_inline
):
    _sendgrid(scoped, sandbox)
    message = _unknown_email(scoped, candidate, django_capture_on_commit_callbacks)
    batch = [
        {
            "email": "sam@example.com",
            "timestamp": int(timezone.now().timestamp()),
            "event": "delivered",
            "sg_event_id": "ev-delivered-again",
            "sg_message_id": "XMID123.filter-1",
            "recruitflow_message_id": str(message.pk),
        }
    ]
    with django_capture_on_commit_callbacks(execute=True):
        delivery, _ = intake.store(
            organization=scoped,
            provider="sendgrid",
            kind="events",
            event_id="batch-again",
            url="https://example.test/webhooks/sendgrid/t/events/",
            raw_body=json.dumps(batch).encode(),
        )
    delivery.refresh_from_db()
    assert delivery.state == "processed"

    with django_capture_on_commit_callbacks(execute=True):
        assert intake.reprocess(delivery_ids=[delivery.pk]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert intake.reprocess(delivery_ids=[delivery.pk]) == 1

    delivery.refresh_from_db()
    message.refresh_from_db()
    assert delivery.state == "processed" and delivery.error == ""
    assert message.status == MessageStatus.DELIVERED
    assert message.events.filter(status=MessageStatus.DELIVERED).count() == 1
