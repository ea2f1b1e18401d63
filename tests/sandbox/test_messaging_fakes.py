"""The Twilio, SendGrid and TextUs fakes over real HTTP (no database)."""

import base64
import hashlib
import hmac
import json
import re
import threading
import urllib.parse

import pytest
import requests
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from integrations.sandbox import sendgrid as sg
from integrations.sandbox import textus as tx
from integrations.sandbox import twilio as tw
from integrations.sandbox.phone import keyword, segments

ACCOUNT = tw.DEFAULT_ACCOUNT_SID
AUTH = (ACCOUNT, tw.DEFAULT_AUTH_TOKEN)
SG_HEADERS = {"Authorization": f"Bearer {sg.DEFAULT_API_KEY}"}
TX_HEADERS = {
    "Authorization": f"Bearer {tx.DEFAULT_TOKEN}",
    "Accept": tx.MEDIA_TYPE,
    "Content-Type": tx.MEDIA_TYPE,
}


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class Fakes:
    def __init__(self):
        self.twilio = tw.TwilioState(sent_delay=0.01, delivery_delay=0.05)
        self.sendgrid = sg.SendGridState(retry_scale=0.0001)
        self.textus = tx.TextUsState(delivery_delay=0.05, retry_scale=0.0001)
        app = DispatcherMiddleware(
            Response("root"),
            {
                "/twilio": tw.TwilioApp(self.twilio),
                "/sendgrid": sg.SendGridApp(self.sendgrid),
                "/textus": tx.TextUsApp(self.textus),
            },
        )
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.twilio.scheduler.stop()
        self.sendgrid.dispatcher.stop()
        self.textus.scheduler.stop()
        self.textus.dispatcher.stop()


@pytest.fixture(scope="module")
def fakes():
    f = Fakes()
    yield f
    f.close()


@pytest.fixture(autouse=True)
def _fresh(fakes):
    fakes.twilio.reset()
    fakes.twilio.configure(inbound_url=None, status_callback=None)
    fakes.sendgrid.reset()
    fakes.textus.reset()
    fakes.textus.set_rate_limit(1000)
    yield


def messages_url(fakes):
    return f"{fakes.url}/twilio/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def send_sms(fakes, **params):
    data = {"From": tw.DEFAULT_NUMBER, "Body": "Hi from RecruitFlow", **params}
    return requests.post(messages_url(fakes), data=data, auth=AUTH)


def form(raw: bytes) -> dict:
    return dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))


# Twilio -----------------------------------------------------------------------------------------


def test_signature_matches_sdk_reference_vector_when_computed_by_the_sandbox():
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert tw.twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    multi = [("B", "2"), ("A", "z"), ("A", "a")]
    expected = RequestValidator("t").compute_signature(url, MultiDict(multi))
    assert tw.twilio_signature("t", url, multi) == expected


def test_create_returns_queued_resource_and_signed_callbacks_when_status_callback_given(
    fakes, receiver
):
    hook = receiver.url + "?tenant=7"
    r = send_sms(fakes, To="+15551230001", StatusCallback=hook)
    assert r.status_code == 201
    msg = r.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", msg["sid"])
    assert msg["status"] == "queued" and msg["error_code"] is None
    assert msg["num_segments"] == "1" and msg["from"] == tw.DEFAULT_NUMBER
    assert re.match(r"^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$", msg["date_created"])
    assert fakes.twilio.wait_idle()
    calls = receiver.wait_for(2)
    statuses = [form(c["body"])["MessageStatus"] for c in calls]
    assert statuses == ["sent", "delivered"]
    validator = RequestValidator(tw.DEFAULT_AUTH_TOKEN)
    for c in calls:
        params = form(c["body"])
        assert params["MessageSid"] == params["SmsSid"] == msg["sid"]
        assert params["AccountSid"] == ACCOUNT and params["ApiVersion"] == "2010-04-01"
        assert params["To"] == "+15551230001" and params["From"] == tw.DEFAULT_NUMBER
        assert "ErrorCode" not in params
        assert validator.validate(hook, params, c["headers"]["X-Twilio-Signature"])
        assert not validator.validate(
            hook, {**params, "To": "+1"}, c["headers"]["X-Twilio-Signature"]
        )
    got = requests.get(f"{messages_url(fakes)[:-5]}/{msg['sid']}.json", auth=AUTH).json()
    assert got["status"] == "delivered" and got["date_sent"]
    assert [e["http_status"] for e in fakes.twilio.callbacks] == [200, 200]


