"""TextUs adapter over real loopback HTTP, and its webhooks."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest

from integrations.http import AuthError, RateLimited
from integrations.messaging import (
    DeliveryUpdate,
    InboundSMS,
    InvalidNumber,
    MessagingTransientError,
    OptedOut,
    OptOutChange,
    WebhookRequest,
)
from integrations.textus.provider import TextUsSMSProvider
from integrations.textus.webhooks import (
    InvalidPayload,
    compute_signature,
    parse_delivery,
    verify_signature,
)

MEDIA_TYPE = "application/vnd.textus+jsonld"
CANDIDATE = "+13035550123"
SECRET = "whsec-textus"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def provider(httpserver, calls=None, **kwargs) -> TextUsSMSProvider:
    fake = kwargs.pop("fake", None) or FakeTime()
    config = {
        "token": "textus-token",
        "account_slug": "acme",
        "base_url": httpserver.url_for("/").rstrip("/"),
        "webhook_secret": SECRET,
    }
    config.update(kwargs.pop("config", {}))
    return TextUsSMSProvider(
        config,
        on_call=(calls.append if calls is not None else None),
        sleep=fake.sleep,
        clock=fake.clock,
        **kwargs,
    )


def message_resource(**extra) -> dict:
    return {
        "@context": "/contexts/Message",
        "@type": "Message",
        "id": "/messages/QNDkpL",
        "body": "Hi",
        "direction": "out",
        "deliveryState": "queued",
        "conversation": "/conversations/abc",
        **extra,
    }


# -- sending -------------------------------------------------------------------------------


def test_send_posts_json_ld_with_bearer_token_and_returns_the_message_path(httpserver):
    httpserver.expect_request("/acme/messages", method="POST").respond_with_json(
        message_resource(), status=201, content_type=MEDIA_TYPE
    )
    calls: list = []

    result = provider(httpserver, calls).send(CANDIDATE, "Your interview is confirmed.")

    assert (result.provider_message_id, result.status) == ("/messages/QNDkpL", "queued")
    request, _ = httpserver.log[-1]
    assert request.headers["Authorization"] == "Bearer textus-token"
    assert request.headers["Accept"] == MEDIA_TYPE
    assert request.headers["Content-Type"] == MEDIA_TYPE
    assert json.loads(request.get_data()) == {
        "to": CANDIDATE,
        "body": "Your interview is confirmed.",
    }
    assert [(c.method, c.path, c.status) for c in calls] == [("POST", "/acme/messages", 201)]


def test_http_client_has_a_timeout(httpserver):
    assert provider(httpserver).client.http.timeout == (5, 30)


def test_opted_out_contact_raises_opted_out(httpserver):
    httpserver.expect_request("/acme/messages").respond_with_json(
        {
            "@type": "hydra:Error",
            "hydra:title": "Unprocessable Entity",
            "hydra:description": "Contact has opted out of messages from this account",
        },
        status=422,
    )

    with pytest.raises(OptedOut) as excinfo:
        provider(httpserver).send(CANDIDATE, "Hi")

    assert excinfo.value.permanent and excinfo.value.phone == CANDIDATE
    assert "opted out" in excinfo.value.message


def test_invalid_phone_raises_invalid_number(httpserver):
    httpserver.expect_request("/acme/messages").respond_with_json(
        {"errors": {"to": ["is an invalid phone number"]}}, status=422
    )

    with pytest.raises(InvalidNumber):
        provider(httpserver).send(CANDIDATE, "Hi")


def test_rejected_token_says_where_to_make_a_new_one(httpserver):
    httpserver.expect_request("/acme/messages").respond_with_json(
        {"detail": "Invalid token"}, status=401
    )

    with pytest.raises(AuthError) as excinfo:
        provider(httpserver).send(CANDIDATE, "Hi")

    assert "Profile → API Tokens" in excinfo.value.message


def test_rate_limit_waits_for_retry_after_then_sends(httpserver):
    fake = FakeTime()
    httpserver.expect_ordered_request("/acme/messages").respond_with_json(
        {"detail": "Too many requests"}, status=429, headers={"Retry-After": "7"}
    )
    httpserver.expect_ordered_request("/acme/messages").respond_with_json(
        message_resource(), status=201
    )

    result = provider(httpserver, fake=fake).send(CANDIDATE, "Hi")

    assert result.provider_message_id == "/messages/QNDkpL"
    assert fake.sleeps == [7]


def test_exhausted_remaining_quota_paces_the_next_call(httpserver):
    fake = FakeTime()
    httpserver.expect_request("/acme/messages").respond_with_json(
        message_resource(),
        status=201,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(fake.now) + 42)},
    )
    sms = provider(httpserver, fake=fake)

    sms.send(CANDIDATE, "one")
    sms.send(CANDIDATE, "two")

    assert fake.sleeps == [42]


def test_long_rate_limit_is_raised_for_the_task_to_reschedule(httpserver):
    httpserver.expect_request("/acme/messages").respond_with_json(
        {"detail": "Too many requests"}, status=429, headers={"Retry-After": "300"}
    )

    with pytest.raises(RateLimited) as excinfo:
        provider(httpserver).send(CANDIDATE, "Hi")

    assert excinfo.value.retry_after == 300


def test_server_error_is_ambiguous_and_not_resent(httpserver):
    httpserver.expect_request("/acme/messages").respond_with_data("boom", status=500)

    with pytest.raises(MessagingTransientError) as excinfo:
        provider(httpserver).send(CANDIDATE, "Hi")

    assert excinfo.value.ambiguous
    assert len(httpserver.log) == 1


def test_refused_connection_is_not_ambiguous():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fake = FakeTime()
    sms = TextUsSMSProvider(
        {"token": "t", "account_slug": "acme", "base_url": f"http://127.0.0.1:{port}"},
        sleep=fake.sleep,
        clock=fake.clock,
    )

    with pytest.raises(MessagingTransientError) as excinfo:
        sms.send(CANDIDATE, "Hi")

    assert not excinfo.value.ambiguous


def test_is_opted_out_reads_the_opt_out_record(httpserver):
    httpserver.expect_request("/acme/opt_outs/+13035550123", method="GET").respond_with_json(
        {"@type": "OptOut", "id": "/opt_outs/1", "formattedPhoneNumber": "(303) 555-0123"}
    )
    httpserver.expect_request("/acme/opt_outs/+13035550199", method="GET").respond_with_json(
        {"detail": "Not Found"}, status=404
    )
    sms = provider(httpserver)

    assert sms.is_opted_out(CANDIDATE) is True
    assert sms.is_opted_out("+13035550199") is False
    assert httpserver.log[0][0].environ["REQUEST_URI"] == "/acme/opt_outs/%2B13035550123"


def test_record_opt_out_puts_the_record(httpserver):
    httpserver.expect_request("/acme/opt_outs/+13035550123", method="PUT").respond_with_json(
        {"@type": "OptOut", "id": "/opt_outs/2"}, status=201
    )

    assert provider(httpserver).record_opt_out(CANDIDATE) is True
    assert httpserver.log[-1][0].method == "PUT"


def test_get_status_reads_the_message(httpserver):
    httpserver.expect_request("/messages/QNDkpL").respond_with_json(
        message_resource(deliveryState="delivered")
    )

    assert provider(httpserver).get_status("/messages/QNDkpL").status == "delivered"


# -- webhooks ------------------------------------------------------------------------------


def delivery(action: str, **extra) -> dict:
    return {
        "@type": "WebhookDelivery",
        "id": f"/integrations/9/deliveries/{action}",
        "timestamp": "2026-11-24T10:00:00.000Z",
        "action": action,
        "webHook": "/integrations/9",
        "conversation": {
            "id": "/conversations/abc",
            "phoneNumber": CANDIDATE,
            "accountPhoneNumber": "+13035550100",
        },
        **extra,
    }


def test_signature_is_hex_hmac_of_the_raw_body():
    body = json.dumps(delivery("message.delivered")).encode()
    signature = compute_signature(body, SECRET)

    assert verify_signature(body, signature, SECRET)
    assert verify_signature(body, signature.upper(), SECRET)
    assert not verify_signature(body + b" ", signature, SECRET)
    assert not verify_signature(body, signature, "other-secret")
    assert not verify_signature(body, None, SECRET)
    assert not verify_signature(body, signature, None)
    assert not verify_signature(body, "zz-not-hex-Ω", SECRET)


def test_provider_verifies_the_header_and_refuses_a_stale_delivery(httpserver):
    def signed(timestamp: str) -> WebhookRequest:
        body = json.dumps({**delivery("message.delivered"), "timestamp": timestamp}).encode()
        return WebhookRequest(
            url="https://app.test/hooks/textus",
            headers={"X-Textus-Signature": compute_signature(body, SECRET)},
            raw_body=body,
        )

    now = datetime.now(UTC)
    assert provider(httpserver).verify_webhook(signed(now.isoformat()))
    # The signed timestamp is more than five minutes old: a replay.
    assert not provider(httpserver).verify_webhook(signed((now - timedelta(minutes=6)).isoformat()))


def test_delivered_failed_and_unknown_become_delivery_updates():
    body = json.dumps(
        [
            delivery("message.delivered", message=message_resource(deliveryState="delivered")),
            delivery("message.failed", message=message_resource(deliveryState="failed")),
            delivery("message.unknown", message=message_resource(deliveryState="unknown")),
        ]
    )

    updates = parse_delivery(body)

    assert all(isinstance(u, DeliveryUpdate) for u in updates)
    assert [u.status for u in updates] == ["delivered", "failed", "unknown"]
    assert {u.provider_message_id for u in updates} == {"/messages/QNDkpL"}
    assert updates[0].event_id == "/integrations/9/deliveries/message.delivered"
    assert updates[0].error_message is None
    assert updates[1].error_message == "TextUs could not deliver the text."
    assert updates[0].occurred_at.isoformat() == "2026-11-24T10:00:00+00:00"


def test_received_message_becomes_inbound_sms_and_stop_an_opt_out():
    body = json.dumps(
        delivery(
            "message.received",
            message=message_resource(id="/messages/IN1", body="STOP", direction="in"),
        )
    )

    inbound, change = parse_delivery(body)

    assert isinstance(inbound, InboundSMS)
    assert (inbound.provider_message_id, inbound.from_e164, inbound.to_e164) == (
        "/messages/IN1",
        CANDIDATE,
        "+13035550100",
    )
    assert inbound.opt_out_keyword == "stop"
    assert change == OptOutChange(
        phone=CANDIDATE,
        opted_out=True,
        source="textus:keyword",
        sender="+13035550100",
        occurred_at=inbound.received_at,
    )


@pytest.mark.parametrize(
    ("action", "opted_out"),
    [("contact.opted_out", True), ("contact.opted-out", True), ("contact.opted_in", False)],
)
def test_contact_opt_events_become_opt_out_changes(action, opted_out):
    body = json.dumps(delivery(action, contact={"id": "/contacts/1", "phoneNumber": CANDIDATE}))

    [change] = parse_delivery(body)

    assert change.phone == CANDIDATE and change.opted_out is opted_out
    assert change.source == "textus:webhook"


def test_other_actions_are_ignored_and_garbage_is_invalid():
    assert parse_delivery(json.dumps(delivery("phone_call.completed"))) == []
    with pytest.raises(InvalidPayload):
        parse_delivery(b"<html>")
    with pytest.raises(InvalidPayload):
        parse_delivery(b'{"no": "action"}')
