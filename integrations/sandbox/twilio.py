"""Fake Twilio Programmable Messaging (REST 2010-04-01) with signed webhooks, as a WSGI app.

Mount the app anywhere (the sandbox server uses ``/twilio``); paths are relative to the mount,
so point the SDK's ``https://api.twilio.com`` at ``{sandbox}/twilio``.

Default credentials (HTTP Basic ``AccountSid:AuthToken``)
    Account ``ACsandbox00000000000000000000000000`` / auth token ``sandbox-auth-token``.
    Default Messaging Service ``MGsandbox00000000000000000000000000`` with the number
    ``+15005550100``; the standalone number ``+15005550199``.  Any E.164 ``From`` is accepted.
    Wrong credentials: ``401 {"code":20003,"message":"Authenticate",...}``.

REST API
    ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form) creates a message:
    ``To`` E.164 (21604 missing, 21211 invalid or equal to From); ``From`` or
    ``MessagingServiceSid`` (21603 / 21705); ``Body`` ≤ 1600 (21602 / 21617); opted-out
    recipient → 21610; ``ScheduleType=fixed`` + ``SendAt`` with a service → ``scheduled``
    (15 min – 35 days, else 35114; without a service the schedule is dropped).  201 JSON resource
    with status ``queued`` (From) / ``accepted`` (service).  No de-duplication.
    ``GET .../Messages.json`` (To, From, DateSent, DateSent<, DateSent>, PageSize, Page; newest
    first), ``GET .../Messages/{sid}.json``, ``POST .../Messages/{sid}.json`` with
    ``Status=canceled`` (scheduled only, else 30409) or ``Body=`` (redaction).
    Errors: ``{"code","message","more_info","status"}``.
    ``GET|POST .../IncomingPhoneNumbers.json`` lists the account's numbers (``PhoneNumber``,
    ``FriendlyName`` filters) or provisions one (``PhoneNumber`` or ``AreaCode``; ``SmsUrl``,
    ``SmsMethod``, ``FriendlyName``; a number already on the account → 21422);
    ``GET|POST|DELETE .../IncomingPhoneNumbers/{PN…}.json`` fetches, updates (``SmsUrl`` is
    where texts to the number are posted) or releases one.  The default numbers are on the
    account from the start.

Delivery simulation (status callbacks, none for the initial status)
    ``sent`` after :attr:`TwilioState.sent_delay` then, :attr:`TwilioState.delivery_delay`
    later, ``delivered`` — or ``undelivered`` 30003 for a To ending ``0000``, 30005 ``0005``,
    30007 ``0007``, or ``failed`` 30006 (no ``sent``) for ``0006``; per-number outcomes with
    :meth:`TwilioState.set_outcome`.  Form POSTs carry ``MessageSid, SmsSid, SmsStatus,
    MessageStatus, AccountSid, From, To, ApiVersion`` (+ ``MessagingServiceSid`` for service
    messages, ``ErrorCode`` on failures, ``RawDlrDoneDate`` on delivered — an "unknown" param),
    ``X-Twilio-Signature`` per the SDK's ``RequestValidator`` and ``I-Twilio-Idempotency-Token``.

Inbound
    :meth:`TwilioState.text_from` (or ``POST /_sandbox/api/inbound`` or the phone screen) applies
    the opt-out keywords (STOP… block per service-or-number, START/YES/UNSTOP unblock,
    HELP/INFO auto-reply; single word only), records Twilio's auto-reply, then POSTs the inbound
    webhook (signed) to the number's / service's / default inbound URL.  A TwiML
    ``<Message>`` in the answer is sent back to the phone.

Sandbox control (no auth; loopback only) under ``/_sandbox/``
    ``/_sandbox/`` phones list, ``/_sandbox/phone/<E.164>`` conversation + reply form.
    JSON: ``GET|POST api/config``, ``POST api/inbound {from, body, to?}``,
    ``GET|POST|DELETE api/faults {status: 500|503|429, count, delay?, match?}``,
    ``POST api/outcomes {phone, status, error_code}``, ``POST api/release {sid?}``,
    ``GET api/messages``, ``GET api/callbacks``, ``GET api/opt_outs``, ``POST api/reset``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import threading
import time
import urllib.parse
from datetime import UTC, datetime

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import Faults, esc, json_response, redirect
from integrations.sandbox.phone import (
    Scheduler,
    conversation_html,
    country_of,
    http_post,
    is_e164,
    keyword,
    page,
    phone_href,
    rfc2822,
    segments,
)

DEFAULT_ACCOUNT_SID = "ACsandbox00000000000000000000000000"
DEFAULT_AUTH_TOKEN = "sandbox-auth-token"
DEFAULT_SERVICE_SID = "MGsandbox00000000000000000000000000"
DEFAULT_SERVICE_NUMBER = "+15005550100"
DEFAULT_NUMBER = "+15005550199"
API_VERSION = "2010-04-01"
TWIML_MESSAGE_RE = re.compile(r"<Message\b[^>]*>(.*?)</Message>", re.S)

DEFAULT_OUTCOMES = {
    "0000": ("undelivered", 30003),
    "0005": ("undelivered", 30005),
    "0006": ("failed", 30006),
    "0007": ("undelivered", 30007),
}
ERROR_MESSAGES = {
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    21610: "Attempt to send to unsubscribed recipient",
}
TERMINAL = {"delivered", "undelivered", "failed", "read", "canceled", "received"}
AUTO_REPLIES = {
    "STOP": "You have successfully been unsubscribed. You will not receive any more messages "
    "from this number. Reply START to resubscribe.",
    "START": "You have successfully been re-subscribed to messages from this number. Reply HELP "
    "for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "HELP": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}
PUBLIC_FIELDS = (
    "account_sid",
    "api_version",
    "body",
    "date_created",
    "date_sent",
    "date_updated",
    "direction",
    "error_code",
    "error_message",
    "from",
    "messaging_service_sid",
    "num_media",
    "num_segments",
    "price",
    "price_unit",
    "sid",
    "status",
    "subresource_uris",
    "to",
    "uri",
)


def twilio_signature(auth_token: str, url: str, params) -> str:
    """``X-Twilio-Signature`` exactly as ``twilio.request_validator.RequestValidator``.

    ``params``: a dict or a list of (name, value) pairs; names sorted, values of a repeated
    name sorted (and de-duplicated, as the SDK does), concatenated without separators.
    """
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    by_name: dict[str, set[str]] = {}
    for name, value in pairs:
        by_name.setdefault(name, set()).add(value)
    s = url
    for name in sorted(by_name):
        for value in sorted(by_name[name]):
            s += name + value
    mac = hmac.new(auth_token.encode("utf-8"), s.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    @property
    def body(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


def _parse_date(value: str) -> float | None:
    value = value.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"):
        try:
            dt = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class TwilioState:
    """All mutable state of the fake plus the operations tests and the control API use.

    Inbound: :meth:`text_from`.  Configuration: :meth:`configure`, :meth:`set_outcome`,
    :meth:`inject_fault`, :meth:`add_number`, :meth:`add_api_key`, :meth:`reset`.
    Scheduled messages: :meth:`release_scheduled`.  Records: :attr:`messages` (sid → dict),
    :attr:`callbacks` (every webhook attempt), :attr:`opt_outs`.  Tests: :meth:`wait_idle`,
    :meth:`conversation`, :meth:`is_opted_out`.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        sent_delay: float = 0.05,
        delivery_delay: float = 0.2,
        inbound_url: str | None = None,
        status_callback: str | None = None,
        callback_retries: int = 0,
    ):
        self.lock = threading.RLock()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent_delay = sent_delay
        self.delivery_delay = delivery_delay
        self.inbound_url = inbound_url
        self.status_callback = status_callback
        self.callback_retries = callback_retries
        self.scheduler = Scheduler("sandbox-twilio")
        self.faults = Faults()
        self._install_defaults()

    def _install_defaults(self) -> None:
        self.available = True
        self.api_keys: dict[str, str] = {}
        self.services: dict[str, dict] = {
            DEFAULT_SERVICE_SID: {
                "sid": DEFAULT_SERVICE_SID,
                "friendly_name": "Sandbox Messaging Service",
                "numbers": [DEFAULT_SERVICE_NUMBER],
                "inbound_url": None,
                "status_callback": None,
            }
        }
        self.numbers: dict[str, dict] = {}
        self.add_number(DEFAULT_SERVICE_NUMBER, DEFAULT_SERVICE_SID)
        self.add_number(DEFAULT_NUMBER)
        self.outcomes: dict[str, tuple[str, int | None]] = {}
        self.suffix_outcomes = dict(DEFAULT_OUTCOMES)
        self.messages: dict[str, dict] = {}
        self.callbacks: list[dict] = []
        self.opt_outs: dict[tuple[str, str], dict] = {}
        self.duplicate_final_callback = False

    def reset(self) -> None:
        with self.lock:
            self.scheduler.cancel_all()
            self.faults.clear()
            self._install_defaults()

    # configuration -------------------------------------------------------------------------------
    def configure(self, **kw) -> dict:
        """Set any of ``inbound_url, status_callback, sent_delay, delivery_delay, available,
        callback_retries, duplicate_final_callback, auth_token``."""
        allowed = {
            "inbound_url",
            "status_callback",
            "sent_delay",
            "delivery_delay",
            "available",
            "callback_retries",
            "duplicate_final_callback",
            "auth_token",
        }
        with self.lock:
            for k, v in kw.items():
                if k not in allowed:
                    raise ValueError(f"unknown setting {k}")
                if k in ("sent_delay", "delivery_delay"):
                    v = float(v)
                elif k == "callback_retries":
                    v = int(v)
                elif k in ("available", "duplicate_final_callback"):
                    v = bool(v)
                setattr(self, k, v)
            return self.config()

    def config(self) -> dict:
        return {
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "inbound_url": self.inbound_url,
            "status_callback": self.status_callback,
            "sent_delay": self.sent_delay,
            "delivery_delay": self.delivery_delay,
            "available": self.available,
            "callback_retries": self.callback_retries,
            "duplicate_final_callback": self.duplicate_final_callback,
            "services": self.services,
            "numbers": self.numbers,
        }

    def add_number(
        self, number: str, service: str | None = None, inbound_url: str | None = None
    ) -> dict:
        """Put ``number`` on the account (in ``service`` when given); texts to it go to
        ``inbound_url`` (its ``SmsUrl``)."""
        with self.lock:
            now = time.time()
            entry = {
                "service": service,
                "inbound_url": inbound_url,
                "sid": self._new_sid("PN"),
                "friendly_name": number,
                "sms_method": "POST",
                "status_callback": None,
                "date_created": rfc2822(now),
                "date_updated": rfc2822(now),
            }
            self.numbers[number] = entry
            if service:
                svc = self.services.setdefault(
                    service,
                    {
                        "sid": service,
                        "friendly_name": service,
                        "numbers": [],
                        "inbound_url": None,
                        "status_callback": None,
                    },
                )
                if number not in svc["numbers"]:
                    svc["numbers"].append(number)
            return entry

    # incoming phone numbers (the account's numbers) ---------------------------------------------
    def number_json(self, number: str) -> dict:
        entry = self.numbers[number]
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/IncomingPhoneNumbers/{entry['sid']}.json"
        return {
            "account_sid": self.account_sid,
            "address_requirements": "none",
            "api_version": API_VERSION,
            "beta": False,
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
            "date_created": entry["date_created"],
            "date_updated": entry["date_updated"],
            "friendly_name": entry["friendly_name"],
            "origin": "twilio",
            "phone_number": number,
            "sid": entry["sid"],
            "sms_application_sid": "",
            "sms_fallback_method": "POST",
            "sms_fallback_url": "",
            "sms_method": entry["sms_method"],
            "sms_url": entry["inbound_url"] or "",
            "status": "in-use",
            "status_callback": entry["status_callback"] or "",
            "status_callback_method": "POST",
            "uri": uri,
            "voice_method": "POST",
            "voice_url": "",
        }

    def number_by_sid(self, sid: str) -> str:
        with self.lock:
            for number, entry in self.numbers.items():
                if entry["sid"] == sid:
                    return number
        raise TwilioError(
            404,
            20404,
            f"The requested resource /{API_VERSION}/Accounts/{self.account_sid}/"
            f"IncomingPhoneNumbers/{sid}.json was not found",
        )

    @staticmethod
    def _check_sms_url(url: str | None) -> str | None:
        url = (url or "").strip() or None
        if url:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise TwilioError(400, 21502, f"SmsUrl is not a valid URL: {url}")
        return url

    @staticmethod
    def _check_method(value: str | None, name: str) -> str:
        method = (value or "POST").strip().upper()
        if method not in ("GET", "POST"):
            raise TwilioError(400, 20001, f"{name} must be GET or POST")
        return method

    def provision_number(self, form) -> dict:
        """``POST IncomingPhoneNumbers.json``: buy ``PhoneNumber`` (or any number in
        ``AreaCode``) and set its ``SmsUrl``."""
        number = (form.get("PhoneNumber") or "").strip()
        area = (form.get("AreaCode") or "").strip()
        if not number and not area:
            raise TwilioError(400, 20001, "Missing required parameter PhoneNumber or AreaCode")
        sms_url = self._check_sms_url(form.get("SmsUrl"))
        method = self._check_method(form.get("SmsMethod"), "SmsMethod")
        with self.lock:
            if not number:
                if not (area.isdigit() and len(area) == 3):
                    raise TwilioError(400, 21451, f"Invalid area code {area}")
                number = next(
                    f"+1{area}555{n:04d}"
                    for n in range(10000)
                    if f"+1{area}555{n:04d}" not in self.numbers
                )
            if not is_e164(number):
                raise TwilioError(400, 21421, f"PhoneNumber {number} is invalid")
            if number in self.numbers and self.numbers[number].get("sid"):
                raise TwilioError(400, 21422, f"Phone number {number} is not available")
            entry = self.add_number(number, None, sms_url)
            entry["sms_method"] = method
            entry["friendly_name"] = (form.get("FriendlyName") or number).strip()
            entry["status_callback"] = (form.get("StatusCallback") or "").strip() or None
            return self.number_json(number)

    def update_number(self, sid: str, form) -> dict:
        """``POST IncomingPhoneNumbers/{sid}.json``: change its ``SmsUrl`` and friends."""
        number = self.number_by_sid(sid)
        with self.lock:
            entry = self.numbers[number]
            if "SmsUrl" in form:
                entry["inbound_url"] = self._check_sms_url(form.get("SmsUrl"))
            if "SmsMethod" in form:
                entry["sms_method"] = self._check_method(form.get("SmsMethod"), "SmsMethod")
            if "FriendlyName" in form:
                entry["friendly_name"] = form.get("FriendlyName") or number
            if "StatusCallback" in form:
                entry["status_callback"] = (form.get("StatusCallback") or "").strip() or None
            entry["date_updated"] = rfc2822(time.time())
            return self.number_json(number)

    def release_number(self, sid: str) -> None:
        number = self.number_by_sid(sid)
        with self.lock:
            entry = self.numbers.pop(number)
            svc = self.services.get(entry.get("service") or "")
            if svc and number in svc["numbers"]:
                svc["numbers"].remove(number)

    def add_api_key(self, key_sid: str, secret: str) -> None:
        with self.lock:
            self.api_keys[key_sid] = secret

    def set_outcome(self, phone: str, status: str = "delivered", error_code: int | None = None):
        """Final status for texts to ``phone``: delivered | undelivered | failed."""
        with self.lock:
            self.outcomes[phone] = (status, error_code)

    def inject_fault(self, status: int | None = 500, count: int = 1, delay: float = 0.0,
                     match: str = "create") -> dict:  # fmt: skip
        """Next ``count`` requests matching ``match`` (``"create"``, or a prefix of
        ``"<METHOD> <path>"``) answer ``status`` (500 / 503 / 429 → 20429); ``status=None``
        only sleeps ``delay`` then proceeds (a timeout after the message was created)."""
        return self.faults.add(match, status, count, delay)

    # helpers --------------------------------------------------------------------------------------
    def wait_idle(self, timeout: float = 5.0) -> bool:
        return self.scheduler.wait_idle(timeout)

    def check_auth(self, username: str | None, password: str | None) -> bool:
        if not username or password is None:
            return False
        if username == self.account_sid:
            return hmac.compare_digest(password, self.auth_token)
        secret = self.api_keys.get(username)
        return secret is not None and hmac.compare_digest(password, secret)

    def _block_key(self, sender: str | None, service: str | None) -> str:
        if service:
            return service
        num = self.numbers.get(sender or "")
        if num and num.get("service"):
            return num["service"]
        return sender or ""

    def is_opted_out(self, phone: str, sender: str | None = None, service: str | None = None):
        with self.lock:
            return (self._block_key(sender, service), phone) in self.opt_outs

    def _new_sid(self, prefix: str = "SM") -> str:
        return prefix + secrets.token_hex(16)

    def _outcome(self, to: str) -> tuple[str, int | None]:
        if to in self.outcomes:
            return self.outcomes[to]
        for suffix, outcome in self.suffix_outcomes.items():
            if to.endswith(suffix):
                return outcome
        return ("delivered", None)

    def _uri(self, sid: str) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"

    def _record(self, **fields) -> dict:
        now = time.time()
        sid = fields.pop("sid", None) or self._new_sid()
        body = fields.get("body") or ""
        msg = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": rfc2822(now),
            "date_sent": None,
            "date_updated": rfc2822(now),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": None,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(segments(body)[0]),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": self._uri(sid).replace(".json", "/Media.json"),
                "feedback": self._uri(sid).replace(".json", "/Feedback.json"),
            },
            "to": None,
            "uri": self._uri(sid),
            # sandbox-only fields (not in API output)
            "_created": now,
            "_sent_ts": None,
            "_sender": None,
            "_status_callback": None,
            "_history": [],
            "_send_at": None,
        }
        msg.update(fields)
        msg["_history"].append({"status": msg["status"], "at": now, "callback": None})
        self.messages[sid] = msg
        return msg

    @staticmethod
    def public(msg: dict) -> dict:
        return {k: msg[k] for k in PUBLIC_FIELDS}

    # create -----------------------------------------------------------------------------------------
    def create_message(self, form) -> dict:
        """Validate like Twilio and create; ``form`` is a MultiDict/dict of API params."""
        to = (form.get("To") or "").strip()
        from_ = (form.get("From") or "").strip() or None
        service_sid = (form.get("MessagingServiceSid") or "").strip() or None
        body = form.get("Body")
        media = form.getlist("MediaUrl") if hasattr(form, "getlist") else []
        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        if not is_e164(to):
            raise TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not from_ and not service_sid:
            raise TwilioError(
                400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required."
            )
        if from_ and not (is_e164(from_) or from_.replace(" ", "").isalnum()):
            raise TwilioError(
                400,
                21212,
                f"The 'From' number {from_} is not a valid phone number, shortcode, "
                "or alphanumeric sender ID.",
            )
        if from_ and from_ == to:
            raise TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body and not media:
            raise TwilioError(400, 21602, "Message body is required.")
        if body and len(body) > 1600:
            raise TwilioError(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if len(media) > 10:
            raise TwilioError(400, 21623, "Number of media files exceeds allowed limit.")
        callback = (form.get("StatusCallback") or "").strip() or None
        if callback:
            host = urllib.parse.urlsplit(callback).hostname or ""
            if not host or "_" in host:
                raise TwilioError(400, 21609, "Invalid StatusCallback URL")
        with self.lock:
            if service_sid and service_sid not in self.services:
                raise TwilioError(
                    400, 21705, f"The Messaging Service Sid {service_sid} is invalid."
                )
            sender = from_
            if service_sid and not sender:
                sender = (self.services[service_sid]["numbers"] or [DEFAULT_SERVICE_NUMBER])[0]
            key = self._block_key(sender, service_sid)
            if (key, to) in self.opt_outs:
                raise TwilioError(400, 21610, ERROR_MESSAGES[21610])
            send_at = None
            if service_sid and (form.get("ScheduleType") or "").lower() == "fixed":
                raw = form.get("SendAt") or ""
                send_at = _parse_date(raw)
                now = time.time()
                if send_at is None or not (now + 900 <= send_at <= now + 35 * 86400):
                    raise TwilioError(
                        400,
                        35114,
                        "Scheduling does not support this timestamp: SendAt must be between "
                        "15 minutes and 35 days in the future.",
                    )
            if not callback and service_sid:
                callback = self.services[service_sid].get("status_callback")
            callback = callback or self.status_callback
            status = "scheduled" if send_at else ("accepted" if service_sid else "queued")
            msg = self._record(
                to=to,
                body=body or "",
                status=status,
                num_media=str(len(media)),
                messaging_service_sid=service_sid,
                _sender=sender,
                _status_callback=callback,
                _send_at=send_at,
                _block_key=key,
            )
            msg["from"] = from_
            if not send_at:
                self._schedule_delivery(msg)
            return msg

    def _schedule_delivery(self, msg: dict) -> None:
        final, code = self._outcome(msg["to"])
        sid = msg["sid"]
        if final == "failed":
            self.scheduler.call_later(self.sent_delay, self._transition, sid, "failed", code)
            return
        self.scheduler.call_later(self.sent_delay, self._transition, sid, "sent", None)
        self.scheduler.call_later(
            self.sent_delay + self.delivery_delay, self._transition, sid, final, code
        )
        if self.duplicate_final_callback:
            self.scheduler.call_later(self.sent_delay + self.delivery_delay, self._resend_last, sid)

    def release_scheduled(self, sid: str | None = None) -> list[str]:
        """Send scheduled messages now (all, or one).  A recipient who opted out since gets
        ``failed`` 21610 (Twilio does not cancel scheduled texts on STOP)."""
        released = []
        with self.lock:
            for msg in list(self.messages.values()):
                if msg["status"] != "scheduled" or (sid and msg["sid"] != sid):
                    continue
                released.append(msg["sid"])
                msg["status"] = "queued"
                msg["from"] = msg["_sender"]
                if (msg["_block_key"], msg["to"]) in self.opt_outs:
                    self.scheduler.call_later(0, self._transition, msg["sid"], "failed", 21610)
                else:
                    self._schedule_delivery(msg)
        return released

    def cancel_message(self, sid: str) -> dict:
        with self.lock:
            msg = self.messages[sid]
            if msg["status"] != "scheduled":
                raise TwilioError(400, 30409, "This message cannot be canceled")
            msg["status"] = "canceled"
            msg["date_updated"] = rfc2822(time.time())
            msg["_history"].append({"status": "canceled", "at": time.time(), "callback": None})
            return msg

    def _transition(self, sid: str, status: str, error_code: int | None) -> None:
        with self.lock:
            msg = self.messages.get(sid)
            if msg is None or msg["status"] in TERMINAL:
                return
            now = time.time()
            msg["status"] = status
            msg["date_updated"] = rfc2822(now)
            if msg["from"] is None:
                msg["from"] = msg["_sender"]
            if status in ("sent", "delivered", "undelivered") and msg["date_sent"] is None:
                msg["date_sent"] = rfc2822(now)
                msg["_sent_ts"] = now
            if status in ("delivered", "sent"):
                msg["price"] = f"-{0.0079 * int(msg['num_segments']):.5f}"
            if error_code:
                msg["error_code"] = error_code
                msg["error_message"] = ERROR_MESSAGES.get(error_code)
            hist = {"status": status, "at": now, "callback": None}
            msg["_history"].append(hist)
            url = msg["_status_callback"]
            params = self._status_params(msg, status, error_code)
        if url:
            entry = self._post(url, params, "status", sid)
            hist["callback"] = {
                "http_status": entry["http_status"],
                "attempts": len(entry["attempts"]),
            }

    def _resend_last(self, sid: str) -> None:
        with self.lock:
            msg = self.messages.get(sid)
            if not msg or not msg["_status_callback"]:
                return
            url = msg["_status_callback"]
            params = self._status_params(msg, msg["status"], msg["error_code"])
        self._post(url, params, "status-duplicate", sid)

    def _status_params(self, msg: dict, status: str, error_code: int | None) -> list:
        params = [
            ("MessageSid", msg["sid"]),
            ("SmsSid", msg["sid"]),
            ("SmsStatus", status),
            ("MessageStatus", status),
            ("AccountSid", self.account_sid),
            ("From", msg["from"] or msg["_sender"] or ""),
            ("To", msg["to"]),
            ("ApiVersion", API_VERSION),
        ]
        if msg["messaging_service_sid"]:
            params.append(("MessagingServiceSid", msg["messaging_service_sid"]))
        if error_code:
            params.append(("ErrorCode", str(error_code)))
        if status == "delivered":
            params.append(("RawDlrDoneDate", datetime.now(UTC).strftime("%y%m%d%H%M")))
        return params

    def _post(self, url: str, params: list, kind: str, sid: str) -> dict:
        """POST a signed form webhook (retried ``callback_retries`` times on failure); returns
        the log entry appended to :attr:`callbacks`."""
        body = urllib.parse.urlencode(params).encode()
        with self.lock:
            token = self.auth_token
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "X-Twilio-Signature": twilio_signature(token, url, params),
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "User-Agent": "TwilioProxy/1.1",
            "Accept": "*/*",
        }
        entry = {
            "kind": kind,
            "message_sid": sid,
            "url": url,
            "params": dict(params),
            "signature": headers["X-Twilio-Signature"],
            "attempts": [],
            "http_status": None,
            "response": "",
        }
        with self.lock:
            self.callbacks.append(entry)
        for attempt in range(1 + max(0, self.callback_retries)):
            code, resp, error = http_post(url, body, headers)
            entry["attempts"].append(
                {"attempt": attempt + 1, "at": time.time(), "http_status": code, "error": error}
            )
            entry["http_status"] = code
            entry["response"] = resp.decode("utf-8", "replace")[:4000]
            if code is not None and 200 <= code < 300:
                break
        return entry

    # inbound ----------------------------------------------------------------------------------------
    def text_from(self, phone: str, body: str, to: str | None = None) -> dict:
        """A candidate texts ``body`` from ``phone`` to ``to`` (default: the last number that
        texted them, else the default service number).  Returns the inbound message record;
        the webhook goes out in the background (see :meth:`wait_idle`)."""
        if not is_e164(phone):
            raise ValueError(f"{phone!r} is not an E.164 phone number")
        with self.lock:
            if not to:
                last = [
                    m
                    for m in self.messages.values()
                    if m["to"] == phone and m["direction"] != "inbound" and m["_sender"]
                ]
                to = last[-1]["_sender"] if last else DEFAULT_SERVICE_NUMBER
            if to not in self.numbers:
                self.add_number(to)
            service = self.numbers[to].get("service")
            word = keyword(body)
            key = self._block_key(to, service)
            msg = self._record(
                sid=self._new_sid(),
                to=to,
                body=body,
                status="received",
                direction="inbound",
                messaging_service_sid=service,
                _sender=phone,
                _keyword=word,
            )
            msg["from"] = phone
            msg["date_sent"] = msg["date_created"]
            if word == "STOP":
                self.opt_outs[(key, phone)] = {
                    "key": key,
                    "phone": phone,
                    "word": body.strip(),
                    "at": time.time(),
                }
            elif word == "START":
                self.opt_outs.pop((key, phone), None)
            if word:
                self._record(
                    to=phone,
                    body=AUTO_REPLIES[word],
                    status="delivered",
                    direction="outbound-reply",
                    messaging_service_sid=service,
                    _sender=to,
                )["from"] = to
            url = (
                self.numbers[to].get("inbound_url")
                or (self.services.get(service) or {}).get("inbound_url")
                or self.inbound_url
            )
            params = [
                ("ToCountry", country_of(to)),
                ("ToState", ""),
                ("SmsMessageSid", msg["sid"]),
                ("NumMedia", "0"),
                ("ToCity", ""),
                ("FromZip", ""),
                ("SmsSid", msg["sid"]),
                ("FromState", ""),
                ("SmsStatus", "received"),
                ("FromCity", ""),
                ("Body", body),
                ("FromCountry", country_of(phone)),
                ("To", to),
                ("ToZip", ""),
                ("NumSegments", msg["num_segments"]),
                ("MessageSid", msg["sid"]),
                ("AccountSid", self.account_sid),
                ("From", phone),
                ("ApiVersion", API_VERSION),
            ]
            if service:
                params.append(("MessagingServiceSid", service))
            if word:
                params.append(("OptOutType", word))
        if url:
            self.scheduler.call_later(0, self._deliver_inbound, msg["sid"], url, params)
        return msg

    def _deliver_inbound(self, sid: str, url: str, params: list) -> None:
        entry = self._post(url, params, "inbound", sid)
        code = entry["http_status"]
        with self.lock:
            msg = self.messages.get(sid)
            if msg is None:
                return
            msg["_history"].append(
                {
                    "status": "webhook",
                    "at": time.time(),
                    "callback": {"http_status": code, "attempts": len(entry["attempts"])},
                }
            )
        # TwiML reply: <Response><Message>text</Message></Response>
        text = entry.get("response") or ""
        if not (code and 200 <= code < 300 and "<Message" in text):
            return
        for raw in TWIML_MESSAGE_RE.findall(text):
            reply = html.unescape(re.sub(r"</?Body[^>]*>", "", raw)).strip()
            if not reply:
                continue
            with self.lock:
                phone = msg["from"]
                sender = msg["to"]
                service = msg["messaging_service_sid"]
                blocked = (self._block_key(sender, service), phone) in self.opt_outs
                out = self._record(
                    to=phone,
                    body=reply,
                    status="failed" if blocked else "queued",
                    direction="outbound-reply",
                    messaging_service_sid=service,
                    _sender=sender,
                    _status_callback=None,
                )
                out["from"] = sender
                if blocked:
                    out["error_code"] = 21610
                    out["error_message"] = ERROR_MESSAGES[21610]
                else:
                    self._schedule_delivery(out)

    # queries ------------------------------------------------------------------------------------------
    def list_messages(self, args) -> list[dict]:
        to = args.get("To")
        from_ = args.get("From")
        on = args.get("DateSent")
        before = args.get("DateSent<")
        after = args.get("DateSent>")
        with self.lock:
            msgs = list(self.messages.values())
        out = []
        for m in msgs:
            if to and m["to"] != to:
                continue
            if from_ and (m["from"] or m["_sender"]) != from_:
                continue
            ts = m["_sent_ts"] or (m["_created"] if m["direction"] == "inbound" else None)
            if on or before or after:
                if ts is None:
                    continue
                if on:
                    day = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")
                    if day != on[:10]:
                        continue
                if after and ts < (_parse_date(after) or 0):
                    continue
                if before and ts >= (_parse_date(before) or float("inf")):
                    continue
            out.append(m)
        out.sort(key=lambda m: m["_created"], reverse=True)
        return out

    def conversation(self, phone: str) -> list[dict]:
        """Messages to or from ``phone``, oldest first (sandbox view)."""
        with self.lock:
            return [
                m
                for m in self.messages.values()
                if (m["direction"] == "inbound" and m["from"] == phone)
                or (m["direction"] != "inbound" and m["to"] == phone)
            ]

    def phones(self) -> list[str]:
        with self.lock:
            seen: dict[str, float] = {}
            for m in self.messages.values():
                p = m["from"] if m["direction"] == "inbound" else m["to"]
                if p:
                    seen[p] = m["_created"]
            return sorted(seen, key=lambda p: -seen[p])

    def dump_message(self, m: dict) -> dict:
        d = self.public(m)
        d["sandbox"] = {
            "status_callback": m["_status_callback"],
            "history": m["_history"],
            "sender": m["_sender"],
        }
        return d