def test_create_gives_21211_when_to_is_not_e164(fakes):
    r = send_sms(fakes, To="555-123-0001")
    assert r.status_code == 400
    assert r.json() == {
        "code": 21211,
        "message": "The 'To' number 555-123-0001 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }


def test_create_gives_401_20003_when_auth_token_is_wrong(fakes):
    r = requests.post(messages_url(fakes), data={"To": "+15551230001"}, auth=(ACCOUNT, "nope"))
    assert r.status_code == 401
    assert r.json()["code"] == 20003 and r.json()["message"] == "Authenticate"


def test_next_send_gives_21610_when_recipient_texted_stop_and_start_unblocks(fakes, receiver):
    fakes.twilio.configure(inbound_url=receiver.url)
    svc = {"MessagingServiceSid": tw.DEFAULT_SERVICE_SID, "From": ""}
    first = send_sms(fakes, To="+15551230002", **svc)
    assert first.status_code == 201 and first.json()["status"] == "accepted"
    fakes.twilio.text_from("+15551230002", "  stop ")
    assert fakes.twilio.wait_idle()
    blocked = send_sms(fakes, To="+15551230002", **svc)
    assert blocked.status_code == 400 and blocked.json()["code"] == 21610
    # the block is per service: the standalone number can still text them
    assert send_sms(fakes, To="+15551230002").status_code == 201
    inbound = form(receiver.wait_for(1)[0]["body"])
    assert inbound["Body"] == "  stop " and inbound["OptOutType"] == "STOP"
    # replies go to the number that texted last unless ``to`` says otherwise
    fakes.twilio.text_from("+15551230002", "Start", to=tw.DEFAULT_SERVICE_NUMBER)
    assert send_sms(fakes, To="+15551230002", **svc).status_code == 201
    replies = [m["body"] for m in fakes.twilio.conversation("+15551230002")]
    assert any("unsubscribed" in b for b in replies) and any("re-subscribed" in b for b in replies)


def test_keyword_needs_a_single_word_when_classifying_replies():
    assert keyword(" StopAll ") == "STOP" and keyword("optout") == "STOP"
    assert keyword("opt out") is None and keyword("please stop") is None
    assert keyword("yes") == "START" and keyword("INFO") == "HELP"


def test_inbound_webhook_is_signed_with_twilio_params_when_candidate_replies(fakes, receiver):
    fakes.twilio.configure(inbound_url=receiver.url)
    send_sms(fakes, To="+447700900123")
    fakes.twilio.text_from("+447700900123", "Yes, Tuesday works")
    assert fakes.twilio.wait_idle()
    c = receiver.wait_for(1)[0]
    params = form(c["body"])
    assert params["From"] == "+447700900123" and params["To"] == tw.DEFAULT_NUMBER
    assert params["Body"] == "Yes, Tuesday works" and params["NumMedia"] == "0"
    assert params["FromCountry"] == "GB" and params["NumSegments"] == "1"
    assert re.fullmatch(r"SM[0-9a-f]{32}", params["MessageSid"]) and "OptOutType" not in params
    assert RequestValidator(tw.DEFAULT_AUTH_TOKEN).validate(
        receiver.url, params, c["headers"]["X-Twilio-Signature"]
    )


def test_callbacks_report_undelivered_and_failed_when_number_is_unreachable_or_landline(
    fakes, receiver
):
    send_sms(fakes, To="+15551230000", StatusCallback=receiver.url)
    send_sms(fakes, To="+15551230006", StatusCallback=receiver.url)
    assert fakes.twilio.wait_idle()
    calls = [form(c["body"]) for c in receiver.wait_for(3)]
    by_to = {}
    for p in calls:
        by_to.setdefault(p["To"], []).append((p["MessageStatus"], p.get("ErrorCode")))
    assert by_to["+15551230000"] == [("sent", None), ("undelivered", "30003")]
    assert by_to["+15551230006"] == [("failed", "30006")]


def test_segments_use_ucs2_sizes_when_body_is_not_gsm7():
    assert segments("a" * 160) == (1, "GSM-7")
    assert segments("a" * 161) == (2, "GSM-7")
    assert segments("é" * 70) == (1, "GSM-7")
    assert segments("ł" * 70) == (1, "UCS-2")
    assert segments("ł" * 71) == (2, "UCS-2")
    assert segments("{" * 80) == (1, "GSM-7") and segments("{" * 81) == (2, "GSM-7")


def test_create_gives_429_20429_when_concurrency_fault_injected(fakes):
    fakes.twilio.inject_fault(429, count=1)
    r = send_sms(fakes, To="+15551230003")
    assert r.status_code == 429 and r.json()["code"] == 20429
    assert r.headers["Twilio-Concurrent-Requests"]
    assert send_sms(fakes, To="+15551230003").status_code == 201


def test_list_filters_by_to_and_date_sent_when_given(fakes):
    send_sms(fakes, To="+15551230004")
    send_sms(fakes, To="+15551230005")
    assert fakes.twilio.wait_idle()
    r = requests.get(
        messages_url(fakes), params={"To": "+15551230004", "DateSent>": "2020-01-01"}, auth=AUTH
    )
    body = r.json()
    assert [m["to"] for m in body["messages"]] == ["+15551230004"]
    assert body["next_page_uri"] is None and body["page_size"] == 50


def test_scheduled_message_is_canceled_when_status_canceled_posted(fakes):
    from datetime import UTC, datetime, timedelta

    send_at = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = send_sms(
        fakes,
        To="+15551230007",
        From="",
        MessagingServiceSid=tw.DEFAULT_SERVICE_SID,
        ScheduleType="fixed",
        SendAt=send_at,
    )
    assert r.status_code == 201 and r.json()["status"] == "scheduled"
    url = f"{messages_url(fakes)[:-5]}/{r.json()['sid']}.json"
    assert requests.post(url, data={"Status": "canceled"}, auth=AUTH).json()["status"] == "canceled"
    again = requests.post(url, data={"Status": "canceled"}, auth=AUTH)
    assert again.status_code == 400 and again.json()["code"] == 30409


def test_twilio_sdk_creates_and_fetches_when_pointed_at_the_sandbox(fakes):
    from twilio.rest import Client

    client = Client(ACCOUNT, tw.DEFAULT_AUTH_TOKEN)
    client.api.base_url = f"{fakes.url}/twilio"
    msg = client.messages.create(to="+15551230008", from_=tw.DEFAULT_NUMBER, body="Hello")
    assert msg.sid.startswith("SM") and msg.status == "queued"
    assert client.messages(msg.sid).fetch().body == "Hello"
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to="12", from_=tw.DEFAULT_NUMBER, body="x")
    assert exc.value.code == 21211


