"""Delivery end to end: a real Celery worker, provider outages, the branded e-mail layout."""

import contextlib
import time

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

from accounts.models import Organization
from candidates.models import TimelineEvent
from integrations.textus.models import TextUsSettings
from integrations.twilio import sandbox as twilio_sandbox
from integrations.twilio.models import TwilioSettings
from messaging import email_layout, selectors, services
from messaging.models import Channel, Message, MessageStatus
from messaging.services import CannotSend, DeliveryOutcome
from messaging.tasks import MAX_RETRIES, message_deliver
from recruitflow.tenancy import tenant_scope

from .conftest import LONDON_MOBILE


def _outbound(sandbox):
    return [m for m in sandbox.twilio.messages.values() if m["direction"] == "outbound-api"]


def _queue(org, candidate, django_capture_on_commit_callbacks, **kw):
    with django_capture_on_commit_callbacks() as callbacks:
        message = services.message_send(
            organization=org,
            candidate=candidate,
            channel=kw.pop("channel", Channel.SMS),
            body=kw.pop("body", "Hi Sam, can we talk tomorrow?"),
            source="manual",
            **kw,
        )
    return message, callbacks


# -- A real worker -------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_text_goes_through_a_real_worker_to_the_sandbox_once_and_comes_back_delivered(
    alice, make_candidate, sandbox, live_server, settings
):
    from celery.contrib.testing.worker import start_worker

    from recruitflow.celery import app

    org = alice.organization
    org.is_demo = True  # texts through the default sandbox, as the demo organization does
    org.save(update_fields=["is_demo"])
    candidate = make_candidate()
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_URL = sandbox.url
    # The live server shares this thread's connection; the worker has its own. The sandbox's
    # first callback waits until the worker has finished writing.
    sandbox.twilio.configure(sent_delay=0.8, delivery_delay=0.2, inbound_url=None)
    app.control.purge()  # nothing left over from earlier runs

    def status():
        with tenant_scope(org):
            return Message.objects.get().status

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with tenant_scope(org):
            services.message_send(
                organization=org,
                candidate=candidate,
                channel=Channel.SMS,
                body="Your interview is confirmed for Tuesday 10:00 (Europe/London).",
                source="journey",
            )
        deadline = time.monotonic() + 30
        current = None
        while time.monotonic() < deadline and current != MessageStatus.DELIVERED:
            with contextlib.suppress(OperationalError):  # the worker is writing
                current = status()
            time.sleep(0.1)

    assert current == MessageStatus.DELIVERED, "the text did not come back delivered in time"
    sandbox.twilio.wait_idle(5)  # the sandbox has recorded our answers
    (sent,) = _outbound(sandbox)
    assert sent["to"] == LONDON_MOBILE and sent["from"] == selectors.sandbox_sms_number(org)
    callbacks = [c for c in sandbox.twilio.callbacks if c["kind"] == "status"]
    assert [(c["params"]["MessageStatus"], c["http_status"]) for c in callbacks] == [
        ("sent", 200),
        ("delivered", 200),
    ]
    with tenant_scope(org):
        message = Message.objects.get()
        assert message.provider_message_id == sent["sid"]
        assert message.attempts == 1


# -- Outages -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_twilio_500_leaves_the_text_unknown_until_twilio_is_asked_then_it_goes_out_once(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    message, _ = _queue(scoped, candidate, django_capture_on_commit_callbacks)
    sandbox.twilio.inject_fault(status=500, count=1)

    with django_capture_on_commit_callbacks() as scheduled:
        result = services.message_deliver(organization=scoped, message_id=message.pk)

    assert result.outcome == DeliveryOutcome.UNKNOWN
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN
    assert "may or may not have been sent" in message.error_message
    assert len(scheduled) == 1  # the reconciliation, once the request can no longer land
    assert _outbound(sandbox) == []

    with django_capture_on_commit_callbacks() as requeued:
        assert services.message_reconcile(organization=scoped, message_id=message.pk).outcome == (
            DeliveryOutcome.REQUEUED
        )
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert "never received this text" in message.error_message
    assert len(requeued) == 1

    assert services.message_deliver(organization=scoped, message_id=message.pk).outcome == "sent"
    assert services.message_reconcile(organization=scoped, message_id=message.pk).outcome == (
        DeliveryOutcome.NOT_CLAIMED
    )
    (sent,) = _outbound(sandbox)
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (MessageStatus.SENT, sent["sid"])


