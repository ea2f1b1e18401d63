"""SendGrid adapter over real loopback HTTP (the SDK uses urllib, so no `responses` mocking)."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug import Response

from integrations.http import AuthError, PermissionDenied, RateLimited, ValidationFailed
from integrations.messaging import (
    EmailMessage,
    MessagingTransientError,
    WebhookRequest,
    is_ambiguous,
)
from integrations.sendgrid.provider import SendGridEmailProvider
from integrations.sendgrid.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidPayload,
    parse_events,
    sign_for_tests,
    verify_event_webhook,
)

SEND_PATH = "/v3/mail/send"
NOW = 1_700_000_000


def provider(httpserver, calls=None, **kwargs) -> SendGridEmailProvider:
    config = {
        "api_key": "SG.test-key",
        "base_url": httpserver.url_for("/").rstrip("/"),
        "from_email": "jobs@acme.test",
        "from_name": "Acme Recruiting",
        "reply_to": "Riley Recruiter <riley@acme.test>",
    }
    config.update(kwargs.pop("config", {}))
    kwargs.setdefault("sleep", lambda s: None)
    return SendGridEmailProvider(
        config, on_call=(calls.append if calls is not None else None), **kwargs
    )


def message(**overrides) -> EmailMessage:
    fields = {
        "to_email": "cand@example.test",
        "to_name": "Smith, Jane",
        "subject": "Your interview on Tuesday",
        "text": "Hi Jane, see you Tuesday.",
        "html": "<p>Hi Jane, see you <b>Tuesday</b>.</p>",
        "message_id": "msg-42",
        "categories": ("interview", "reminder"),
        "attachments": (("invite.ics", b"BEGIN:VCALENDAR", "text/calendar"),),
    }
    fields.update(overrides)
    return EmailMessage(**fields)


def accept(httpserver, message_id="XBg2anf2TqCy6WXKQFhieQ"):
    httpserver.expect_request(SEND_PATH, method="POST").respond_with_data(
        "", status=202, headers={"X-Message-Id": message_id}
    )


def sent_json(httpserver) -> dict:
    request, _ = httpserver.log[-1]
    return json.loads(request.get_data())


# -- sending -------------------------------------------------------------------------------


def test_send_posts_v3_payload_with_our_id_categories_and_reply_to(httpserver):
    accept(httpserver)
    calls: list = []

    result = provider(httpserver, calls).send(message())

    assert (result.provider_message_id, result.status) == ("XBg2anf2TqCy6WXKQFhieQ", "queued")
    request, _ = httpserver.log[-1]
    assert request.headers["Authorization"] == "Bearer SG.test-key"
    body = sent_json(httpserver)
    assert body["personalizations"] == [
        {
            "to": [{"email": "cand@example.test", "name": "Smith Jane"}],
            "custom_args": {"recruitflow_message_id": "msg-42"},
        }
    ]
    assert body["from"] == {"email": "jobs@acme.test", "name": "Acme Recruiting"}
    assert body["reply_to"] == {"email": "riley@acme.test", "name": "Riley Recruiter"}
    assert body["categories"] == ["interview", "reminder"]
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["attachments"] == [
        {
            "content": base64.b64encode(b"BEGIN:VCALENDAR").decode(),
            "type": "text/calendar",
            "filename": "invite.ics",
            "disposition": "attachment",
        }
    ]
    assert [(c.method, c.path, c.status) for c in calls] == [("POST", SEND_PATH, 202)]


def test_message_sender_overrides_configured_defaults(httpserver):
    accept(httpserver)

    provider(httpserver).send(
        message(from_email="alice@acme.test", from_name="Alice", reply_to="alice@acme.test")
    )

    body = sent_json(httpserver)
    assert body["from"] == {"email": "alice@acme.test", "name": "Alice"}
    assert body["reply_to"] == {"email": "alice@acme.test"}


def test_client_has_an_explicit_timeout(httpserver):
    assert provider(httpserver).client.sg.client.timeout == 10
    assert provider(httpserver, timeout=3).client.sg.client.timeout == 3


def test_slow_sendgrid_times_out_as_an_ambiguous_transient_error(httpserver):
    seen = []
    answered = threading.Event()

    def slow(request):
        seen.append(request.path)
        time.sleep(0.6)
        answered.set()
        return Response("", status=202, headers={"X-Message-Id": "late"})

    httpserver.expect_request(SEND_PATH).respond_with_handler(slow)

    with pytest.raises(MessagingTransientError) as excinfo:
        provider(httpserver, timeout=0.2).send(message())

    assert excinfo.value.ambiguous  # SendGrid may have queued it: do not resend blindly
    assert "may or may not" in excinfo.value.message
    assert seen == [SEND_PATH]  # sent once, not retried
    # The server answers after the client gave up; let it finish here, or its late log entry
    # lands in whichever test uses the shared server next.
    assert answered.wait(5)
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.01)


def test_unreachable_host_is_retried_then_reported_as_not_sent():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    calls: list = []
    sg = SendGridEmailProvider(
        {"api_key": "k", "base_url": f"http://127.0.0.1:{port}", "from_email": "a@b.test"},
        on_call=calls.append,
        sleep=lambda s: None,
    )

    with pytest.raises(MessagingTransientError) as excinfo:
        sg.send(message())

    assert not is_ambiguous(excinfo.value)
    assert "refused" in excinfo.value.message
    assert [c.attempt for c in calls] == [1, 2, 3]


def test_bad_request_lists_sendgrids_errors(httpserver):
    httpserver.expect_request(SEND_PATH).respond_with_json(
        {
            "errors": [
                {"message": "Invalid type. Expected: string.", "field": "custom_args"},
                {"message": "The subject is required.", "field": "subject", "help": None},
            ]
        },
        status=400,
    )

    with pytest.raises(ValidationFailed) as excinfo:
        provider(httpserver).send(message())

    error = excinfo.value
    assert error.permanent and error.status == 400
    assert error.field_errors == [
        ("custom_args", "Invalid type. Expected: string."),
        ("subject", "The subject is required."),
    ]
    assert "custom_args: Invalid type" in error.message


def test_rejected_api_key_says_how_to_fix_it(httpserver):
    httpserver.expect_request(SEND_PATH).respond_with_json(
        {"errors": [{"field": None, "message": "The provided authorization grant is invalid"}]},
        status=401,
    )

    with pytest.raises(AuthError) as excinfo:
        provider(httpserver).send(message())

    assert "Settings → API Keys" in excinfo.value.message
    assert excinfo.value.permanent


def test_unverified_sender_is_explained(httpserver):
    httpserver.expect_request(SEND_PATH).respond_with_json(
        {
            "errors": [
                {
                    "field": "from",
                    "message": "The from address does not match a verified Sender Identity.",
                }
            ]
        },
        status=403,
    )

    with pytest.raises(PermissionDenied) as excinfo:
        provider(httpserver).send(message())

    assert excinfo.value.code == "unverified_sender"
    assert "jobs@acme.test" in excinfo.value.message
    assert "Sender Authentication" in excinfo.value.message


def test_rate_limit_is_retried_after_the_reset_then_succeeds(httpserver):
    sleeps: list[float] = []
    httpserver.expect_ordered_request(SEND_PATH).respond_with_json(
        {"errors": [{"field": None, "message": "too many requests"}]},
        status=429,
        headers={"X-RateLimit-Reset": str(NOW + 2)},
    )
    httpserver.expect_ordered_request(SEND_PATH).respond_with_data(
        "", status=202, headers={"X-Message-Id": "after-wait"}
    )
    sg = provider(httpserver, sleep=sleeps.append, clock=lambda: NOW)

    assert sg.send(message()).provider_message_id == "after-wait"
    assert sleeps == [2]


def test_rate_limit_that_persists_raises_rate_limited(httpserver):
    httpserver.expect_request(SEND_PATH).respond_with_json(
        {"errors": [{"field": None, "message": "too many requests"}]},
        status=429,
        headers={"X-RateLimit-Reset": str(NOW + 600)},
    )

    with pytest.raises(RateLimited) as excinfo:
        provider(httpserver, clock=lambda: NOW).send(message())

    assert excinfo.value.retry_after == 600
    assert not excinfo.value.permanent
    assert len(httpserver.log) == 1  # a 10-minute wait is the task's job, not a blocked worker


def test_server_error_is_ambiguous_and_not_resent(httpserver):
    httpserver.expect_request(SEND_PATH).respond_with_data("oops", status=500)

    with pytest.raises(MessagingTransientError) as excinfo:
        provider(httpserver).send(message())

    assert excinfo.value.ambiguous
    assert len(httpserver.log) == 1


def test_message_without_content_is_refused_before_calling_sendgrid(httpserver):
    with pytest.raises(ValidationFailed) as excinfo:
        provider(httpserver).send(message(text=None, html=None))

    assert "no text" in excinfo.value.message
    assert httpserver.log == []


def test_missing_api_key_never_falls_back_to_the_environment(monkeypatch):
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.from-env")

    with pytest.raises(AuthError):
        SendGridEmailProvider({"api_key": ""})


# -- event webhook -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_pair():
    private_key = ec.generate_private_key(ec.SECP256R1())
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_key, base64.b64encode(public_der).decode()


EVENTS = [
    {
        "email": "cand@example.test",
        "timestamp": NOW,
        "event": "processed",
        "sg_event_id": "ev-processed",
        "sg_message_id": "XBg2anf2TqCy6WXKQFhieQ.filter0905p1mdw1-1234-5",
        "recruitflow_message_id": "msg-42",
        "category": ["interview"],
    },
    {
        "email": "cand@example.test",
        "timestamp": NOW + 5,
        "event": "bounce",
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "sg_event_id": "ev-bounce",
        "sg_message_id": "XBg2anf2TqCy6WXKQFhieQ.filter0905p1mdw1-1234-5",
        "recruitflow_message_id": "msg-42",
    },
    {
        "email": "other@example.test",
        "timestamp": NOW + 6,
        "event": "dropped",
        "reason": "Unsubscribed Address",
        "sg_event_id": "ev-dropped",
        "sg_message_id": "YYY.filter1",
        "category": "reminder",
    },
    {
        "email": "cand@example.test",
        "timestamp": NOW + 7,
        "event": "deferred",
        "attempt": "2",
        "response": "400 try again later",
        "sg_event_id": "ev-deferred",
        "sg_message_id": "ZZZ.filter1",
    },
    {"event": "open", "timestamp": NOW, "sg_event_id": "e1", "sg_message_id": "A.f"},
    {"event": "click", "timestamp": NOW, "sg_event_id": "e2", "sg_message_id": "A.f"},
    {"event": "spamreport", "timestamp": NOW, "sg_event_id": "e3", "sg_message_id": "A.f"},
    {"event": "unsubscribe", "timestamp": NOW, "sg_event_id": "e4", "sg_message_id": "A.f"},
    {
        "event": "group_unsubscribe",
        "asm_group_id": 7,
        "timestamp": NOW,
        "sg_event_id": "e5",
        "sg_message_id": "A.f",
    },
    {"event": "group_resubscribe", "timestamp": NOW, "sg_event_id": "e6", "sg_message_id": "A.f"},
    {"event": "delivered", "timestamp": NOW, "sg_event_id": "e7", "sg_message_id": "A.f"},
]


def test_signed_event_batch_verifies(key_pair):
    private_key, public_key = key_pair
    body = json.dumps(EVENTS).encode()
    timestamp = str(NOW)
    signature = sign_for_tests(private_key, body, timestamp)

    assert verify_event_webhook(body, signature, timestamp, public_key, now=NOW + 10)


def test_provider_verifies_with_headers_and_an_armoured_key(key_pair, httpserver):
    private_key, public_key = key_pair
    pem = "-----BEGIN PUBLIC KEY-----\n" + public_key + "\n-----END PUBLIC KEY-----\n"
    body = json.dumps(EVENTS).encode()
    headers = {
        SIGNATURE_HEADER.lower(): sign_for_tests(private_key, body, str(NOW)),
        TIMESTAMP_HEADER.lower(): str(NOW),
    }
    sg = provider(httpserver, config={"webhook_public_key": pem})
    request = WebhookRequest(url="https://app.test/hooks/sendgrid", headers=headers, raw_body=body)

    assert sg.verify_webhook(request, now=NOW)
    assert len(sg.parse_webhook(request)) == 10


def test_tampered_body_fails_verification(key_pair):
    private_key, public_key = key_pair
    body = json.dumps(EVENTS).encode()
    signature = sign_for_tests(private_key, body, str(NOW))
    tampered = body.replace(b"msg-42", b"msg-43", 1)

    assert not verify_event_webhook(tampered, signature, str(NOW), public_key, now=NOW)


def test_tampered_timestamp_fails_verification(key_pair):
    private_key, public_key = key_pair
    body = json.dumps(EVENTS).encode()
    signature = sign_for_tests(private_key, body, str(NOW))

    assert not verify_event_webhook(body, signature, str(NOW + 1), public_key, now=NOW)


def test_replayed_old_request_is_rejected_even_with_a_valid_signature(key_pair):
    private_key, public_key = key_pair
    body = json.dumps(EVENTS).encode()
    signature = sign_for_tests(private_key, body, str(NOW))

    assert not verify_event_webhook(body, signature, str(NOW), public_key, now=NOW + 301)


@pytest.mark.parametrize(
    ("signature", "timestamp", "key"),
    [(None, str(NOW), "k"), ("c2ln", None, "k"), ("c2ln", str(NOW), None), ("!!", "x", "k")],
)
def test_missing_or_malformed_parts_fail_verification(signature, timestamp, key, key_pair):
    public_key = key_pair[1] if key else None
    assert not verify_event_webhook(b"[]", signature, timestamp, public_key, now=NOW)


def test_garbage_signature_fails_without_raising(key_pair):
    assert not verify_event_webhook(b"[]", "bm90IGEgc2ln", str(NOW), key_pair[1], now=NOW)


def test_events_normalize_with_our_id_dedupe_key_and_human_reasons():
    updates = parse_events(json.dumps(EVENTS).encode())

    by_event = {u.event_id: u for u in updates}
    processed = by_event["ev-processed"]
    assert processed.status == "queued"
    assert processed.provider_message_id == "XBg2anf2TqCy6WXKQFhieQ"
    assert processed.our_message_id == "msg-42"
    assert processed.occurred_at.timestamp() == NOW
    bounce = by_event["ev-bounce"]
    assert (bounce.status, bounce.error_code) == ("bounced", "5.1.1")
    assert "does not accept e-mail" in bounce.error_message
    dropped = by_event["ev-dropped"]
    assert dropped.status == "dropped"
    assert dropped.error_message == "Not sent: the recipient unsubscribed from these e-mails."
    assert dropped.our_message_id is None
    assert "attempt 2" in by_event["ev-deferred"].error_message
    assert [by_event[e].status for e in ("e1", "e2", "e3", "e4", "e5", "e7")] == [
        "opened",
        "clicked",
        "spam_report",
        "unsubscribed",
        "unsubscribed",
        "delivered",
    ]
    assert "e6" not in by_event  # group_resubscribe is not a delivery state


def test_blocked_bounce_is_explained_as_a_block():
    [update] = parse_events(
        json.dumps(
            [
                {
                    "event": "bounce",
                    "type": "blocked",
                    "reason": "spam filter",
                    "sg_message_id": "A.f",
                    "sg_event_id": "b",
                    "timestamp": NOW,
                }
            ]
        )
    )
    assert update.status == "bounced"
    assert "blocked" in update.error_message


def test_non_json_body_is_invalid():
    with pytest.raises(InvalidPayload):
        parse_events(b"not json")