def test_phone_screen_shows_texts_and_reply_form_posts_stop_when_candidate_replies(fakes):
    send_sms(fakes, To="+15551230009", Body="Interview <b>Tuesday</b>?")
    assert fakes.twilio.wait_idle()
    index = requests.get(f"{fakes.url}/twilio/_sandbox/")
    assert index.status_code == 200 and "+15551230009" in index.text
    page = requests.get(f"{fakes.url}/twilio/_sandbox/phone/+15551230009")
    assert "Interview &lt;b&gt;Tuesday&lt;/b&gt;?" in page.text and "delivered" in page.text
    assert "<script" not in page.text
    r = requests.post(
        f"{fakes.url}/twilio/_sandbox/phone/%2B15551230009/reply",
        data={"body": "STOP", "to": tw.DEFAULT_NUMBER},
        allow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["Location"].endswith("/phone/+15551230009")
    assert send_sms(fakes, To="+15551230009").json()["code"] == 21610


# SendGrid ---------------------------------------------------------------------------------------


def mail(**over):
    body = {
        "personalizations": [
            {"to": [{"email": "ada@example.com", "name": "Ada"}], "custom_args": {"cand": "42"}}
        ],
        "from": {"email": "jobs@acme.test", "name": "Acme Talent"},
        "subject": "Your interview",
        "content": [
            {"type": "text/plain", "value": "See you Tuesday"},
            {"type": "text/html", "value": "<p>See you <b>Tuesday</b></p>"},
        ],
        "custom_args": {"tenant": "acme"},
        "categories": ["interview"],
    }
    body.update(over)
    return body


def sg_send(fakes, payload, headers=SG_HEADERS):
    return requests.post(f"{fakes.url}/sendgrid/v3/mail/send", json=payload, headers=headers)


def test_mail_send_returns_202_with_x_message_id_when_payload_is_valid(fakes):
    r = sg_send(fakes, mail())
    assert r.status_code == 202 and r.content == b""
    mid = r.headers["X-Message-Id"]
    stored = fakes.sendgrid.mails[mid]
    assert (
        stored["text"] == "See you Tuesday"
        and stored["recipients"][0]["email"] == "ada@example.com"
    )


def test_mail_send_gives_401_when_api_key_is_wrong(fakes):
    r = sg_send(fakes, mail(), headers={"Authorization": "Bearer SG.nope"})
    assert r.status_code == 401
    assert r.json() == sg.BAD_AUTH


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"personalizations": []}, "personalizations"),
        ({"from": {"name": "x"}}, "from.email"),
        ({"content": None}, "content"),
        ({"reply_to": {"email": "a@b.co"}, "reply_to_list": [{"email": "c@d.co"}]}, "reply_to"),
        ({"custom_args": {"candidate_id": 42}}, "custom_args.candidate_id"),
        (
            {"personalizations": [{"to": [{"email": f"u{i}@ex.com"} for i in range(1001)]}]},
            "personalizations",
        ),
        ({"personalizations": [{"to": [{"email": "not-an-address"}]}]}, None),
    ],
)
def test_mail_send_gives_400_errors_when_payload_is_invalid(fakes, change, field):
    payload = mail()
    for k, v in change.items():
        if v is None:
            payload.pop(k)
        else:
            payload[k] = v
    r = sg_send(fakes, payload)
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert all(set(e) == {"message", "field", "help"} for e in errors)
    if field:
        assert field in [e["field"] for e in errors]
    else:
        assert errors[0]["field"] == "personalizations.0.to.0.email"


