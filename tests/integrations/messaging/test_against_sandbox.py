"""The production messaging adapters against the sandbox fakes, over real sockets (no database).

The fakes are mounted on a loopback server here (as ``SandboxServer`` does, at ``/twilio``,
``/sendgrid``, ``/textus``); their webhooks go to a pytest-httpserver standing in for
RecruitFlow, and what arrives there is verified and parsed by the production webhook code.
"""

from __future__ import annotations

import re
import threading

import pytest

sb_twilio = pytest.importorskip("integrations.sandbox.twilio")
sb_sendgrid = pytest.importorskip("integrations.sandbox.sendgrid")
sb_textus = pytest.importorskip("integrations.sandbox.textus")

from werkzeug.middleware.dispatcher import DispatcherMiddleware  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Response  # noqa: E402

from integrations.messaging import (  # noqa: E402
    DeliveryUpdate,
    EmailMessage,
    InboundSMS,
    OptedOut,
    OptOutChange,
    WebhookRequest,
    should_apply,
)
from integrations.sendgrid.provider import SendGridEmailProvider  # noqa: E402
from integrations.textus.provider import TextUsSMSProvider  # noqa: E402
from integrations.twilio.provider import TwilioSMSProvider  # noqa: E402

for module, names in (
    (sb_twilio, ("TwilioApp", "TwilioState", "DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN")),
    (sb_sendgrid, ("SendGridApp", "SendGridState", "DEFAULT_API_KEY")),
    (sb_textus, ("TextUsApp", "TextUsState", "DEFAULT_TOKEN")),
):
    if not all(hasattr(module, name) for name in names):
        pytest.skip(f"{module.__name__} is not ready", allow_module_level=True)

CANDIDATE = "+14155550123"
SECRET = "textus-hook-secret"