API_MAP = Map(
    [
        Rule(
            f"/{API_VERSION}/Accounts/<account>/Messages.json",
            methods=["GET", "POST"],
            endpoint="messages",
        ),
        Rule(
            f"/{API_VERSION}/Accounts/<account>/Messages/<sid>.json",
            methods=["GET", "POST", "DELETE"],
            endpoint="message",
        ),
        Rule(
            f"/{API_VERSION}/Accounts/<account>/IncomingPhoneNumbers.json",
            methods=["GET", "POST"],
            endpoint="numbers",
        ),
        Rule(
            f"/{API_VERSION}/Accounts/<account>/IncomingPhoneNumbers/<sid>.json",
            methods=["GET", "POST", "DELETE"],
            endpoint="number",
        ),
    ],
    strict_slashes=False,
)

SANDBOX_MAP = Map(
    [
        Rule("/_sandbox/", methods=["GET"], endpoint="ui_index"),
        Rule("/_sandbox/phone/<phone>", methods=["GET"], endpoint="ui_phone"),
        Rule("/_sandbox/phone/<phone>/reply", methods=["POST"], endpoint="ui_reply"),
        Rule("/_sandbox/api/config", methods=["GET", "POST"], endpoint="api_config"),
        Rule("/_sandbox/api/inbound", methods=["POST"], endpoint="api_inbound"),
        Rule("/_sandbox/api/faults", methods=["GET", "POST", "DELETE"], endpoint="api_faults"),
        Rule("/_sandbox/api/outcomes", methods=["POST"], endpoint="api_outcomes"),
        Rule("/_sandbox/api/release", methods=["POST"], endpoint="api_release"),
        Rule("/_sandbox/api/messages", methods=["GET"], endpoint="api_messages"),
        Rule("/_sandbox/api/callbacks", methods=["GET"], endpoint="api_callbacks"),
        Rule("/_sandbox/api/opt_outs", methods=["GET"], endpoint="api_opt_outs"),
        Rule("/_sandbox/api/reset", methods=["POST"], endpoint="api_reset"),
    ]
)