def test_event_webhook_verifies_with_sdk_and_has_custom_args_when_mail_delivered(fakes, receiver):
    fakes.sendgrid.configure_events(receiver.url)
    key = requests.get(
        f"{fakes.url}/sendgrid/v3/user/webhooks/event/settings/signed", headers=SG_HEADERS
    ).json()["public_key"]
    mid = sg_send(fakes, mail()).headers["X-Message-Id"]
    assert fakes.sendgrid.wait_idle()
    req = receiver.wait_for(1)[0]
    headers = req["headers"]
    sig = headers["X-Twilio-Email-Event-Webhook-Signature"]
    ts = headers["X-Twilio-Email-Event-Webhook-Timestamp"]
    payload = req["body"].decode()
    assert EventWebhook(key).verify_signature(payload, sig, ts)
    assert not EventWebhook(key).verify_signature(payload.replace("ada", "eve"), sig, ts)
    events = json.loads(payload)
    assert [e["event"] for e in events] == ["processed", "delivered"]
    for e in events:
        assert e["sg_message_id"].startswith(mid + ".") and e["email"] == "ada@example.com"
        assert e["cand"] == "42" and e["tenant"] == "acme" and e["category"] == "interview"
        assert e["smtp-id"] and isinstance(e["timestamp"], int)
    assert len({e["sg_event_id"] for e in events}) == 2


