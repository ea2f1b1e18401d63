"""Messages in the fake Twilio: create (validation, opt-outs, scheduling), delivery
outcomes, cancel, and the queries behind the list endpoint and the phone screen."""

from __future__ import annotations

import secrets
import time
import urllib.parse
from datetime import UTC, datetime

from integrations.sandbox.phone import is_e164, rfc2822, segments
from integrations.sandbox.twilio.contract import (
    API_VERSION,
    DEFAULT_SERVICE_NUMBER,
    ERROR_MESSAGES,
    PUBLIC_FIELDS,
    TERMINAL,
    TwilioError,
    parse_date,
)


class MessagesMixin:
    """Creating, delivering and listing messages (part of :class:`TwilioState`)."""

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
                send_at = parse_date(raw)
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
                if after and ts < (parse_date(after) or 0):
                    continue
                if before and ts >= (parse_date(before) or float("inf")):
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
