"""Provider callbacks over HTTP: the sandbox Twilio, TextUs and SendGrid post to the running
product (live_server), which verifies, stores once and applies them."""

import base64
import hashlib
import hmac
import json
import time
import urllib.parse

import pytest
import requests
from django.db import OperationalError

from accounts.models import Organization
from candidates.models import TimelineEvent
from integrations.models import WebhookDelivery
from integrations.sandbox.twilio import twilio_signature
from integrations.sendgrid.models import SendGridSettings
from integrations.textus.models import TextUsSettings
from integrations.twilio import sandbox as twilio_sandbox
from integrations.twilio.models import TwilioSettings
from integrations.twilio.sandbox import SANDBOX_SERVICE_NUMBER
from messaging import selectors, services
from messaging.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    MessageEvent,
    MessageStatus,
    OptOutEntry,
)
from messaging.services import CannotSend
from recruitflow.tenancy import scopes_disabled, tenant_scope

from .conftest import LONDON_MOBILE

pytestmark = pytest.mark.django_db(transaction=True)

TEXTUS_SECRET = "textus-signing-secret"


def wait_until(predicate, timeout=8.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except OperationalError:  # the live server is writing right now
            pass
        time.sleep(0.1)
    return predicate()


@pytest.fixture
def live(live_server, settings, sandbox, org):
    """Callbacks reach this test's server; texts run on the default sandbox Twilio, which the
    organization chose by being the demo organization.

    The live server shares this thread's database connection (in-memory SQLite), so the
    sandbox waits before its first callback: the send in this thread has finished writing by
    then, and the two never hold a transaction at once."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SANDBOX_URL = sandbox.url
    settings.SANDBOX_SHORTCUTS = True
    org.is_demo = True
    org.save(update_fields=["is_demo"])
    sandbox.twilio.configure(sent_delay=0.8, delivery_delay=0.15, inbound_url=None)
    sandbox.textus.reset()
    sandbox.sendgrid.reset()
    return live_server


def _send(org, candidate, *, channel=Channel.SMS, **kw):
    with tenant_scope(org):
        message = services.message_send(
            organization=org,
            candidate=candidate,
            channel=channel,
            body=kw.pop("body", "Hi Sam, are you free for a call tomorrow?"),
            source="manual",
            **kw,
        )
        services.message_deliver(organization=org, message_id=message.pk)
        message.refresh_from_db()
    return message


def _status(org, message):
    with tenant_scope(org):
        return Message.objects.get(pk=message.pk).status


def _callbacks(sandbox, kind):
    return [c for c in sandbox.twilio.callbacks if c["kind"] == kind]


def _post_form(url, params, signature):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return requests.post(url, data=urllib.parse.urlencode(params), headers=headers, timeout=10)


def _counts(org):
    with tenant_scope(org):
        return (
            Message.objects.count(),
            MessageEvent.objects.count(),
            OptOutEntry.objects.count(),
            WebhookDelivery.objects.count(),
            list(Message.objects.order_by("pk").values_list("status", flat=True)),
        )


# -- Twilio status callbacks --------------------------------------------------------------


def test_status_callbacks_move_a_text_from_sent_to_delivered_when_the_sandbox_posts_them(
    live, org, candidate, sandbox
):
    message = _send(org, candidate)
    assert message.status == MessageStatus.SENT
    assert message.from_address == selectors.sandbox_sms_number(org)

    assert wait_until(lambda: _status(org, message) == MessageStatus.DELIVERED)
    sandbox.twilio.wait_idle(5)  # the sandbox has recorded our answers

    statuses = [c["params"]["MessageStatus"] for c in _callbacks(sandbox, "status")]
    assert statuses == ["sent", "delivered"]
    assert {c["http_status"] for c in _callbacks(sandbox, "status")} == {200}
    token = selectors.preferences_for(organization=org).endpoint_token
    assert all(f"/webhooks/twilio/{token}/status/" in c["url"] for c in sandbox.twilio.callbacks)
    with tenant_scope(org):
        message.refresh_from_db()
        assert message.delivered_at is not None
        assert list(message.events.values_list("status", flat=True)) == [
            "sent",
            "sent",
            "delivered",
        ]
        stored = WebhookDelivery.objects.order_by("received_at", "id")
        assert [(e.provider, e.kind, e.state, e.error) for e in stored] == [
            ("twilio", "status", "processed", ""),
            ("twilio", "status", "processed", ""),
        ]


def test_undelivered_text_shows_the_carriers_explanation_when_the_phone_is_off(
    live, org, make_candidate, sandbox
):
    candidate = make_candidate(mobile_phone="+447700900000")  # the sandbox: 30003
    message = _send(org, candidate)

    assert wait_until(lambda: _status(org, message) == MessageStatus.UNDELIVERED)

    with tenant_scope(org):
        message.refresh_from_db()
    assert message.error_code == "30003"
    assert message.error_message == "The phone was switched off or out of coverage"
    assert message.get_status_display() == "Not delivered"


def test_duplicate_and_late_status_callbacks_change_nothing_once_a_text_is_delivered(
    live, org, candidate, sandbox
):
    sandbox.twilio.configure(duplicate_final_callback=True)
    message = _send(org, candidate)
    assert wait_until(lambda: len(_callbacks(sandbox, "status-duplicate")) == 1)
    sandbox.twilio.wait_idle(5)

    sent = _callbacks(sandbox, "status")[0]  # a stale "sent", replayed with its signature
    assert _post_form(sent["url"], sent["params"], sent["signature"]).status_code == 200

    with tenant_scope(org):
        message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED
        assert message.events.filter(status="delivered").count() == 1
        assert WebhookDelivery.objects.count() == 2  # sent + delivered, each once


def test_error_21610_in_a_status_callback_locks_the_number(live, org, candidate, sandbox):
    sandbox.twilio.set_outcome(LONDON_MOBILE, "failed", 21610)
    message = _send(org, candidate)

    assert wait_until(lambda: _status(org, message) == MessageStatus.FAILED)

    with tenant_scope(org):
        message.refresh_from_db()
        assert message.error_code == "21610"
        assert "replied STOP" in message.error_message
        assert selectors.is_locked(org, LONDON_MOBILE)
        assert OptOutEntry.objects.get().source == "provider_error_21610"


def test_forged_twilio_callbacks_are_refused_and_change_nothing(live, org, candidate, sandbox):
    message = _send(org, candidate)
    assert wait_until(lambda: _status(org, message) == MessageStatus.DELIVERED)
    sandbox.twilio.wait_idle(5)
    delivered = _callbacks(sandbox, "status")[-1]
    inbound_url = selectors.callback_urls(organization=org).twilio_inbound
    stop = {
        "MessageSid": "SM" + "f" * 32,
        "From": LONDON_MOBILE,
        "To": message.from_address,
        "Body": "STOP",
        "SmsStatus": "received",
        "AccountSid": "ACsandbox00000000000000000000000000",
    }
    failed = {**delivered["params"], "MessageStatus": "failed", "ErrorCode": "21610"}
    before = _counts(org)

    responses = [
        # no signature at all
        _post_form(delivered["url"], failed, None),
        # the genuine signature of the delivered callback over changed parameters
        _post_form(delivered["url"], failed, delivered["signature"]),
        # signed with someone else's auth token
        _post_form(delivered["url"], failed, twilio_signature("wrong", delivered["url"], failed)),
        # a STOP nobody sent, signed for another URL
        _post_form(inbound_url, stop, twilio_signature("sandbox-auth-token", "http://x/", stop)),
        # signed for the address this process has behind a proxy, not the public one
        _post_form(
            inbound_url,
            stop,
            twilio_signature(
                "sandbox-auth-token",
                "http://10.0.0.5:8000" + urllib.parse.urlsplit(inbound_url).path,
                stop,
            ),
        ),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert "Nothing was changed" in responses[0].text
    assert _counts(org) == before
    assert not selectors.is_locked(org, LONDON_MOBILE)


def test_unknown_endpoint_token_is_not_found(live):
    response = requests.post(f"{live.url}/webhooks/twilio/no-such-token/status/", timeout=10)
    assert response.status_code == 404


# -- Inbound texts through the sandbox phone ------------------------------------------------


def test_first_text_wires_the_sandbox_number_to_the_organizations_inbound_url(
    live, org, candidate, sandbox
):
    number = selectors.sandbox_sms_number(org)
    assert number not in sandbox.twilio.numbers

    _send(org, candidate)

    wired = sandbox.twilio.numbers[number]
    assert wired["inbound_url"] == selectors.callback_urls(organization=org).twilio_inbound
    assert wired["sms_method"] == "POST"
    sandbox.twilio.reset()  # the sandbox restarted and forgot its numbers
    _send(org, candidate, body="Are you still there?")
    assert sandbox.twilio.numbers[number]["inbound_url"] == wired["inbound_url"]


def test_reply_typed_on_the_sandbox_phone_lands_in_the_conversation(live, org, candidate, sandbox):
    _send(org, candidate)
    sandbox.twilio.wait_idle(5)

    # What the sandbox phone screen's reply form does.
    phone_page = f"{sandbox.url}/twilio/_sandbox/phone/{urllib.parse.quote(LONDON_MOBILE)}"
    requests.post(f"{phone_page}/reply", data={"body": "Yes, 3pm works"}, timeout=10)

    def replied():
        with tenant_scope(org):
            return Message.objects.filter(direction=Direction.INBOUND).exists()

    assert wait_until(replied)
    sandbox.twilio.wait_idle(5)
    (entry,) = _callbacks(sandbox, "inbound")
    assert entry["http_status"] == 200
    assert entry["response"] == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    with tenant_scope(org):
        reply = Message.objects.get(direction=Direction.INBOUND)
        assert (reply.body, reply.candidate, reply.status) == (
            "Yes, 3pm works",
            candidate,
            "received",
        )
        assert reply.provider == "twilio"
        assert Conversation.objects.get(candidate=candidate).unread_count == 1
        assert TimelineEvent.objects.filter(candidate=candidate, kind="replied").exists()


def test_stop_on_the_sandbox_phone_locks_the_number_and_the_next_text_is_refused_with_the_reason(
    live, org, candidate, sandbox
):
    _send(org, candidate)
    sandbox.twilio.wait_idle(5)

    sandbox.twilio.text_from(LONDON_MOBILE, "STOP")
    assert wait_until(lambda: selectors.is_locked(org, LONDON_MOBILE))
    sandbox.twilio.wait_idle(5)

    with tenant_scope(org), pytest.raises(CannotSend, match="opted out .* by texting STOP"):
        services.message_send(
            organization=org,
            candidate=candidate,
            channel=Channel.SMS,
            body="Just checking in",
            source="journey",
        )
    with tenant_scope(org):
        skipped = TimelineEvent.objects.get(candidate=candidate, kind="message_skipped")
        assert "opted out" in skipped.summary and "reply START" in skipped.summary
        entry = OptOutEntry.objects.get()
        assert (entry.action, entry.source, entry.keyword) == ("lock", "keyword", "STOP")


def test_start_on_the_sandbox_phone_unlocks_the_number_and_texts_flow_again(
    live, org, candidate, sandbox
):
    _send(org, candidate)
    sandbox.twilio.wait_idle(5)
    sandbox.twilio.text_from(LONDON_MOBILE, "STOP")
    assert wait_until(lambda: selectors.is_locked(org, LONDON_MOBILE))
    sandbox.twilio.wait_idle(5)

    sandbox.twilio.text_from(LONDON_MOBILE, "START")
    assert wait_until(lambda: not selectors.is_locked(org, LONDON_MOBILE))
    sandbox.twilio.wait_idle(5)

    message = _send(org, candidate, body="Welcome back")
    assert message.status == MessageStatus.SENT
    with tenant_scope(org):
        assert list(OptOutEntry.objects.values_list("action", flat=True)) == ["unlock", "lock"]


def test_a_retried_inbound_webhook_stores_one_message(live, org, candidate, sandbox):
    _send(org, candidate)
    sandbox.twilio.wait_idle(5)
    sandbox.twilio.text_from(LONDON_MOBILE, "See you then")
    sandbox.twilio.wait_idle(5)
    (entry,) = _callbacks(sandbox, "inbound")

    # Twilio retries with the same parameters and signature (e.g. after a timeout).
    retry = _post_form(entry["url"], entry["params"], entry["signature"])

    assert retry.status_code == 200
    assert retry.headers["Content-Type"].startswith("text/xml")
    with tenant_scope(org):
        assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
        assert Conversation.objects.get(candidate=candidate).unread_count == 1
        assert WebhookDelivery.objects.filter(kind="inbound").count() == 1


def test_reply_arrives_when_twilio_settings_point_at_the_sandbox_messaging_service(
    live, org, candidate, sandbox
):
    # What Settings → Messaging's "Use the sandbox" stores.
    with tenant_scope(org):
        TwilioSettings.objects.create(
            organization=org,
            account_sid=twilio_sandbox.SANDBOX_ACCOUNT_SID,
            auth_token=twilio_sandbox.SANDBOX_AUTH_TOKEN,
            messaging_service_sid=twilio_sandbox.SANDBOX_SERVICE_SID,
            base_url=f"{sandbox.url}/twilio",
        )
    _send(org, candidate)
    sandbox.twilio.wait_idle(5)

    sandbox.twilio.text_from(LONDON_MOBILE, "Sounds good")

    def replied():
        with tenant_scope(org):
            return Message.objects.filter(direction=Direction.INBOUND, body="Sounds good").exists()

    assert wait_until(replied)
    sandbox.twilio.wait_idle(5)
    assert sandbox.twilio.numbers[SANDBOX_SERVICE_NUMBER]["inbound_url"] == (
        selectors.callback_urls(organization=org).twilio_inbound
    )


# -- Account tree --------------------------------------------------------------------------


def test_reply_to_a_parents_number_reaches_the_sub_account_that_texted_and_stop_locks_both(
    live, org, make_candidate, sandbox
):
    child = Organization.objects.create(name="Acme EU", slug="acme-eu", parent=org)
    with tenant_scope(org):
        TwilioSettings.objects.create(
            organization=org,
            account_sid="ACsandbox00000000000000000000000000",
            auth_token="sandbox-auth-token",
            from_number="+15005550199",
            base_url=f"{sandbox.url}/twilio",
        )
    in_parent = make_candidate()  # the same person applied to jobs of both accounts
    in_child = make_candidate(organization=child)

    _send(child, in_child, body="Hi from Acme EU")
    sandbox.twilio.wait_idle(5)
    # The parent's number points at the parent's URL (the settings, and the number, are its).
    assert sandbox.twilio.numbers["+15005550199"]["inbound_url"] == (
        selectors.callback_urls(organization=org).twilio_inbound
    )
    assert _callbacks(sandbox, "status")[0]["url"].startswith(
        selectors.callback_urls(organization=child).twilio_status
    )
    sandbox.twilio.text_from(LONDON_MOBILE, "Interested!")
    sandbox.twilio.wait_idle(5)

    def reply_in(organization):
        with scopes_disabled():
            return Message.unscoped.filter(
                organization=organization, direction=Direction.INBOUND
            ).first()

    assert wait_until(lambda: reply_in(child) is not None)
    assert reply_in(child).candidate_id == in_child.pk
    assert reply_in(org) is None

    sandbox.twilio.text_from(LONDON_MOBILE, "STOP")
    assert wait_until(lambda: selectors.is_locked(child, LONDON_MOBILE))
    assert wait_until(lambda: selectors.is_locked(org, LONDON_MOBILE))
    with tenant_scope(org), pytest.raises(CannotSend, match="opted out"):
        services.message_send(
            organization=org, candidate=in_parent, channel=Channel.SMS, body="Hi", source="x"
        )


# -- TextUs --------------------------------------------------------------------------------


@pytest.fixture
def textus(live, org, sandbox):
    with tenant_scope(org):
        TextUsSettings.objects.create(
            organization=org,
            token="textus-sandbox-token",
            account_slug="acme-talent",
            base_url=f"{sandbox.url}/textus",
            signing_secret=TEXTUS_SECRET,
        )
    sandbox.textus.delivery_delay = 0.8
    sandbox.textus.configure_webhook(
        selectors.callback_urls(organization=org).textus, secret=TEXTUS_SECRET
    )
    return sandbox.textus


def test_textus_delivery_and_stop_arrive_signed_and_are_applied(textus, org, make_candidate):
    candidate = make_candidate(mobile_phone="+13035550142")
    message = _send(org, candidate)
    assert message.provider == "textus" and message.provider_message_id.startswith("/messages/")

    assert wait_until(lambda: _status(org, message) == MessageStatus.DELIVERED)
    textus.wait_idle(5)

    textus.text_from("+13035550142", "STOP")
    assert wait_until(lambda: selectors.is_locked(org, "+13035550142"))
    textus.wait_idle(5)
    with tenant_scope(org):
        reply = Message.objects.get(direction=Direction.INBOUND)
        assert (reply.body, reply.candidate) == ("STOP", candidate)
        # message.received (with the keyword) and contact.opted_out: one lock, not two
        assert OptOutEntry.objects.count() == 1
    assert {d["status"] for d in textus.deliveries} == {"delivered"}


def test_forged_textus_webhooks_are_refused_and_change_nothing(textus, org, make_candidate):
    candidate = make_candidate(mobile_phone="+13035550142")
    message = _send(org, candidate)
    assert wait_until(lambda: _status(org, message) == MessageStatus.DELIVERED)
    textus.wait_idle(5)
    url = selectors.callback_urls(organization=org).textus
    body = json.dumps(
        {
            "@type": "WebhookDelivery",
            "id": "/integrations/x/deliveries/forged",
            "timestamp": "2025-01-15T15:00:00Z",
            "action": "contact.opted_out",
            "optOut": {"phoneNumber": "+13035550142"},
        }
    ).encode()
    before = _counts(org)

    def post(signature):
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-TextUs-Signature"] = signature
        return requests.post(url, data=body, headers=headers, timeout=10)

    wrong = hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
    other_body = hmac.new(TEXTUS_SECRET.encode(), body + b" ", hashlib.sha256).hexdigest()
    responses = [post(None), post(wrong), post(other_body)]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert "X-TextUs-Signature" in responses[1].text
    assert _counts(org) == before
    assert not selectors.is_locked(org, "+13035550142")


def test_textus_webhook_is_refused_with_the_fix_when_no_signing_secret_is_set(
    textus, org, make_candidate
):
    with tenant_scope(org):
        TextUsSettings.objects.update(signing_secret="")
    body = b'{"action": "contact.opted_out", "optOut": {"phoneNumber": "+13035550142"}}'
    signature = hmac.new(TEXTUS_SECRET.encode(), body, hashlib.sha256).hexdigest()

    response = requests.post(
        selectors.callback_urls(organization=org).textus,
        data=body,
        headers={"X-TextUs-Signature": signature},
        timeout=10,
    )

    assert response.status_code == 403
    assert "signing secret is not set" in response.text and "Settings" in response.text
    assert not selectors.is_locked(org, "+13035550142")


# -- SendGrid ------------------------------------------------------------------------------


@pytest.fixture
def sendgrid(live, org, sandbox):
    with tenant_scope(org):
        SendGridSettings.objects.create(
            organization=org,
            api_key="SG.sandbox-key",
            from_email="jobs@acme.test",
            from_name="Acme Talent",
            base_url=f"{sandbox.url}/sendgrid",
            event_public_key=sandbox.sendgrid.public_key_b64,
        )
    Organization.objects.filter(pk=org.pk).update(brand_color="#0f766e")
    org.refresh_from_db()
    # Events are emitted by the test, one batch at a time, once the send has finished.
    sandbox.sendgrid.configure_events(url=None)
    return sandbox.sendgrid


def _emit(sendgrid, org, mail_id, *events):
    sendgrid.configure_events(url=selectors.callback_urls(organization=org).sendgrid_events)
    for event in events:
        sendgrid.emit_event(mail_id, event)
        sendgrid.wait_idle(5)


def test_signed_sendgrid_events_mark_the_branded_email_delivered_then_opened(
    sendgrid, org, candidate
):
    message = _send(
        org,
        candidate,
        channel=Channel.EMAIL,
        subject="Your interview on Tuesday",
        body="",
        html="<p>Hi Sam,</p><p>See you <a href='https://acme.test/map'>at our office</a>.</p>",
    )
    assert message.status == MessageStatus.SENT
    (mail,) = sendgrid.mails_to("sam@example.com")
    assert mail["custom_args"] == {} and mail["recipients"][0]["custom_args"] == {
        "recruitflow_message_id": str(message.pk)
    }
    assert "#0f766e" in mail["html"] and "Acme Talent" in mail["html"]
    assert "<p>Hi Sam,</p>" in mail["html"]
    assert mail["text"] == "Hi Sam,\n\nSee you at our office (https://acme.test/map)."

    _emit(sendgrid, org, mail["id"], "processed", "delivered")
    assert wait_until(lambda: _status(org, message) == MessageStatus.DELIVERED)
    _emit(sendgrid, org, mail["id"], "open")
    assert wait_until(lambda: _status(org, message) == MessageStatus.OPENED)

    assert {d["status"] for d in sendgrid.deliveries} == {"delivered"}
    with tenant_scope(org):
        assert WebhookDelivery.objects.filter(state="processed").count() == 3


def test_bounced_email_is_not_delivered_and_says_why(sendgrid, org, make_candidate):
    candidate = make_candidate(email="nobody@bounce.test")
    message = _send(org, candidate, channel=Channel.EMAIL, subject="Hello", body="Hi there")
    (mail,) = sendgrid.mails_to("nobody@bounce.test")

    _emit(sendgrid, org, mail["id"], "processed", "bounce")

    assert wait_until(lambda: _status(org, message) == MessageStatus.UNDELIVERED)
    with tenant_scope(org):
        message.refresh_from_db()
    assert "does not accept e-mail" in message.error_message


def test_forged_unsigned_or_stale_sendgrid_events_are_refused_and_change_nothing(
    sendgrid, org, candidate
):
    message = _send(org, candidate, channel=Channel.EMAIL, subject="Hello", body="Hi there")
    (mail,) = sendgrid.mails_to("sam@example.com")
    url = selectors.callback_urls(organization=org).sendgrid_events
    body = json.dumps(
        [
            {
                "email": "sam@example.com",
                "timestamp": int(time.time()),
                "event": "bounce",
                "sg_event_id": "forged-1",
                "sg_message_id": mail["recipients"][0]["sg_message_id"],
                "recruitflow_message_id": str(message.pk),
            }
        ]
    ).encode()
    now = str(int(time.time()))
    stale = str(int(time.time()) - 3600)
    before = _counts(org)

    def post(signature, timestamp, data=body):
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Twilio-Email-Event-Webhook-Signature"] = signature
        if timestamp is not None:
            headers["X-Twilio-Email-Event-Webhook-Timestamp"] = timestamp
        return requests.post(url, data=data, headers=headers, timeout=10)

    responses = [
        post(None, None),  # unsigned
        post(sendgrid.sign(stale, body), stale),  # genuinely signed, an hour ago (a replay)
        post(sendgrid.sign(now, body), now, data=body.replace(b"bounce", b"click")),  # tampered
        post(base64.b64encode(b"not a signature").decode(), now),
    ]

    assert [r.status_code for r in responses] == [403] * 4
    assert "five minutes" in responses[1].text
    assert _counts(org) == before

    genuine = post(sendgrid.sign(now, body), now)  # the control: the same body, signed now
    assert genuine.status_code == 200
    assert _status(org, message) == MessageStatus.UNDELIVERED


def test_sendgrid_retry_of_the_same_batch_is_applied_once(sendgrid, org, candidate):
    message = _send(org, candidate, channel=Channel.EMAIL, subject="Hello", body="Hi there")
    (mail,) = sendgrid.mails_to("sam@example.com")
    _emit(sendgrid, org, mail["id"], "delivered")
    assert wait_until(lambda: _status(org, message) == MessageStatus.DELIVERED)
    (delivery,) = sendgrid.deliveries
    body = delivery["body"].encode()
    now = str(int(time.time()))

    response = requests.post(
        selectors.callback_urls(organization=org).sendgrid_events,
        data=body,
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": sendgrid.sign(now, body),
            "X-Twilio-Email-Event-Webhook-Timestamp": now,
        },
        timeout=10,
    )

    assert response.status_code == 200
    with tenant_scope(org):
        assert WebhookDelivery.objects.count() == 1
        assert MessageEvent.objects.filter(message=message, status="delivered").count() == 1


# -- Outsiders -----------------------------------------------------------------------------


def test_outsiders_posting_to_an_organizations_callback_urls_are_refused_and_change_nothing(
    org, candidate, mallory, client, settings, sandbox
):
    from tests.outsider_walk import GENERIC_PAYLOAD, victim_snapshot

    settings.SANDBOX_URL = sandbox.url
    urls = selectors.callback_urls(organization=org)
    before = victim_snapshot(org)
    client.force_login(mallory.user)

    for url in (urls.twilio_status, urls.twilio_inbound, urls.textus, urls.sendgrid_events):
        assert client.get(url).status_code == 405
        assert client.patch(url, GENERIC_PAYLOAD).status_code == 405
        assert client.delete(url).status_code == 405
        response = client.post(url, {**GENERIC_PAYLOAD, "From": LONDON_MOBILE, "Body": "STOP"})
        assert response.status_code == 403
        assert org.name not in response.content.decode()

    assert victim_snapshot(org) == before