@pytest.mark.django_db
def test_text_twilio_created_before_timing_out_is_adopted_not_sent_again(
    scoped, twilio_settings, candidate, sandbox, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGING_PROVIDER_TIMEOUT_S = 0.3
    message, _ = _queue(scoped, candidate, django_capture_on_commit_callbacks)
    sandbox.twilio.inject_fault(status=None, delay=1.0)  # creates it, answers too late
    services.message_deliver(organization=scoped, message_id=message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN
    deadline = time.monotonic() + 5
    while not _outbound(sandbox) and time.monotonic() < deadline:
        time.sleep(0.05)

    outcome = services.message_reconcile(organization=scoped, message_id=message.pk).outcome

    assert outcome == DeliveryOutcome.SENT
    (sent,) = _outbound(sandbox)
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (MessageStatus.SENT, sent["sid"])
    assert TimelineEvent.objects.filter(candidate=candidate, kind="message_sent").count() == 1


@pytest.mark.django_db
def test_twilio_down_keeps_the_text_unknown_until_it_can_be_asked(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    message, _ = _queue(scoped, candidate, django_capture_on_commit_callbacks)
    sandbox.twilio.configure(available=False)  # every request: 503

    with django_capture_on_commit_callbacks():
        services.message_deliver(organization=scoped, message_id=message.pk)
    assert services.message_reconcile(organization=scoped, message_id=message.pk).outcome == (
        DeliveryOutcome.RETRY
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN

    sandbox.twilio.configure(available=True)
    with django_capture_on_commit_callbacks():
        services.message_reconcile(organization=scoped, message_id=message.pk)
    services.message_deliver(organization=scoped, message_id=message.pk)

    assert len(_outbound(sandbox)) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.django_db
def test_unreachable_twilio_is_retried_then_failed_and_a_retry_by_hand_sends_it_once(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    TwilioSettings.objects.filter(pk=twilio_settings.pk).update(base_url="http://127.0.0.1:9")
    message, _ = _queue(scoped, candidate, django_capture_on_commit_callbacks)

    with pytest.raises(Retry):
        message_deliver.run(scoped, message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert "Could not reach Twilio" in message.error_message

    # The last retry fails too.
    final = message_deliver.apply(args=(scoped.pk, message.pk), retries=MAX_RETRIES)

    assert final.result == "failed"
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_message.startswith("Not sent after 2 attempts: Could not reach Twilio")
    assert "Use Retry" in message.error_message
    assert TimelineEvent.objects.filter(candidate=candidate, kind="message_failed").exists()
    assert _outbound(sandbox) == []

    TwilioSettings.objects.filter(pk=twilio_settings.pk).update(base_url=f"{sandbox.url}/twilio")
    with django_capture_on_commit_callbacks() as enqueued:
        retried = services.message_retry(organization=scoped, message_id=message.pk)
    assert retried.status == MessageStatus.QUEUED and len(enqueued) == 1
    assert services.message_deliver(organization=scoped, message_id=message.pk).outcome == "sent"
    assert len(_outbound(sandbox)) == 1


@pytest.mark.django_db
def test_retry_by_hand_is_refused_with_the_reason_when_the_number_opted_out_meanwhile(
    scoped, twilio_settings, candidate, sandbox, django_capture_on_commit_callbacks
):
    TwilioSettings.objects.filter(pk=twilio_settings.pk).update(base_url="http://127.0.0.1:9")
    message, _ = _queue(scoped, candidate, django_capture_on_commit_callbacks)
    message_deliver.apply(args=(scoped.pk, message.pk), retries=MAX_RETRIES)
    services.opt_out_lock(organization=scoped, phone=LONDON_MOBILE, source="manual")

    with pytest.raises(CannotSend, match="opted out"):
        services.message_retry(organization=scoped, message_id=message.pk)
    with pytest.raises(CannotSend, match="Only messages that failed"):
        delivered = Message.objects.create(
            organization=scoped,
            channel=Channel.SMS,
            direction="outbound",
            to_address=LONDON_MOBILE,
            status=MessageStatus.DELIVERED,
        )
        services.message_retry(organization=scoped, message_id=delivered.pk)


@pytest.mark.django_db
def test_textus_outage_leaves_the_text_unknown_and_a_retry_by_hand_sends_it_once(
    scoped, make_candidate, sandbox, django_capture_on_commit_callbacks
):
    sandbox.textus.reset()
    TextUsSettings.objects.create(
        organization=scoped,
        token="textus-sandbox-token",
        account_slug="acme-talent",
        base_url=f"{sandbox.url}/textus",
    )
    candidate = make_candidate(mobile_phone="+13035550142")
    message, _ = _queue(scoped, candidate, django_capture_on_commit_callbacks)
    sandbox.textus.inject_fault(status=500, count=1)

    with django_capture_on_commit_callbacks():
        services.message_deliver(organization=scoped, message_id=message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN
    # TextUs cannot be asked: the text stays unknown until a person decides.
    assert services.message_reconcile(organization=scoped, message_id=message.pk).outcome == (
        DeliveryOutcome.UNKNOWN
    )

    with django_capture_on_commit_callbacks():
        services.message_retry(organization=scoped, message_id=message.pk)
    services.message_deliver(organization=scoped, message_id=message.pk)

    sent = [m for m in sandbox.textus.messages.values() if m["direction"] == "out"]
    assert len(sent) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


# -- Branded e-mail ------------------------------------------------------------------------


@pytest.mark.django_db
def test_email_with_only_html_gets_a_plain_text_part_derived_from_it(
    scoped, candidate, django_capture_on_commit_callbacks
):
    message, _ = _queue(
        scoped,
        candidate,
        django_capture_on_commit_callbacks,
        channel=Channel.EMAIL,
        subject="Next steps",
        body="",
        html=(
            "<h2>Next steps</h2><p>Hi Sam,<br>please pick a time:</p>"
            "<ul><li>Tue 10:00</li><li>Wed 14:00</li></ul>"
            '<p><a href="https://acme.test/book/abc">Book a slot</a> &amp; reply.</p>'
            "<style>p{color:red}</style><script>alert(1)</script>"
        ),
    )

    services.message_deliver(organization=scoped, message_id=message.pk)

    (sent,) = mail.outbox
    assert sent.body == (
        "Next steps\n\nHi Sam,\nplease pick a time:\n\n- Tue 10:00\n- Wed 14:00\n\n"
        "Book a slot (https://acme.test/book/abc) & reply."
    )
    html = sent.alternatives[0][0]
    assert "<h2>Next steps</h2>" in html
    assert '<a style="color:#2563eb;" href="https://acme.test/book/abc">' in html


@pytest.mark.django_db
def test_email_with_only_text_gets_a_branded_html_part_with_paragraphs_and_links(
    scoped, candidate, django_capture_on_commit_callbacks
):
    Organization.objects.filter(pk=scoped.pk).update(brand_color="#facc15")  # a light yellow
    scoped.refresh_from_db()
    message, _ = _queue(
        scoped,
        candidate,
        django_capture_on_commit_callbacks,
        channel=Channel.EMAIL,
        subject="Hello",
        body="Hi Sam,\nthanks for applying <3\n\nBook here: https://acme.test/book",
    )

    services.message_deliver(organization=scoped, message_id=message.pk)

    (sent,) = mail.outbox
    assert sent.body == "Hi Sam,\nthanks for applying <3\n\nBook here: https://acme.test/book"
    html = sent.alternatives[0][0]
    assert "<p>Hi Sam,<br>thanks for applying &lt;3</p>" in html
    assert 'href="https://acme.test/book"' in html
    # The organization's name on its colour, in dark ink because yellow is light.
    assert "background-color:#facc15;color:#111827" in html
    assert scoped.name in html


@pytest.mark.django_db
def test_email_layout_shows_the_organizations_logo_from_the_public_address(
    scoped, candidate, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    settings.PUBLIC_BASE_URL = "https://recruit.acme.test"
    scoped.logo = SimpleUploadedFile("acme.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
    scoped.save()
    message, _ = _queue(
        scoped,
        candidate,
        django_capture_on_commit_callbacks,
        channel=Channel.EMAIL,
        subject="Hello",
        body="Hi",
    )

    services.message_deliver(organization=scoped, message_id=message.pk)

    html = mail.outbox[0].alternatives[0][0]
    assert f'src="https://recruit.acme.test/media/{scoped.logo.name}"' in html
    assert f'alt="{scoped.name}"' in html


def test_brand_colours_fall_back_to_the_default_and_pick_readable_ink():
    assert email_layout.brand_colours("#000000") == ("#000000", "#ffffff")
    assert email_layout.brand_colours("#ffffff") == ("#ffffff", "#111827")
    assert email_layout.brand_colours("red;background:url(x)") == ("#2563eb", "#ffffff")


@pytest.mark.django_db
def test_pointing_a_number_the_account_does_not_have_says_which_number_to_check(sandbox):
    from integrations.messaging import NotFound
    from integrations.twilio.provider import TwilioSMSProvider

    twilio = TwilioSMSProvider(
        {
            "account_sid": twilio_sandbox.SANDBOX_ACCOUNT_SID,
            "auth_token": twilio_sandbox.SANDBOX_AUTH_TOKEN,
            "base_url": f"{sandbox.url}/twilio",
        }
    )

    with pytest.raises(NotFound, match=r"no number \+15550001111\. Check the sending number"):
        twilio.configure_incoming_number("+15550001111", sms_url="https://app.test/in")
    bought = twilio.configure_incoming_number(
        "+15550001111", sms_url="https://app.test/in", provision=True
    )
    again = twilio.configure_incoming_number("+15550001111", sms_url="https://app.test/in")

    assert bought["sid"].startswith("PN") and bought["changed"]
    assert again == {**bought, "changed": False}
    assert sandbox.twilio.numbers["+15550001111"]["inbound_url"] == "https://app.test/in"