def test_events_report_bounce_and_dropped_when_addresses_are_special(fakes, receiver):
    fakes.sendgrid.configure_events(receiver.url, signed=False)
    to = [{"email": "gone@bounce.test"}, {"email": "invalid@example.com"}]
    sg_send(fakes, mail(personalizations=[{"to": to}]))
    assert fakes.sendgrid.wait_idle()
    events = json.loads(receiver.wait_for(1)[0]["body"])
    assert [(e["email"], e["event"]) for e in events] == [
        ("gone@bounce.test", "processed"),
        ("gone@bounce.test", "bounce"),
        ("invalid@example.com", "dropped"),
    ]
    assert events[1]["type"] == "bounce"
    # a bounced address is suppressed next time
    sg_send(fakes, mail(personalizations=[{"to": [{"email": "gone@bounce.test"}]}]))
    assert fakes.sendgrid.wait_idle()
    later = json.loads(receiver.wait_for(2)[1]["body"])
    assert [(e["event"], e["reason"]) for e in later] == [("dropped", "Bounced Address")]


def test_engagement_events_post_when_control_endpoint_called(fakes, receiver):
    fakes.sendgrid.configure_events(receiver.url)
    mid = sg_send(fakes, mail()).headers["X-Message-Id"]
    r = requests.post(
        f"{fakes.url}/sendgrid/_sandbox/api/events",
        json={"message_id": mid, "event": "click", "url": "https://acme.test/book"},
    )
    assert r.status_code == 201
    assert fakes.sendgrid.wait_idle()
    click = json.loads(receiver.wait_for(2)[1]["body"])[0]
    assert click["event"] == "click" and click["url"] == "https://acme.test/book"
    assert click["cand"] == "42"


def test_outbox_renders_html_in_sandboxed_iframe_when_mail_sent(fakes):
    mid = sg_send(fakes, mail()).headers["X-Message-Id"]
    index = requests.get(f"{fakes.url}/sendgrid/_sandbox/").text
    assert "Your interview" in index and mid in index
    page = requests.get(f"{fakes.url}/sendgrid/_sandbox/mail/{mid}").text
    assert "<iframe sandbox=''" in page and 'srcdoc="&lt;p&gt;See you' in page
    assert "See you Tuesday" in page and "<script" not in page


def test_sendgrid_sdk_gets_202_when_pointed_at_the_sandbox(fakes):
    from sendgrid import SendGridAPIClient
    from sendgrid.helpers.mail import Mail

    client = SendGridAPIClient(sg.DEFAULT_API_KEY, host=f"{fakes.url}/sendgrid")
    m = Mail("jobs@acme.test", "ada@example.com", "Hello", html_content="<p>Hi</p>")
    resp = client.send(m)
    assert resp.status_code == 202 and resp.headers["X-Message-Id"] in fakes.sendgrid.mails


# TextUs -----------------------------------------------------------------------------------------


def tx_post(fakes, path, payload, headers=TX_HEADERS):
    return requests.post(f"{fakes.url}/textus{path}", data=json.dumps(payload), headers=headers)


def test_textus_send_returns_201_message_when_one_recipient_and_202_when_several(fakes):
    r = tx_post(fakes, "/acme-talent/messages", {"to": "+13035551234", "body": "Hi Ada"})
    assert r.status_code == 201 and r.headers["Content-Type"].startswith(tx.MEDIA_TYPE)
    msg = r.json()
    assert msg["@type"] == "Message" and msg["id"].startswith("/messages/")
    assert msg["direction"] == "out" and msg["deliveryState"] == "pending"
    assert msg["conversation"].startswith("/conversations/")
    assert r.headers["X-RateLimit-Limit"] == "1000"
    many = tx_post(
        fakes, "/acme-talent/messages", {"to": ["+13035551235", "3035551236"], "body": "x"}
    )
    assert many.status_code == 202 and many.content == b""
    assert fakes.textus.wait_idle()
    got = requests.get(f"{fakes.url}/textus{msg['id']}", headers=TX_HEADERS).json()
    assert got["deliveryState"] == "delivered"


