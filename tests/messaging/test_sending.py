from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.core import mail

from candidates.models import TimelineEvent
from integrations.twilio.webhooks import parse_webhook
from messaging import services
from messaging.models import Channel, Message, MessageEvent, MessageStatus
from messaging.services import CannotSend, DeliveryOutcome
from messaging.tasks import message_deliver

pytestmark = pytest.mark.django_db


def _outbound(sandbox):
    return [m for m in sandbox.twilio.messages.values() if m["direction"] == "outbound-api"]


def _send(org, candidate, django_capture_on_commit_callbacks, **kw):
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.message_send(
            organization=org,
            candidate=candidate,
            channel=kw.pop("channel", Channel.SMS),
            body=kw.pop("body", "Hi Sam, can we talk tomorrow?"),
            source=kw.pop("source", "manual"),
            **kw,
        )
    return message, callbacks


def test_text_is_written_queued_before_the_provider_is_called_then_sent_when_delivered(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    message, callbacks = _send(scoped, candidate, django_capture_on_commit_callbacks)

    assert message.status == MessageStatus.QUEUED
    assert len(callbacks) == 1  # the delivery task is enqueued only once the row commits
    assert _outbound(sandbox) == []

    assert message_deliver.run(scoped, message.pk) == "sent"

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider == "twilio"
    assert message.provider_message_id.startswith("SM")
    assert message.segments == 1 and message.encoding == "GSM-7"
    assert [m["body"] for m in _outbound(sandbox)] == ["Hi Sam, can we talk tomorrow?"]
    assert TimelineEvent.objects.filter(candidate=candidate, kind="message_sent").exists()


def test_sandbox_status_callbacks_mark_the_text_delivered_once_when_replayed_twice(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    message, _ = _send(scoped, candidate, django_capture_on_commit_callbacks)
    services.message_deliver(organization=scoped, message_id=message.pk)
    assert sandbox.twilio.wait_idle(5)

    entries = [c for c in sandbox.twilio.callbacks if c["kind"] == "status"]
    assert [c["params"]["MessageStatus"] for c in entries] == ["sent", "delivered"]
    for entry in entries + entries[::-1]:  # duplicated and out of order
        (update,) = parse_webhook(entry["params"], url=entry["url"])
        services.message_status_apply(organization=scoped, update=update)

    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at is not None
    assert MessageEvent.objects.filter(message=message).count() == 3  # sent (send) + 2 callbacks


def test_undelivered_text_shows_the_carriers_reason_when_the_phone_is_off(
    scoped, twilio_settings, make_candidate, sandbox, django_capture_on_commit_callbacks
):
    candidate = make_candidate(mobile_phone="+447700900000")  # sandbox: ends 0000 → 30003
    message, _ = _send(scoped, candidate, django_capture_on_commit_callbacks)
    services.message_deliver(organization=scoped, message_id=message.pk)
    assert sandbox.twilio.wait_idle(5)
    for entry in [c for c in sandbox.twilio.callbacks if c["kind"] == "status"]:
        (update,) = parse_webhook(entry["params"], url=entry["url"])
        services.message_status_apply(organization=scoped, update=update)

    message.refresh_from_db()
    assert message.status == MessageStatus.UNDELIVERED
    assert message.error_code == "30003"
    assert "switched off" in message.error_message


def test_same_idempotency_key_returns_the_first_message_when_sent_twice(
    scoped, twilio_settings, candidate, django_capture_on_commit_callbacks
):
    first, _ = _send(scoped, candidate, django_capture_on_commit_callbacks, idempotency_key="j1:s1")
    second, callbacks = _send(
        scoped, candidate, django_capture_on_commit_callbacks, idempotency_key="j1:s1"
    )

    assert second.pk == first.pk
    assert callbacks == []
    assert Message.objects.count() == 1


def test_send_is_refused_with_a_reason_when_the_candidate_has_no_mobile(
    scoped, make_candidate, django_capture_on_commit_callbacks
):
    candidate = make_candidate(mobile_phone="")
    with pytest.raises(CannotSend, match="No mobile number"):
        _send(scoped, candidate, django_capture_on_commit_callbacks)

    assert not Message.objects.exists()
    skipped = TimelineEvent.objects.get(candidate=candidate, kind="message_skipped")
    assert "No mobile number" in skipped.summary


def test_outage_leaves_the_text_queued_and_a_retry_sends_exactly_one_when_twilio_recovers(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    message, _ = _send(scoped, candidate, django_capture_on_commit_callbacks)
    sandbox.twilio.inject_fault(status=429, count=1)  # not processed: safe to resend

    with pytest.raises(Retry):
        message_deliver.run(scoped, message.pk)

    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert "too many requests" in message.error_message
    assert _outbound(sandbox) == []

    assert services.message_deliver(organization=scoped, message_id=message.pk).outcome == "sent"
    assert services.message_deliver(organization=scoped, message_id=message.pk).outcome == (
        DeliveryOutcome.NOT_CLAIMED
    )
    assert len(_outbound(sandbox)) == 1


def test_ambiguous_timeout_leaves_the_text_unknown_and_never_resends_it(
    scoped, twilio_settings, candidate, sandbox, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGING_PROVIDER_TIMEOUT_S = 0.3
    message, _ = _send(scoped, candidate, django_capture_on_commit_callbacks)
    sandbox.twilio.inject_fault(status=None, delay=1.0)  # Twilio creates it, answers too late

    result = services.message_deliver(organization=scoped, message_id=message.pk)

    assert result.outcome == DeliveryOutcome.UNKNOWN
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN
    assert "may or may not have been sent" in message.error_message
    assert message_deliver.run(scoped, message.pk) == DeliveryOutcome.NOT_CLAIMED
    assert services.messages_release_held(now=message.created_at + timedelta(days=1)) == 0
    import time

    time.sleep(1.2)
    assert len(_outbound(sandbox)) == 1


def test_email_lands_in_the_outbox_with_text_and_branded_html_when_no_sendgrid_is_set(
    scoped, candidate, django_capture_on_commit_callbacks
):
    message, _ = _send(
        scoped,
        candidate,
        django_capture_on_commit_callbacks,
        channel=Channel.EMAIL,
        subject="Your interview",
        body="See you at 10.",
        html="<p>See you at <b>10</b>.</p>",
    )

    services.message_deliver(organization=scoped, message_id=message.pk)

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider == "django"
    (sent,) = mail.outbox
    assert sent.to == ["Sam Okafor <sam@example.com>"]
    assert sent.subject == "Your interview"
    assert sent.body == "See you at 10."
    html, mimetype = sent.alternatives[0]
    assert mimetype == "text/html"
    assert "<p>See you at <b>10</b>.</p>" in html  # inside the organization's layout
    assert scoped.name in html


def test_status_update_from_another_organization_changes_nothing(
    scoped, twilio_settings, candidate, mallory, django_capture_on_commit_callbacks
):
    from datetime import UTC, datetime

    from integrations.messaging import DeliveryUpdate
    from recruitflow.tenancy import tenant_scope

    message, _ = _send(scoped, candidate, django_capture_on_commit_callbacks)
    update = DeliveryUpdate(
        provider_message_id="SMx",
        our_message_id=str(message.pk),
        status="failed",
        occurred_at=datetime.now(UTC),
    )
    with tenant_scope(mallory.organization):
        assert (
            services.message_status_apply(organization=mallory.organization, update=update) is None
        )
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
