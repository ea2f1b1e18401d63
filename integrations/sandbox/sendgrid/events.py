"""The Event Webhook: processed, delivered, bounce and engagement events for each recipient,
signed and POSTed in batches."""

from __future__ import annotations

import base64
import json
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from integrations.sandbox.sendgrid.contract import SUPPRESSING, b64id


class EventsMixin:
    """Events and their signed deliveries (part of :class:`SendGridState`)."""

    def sign(self, timestamp: str, body: bytes) -> str:
        sig = self._private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(sig).decode("ascii")

    def _event(self, mail: dict, rcpt: dict, event: str, **extra) -> dict:
        ev = {
            "email": rcpt["email"],
            "timestamp": int(time.time()),
            "smtp-id": f"<{mail['id']}@ismtpd-sandbox>",
            "event": event,
            "sg_event_id": b64id(16),
            "sg_message_id": rcpt["sg_message_id"],
        }
        cats = mail["categories"]
        if cats:
            ev["category"] = cats[0] if len(cats) == 1 else list(cats)
        if (mail.get("asm") or {}).get("group_id") is not None:
            ev["asm_group_id"] = mail["asm"]["group_id"]
        ev.update(extra)
        for k, v in rcpt["custom_args"].items():
            ev.setdefault(k, v)
        mail["events"].append(ev)
        return ev

    def _delivery_events(self, mail: dict) -> None:
        events = []
        for rcpt in mail["recipients"]:
            addr = rcpt["email"].lower()
            local, _, domain = addr.partition("@")
            if local == "invalid" or addr in self.suppressions:
                reason = self.suppressions.get(addr, "Invalid")
                events.append(self._event(mail, rcpt, "dropped", reason=reason, status="5.0.0"))
                continue
            events.append(self._event(mail, rcpt, "processed"))
            if domain == "bounce.test":
                self.suppressions[addr] = SUPPRESSING["bounce"]
                events.append(
                    self._event(
                        mail,
                        rcpt,
                        "bounce",
                        type="bounce",
                        status="5.1.1",
                        reason="550 5.1.1 The email account that you tried to reach does not "
                        "exist.",
                        bounce_classification="Invalid Address",
                    )
                )
            elif domain == "blocked.test":
                events.append(
                    self._event(
                        mail,
                        rcpt,
                        "bounce",
                        type="blocked",
                        status="5.7.1",
                        reason="550 5.7.1 Message rejected due to local policy",
                        bounce_classification="Reputation",
                    )
                )
            else:
                if domain == "deferred.test":
                    events.append(
                        self._event(
                            mail,
                            rcpt,
                            "deferred",
                            attempt="1",
                            response="421 4.7.0 Try again later",
                        )
                    )
                events.append(self._event(mail, rcpt, "delivered", response="250 2.0.0 OK", tls=1))
        self._post_events(events, mail)

    def emit_event(self, message_id: str, event: str, email: str | None = None, **extra) -> list:
        """Emit an engagement event (open, click, spamreport, unsubscribe, group_unsubscribe,
        group_resubscribe) or any other event name for a stored mail; ``email`` defaults to
        every recipient.  Returns the events posted."""
        with self.lock:
            mail = self.mails.get(message_id)
            if mail is None:
                raise KeyError(f"no mail {message_id}")
            rcpts = [
                r
                for r in mail["recipients"]
                if email is None or r["email"].lower() == email.lower()
            ]
            if not rcpts:
                raise KeyError(f"{email} is not a recipient of {message_id}")
            defaults: dict = {}
            if event in ("open", "click"):
                defaults = {
                    "useragent": "Mozilla/5.0 (sandbox)",
                    "ip": "127.0.0.1",
                    "sg_machine_open": False,
                }
                if event == "click":
                    defaults.update({"url": "https://example.com/", "url_offset": {"index": 0,
                                     "type": "html"}})  # fmt: skip
                    defaults.pop("sg_machine_open")
            events = []
            for r in rcpts:
                if event in SUPPRESSING:
                    self.suppressions[r["email"].lower()] = SUPPRESSING[event]
                events.append(self._event(mail, r, event, **{**defaults, **extra}))
        self._post_events(events, mail)
        return events

    def _post_events(self, events: list[dict], mail: dict) -> None:
        """POST ``events`` of ``mail`` to the webhook of the account that sent it."""
        with self.lock:
            hook = dict(self.hook_for(mail.get("account")))
        if not events or not hook["url"] or not hook["enabled"]:
            return
        body = json.dumps(events, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if hook["signed"]:
            ts = str(int(time.time()))
            headers["X-Twilio-Email-Event-Webhook-Signature"] = self.sign(ts, body)
            headers["X-Twilio-Email-Event-Webhook-Timestamp"] = ts
        self.dispatcher.submit({"events": len(events)}, hook["url"], body, headers)