def test_textus_send_gives_422_when_number_opted_out(fakes):
    base = f"{fakes.url}/textus/acme-talent/opt_outs"
    assert requests.get(f"{base}/%2B13035551237", headers=TX_HEADERS).status_code == 404
    put = requests.put(f"{base}/%2B13035551237", headers=TX_HEADERS)
    assert put.status_code == 201 and put.json()["@type"] == "OptOut"
    assert requests.get(f"{base}/%2B13035551237", headers=TX_HEADERS).status_code == 200
    listed = requests.get(base, headers=TX_HEADERS).json()
    assert listed["totalItems"] == 1
    r = tx_post(fakes, "/acme-talent/messages", {"to": "+13035551237", "body": "Hi"})
    assert r.status_code == 422 and "opted out" in r.json()["hydra:description"]
    # opt-outs are per account
    ok = tx_post(fakes, "/acme-sales/messages", {"to": "+13035551237", "body": "Hi"})
    assert ok.status_code == 201


def test_textus_webhook_is_signed_when_message_delivered(fakes, receiver):
    fakes.textus.configure_webhook(receiver.url, "whsec-test")
    msg = tx_post(fakes, "/acme-talent/messages", {"to": "+13035551238", "body": "Hi"}).json()
    assert fakes.textus.wait_idle()
    req = receiver.wait_for(1)[0]
    expected = hmac.new(b"whsec-test", req["body"], hashlib.sha256).hexdigest()
    assert req["headers"]["X-TextUs-Signature"] == expected
    delivery = json.loads(req["body"])
    assert delivery["@type"] == "WebhookDelivery" and delivery["action"] == "message.delivered"
    assert delivery["id"].startswith(delivery["webHook"] + "/deliveries/")
    assert delivery["message"]["id"] == msg["id"]
    assert delivery["conversation"]["phoneNumber"] == "+13035551238"


def test_textus_stop_reply_opts_out_and_notifies_when_contact_texts_stop(fakes, receiver):
    fakes.textus.configure_webhook(receiver.url, "s3cret", events=["message.received",
                                                                   "contact.opted_out"])  # fmt: skip
    fakes.textus.text_from("+13035551239", "STOP", "acme-talent")
    assert fakes.textus.wait_idle()
    actions = [json.loads(r["body"])["action"] for r in receiver.wait_for(2)]
    assert actions == ["message.received", "contact.opted_out"]
    r = tx_post(fakes, "/acme-talent/messages", {"to": "+13035551239", "body": "Hi"})
    assert r.status_code == 422


def test_textus_gives_429_with_retry_after_when_rate_limit_exceeded(fakes):
    fakes.textus.set_rate_limit(2)
    url = f"{fakes.url}/textus/acme-talent/opt_outs"
    codes = [requests.get(url, headers=TX_HEADERS) for _ in range(3)]
    assert [c.status_code for c in codes] == [200, 200, 429]
    assert codes[1].headers["X-RateLimit-Remaining"] == "0"
    assert int(codes[2].headers["Retry-After"]) >= 1 and codes[2].headers["X-RateLimit-Reset"]


def test_textus_gives_401_when_token_is_wrong(fakes):
    r = requests.get(
        f"{fakes.url}/textus/acme-talent/opt_outs",
        headers={**TX_HEADERS, "Authorization": "Bearer nope"},
    )
    assert r.status_code == 401 and r.json()["@type"] == "hydra:Error"


def test_public_key_is_base64_der_spki_when_published(fakes):
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key = load_der_public_key(base64.b64decode(fakes.sendgrid.public_key_b64))
    assert key.curve.name == "secp256r1"


def test_sandbox_server_mounts_the_messaging_fakes_when_started():
    from integrations.sandbox.server import SandboxServer

    with SandboxServer(n_candidates=5, n_jobs=2) as srv:
        r = requests.post(
            f"{srv.url}/twilio/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
            data={"To": "+15551230010", "From": tw.DEFAULT_NUMBER, "Body": "hi"},
            auth=AUTH,
        )
        assert r.status_code == 201 and r.json()["sid"] in srv.twilio.messages
        assert sg_send(srv, mail()).status_code == 202 and srv.sendgrid.mails
        assert tx_post(srv, "/acme-talent/messages", {"to": "+13035551240", "body": "x"}).ok
        assert srv.textus.messages
        for line in ("/twilio/_sandbox/", "/sendgrid/_sandbox/", "/textus/_sandbox/"):
            assert line in srv.describe()
            assert requests.get(f"{srv.url}{line}").status_code == 200
