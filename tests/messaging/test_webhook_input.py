"""Odd but authentic provider callbacks: every good event of a batch is applied even when one
of them does not fit, NULs and over-long values are fitted, oversized bodies get 413, unreadable
bodies 400 — never a 500 — and a TextUs delivery is only accepted while its signed timestamp is
fresh. Requests are signed the vendors' way (Twilio's SDK RequestValidator, SendGrid ECDSA,
TextUs HMAC-SHA256), so they go through the real verification."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from integrations.models import WebhookDelivery
from integrations.sendgrid import webhooks as sendgrid_webhooks
from integrations.sendgrid.models import SendGridSettings
from integrations.textus.models import TextUsSettings
from integrations.twilio.models import TwilioSettings
from messaging import selectors
from messaging.models import (
    Channel,
    Direction,
    Message,
    MessageStatus,
    OptOutEntry,
)
from messaging.webhooks import BODY_LIMITS
from recruitflow.tenancy import tenant_scope

from .conftest import LONDON_MOBILE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("callbacks_commit")]

PUBLIC = "https://rf.example"
AUTH_TOKEN = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4"
TEXTUS_SECRET = "textus-HOTh4kXxHIbYst0xutpkdw"
OUR_NUMBER = "+15005550199"


@pytest.fixture(autouse=True)
def _public(settings):
    settings.PUBLIC_BASE_URL = PUBLIC


@pytest.fixture
def urls(org):
    return selectors.callback_urls(organization=org)


def path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


# -- Twilio ----------------------------------------------------------------------------------


@pytest.fixture
def twilio(org):
    with tenant_scope(org):
        TwilioSettings.objects.create(
            organization=org,
            account_sid="AC" + "1" * 32,
            auth_token=AUTH_TOKEN,
            from_number=OUR_NUMBER,
        )


def post_twilio(client, url, params):
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    return client.post(
        path_of(url),
        urllib.parse.urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


def inbound(body: str, **extra) -> dict:
    return {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": "AC" + "1" * 32,
        "From": LONDON_MOBILE,
        "To": OUR_NUMBER,
        "Body": body,
        "SmsStatus": "received",
        **extra,
    }


def test_a_reply_with_a_nul_character_lands_in_the_conversation_without_it(
    client, org, candidate, twilio, urls
):
    response = post_twilio(client, urls.twilio_inbound, inbound("Yes\x00, 3pm works"))

    assert response.status_code == 200
    with tenant_scope(org):
        reply = Message.objects.get(direction=Direction.INBOUND)
        assert (reply.body, reply.candidate) == ("Yes, 3pm works", candidate)
        stored = WebhookDelivery.objects.get()
        assert (stored.provider, stored.kind, stored.state, stored.error) == (
            "twilio",
            "inbound",
            "processed",
            "",
        )
        assert "\x00" not in json.dumps(list(reply.events.values_list("raw", flat=True)))


def test_a_long_stop_reply_locks_the_number_and_keeps_the_keyword_within_its_column(
    client, org, candidate, twilio, urls
):
    long_stop = "STOP " + "please never text me again " * 6

    response = post_twilio(client, urls.twilio_inbound, inbound(long_stop, OptOutType="STOP"))

    assert response.status_code == 200
    assert selectors.is_locked(org, LONDON_MOBILE)
    with tenant_scope(org):
        entry = OptOutEntry.objects.get()
    assert entry.keyword == long_stop.strip()[:40]


def test_an_oversized_twilio_callback_is_refused_with_413_and_nothing_is_stored(
    client, org, candidate, twilio, urls
):
    huge = inbound("x" * (BODY_LIMITS["twilio"] + 1))

    response = post_twilio(client, urls.twilio_inbound, huge)

    assert response.status_code == 413
    assert "at most" in response.content.decode()
    with tenant_scope(org):
        assert not WebhookDelivery.objects.exists()
        assert not Message.objects.exists()


# -- SendGrid --------------------------------------------------------------------------------


@pytest.fixture
def sendgrid_key(org):
    private_key = ec.generate_private_key(ec.SECP256R1())
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    with tenant_scope(org):
        SendGridSettings.objects.create(
            organization=org,
            api_key="SG.test",
            from_email="jobs@acme.test",
            event_public_key=base64.b64encode(public_der).decode(),
        )
    return private_key


def post_sendgrid(client, url, body: bytes, private_key):
    now = str(int(time.time()))
    return client.post(
        path_of(url),
        body,
        content_type="application/json",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=sendgrid_webhooks.sign_for_tests(
            private_key, body, now
        ),
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=now,
    )


def sent_email(org, candidate, provider_id: str) -> Message:
    with tenant_scope(org):
        return Message.objects.create(
            organization=org,
            candidate=candidate,
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            to_address="sam@example.com",
            subject="Your interview",
            body="Hi Sam",
            status=MessageStatus.SENT,
            provider="sendgrid",
            provider_message_id=provider_id,
        )


def event(name: str, message: Message, event_id: str, **extra) -> dict:
    return {
        "email": "sam@example.com",
        "timestamp": int(time.time()),
        "event": name,
        "sg_event_id": event_id,
        "sg_message_id": f"{message.provider_message_id}.filter0001",
        "recruitflow_message_id": str(message.pk),
        **extra,
    }


def test_one_event_that_does_not_fit_its_columns_does_not_stop_the_rest_of_the_batch(
    client, org, candidate, sendgrid_key, urls
):
    first, second, third = (sent_email(org, candidate, f"sg-{n}") for n in range(3))
    long_reason = "550 5.1.1 The email account that you tried to reach does not exist " * 2
    batch = [
        event("delivered", first, "ev-1"),
        event("dropped", second, "ev-2", reason=long_reason),
        event("delivered", third, "ev-" + "3" * 300),
    ]

    response = post_sendgrid(client, urls.sendgrid_events, json.dumps(batch).encode(), sendgrid_key)

    assert response.status_code == 200
    with tenant_scope(org):
        first.refresh_from_db(), second.refresh_from_db(), third.refresh_from_db()
        stored = WebhookDelivery.objects.get()
    assert first.status == MessageStatus.DELIVERED
    assert third.status == MessageStatus.DELIVERED
    assert second.status == MessageStatus.FAILED
    assert len(second.error_code) <= 40 and long_reason.strip() in second.error_message
    assert (stored.state, stored.error) == ("processed", "")


def test_a_retried_batch_with_an_over_long_event_id_is_applied_once(
    client, org, candidate, sendgrid_key, urls
):
    message = sent_email(org, candidate, "sg-1")
    body = json.dumps([event("open", message, "ev-" + "9" * 300)]).encode()

    assert post_sendgrid(client, urls.sendgrid_events, body, sendgrid_key).status_code == 200
    with tenant_scope(org):  # the provider sends the same event again in another batch
        WebhookDelivery.objects.all().delete()
    assert post_sendgrid(client, urls.sendgrid_events, body, sendgrid_key).status_code == 200

    with tenant_scope(org):
        message.refresh_from_db()
        assert message.status == MessageStatus.OPENED
        assert message.events.filter(status="opened").count() == 1


def test_a_signed_sendgrid_body_with_a_raw_nul_byte_is_refused_with_400_saying_why(
    client, org, candidate, sendgrid_key, urls
):
    message = sent_email(org, candidate, "sg-1")
    body = json.dumps([event("delivered", message, "ev-1", reason="a\x00b")]).encode()
    body = body.replace(b"\\u0000", b"\x00")  # a raw NUL byte, which JSON does not allow

    response = post_sendgrid(client, urls.sendgrid_events, body, sendgrid_key)

    assert response.status_code == 400
    assert "not JSON" in response.content.decode()
    with tenant_scope(org):
        message.refresh_from_db()
        kept = WebhookDelivery.objects.get()
    assert message.status == MessageStatus.SENT
    assert "\x00" not in kept.raw_body and "not JSON" in kept.error
    assert kept.state == "failed" and kept.next_attempt_at is None  # kept for support only


def test_an_oversized_sendgrid_batch_is_refused_with_413_and_nothing_is_stored(
    client, org, candidate, sendgrid_key, urls
):
    message = sent_email(org, candidate, "sg-1")
    padding = "x" * BODY_LIMITS["sendgrid"]
    body = json.dumps([event("delivered", message, "ev-1", padding=padding)]).encode()

    response = post_sendgrid(client, urls.sendgrid_events, body, sendgrid_key)

    assert response.status_code == 413
    with tenant_scope(org):
        message.refresh_from_db()
        assert not WebhookDelivery.objects.exists()
    assert message.status == MessageStatus.SENT


# -- TextUs ----------------------------------------------------------------------------------


@pytest.fixture
def textus(org):
    with tenant_scope(org):
        TextUsSettings.objects.create(
            organization=org,
            token="textus-token",
            account_slug="acme-talent",
            signing_secret=TEXTUS_SECRET,
        )


def opted_out(delivery_id: str, at: datetime | None) -> bytes:
    delivery = {
        "@type": "WebhookDelivery",
        "id": f"/integrations/9/deliveries/{delivery_id}",
        "action": "contact.opted_out",
        "webHook": "/integrations/9",
        "optOut": {"phoneNumber": LONDON_MOBILE},
        "conversation": {"accountPhoneNumber": "+13035550100"},
    }
    if at is not None:
        delivery["timestamp"] = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return json.dumps(delivery).encode()


def post_textus(client, url, body: bytes):
    # TextUs Next: X-TextUs-Signature = hex HMAC-SHA256(signing secret, raw body).
    signature = hmac.new(TEXTUS_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        path_of(url), body, content_type="application/json", HTTP_X_TEXTUS_SIGNATURE=signature
    )


def test_a_genuinely_signed_textus_delivery_replayed_later_is_refused(
    client, org, candidate, textus, urls
):
    captured = opted_out("d1", datetime.now(UTC) - timedelta(minutes=6))

    response = post_textus(client, urls.textus, captured)

    assert response.status_code == 403
    assert "five minutes" in response.content.decode()
    assert not selectors.is_locked(org, LONDON_MOBILE)
    with tenant_scope(org):
        assert not WebhookDelivery.objects.exists()


def test_a_textus_delivery_without_a_timestamp_is_refused(client, org, candidate, textus, urls):
    response = post_textus(client, urls.textus, opted_out("d1", None))

    assert response.status_code == 403
    assert not selectors.is_locked(org, LONDON_MOBILE)


def test_a_fresh_textus_delivery_is_applied_and_a_replay_of_it_changes_nothing(
    client, org, candidate, textus, urls
):
    body = opted_out("d1", datetime.now(UTC) - timedelta(seconds=20))

    first = post_textus(client, urls.textus, body)
    replay = post_textus(client, urls.textus, body)

    assert (first.status_code, replay.status_code) == (200, 200)
    assert selectors.is_locked(org, LONDON_MOBILE)
    with tenant_scope(org):
        assert OptOutEntry.objects.count() == 1
        assert WebhookDelivery.objects.count() == 1