def _json_body(request: Request) -> dict:
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return dict(request.form.items())


class TwilioApp:
    """WSGI application: the Messages REST API plus the sandbox phone screens."""

    def __init__(self, state: TwilioState | None = None):
        self.state = state or TwilioState()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except TwilioError as exc:
            response = json_response(exc.body, exc.status, exc.headers)
        return response(environ, start_response)

    # REST -------------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox"):
            return self.sandbox(request)
        st = self.state
        adapter = API_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            raise TwilioError(
                404, 20404, f"The requested resource {request.path} was not found"
            ) from None
        auth = request.authorization
        if not auth or auth.type != "basic" or not st.check_auth(auth.username, auth.password):
            raise TwilioError(
                401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        if values["account"] != st.account_sid:
            raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")
        if not st.available:
            raise TwilioError(503, 20503, "Service Unavailable")
        is_create = endpoint == "messages" and request.method == "POST"
        fault = st.faults.take("create" if is_create else f"{request.method} {request.path}")
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["status"] == 429:
                raise TwilioError(
                    429, 20429, "Too Many Requests", {"Twilio-Concurrent-Requests": "101"}
                )
            if fault["status"] == 503:
                raise TwilioError(503, 20503, "Service Unavailable")
            if fault["status"]:
                raise TwilioError(int(fault["status"]), 20500, "Internal Server Error")
        if endpoint == "numbers":
            if request.method == "POST":
                return json_response(st.provision_number(request.form), 201)
            return self.list_numbers(request)
        if endpoint == "number":
            if request.method == "DELETE":
                st.release_number(values["sid"])
                return Response("", status=204)
            if request.method == "POST":
                return json_response(st.update_number(values["sid"], request.form))
            with st.lock:
                return json_response(st.number_json(st.number_by_sid(values["sid"])))
        if endpoint == "messages":
            if request.method == "POST":
                msg = st.create_message(request.form)
                return json_response(st.public(msg), 201)
            return self.list(request)
        sid = values["sid"]
        with st.lock:
            msg = st.messages.get(sid)
            if msg is None:
                raise TwilioError(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
            if request.method == "DELETE":
                st.messages.pop(sid)
                return Response("", status=204)
            if request.method == "POST":
                status = request.form.get("Status")
                if status is not None:
                    if status != "canceled":
                        raise TwilioError(400, 20001, f"Invalid Status: {status}")
                    st.cancel_message(sid)
                if "Body" in request.form:
                    if request.form["Body"] != "":
                        raise TwilioError(400, 20001, "Body can only be redacted (set to '')")
                    msg["body"] = ""
                    msg["date_updated"] = rfc2822(time.time())
            return json_response(st.public(msg))

    def list(self, request: Request) -> Response:
        st = self.state
        try:
            size = max(1, min(1000, int(request.args.get("PageSize", 50))))
            page_no = max(0, int(request.args.get("Page", 0)))
        except ValueError:
            raise TwilioError(400, 20001, "Invalid paging parameter") from None
        msgs = st.list_messages(request.args)
        chunk = msgs[page_no * size : (page_no + 1) * size]
        base = f"/{API_VERSION}/Accounts/{st.account_sid}/Messages.json"
        keep = [
            (k, v)
            for k, v in request.args.items(multi=True)
            if k not in ("Page", "PageToken", "PageSize")
        ]

        def uri(p: int) -> str:
            q = [*keep, ("PageSize", str(size)), ("Page", str(p))]
            if p > 0:
                q.append(("PageToken", f"PA{p}"))
            return f"{base}?{urllib.parse.urlencode(q)}"

        has_next = (page_no + 1) * size < len(msgs)
        return json_response(
            {
                "messages": [st.public(m) for m in chunk],
                "start": page_no * size,
                "end": page_no * size + max(0, len(chunk) - 1),
                "page": page_no,
                "page_size": size,
                "uri": uri(page_no),
                "first_page_uri": uri(0),
                "next_page_uri": uri(page_no + 1) if has_next else None,
                "previous_page_uri": uri(page_no - 1) if page_no > 0 else None,
            }
        )

    def list_numbers(self, request: Request) -> Response:
        st = self.state
        try:
            size = max(1, min(1000, int(request.args.get("PageSize", 50))))
            page_no = max(0, int(request.args.get("Page", 0)))
        except ValueError:
            raise TwilioError(400, 20001, "Invalid paging parameter") from None
        wanted = (request.args.get("PhoneNumber") or "").strip()
        name = request.args.get("FriendlyName")
        with st.lock:
            found = [
                st.number_json(number)
                for number, entry in st.numbers.items()
                if (not wanted or number == wanted)
                and (name is None or entry["friendly_name"] == name)
            ]
        chunk = found[page_no * size : (page_no + 1) * size]
        base = f"/{API_VERSION}/Accounts/{st.account_sid}/IncomingPhoneNumbers.json"
        keep = [
            (k, v)
            for k, v in request.args.items(multi=True)
            if k not in ("Page", "PageToken", "PageSize")
        ]

        def uri(p: int) -> str:
            query = [*keep, ("PageSize", str(size)), ("Page", str(p))]
            return f"{base}?{urllib.parse.urlencode(query)}"

        has_next = (page_no + 1) * size < len(found)
        return json_response(
            {
                "incoming_phone_numbers": chunk,
                "start": page_no * size,
                "end": page_no * size + max(0, len(chunk) - 1),
                "page": page_no,
                "page_size": size,
                "uri": uri(page_no),
                "first_page_uri": uri(0),
                "next_page_uri": uri(page_no + 1) if has_next else None,
                "previous_page_uri": uri(page_no - 1) if page_no > 0 else None,
            }
        )

    # sandbox ------------------------------------------------------------------------------------------
    def sandbox(self, request: Request) -> Response:
        adapter = SANDBOX_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return json_response({"error": "not found"}, 404)
        try:
            return getattr(self, f"sb_{endpoint}")(request, **values)
        except (ValueError, KeyError) as exc:
            return json_response({"error": str(exc)}, 400)

    def sb_api_config(self, request):
        if request.method == "POST":
            return json_response(self.state.configure(**_json_body(request)))
        with self.state.lock:
            return json_response(self.state.config())

    def sb_api_inbound(self, request):
        b = _json_body(request)
        msg = self.state.text_from(b["from"], b.get("body", ""), b.get("to"))
        return json_response(self.state.dump_message(msg), 201)

    def sb_api_faults(self, request):
        st = self.state
        if request.method == "POST":
            b = _json_body(request)
            rule = st.inject_fault(
                b.get("status", 500),
                int(b.get("count", 1)),
                float(b.get("delay", 0)),
                b.get("match", "create"),
            )
            return json_response(rule, 201)
        if request.method == "DELETE":
            st.faults.clear()
        return json_response(st.faults.rules)

    def sb_api_outcomes(self, request):
        b = _json_body(request)
        code = b.get("error_code")
        self.state.set_outcome(
            b["phone"], b.get("status", "delivered"), int(code) if code else None
        )
        return json_response({"ok": True})

    def sb_api_release(self, request):
        b = _json_body(request)
        return json_response({"released": self.state.release_scheduled(b.get("sid"))})

    def sb_api_messages(self, request):
        with self.state.lock:
            return json_response([self.state.dump_message(m) for m in self.state.messages.values()])

    def sb_api_callbacks(self, request):
        with self.state.lock:
            return json_response(list(self.state.callbacks))

    def sb_api_opt_outs(self, request):
        with self.state.lock:
            return json_response(list(self.state.opt_outs.values()))

    def sb_api_reset(self, request):
        self.state.reset()
        return json_response({"ok": True})

    def sb_ui_index(self, request):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        rows = []
        for p in st.phones():
            conv = st.conversation(p)
            last = conv[-1] if conv else None
            opted = ", ".join(k for (k, ph) in st.opt_outs if ph == p)
            rows.append(
                f"<tr><td><a href='{esc(phone_href(base, p))}'>{esc(p)}</a></td>"
                f"<td>{len(conv)}</td><td>{esc((last or {}).get('body', ''))[:80]}</td>"
                f"<td>{esc((last or {}).get('status', ''))}</td>"
                f"<td>{esc(opted) or '—'}</td></tr>"
            )
        table = (
            "<table><tr><th>Phone</th><th>Texts</th><th>Last text</th><th>Status</th>"
            "<th>Opted out of</th></tr>" + "".join(rows) + "</table>"
            if rows
            else "<p class='muted'>No texts yet. Send one through the API.</p>"
        )
        form = (
            f"<h3>Text in from a new number</h3><form method='post' action='{esc(base)}/phone/"
            "new/reply'><input name='from' placeholder='+15551234567' required> "
            "<input name='body' placeholder='Message' required> "
            "<button type='submit'>Send</button></form>"
        )
        info = (
            f"<p class='muted'>Account {esc(st.account_sid)} · inbound URL "
            f"{esc(st.inbound_url or 'not set')} · default status callback "
            f"{esc(st.status_callback or 'not set')}</p>"
        )
        return Response(page("Sandbox Twilio — phones", info + table + form), mimetype="text/html")

    def sb_ui_phone(self, request, phone):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        items = []
        for m in st.conversation(phone):
            if m["direction"] == "inbound":
                items.append(
                    {
                        "direction": "out",
                        "body": m["body"],
                        "at": m["_created"],
                        "peer": f"to {m['to']}",
                        "status": "",
                        "note": f"keyword {m['_keyword']}" if m.get("_keyword") else "",
                    }
                )
            else:
                cbs = [h for h in m["_history"] if h.get("callback")]
                note = ""
                if cbs:
                    note = f"callback HTTP {cbs[-1]['callback']['http_status']}"
                items.append(
                    {
                        "direction": "in",
                        "body": m["body"],
                        "at": m["_created"],
                        "peer": f"from {m['from'] or m['_sender']}",
                        "status": m["status"]
                        + (f" ({m['error_code']})" if m["error_code"] else ""),
                        "note": note,
                    }
                )
        senders = []
        for m in reversed(st.conversation(phone)):
            s = m["to"] if m["direction"] == "inbound" else m["_sender"]
            if s and s not in senders:
                senders.append(s)
        if not senders:
            senders = [DEFAULT_SERVICE_NUMBER]
        html = conversation_html(
            phone, items, phone_href(base, phone) + "/reply", senders, f"{base}/"
        )
        return Response(page(f"Sandbox Twilio — {phone}", html), mimetype="text/html")

    def sb_ui_reply(self, request, phone):
        base = f"{request.script_root}/_sandbox"
        if phone == "new":
            phone = (request.form.get("from") or "").strip()
        body = request.form.get("body") or ""
        if not is_e164(phone) or not body.strip():
            return redirect(f"{base}/")
        self.state.text_from(phone, body, request.form.get("to") or None)
        return redirect(phone_href(base, phone))
