"""Twilio adapter: the official SDK over a real socket to a fake host, and the webhooks."""

from __future__ import annotations

import base64
import threading
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from twilio.request_validator import RequestValidator
from werkzeug import Response

from integrations.http import AuthError, RateLimited, ValidationFailed
from integrations.messaging import (
    DeliveryUpdate,
    InboundSMS,
    InvalidNumber,
    MessagingTransientError,
    OptedOut,
    OptOutChange,
    WebhookRequest,
    should_apply,
)
from integrations.twilio.provider import TwilioSMSProvider
from integrations.twilio.webhooks import (
    is_terminal,
    parse_inbound,
    parse_status_callback,
    verify_signature,
)

SID = "AC" + "1" * 32
TOKEN = "twilio-auth-token"
MESSAGES = f"/twilio/2010-04-01/Accounts/{SID}/Messages.json"
MG = "MG" + "2" * 32
CANDIDATE = "+447700900123"


def provider(httpserver, calls=None, **kwargs) -> TwilioSMSProvider:
    config = {
        "account_sid": SID,
        "auth_token": TOKEN,
        "messaging_service_sid": MG,
        "base_url": httpserver.url_for("/twilio"),
    }
    config.update(kwargs.pop("config", {}))
    kwargs.setdefault("sleep", lambda s: None)
    return TwilioSMSProvider(
        config, on_call=(calls.append if calls is not None else None), **kwargs
    )


def created(status="accepted", sid="SM" + "a" * 32, **extra) -> dict:
    return {
        "sid": sid,
        "account_sid": SID,
        "to": CANDIDATE,
        "from": None,
        "messaging_service_sid": MG,
        "body": "Hi",
        "status": status,
        "num_segments": "1",
        "error_code": None,
        "error_message": None,
        "date_created": "Tue, 24 Nov 2026 10:00:00 +0000",
        "date_updated": "Tue, 24 Nov 2026 10:00:00 +0000",
        **extra,
    }


def twilio_error(code: int, status: int, message: str) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


# -- sending over the socket ---------------------------------------------------------------


def test_send_goes_over_the_socket_to_the_configured_host_with_basic_auth(httpserver):
    httpserver.expect_request(MESSAGES, method="POST").respond_with_json(created(), status=201)
    calls: list = []

    result = provider(httpserver, calls).send(
        CANDIDATE,
        "Your interview is confirmed.",
        our_message_id="msg-7",
        status_callback="https://app.test/hooks/twilio/status?org=acme",
    )

    assert result.provider_message_id == "SM" + "a" * 32
    assert result.status == "accepted"
    request, _ = httpserver.log[-1]
    assert (
        request.headers["Authorization"]
        == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    )
    form = request.form
    assert form["To"] == CANDIDATE
    assert form["Body"] == "Your interview is confirmed."
    assert form["MessagingServiceSid"] == MG
    assert "From" not in form
    callback = urlsplit(form["StatusCallback"])
    assert parse_qs(callback.query) == {"org": ["acme"], "recruitflow_message_id": ["msg-7"]}
    assert [(c.method, c.path, c.status) for c in calls] == [("POST", MESSAGES, 201)]


def test_explicit_from_number_is_used_instead_of_the_service(httpserver):
    httpserver.expect_request(MESSAGES).respond_with_json(created(status="queued"), status=201)

    result = provider(httpserver).send(CANDIDATE, "Hi", sender="+15005550006")

    form = httpserver.log[-1][0].form
    assert form["From"] == "+15005550006"
    assert "MessagingServiceSid" not in form
    assert result.status == "queued"


def test_http_client_has_a_timeout(httpserver):
    assert provider(httpserver).transport.timeout == 10


def test_read_timeout_is_ambiguous_and_not_resent(httpserver):
    seen = []
    answered = threading.Event()

    def slow(request):
        seen.append(request.path)
        time.sleep(0.6)
        answered.set()
        return Response("{}", status=201, content_type="application/json")

    httpserver.expect_request(MESSAGES).respond_with_handler(slow)

    with pytest.raises(MessagingTransientError) as excinfo:
        provider(httpserver, timeout=0.2).send(CANDIDATE, "Hi")

    assert excinfo.value.ambiguous
    assert "checks its status" in excinfo.value.message
    assert seen == [MESSAGES]
    # The server answers after the client gave up; let it finish here, or its late log entry
    # lands in whichever test uses the shared server next.
    assert answered.wait(5)
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.01)


def test_opted_out_recipient_raises_opted_out(httpserver):
    httpserver.expect_request(MESSAGES).respond_with_json(
        twilio_error(21610, 400, "Attempt to send to unsubscribed recipient"), status=400
    )

    with pytest.raises(OptedOut) as excinfo:
        provider(httpserver).send(CANDIDATE, "Hi")

    error = excinfo.value
    assert error.permanent and error.code == "21610" and error.phone == CANDIDATE
    assert "replied STOP" in error.message


