"""Twilio's requests to the product: signed status callbacks and inbound texts POSTed to a
number's webhook (with TwiML replies read back)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import time
import urllib.parse
from datetime import UTC, datetime

from integrations.sandbox.phone import country_of, http_post, is_e164, keyword
from integrations.sandbox.twilio.contract import (
    API_VERSION,
    AUTO_REPLIES,
    DEFAULT_SERVICE_NUMBER,
    ERROR_MESSAGES,
    TWIML_MESSAGE_RE,
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


class CallbacksMixin:
    """Status callbacks and inbound texts (part of :class:`TwilioState`)."""

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