@pytest.fixture(scope="module")
def fakes():
    states = {
        "twilio": sb_twilio.TwilioState(sent_delay=0.01, delivery_delay=0.02),
        "sendgrid": sb_sendgrid.SendGridState(),
        "textus": sb_textus.TextUsState(delivery_delay=0.02),
    }
    app = DispatcherMiddleware(
        lambda environ, start: Response("Not found", status=404)(environ, start),
        {
            "/twilio": sb_twilio.TwilioApp(states["twilio"]),
            "/sendgrid": sb_sendgrid.SendGridApp(states["sendgrid"]),
            "/textus": sb_textus.TextUsApp(states["textus"]),
        },
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    states["url"] = f"http://127.0.0.1:{server.server_port}"
    yield states
    server.shutdown()


@pytest.fixture
def receiver(httpserver):
    """RecruitFlow's webhook endpoint: answers 200 to everything and keeps what arrived."""
    httpserver.expect_request(re.compile(".*")).respond_with_data(
        "<Response/>", content_type="text/xml"
    )
    return httpserver


def received(receiver, path: str) -> list[WebhookRequest]:
    return [
        WebhookRequest(
            url=request.url,
            headers=dict(request.headers),
            raw_body=request.get_data(),
            params=request.form,
        )
        for request, _ in receiver.log
        if request.path == path
    ]


# -- Twilio --------------------------------------------------------------------------------


def twilio(fakes) -> TwilioSMSProvider:
    return TwilioSMSProvider(
        {
            "account_sid": sb_twilio.DEFAULT_ACCOUNT_SID,
            "auth_token": sb_twilio.DEFAULT_AUTH_TOKEN,
            "messaging_service_sid": getattr(sb_twilio, "DEFAULT_SERVICE_SID", None),
            "base_url": f"{fakes['url']}/twilio",
        },
        sleep=lambda s: None,
    )


def test_twilio_text_is_delivered_and_signed_callbacks_map_back_to_our_message(fakes, receiver):
    sms = twilio(fakes)

    result = sms.send(
        CANDIDATE,
        "Your interview is on Tuesday at 10:00.",
        our_message_id="msg-1",
        status_callback=receiver.url_for("/hooks/twilio/status"),
    )
    fakes["twilio"].wait_idle()

    assert result.provider_message_id.startswith("SM") and result.status == "accepted"
    hooks = received(receiver, "/hooks/twilio/status")
    assert hooks and all(sms.verify_webhook(hook) for hook in hooks)
    updates = [event for hook in hooks for event in sms.parse_webhook(hook)]
    assert {u.our_message_id for u in updates} == {"msg-1"}
    current = result.status
    for update in updates:
        if should_apply(current, update.status):
            current = update.status
    assert current == "delivered"
    assert sms.get_status(result.provider_message_id).status == "delivered"


def test_twilio_landline_fails_with_a_recruiter_readable_reason(fakes, receiver):
    sms = twilio(fakes)

    sms.send("+14155550006", "Hi", status_callback=receiver.url_for("/hooks/twilio/landline"))
    fakes["twilio"].wait_idle()

    updates = [
        e for hook in received(receiver, "/hooks/twilio/landline") for e in sms.parse_webhook(hook)
    ]
    final = [u for u in updates if u.status in ("failed", "undelivered")]
    assert final and final[-1].error_message == "Landline or unreachable carrier"


def test_twilio_stop_reply_opts_out_and_the_next_send_is_refused(fakes, receiver):
    sms = twilio(fakes)
    fakes["twilio"].configure(inbound_url=receiver.url_for("/hooks/twilio/inbound"))
    phone = "+14155550177"
    sms.send(phone, "Can you make Tuesday?")
    fakes["twilio"].wait_idle()

    fakes["twilio"].text_from(phone, "Stop")
    fakes["twilio"].wait_idle()

    [hook] = received(receiver, "/hooks/twilio/inbound")
    assert sms.verify_webhook(hook)
    events = sms.parse_webhook(hook)
    assert isinstance(events[0], InboundSMS) and events[0].opt_out_keyword == "stop"
    assert isinstance(events[1], OptOutChange) and events[1].phone == phone
    with pytest.raises(OptedOut):
        sms.send(phone, "Reminder: Tuesday")


# -- SendGrid ------------------------------------------------------------------------------


def test_sendgrid_mail_is_accepted_and_signed_events_carry_our_id(fakes, receiver):
    fakes["sendgrid"].configure_events(url=receiver.url_for("/hooks/sendgrid"), signed=True)
    email = SendGridEmailProvider(
        {
            "api_key": sb_sendgrid.DEFAULT_API_KEY,
            "base_url": f"{fakes['url']}/sendgrid",
            "from_email": "jobs@acme.test",
            "webhook_public_key": fakes["sendgrid"].public_key_b64,
        },
        sleep=lambda s: None,
    )

    result = email.send(
        EmailMessage(
            to_email="jane@example.test",
            to_name="Jane",
            subject="Interview",
            text="See you Tuesday",
            message_id="mail-9",
            categories=["interview"],
        )
    )
    fakes["sendgrid"].wait_idle()

    assert result.status == "queued" and result.provider_message_id
    hooks = received(receiver, "/hooks/sendgrid")
    assert hooks and all(email.verify_webhook(hook) for hook in hooks)
    updates = [u for hook in hooks for u in email.parse_webhook(hook)]
    assert all(isinstance(u, DeliveryUpdate) for u in updates)
    assert {u.provider_message_id for u in updates} == {result.provider_message_id}
    assert {u.our_message_id for u in updates} == {"mail-9"}
    assert "delivered" in {u.status for u in updates}


# -- TextUs --------------------------------------------------------------------------------


def textus(fakes) -> TextUsSMSProvider:
    return TextUsSMSProvider(
        {
            "token": sb_textus.DEFAULT_TOKEN,
            "account_slug": "acme-talent",
            "base_url": f"{fakes['url']}/textus",
            "webhook_secret": SECRET,
        },
        sleep=lambda s: None,
    )


def test_textus_text_is_delivered_and_the_signed_webhook_says_so(fakes, receiver):
    fakes["textus"].configure_webhook(receiver.url_for("/hooks/textus"), secret=SECRET)
    sms = textus(fakes)

    result = sms.send("+13035550142", "Your interview is on Tuesday.")
    fakes["textus"].wait_idle()

    assert result.provider_message_id.startswith("/messages/")
    hooks = received(receiver, "/hooks/textus")
    assert hooks and all(sms.verify_webhook(hook) for hook in hooks)
    updates = [e for hook in hooks for e in sms.parse_webhook(hook)]
    assert [(u.provider_message_id, u.status) for u in updates] == [
        (result.provider_message_id, "delivered")
    ]


def test_textus_opt_out_recorded_by_us_blocks_the_next_text(fakes, receiver):
    fakes["textus"].configure_webhook(receiver.url_for("/hooks/textus-opt"), secret=SECRET)
    sms = textus(fakes)
    phone = "+13035550143"

    assert sms.is_opted_out(phone) is False
    assert sms.record_opt_out(phone) is True
    fakes["textus"].wait_idle()

    assert sms.is_opted_out(phone) is True
    with pytest.raises(OptedOut):
        sms.send(phone, "Are you still interested?")
    changes = [
        e for hook in received(receiver, "/hooks/textus-opt") for e in sms.parse_webhook(hook)
    ]
    assert changes == [
        OptOutChange(
            phone=phone,
            opted_out=True,
            source="textus:webhook",
            sender=changes[0].sender,
            occurred_at=changes[0].occurred_at,
        )
    ]


def test_textus_stop_reply_arrives_as_inbound_text_and_opt_out(fakes, receiver):
    fakes["textus"].configure_webhook(receiver.url_for("/hooks/textus-in"), secret=SECRET)
    sms = textus(fakes)
    phone = "+13035550144"

    fakes["textus"].text_from(phone, "STOP")
    fakes["textus"].wait_idle()

    events = [e for hook in received(receiver, "/hooks/textus-in") for e in sms.parse_webhook(hook)]
    inbound = [e for e in events if isinstance(e, InboundSMS)]
    assert inbound and inbound[0].from_e164 == phone and inbound[0].opt_out_keyword == "stop"
    assert any(isinstance(e, OptOutChange) and e.opted_out and e.phone == phone for e in events)
    assert sms.is_opted_out(phone) is True