def test_invalid_number_raises_invalid_number_with_a_human_message(httpserver):
    httpserver.expect_request(MESSAGES).respond_with_json(
        twilio_error(21211, 400, "The 'To' number +4412 is not a valid phone number."), status=400
    )

    with pytest.raises(InvalidNumber) as excinfo:
        provider(httpserver).send("+4412", "Hi")

    assert "not valid" in excinfo.value.message
    assert excinfo.value.permanent


def test_number_that_is_not_e164_is_refused_without_calling_twilio(httpserver):
    with pytest.raises(InvalidNumber):
        provider(httpserver).send("07700 900123", "Hi")
    assert httpserver.log == []


def test_bad_credentials_raise_auth_error(httpserver):
    httpserver.expect_request(MESSAGES).respond_with_json(
        twilio_error(20003, 401, "Authenticate"), status=401
    )

    with pytest.raises(AuthError) as excinfo:
        provider(httpserver).send(CANDIDATE, "Hi")

    assert "Account SID or Auth Token" in excinfo.value.message


def test_geo_permission_error_is_explained(httpserver):
    httpserver.expect_request(MESSAGES).respond_with_json(
        twilio_error(21408, 400, "Permission to send an SMS has not been enabled"), status=400
    )

    with pytest.raises(ValidationFailed) as excinfo:
        provider(httpserver).send(CANDIDATE, "Hi")

    assert "Geo Permissions" in excinfo.value.message


def test_concurrency_limit_is_retried_because_twilio_did_not_process_it(httpserver):
    sleeps: list = []
    httpserver.expect_ordered_request(MESSAGES).respond_with_json(
        twilio_error(20429, 429, "Too Many Requests"), status=429
    )
    httpserver.expect_ordered_request(MESSAGES).respond_with_json(created(), status=201)

    result = provider(httpserver, sleep=sleeps.append).send(CANDIDATE, "Hi")

    assert result.status == "accepted"
    assert len(sleeps) == 1 and len(httpserver.log) == 2


def test_persistent_concurrency_limit_raises_rate_limited(httpserver):
    httpserver.expect_request(MESSAGES).respond_with_json(
        twilio_error(20429, 429, "Too Many Requests"), status=429
    )

    with pytest.raises(RateLimited):
        provider(httpserver, max_attempts=2).send(CANDIDATE, "Hi")
    assert len(httpserver.log) == 2


def test_server_error_is_ambiguous_and_never_resent(httpserver):
    httpserver.expect_request(MESSAGES).respond_with_data("boom", status=500)

    with pytest.raises(MessagingTransientError) as excinfo:
        provider(httpserver).send(CANDIDATE, "Hi")

    assert excinfo.value.ambiguous
    assert len(httpserver.log) == 1


def test_get_status_fetches_the_message_for_reconciliation(httpserver):
    sid = "SM" + "b" * 32
    httpserver.expect_request(
        f"/twilio/2010-04-01/Accounts/{SID}/Messages/{sid}.json", method="GET"
    ).respond_with_json(created(status="undelivered", sid=sid, error_code=30006))

    update = provider(httpserver).get_status(sid)

    assert (update.status, update.error_code) == ("undelivered", "30006")
    assert update.error_message == "Landline or unreachable carrier"


def test_missing_credentials_never_fall_back_to_the_environment(monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)

    with pytest.raises(AuthError):
        TwilioSMSProvider({"account_sid": "", "auth_token": ""})


def test_twilio_edge_in_the_environment_does_not_move_requests(httpserver, monkeypatch):
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    httpserver.expect_request(MESSAGES).respond_with_json(created(), status=201)

    provider(httpserver).send(CANDIDATE, "Hi")

    assert httpserver.log[-1][0].path == MESSAGES


# -- signatures ----------------------------------------------------------------------------

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_reference_vector_verifies():
    assert verify_signature(VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE, "12345")


def test_reference_vector_verifies_from_a_querydict():
    params = QueryDict(mutable=True)
    for key, value in VECTOR_PARAMS.items():
        params[key] = value
    assert verify_signature(VECTOR_URL, params, VECTOR_SIGNATURE, "12345")


def test_tampered_param_url_or_token_fails():
    assert not verify_signature(
        VECTOR_URL, {**VECTOR_PARAMS, "Digits": "1235"}, VECTOR_SIGNATURE, "12345"
    )
    assert not verify_signature(VECTOR_URL + "&x=1", VECTOR_PARAMS, VECTOR_SIGNATURE, "12345")
    assert not verify_signature(VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE, "54321")
    assert not verify_signature(VECTOR_URL, VECTOR_PARAMS, "", "12345")
    assert not verify_signature(VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE, "")


def test_extra_unknown_params_count_and_repeated_values_are_all_signed():
    url = "https://app.test/hooks/twilio/inbound"
    params = QueryDict("Body=hi&MediaUrl0=b&MediaUrl0=a&NewThing=1")
    signature = RequestValidator(TOKEN).compute_signature(url, params)

    assert verify_signature(url, params, signature, TOKEN)
    # Dropping one of the repeated values (what a plain dict would do) breaks the signature.
    assert not verify_signature(
        url, {"Body": "hi", "MediaUrl0": "a", "NewThing": "1"}, signature, TOKEN
    )
    assert verify_signature(
        url, {"Body": "hi", "MediaUrl0": ["a", "b"], "NewThing": "1"}, signature, TOKEN
    )


def test_provider_verifies_a_signed_request_with_port_variant(httpserver):
    url = "https://app.test/hooks/twilio/status"
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signature = RequestValidator(TOKEN).compute_signature(
        "https://app.test:443/hooks/twilio/status", params
    )
    request = WebhookRequest(url=url, headers={"x-twilio-signature": signature}, params=params)

    assert provider(httpserver).verify_webhook(request)


# -- callbacks -----------------------------------------------------------------------------

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def callback(status: str, error_code: str | None = None) -> dict:
    params = {
        "MessageSid": "SM" + "c" * 32,
        "SmsSid": "SM" + "c" * 32,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": SID,
        "From": "+15005550006",
        "To": CANDIDATE,
        "ApiVersion": "2010-04-01",
        "BrandNewTwilioParam": "x",
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


def test_status_callback_normalizes_and_maps_back_to_our_message():
    update = parse_status_callback(
        callback("undelivered", "30003"),
        url="https://app.test/hooks/twilio/status?recruitflow_message_id=msg-7",
        now=NOW,
    )

    assert isinstance(update, DeliveryUpdate)
    assert update.status == "undelivered"
    assert update.our_message_id == "msg-7"
    assert update.error_code == "30003"
    assert update.error_message == "The phone was switched off or out of coverage"
    assert update.event_id == "SM" + "c" * 32 + ":undelivered"
    assert update.occurred_at == NOW


@pytest.mark.parametrize(
    ("twilio_status", "normalized"),
    [
        ("accepted", "queued"),
        ("queued", "queued"),
        ("sending", "queued"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
        ("read", "opened"),
        ("canceled", "canceled"),
        ("something_new", "unknown"),
    ],
)
def test_status_values_normalize(twilio_status, normalized):
    assert parse_status_callback(callback(twilio_status)).status == normalized


def test_idempotency_token_is_the_dedupe_key_when_present():
    update = parse_status_callback(callback("sent"), idempotency_token="tok-1")
    assert update.event_id == "tok-1"


def test_out_of_order_callbacks_leave_a_delivered_message_delivered():
    current = None
    for status in ("sent", "delivered", "sent", "failed"):
        update = parse_status_callback(callback(status))
        if should_apply(current, update.status):
            current = update.status
    assert current == "delivered"
    assert is_terminal("delivered") and is_terminal("undelivered") and not is_terminal("sent")


def inbound(body: str, **extra) -> dict:
    return {
        "MessageSid": "SM" + "d" * 32,
        "SmsSid": "SM" + "d" * 32,
        "AccountSid": SID,
        "MessagingServiceSid": MG,
        "From": CANDIDATE,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
        "SmsStatus": "received",
        **extra,
    }


def test_inbound_text_is_parsed_without_keyword():
    text = parse_inbound(inbound("Tuesday works for me"), now=NOW)

    assert isinstance(text, InboundSMS)
    assert (text.from_e164, text.to_e164, text.body) == (
        CANDIDATE,
        "+15005550006",
        "Tuesday works for me",
    )
    assert text.opt_out_keyword is None
    assert text.received_at == NOW


def test_inbound_stop_yields_the_text_and_an_opt_out_for_the_service(httpserver):
    request = WebhookRequest(
        url="https://app.test/hooks/twilio/inbound", headers={}, params=inbound(" stop ")
    )

    events = provider(httpserver).parse_webhook(request)

    assert [type(e) for e in events] == [InboundSMS, OptOutChange]
    assert events[0].opt_out_keyword == "stop"
    assert events[1] == OptOutChange(
        phone=CANDIDATE,
        opted_out=True,
        source="twilio:keyword",
        sender=MG,
        occurred_at=events[0].received_at,
    )


def test_inbound_start_opts_back_in_and_help_changes_nothing(httpserver):
    sms = provider(httpserver)
    start = sms.parse_webhook(WebhookRequest(url="u", headers={}, params=inbound("UNSTOP")))
    help_ = sms.parse_webhook(WebhookRequest(url="u", headers={}, params=inbound("help")))

    assert start[1].opted_out is False
    assert [type(e) for e in help_] == [InboundSMS]
    assert help_[0].opt_out_keyword == "help"


def test_advanced_opt_out_type_wins_over_the_default_keywords():
    text = parse_inbound(inbound("ARRET", OptOutType="STOP"))
    assert text.opt_out_keyword == "stop"


def test_status_callback_through_the_provider_is_a_single_update(httpserver):
    request = WebhookRequest(
        url="https://app.test/s?recruitflow_message_id=m1",
        headers={"I-Twilio-Idempotency-Token": "abc"},
        params=callback("delivered"),
    )

    [update] = provider(httpserver).parse_webhook(request)

    assert (update.status, update.our_message_id, update.event_id) == ("delivered", "m1", "abc")
