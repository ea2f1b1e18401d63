"""Fake SendGrid v3 Mail Send with a signed Event Webhook and an e-mail outbox, as a WSGI app.

Mount the app anywhere (the sandbox server uses ``/sendgrid``); point the API base
(``https://api.sendgrid.com/v3/``) at ``{sandbox}/sendgrid/v3/``.

Default credentials
    ``Authorization: Bearer SG.sandbox-key``.  Missing/wrong key → 401
    ``{"errors":[{"field":null,"message":"The provided authorization grant is invalid, expired,
    or revoked"}]}``.

``POST /v3/mail/send``
    Validated like SendGrid (all problems reported at once): personalizations (1–1000, each with
    ≥1 valid ``to``, unique addresses), ``from.email``, ``subject`` (top level or in every
    personalization, unless ``template_id``), ``content`` (or ``template_id``; text/plain first;
    non-empty values), ``reply_to`` xor ``reply_to_list``, string ``custom_args`` values,
    ≤1000 recipients over to/cc/bcc, ``send_at`` ≤ 72 h ahead → 400
    ``{"errors":[{"message","field","help"}]}``; body > 30 MB → 413; unverified sender (when
    :attr:`SendGridState.verified_senders` is set) → 403.  Success: **202**, empty body,
    ``X-Message-Id``.  ``mail_settings.sandbox_mode.enable`` → 200, no events.

Event Webhook
    One JSON array per send (all recipients): ``processed`` then ``delivered``; addresses at
    ``bounce.test`` → ``bounce`` (type bounce), ``blocked.test`` → ``bounce`` (type blocked),
    ``deferred.test`` → ``deferred`` then ``delivered``; local part ``invalid`` or a suppressed
    address (earlier bounce / unsubscribe / spam report) → ``dropped`` only.  Each event has
    ``email, timestamp, event, sg_event_id, sg_message_id (X-Message-Id + "."…), smtp-id,
    category`` and the merged ``custom_args`` as top-level keys.  Signed with an ECDSA P-256 key
    made at start: ``X-Twilio-Email-Event-Webhook-Signature`` (base64 DER over
    ``timestamp + body``) and ``X-Twilio-Email-Event-Webhook-Timestamp``; public key (base64 DER
    SubjectPublicKeyInfo) at ``GET /v3/user/webhooks/event/settings/signed``.  Non-2xx answers
    are retried (delays × ``retry_scale``).

Email Activity API (a paid add-on at SendGrid: off until enabled with ``api/config
{"email_activity": true}`` or :attr:`SendGridState.email_activity`; off → 403 "access forbidden")
    ``GET /v3/messages?query=…&limit=…`` (limit 1–1000, default 10): one entry per recipient
    ``{from_email, msg_id (= sg_message_id), subject, to_email, status (processed | delivered |
    not_delivered), opens_count, clicks_count, last_event_time}``, newest first.  The query is
    conditions joined by ``AND``: ``msg_id``, ``to_email``, ``from_email``, ``subject``,
    ``status`` with ``="…"`` or ``!="…"``, ``msg_id LIKE '<X-Message-Id>%'`` and
    ``unique_args['<name>']="…"`` (our ``custom_args``); anything else → 400.  Sandbox-mode mails
    are not in the activity.

Sandbox control (no auth) under ``/_sandbox/``
    ``/_sandbox/`` outbox, ``/_sandbox/mail/<id>`` one mail (HTML in a sandboxed iframe, text
    part, buttons to emit engagement events).  JSON: ``GET|POST api/config {event_url, enabled,
    signed}``, ``POST api/events {message_id, event: open|click|spamreport|unsubscribe|
    group_unsubscribe|…, email?, url?}``, ``GET api/mails``, ``GET api/mails/<id>``,
    ``GET api/deliveries``, ``GET|POST|DELETE api/faults {status, count}``, ``POST api/reset``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import Faults, WebhookDispatcher, esc, json_response, redirect
from integrations.sandbox.phone import page

DEFAULT_API_KEY = "SG.sandbox-key"
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.{}"
BAD_AUTH = {
    "errors": [
        {
            "field": None,
            "message": "The provided authorization grant is invalid, expired, or revoked",
        }
    ]
}
EMAIL_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
MAX_BYTES = 30 * 1024 * 1024
ENGAGEMENT = {
    "open",
    "click",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
    "group_resubscribe",
}
SUPPRESSING = {"bounce": "Bounced Address", "spamreport": "Spam Reporting Address",
               "unsubscribe": "Unsubscribed Address"}  # fmt: skip


class SendGridError(Exception):
    def __init__(self, status: int, errors: list[dict], headers: dict | None = None):
        super().__init__(errors[0]["message"] if errors else str(status))
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def _err(message: str, field: str | None, help_key: str | None = None) -> dict:
    return {
        "message": message,
        "field": field,
        "help": HELP.format(help_key or field) if (help_key or field) else None,
    }


def _b64id(n: int = 16) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(n)).decode().rstrip("=")


def validate_mail(payload, now: float | None = None) -> list[dict]:
    """SendGrid-style validation of a ``/v3/mail/send`` body; returns the error list."""
    now = time.time() if now is None else now
    errors: list[dict] = []
    if not isinstance(payload, dict):
        return [{"message": "Bad Request", "field": None, "help": None}]
    pers = payload.get("personalizations")
    template_id = payload.get("template_id")
    if not isinstance(pers, list) or not pers:
        errors.append(
            _err(
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
                "personalizations",
            )
        )
        pers = []
    if len(pers) > 1000:
        errors.append(
            _err(
                "The personalizations field must have no more than 1000 objects.",
                "personalizations",
            )
        )
    total = 0
    for i, p in enumerate(pers):
        if not isinstance(p, dict):
            errors.append(_err("Invalid type. Expected: object.", f"personalizations.{i}"))
            continue
        to = p.get("to")
        if not isinstance(to, list) or not to:
            errors.append(
                _err(
                    "The to array is required for all personalization objects, and must have at "
                    "least one email object with a valid email address.",
                    f"personalizations.{i}.to",
                    "personalizations.to",
                )
            )
        seen: dict[str, str] = {}
        for kind in ("to", "cc", "bcc"):
            lst = p.get(kind) or []
            if not isinstance(lst, list):
                errors.append(
                    _err("Invalid type. Expected: array.", f"personalizations.{i}.{kind}")
                )
                continue
            total += len(lst)
            for j, addr in enumerate(lst):
                em = addr.get("email") if isinstance(addr, dict) else None
                if not isinstance(em, str) or not EMAIL_RE.match(em):
                    errors.append(
                        _err(
                            "Does not contain a valid address.",
                            f"personalizations.{i}.{kind}.{j}.email",
                            f"personalizations.{kind}",
                        )
                    )
                    continue
                name = addr.get("name")
                if isinstance(name, str) and (";" in name or "," in name):
                    errors.append(
                        _err(
                            "Names may not contain ; or , characters unless quoted.",
                            f"personalizations.{i}.{kind}.{j}.name",
                        )
                    )
                low = em.lower()
                if low in seen and not any(e["field"] == f"personalizations.{i}" for e in errors):
                    errors.append(
                        _err(
                            "Each email address in the personalization block should be unique "
                            "between to, cc, and bcc. We found the first duplicate instance of "
                            f"[{em}] in the personalizations.{i}.{kind} field.",
                            f"personalizations.{i}",
                            "personalizations",
                        )
                    )
                seen[low] = kind
        if "custom_args" in p:
            errors.extend(_check_custom_args(p["custom_args"], f"personalizations.{i}.custom_args"))
        if "send_at" in p:
            errors.extend(_check_send_at(p["send_at"], f"personalizations.{i}.send_at", now))
    if total > 1000:
        errors.append(
            _err(
                "The total number of recipients must be no more than 1000. This includes all "
                "recipients defined within the to, cc, and bcc parameters, across each of the "
                "personalizations.",
                "personalizations",
            )
        )
    frm = payload.get("from")
    if not isinstance(frm, dict) or not frm.get("email"):
        errors.append(
            _err(
                "The from object must be provided for every email send. It is an object that "
                "requires the email parameter, but may also contain a name parameter.  e.g. "
                '{"email" : "example@example.com"}  or {"email" : "example@example.com", '
                '"name" : "Example Recipient"}.',
                "from.email",
                "from",
            )
        )
    elif not EMAIL_RE.match(str(frm["email"])) or not str(frm["email"]).isascii():
        errors.append(
            _err("The from email does not contain a valid address.", "from.email", "from")
        )
    if "reply_to" in payload and "reply_to_list" in payload:
        errors.append(
            _err(
                "The reply_to and reply_to_list properties are mutually exclusive. Please "
                "provide either reply_to or reply_to_list, but not both.",
                "reply_to",
                "reply_to",
            )
        )
    if not template_id:
        subject = payload.get("subject")
        if not (isinstance(subject, str) and subject) and not (
            pers and all(isinstance(p, dict) and p.get("subject") for p in pers)
        ):
            errors.append(
                _err(
                    "The subject is required. You can get around this requirement if you use a "
                    "template with a subject defined or if every personalization has a subject "
                    "defined.",
                    "subject",
                )
            )
    content = payload.get("content")
    if content is None or content == []:
        if not template_id:
            errors.append(
                _err(
                    "Unless a valid template_id is provided, the content parameter is required. "
                    "There must be at least one defined content block. We typically suggest both "
                    "text/plain and text/html blocks are included, but only one block is "
                    "required.",
                    "content",
                )
            )
    elif not isinstance(content, list):
        errors.append(_err("Invalid type. Expected: array.", "content"))
    else:
        types = []
        for k, c in enumerate(content):
            if not isinstance(c, dict) or not isinstance(c.get("type"), str) or not c["type"]:
                errors.append(_err("The content type is required.", f"content.{k}.type", "content"))
                continue
            types.append(c["type"].lower())
            if not isinstance(c.get("value"), str) or not c["value"]:
                errors.append(
                    _err(
                        "The content value must be a string at least one character in length.",
                        f"content.{k}.value",
                        "content.value",
                    )
                )
        if "text/plain" in types and types[0] != "text/plain":
            errors.append(
                _err(
                    "If present, text/plain content must be first, followed by text/html, "
                    "followed by any other content.",
                    "content",
                    "content.type",
                )
            )
    if "custom_args" in payload:
        errors.extend(_check_custom_args(payload["custom_args"], "custom_args"))
    if "send_at" in payload:
        errors.extend(_check_send_at(payload["send_at"], "send_at", now))
    cats = payload.get("categories")
    if cats is not None and (
        not isinstance(cats, list) or len(cats) > 10 or not all(isinstance(c, str) for c in cats)
    ):
        errors.append(_err("Categories must be an array of at most 10 strings.", "categories"))
    for k, att in enumerate(payload.get("attachments") or []):
        if not isinstance(att, dict) or not att.get("content") or not att.get("filename"):
            errors.append(
                _err(
                    "The attachment content and filename are required.",
                    f"attachments.{k}",
                    "attachments",
                )
            )
            continue
        try:
            base64.b64decode(att["content"], validate=True)
        except (binascii.Error, ValueError):
            errors.append(
                _err(
                    "The attachment content must be base64 encoded.",
                    f"attachments.{k}.content",
                    "attachments.content",
                )
            )
    return errors


def _check_custom_args(args, field: str) -> list[dict]:
    if not isinstance(args, dict):
        return [_err("Invalid type. Expected: object.", field, "custom_args")]
    out = []
    for k, v in args.items():
        if not isinstance(v, str):
            kind = "integer" if isinstance(v, int) else type(v).__name__
            out.append(
                _err(
                    f"Invalid type. Expected: string, given: {kind}.", f"{field}.{k}", "custom_args"
                )
            )
    if len(json.dumps(args)) >= 10000:
        out.append(_err("The custom_args must total less than 10,000 bytes.", field, "custom_args"))
    return out


def _check_send_at(value, field: str, now: float) -> list[dict]:
    if not isinstance(value, int) or isinstance(value, bool):
        return [_err("send_at must be a UNIX timestamp (integer).", field, "send_at")]
    if value > now + 72 * 3600:
        return [
            _err("send_at cannot be scheduled more than 72 hours in advance.", field, "send_at")
        ]
    return []


class SendGridState:
    """Mail store, event webhook config and the ECDSA key.

    Operations: :meth:`send` (what the API does), :meth:`emit_event` (engagement events),
    :meth:`configure_events`, :meth:`add_api_key`, :meth:`inject_fault`, :meth:`reset`.
    Records: :attr:`mails` (X-Message-Id → dict), :attr:`deliveries` (webhook log).
    Tests: :meth:`wait_idle`, :meth:`mails_to`, :attr:`public_key_b64`.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        event_url: str | None = None,
        retry_delays: list[float] | None = None,
        retry_scale: float = 1 / 60,
    ):
        self.lock = threading.RLock()
        self.default_key = api_key
        self.retry_delays = retry_delays or [10, 60, 300, 1800, 3600, 7200]
        self.retry_scale = retry_scale
        self._private_key = ec.generate_private_key(ec.SECP256R1())
        der = self._private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key_b64 = base64.b64encode(der).decode("ascii")
        self.faults = Faults()
        self.deliveries: list[dict] = []
        self.dispatcher = WebhookDispatcher(
            self.deliveries,
            self.retry_delays,
            retry_scale,
            is_success=lambda code: 200 <= code < 300,
            user_agent="SendGrid Event API",
        )
        self._install_defaults()
        self.event_webhook["url"] = event_url

    def _install_defaults(self) -> None:
        self.api_keys: set[str] = {self.default_key}
        self.event_webhook = {"url": None, "enabled": True, "signed": True}
        self.verified_senders: set[str] | None = None
        self.email_activity = False
        self.mails: dict[str, dict] = {}
        self.suppressions: dict[str, str] = {}

    def reset(self) -> None:
        with self.lock:
            self.dispatcher.cancel_all()
            self.deliveries.clear()
            self.faults.clear()
            self._install_defaults()

    def add_api_key(self, key: str) -> None:
        with self.lock:
            self.api_keys.add(key)

    def configure_events(
        self, url: str | None = None, enabled: bool = True, signed: bool = True
    ) -> dict:
        with self.lock:
            self.event_webhook = {"url": url, "enabled": bool(enabled), "signed": bool(signed)}
            return dict(self.event_webhook)

    def inject_fault(self, status: int | None = 500, count: int = 1, delay: float = 0.0) -> dict:
        """Next ``count`` API requests answer ``status`` (429 with rate-limit headers)."""
        return self.faults.add("/v3/", status, count, delay)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        return self.dispatcher.wait_idle(timeout)

    def check_key(self, key: str | None) -> bool:
        with self.lock:
            return bool(key) and any(hmac.compare_digest(key, k) for k in self.api_keys)

    def sign(self, timestamp: str, body: bytes) -> str:
        sig = self._private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(sig).decode("ascii")

    def mails_to(self, email: str) -> list[dict]:
        low = email.lower()
        with self.lock:
            return [
                m
                for m in self.mails.values()
                if any(r["email"].lower() == low for r in m["recipients"])
            ]

    # email activity -----------------------------------------------------------------------------
    def activity(self, query: str, limit: int = 10) -> list[dict]:
        """The Email Activity API's ``GET /v3/messages``: recipients of stored (non-sandbox)
        mails matching ``query``, newest first.  Raises :class:`SendGridError`."""
        if not self.email_activity:
            raise SendGridError(403, [{"field": None, "message": "access forbidden"}])
        if not 1 <= limit <= 1000:
            raise SendGridError(
                400, [_err("limit must be greater than 0 and at most 1000", "limit")]
            )
        conditions = [_activity_condition(part) for part in _AND_RE.split(query.strip())]
        rows = []
        with self.lock:
            for mail in sorted(self.mails.values(), key=lambda m: -m["received_at"]):
                if mail["sandbox_mode"]:
                    continue
                for rcpt in mail["recipients"]:
                    row = _activity_row(mail, rcpt)
                    if all(check(row, rcpt) for check in conditions):
                        rows.append(row)
        return rows[:limit]

    # sending ------------------------------------------------------------------------------------
    def send(self, payload, api_key: str = "") -> dict:
        """Validate and store a mail; fire events.  Raises :class:`SendGridError`."""
        errors = validate_mail(payload)
        if errors:
            raise SendGridError(400, errors)
        with self.lock:
            frm = payload["from"]["email"]
            if self.verified_senders is not None and frm.lower() not in self.verified_senders:
                raise SendGridError(
                    403,
                    [
                        {
                            "field": "from",
                            "message": "The from address does not match a verified Sender "
                            "Identity. Mail cannot be sent until this error is resolved. Visit "
                            "https://sendgrid.com/docs/for-developers/sending-email/"
                            "sender-identity/ to see the Sender Identity requirements",
                            "help": None,
                        }
                    ],
                )
            sandbox = bool(
                ((payload.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable")
            )
            xmid = _b64id(16)
            mail = self._store(xmid, payload, sandbox)
            if not sandbox:
                self._delivery_events(mail)
            return mail

    def _store(self, xmid: str, payload: dict, sandbox: bool) -> dict:
        content = payload.get("content") or []
        text = next((c["value"] for c in content if c["type"].lower() == "text/plain"), None)
        html_part = next((c["value"] for c in content if c["type"].lower() == "text/html"), None)
        recipients = []
        top_args = payload.get("custom_args") or {}
        for i, p in enumerate(payload["personalizations"]):
            for kind in ("to", "cc", "bcc"):
                for j, addr in enumerate(p.get(kind) or []):
                    recipients.append(
                        {
                            "email": addr["email"],
                            "name": addr.get("name"),
                            "kind": kind,
                            "personalization": i,
                            "subject": p.get("subject") or payload.get("subject"),
                            "custom_args": {**top_args, **(p.get("custom_args") or {})},
                            "sg_message_id": f"{xmid}.recvd-sandbox-{i}-{kind}{j}-0",
                        }
                    )
        attachments = []
        for att in payload.get("attachments") or []:
            raw = base64.b64decode(att["content"])
            attachments.append(
                {
                    "filename": att.get("filename"),
                    "type": att.get("type"),
                    "disposition": att.get("disposition", "attachment"),
                    "content_id": att.get("content_id"),
                    "size": len(raw),
                    "content": raw,
                }
            )
        mail = {
            "id": xmid,
            "received_at": time.time(),
            "sandbox_mode": sandbox,
            "from": payload["from"],
            "reply_to": payload.get("reply_to"),
            "reply_to_list": payload.get("reply_to_list"),
            "subject": payload.get("subject"),
            "text": text,
            "html": html_part,
            "content": content,
            "template_id": payload.get("template_id"),
            "categories": payload.get("categories") or [],
            "custom_args": top_args,
            "headers": payload.get("headers") or {},
            "send_at": payload.get("send_at"),
            "batch_id": payload.get("batch_id"),
            "asm": payload.get("asm"),
            "tracking_settings": payload.get("tracking_settings"),
            "personalizations": payload["personalizations"],
            "recipients": recipients,
            "attachments": attachments,
            "events": [],
            "payload": payload,
        }
        self.mails[xmid] = mail
        return mail

    def _event(self, mail: dict, rcpt: dict, event: str, **extra) -> dict:
        ev = {
            "email": rcpt["email"],
            "timestamp": int(time.time()),
            "smtp-id": f"<{mail['id']}@ismtpd-sandbox>",
            "event": event,
            "sg_event_id": _b64id(16),
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
        self._post_events(events)

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
        self._post_events(events)
        return events

    def _post_events(self, events: list[dict]) -> None:
        with self.lock:
            hook = dict(self.event_webhook)
        if not events or not hook["url"] or not hook["enabled"]:
            return
        body = json.dumps(events, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if hook["signed"]:
            ts = str(int(time.time()))
            headers["X-Twilio-Email-Event-Webhook-Signature"] = self.sign(ts, body)
            headers["X-Twilio-Email-Event-Webhook-Timestamp"] = ts
        self.dispatcher.submit({"events": len(events)}, hook["url"], body, headers)


_AND_RE = re.compile(r"\s+AND\s+", re.I)
_CONDITION_RE = re.compile(
    r"""^\(?\s*(?:unique_args\['(?P<arg>[^']+)'\]|(?P<field>[a-z_]+))\s*"""
    r"""(?:(?P<op>!=|=)\s*"(?P<value>[^"]*)"|LIKE\s*'(?P<prefix>[^'%]*)%')\s*\)?$""",
    re.I,
)
_ACTIVITY_FIELDS = {"msg_id", "to_email", "from_email", "subject", "status"}


def _activity_status(mail: dict, rcpt: dict) -> str:
    names = {e["event"] for e in mail["events"] if e["email"].lower() == rcpt["email"].lower()}
    if names & {"bounce", "dropped"}:
        return "not_delivered"
    if "delivered" in names:
        return "delivered"
    return "processed"


def _activity_row(mail: dict, rcpt: dict) -> dict:
    mine = [e for e in mail["events"] if e["email"].lower() == rcpt["email"].lower()]
    last = max((e["timestamp"] for e in mine), default=int(mail["received_at"]))
    return {
        "from_email": mail["from"]["email"],
        "msg_id": rcpt["sg_message_id"],
        "subject": rcpt["subject"],
        "to_email": rcpt["email"],
        "status": _activity_status(mail, rcpt),
        "opens_count": sum(1 for e in mine if e["event"] == "open"),
        "clicks_count": sum(1 for e in mine if e["event"] == "click"),
        "last_event_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last)),
    }


def _activity_condition(text: str):
    match = _CONDITION_RE.match(text.strip())
    field = (match.group("field") or "").lower() if match else ""
    if not match or (field and field not in _ACTIVITY_FIELDS):
        raise SendGridError(400, [_err(f"invalid query: {text.strip()[:200]}", "query", "query")])
    arg, op, value, prefix = (match.group(k) for k in ("arg", "op", "value", "prefix"))

    def check(row: dict, rcpt: dict) -> bool:
        actual = str(rcpt["custom_args"].get(arg, "")) if arg else str(row.get(field) or "")
        if prefix is not None:
            return actual.startswith(prefix)
        return (actual == value) if op == "=" else (actual != value)

    return check


API_MAP = Map(
    [
        Rule("/v3/mail/send", methods=["POST"], endpoint="mail_send"),
        Rule("/v3/messages", methods=["GET"], endpoint="activity"),
        Rule(
            "/v3/user/webhooks/event/settings/signed",
            methods=["GET", "PATCH"],
            endpoint="signed",
        ),
        Rule("/v3/user/webhooks/event/settings", methods=["GET", "PATCH"], endpoint="settings"),
    ],
    strict_slashes=False,
)

SANDBOX_MAP = Map(
    [
        Rule("/_sandbox/", methods=["GET"], endpoint="ui_index"),
        Rule("/_sandbox/mail/<mid>", methods=["GET"], endpoint="ui_mail"),
        Rule("/_sandbox/mail/<mid>/event", methods=["POST"], endpoint="ui_event"),
        Rule("/_sandbox/api/config", methods=["GET", "POST"], endpoint="api_config"),
        Rule("/_sandbox/api/events", methods=["POST"], endpoint="api_events"),
        Rule("/_sandbox/api/mails", methods=["GET"], endpoint="api_mails"),
        Rule("/_sandbox/api/mails/<mid>", methods=["GET"], endpoint="api_mail"),
        Rule("/_sandbox/api/deliveries", methods=["GET"], endpoint="api_deliveries"),
        Rule("/_sandbox/api/faults", methods=["GET", "POST", "DELETE"], endpoint="api_faults"),
        Rule("/_sandbox/api/reset", methods=["POST"], endpoint="api_reset"),
    ]
)


def _mail_json(mail: dict) -> dict:
    out = {k: v for k, v in mail.items() if k not in ("attachments", "payload")}
    out["attachments"] = [
        {**{k: v for k, v in a.items() if k != "content"}, "content_b64": base64.b64encode(
            a["content"]).decode()} for a in mail["attachments"]
    ]  # fmt: skip
    return out


class SendGridApp:
    """WSGI application: ``/v3/mail/send``, the signed-webhook key, and the outbox screens."""

    def __init__(self, state: SendGridState | None = None):
        self.state = state or SendGridState()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except SendGridError as exc:
            response = json_response({"errors": exc.errors}, exc.status, exc.headers)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox"):
            return self.sandbox(request)
        st = self.state
        adapter = API_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException as exc:
            code = exc.code or 404
            return json_response({"errors": [{"field": None, "message": exc.name}]}, code)
        header = request.headers.get("Authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else None
        if not st.check_key(key):
            return json_response(BAD_AUTH, 401)
        fault = st.faults.take(request.path)
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            status = fault["status"]
            if status == 429:
                reset = int(time.time()) + 1
                raise SendGridError(
                    429,
                    [{"field": None, "message": "too many requests"}],
                    {"X-RateLimit-Limit": 600, "X-RateLimit-Remaining": 0,
                     "X-RateLimit-Reset": reset},
                )  # fmt: skip
            if status:
                raise SendGridError(
                    int(status), [{"field": None, "message": "Internal Server Error"}]
                )
        return getattr(self, f"api_{endpoint}")(request)

    def api_mail_send(self, request: Request) -> Response:
        if (request.content_length or 0) > MAX_BYTES:
            raise SendGridError(
                413, [{"field": None, "message": "Request Entity Too Large", "help": None}]
            )
        raw = request.get_data()
        if len(raw) > MAX_BYTES:
            raise SendGridError(
                413, [{"field": None, "message": "Request Entity Too Large", "help": None}]
            )
        try:
            payload = json.loads(raw)
        except ValueError:
            raise SendGridError(
                400, [{"message": "Bad Request", "field": None, "help": None}]
            ) from None
        mail = self.state.send(payload)
        if mail["sandbox_mode"]:
            return Response("", status=200)
        resp = Response("", status=202)
        resp.headers["X-Message-Id"] = mail["id"]
        return resp

    def api_activity(self, request: Request) -> Response:
        try:
            limit = int(request.args.get("limit", 10))
        except ValueError:
            raise SendGridError(400, [_err("limit must be a number", "limit")]) from None
        rows = self.state.activity(request.args.get("query", ""), limit)
        return json_response({"messages": rows})

    def api_signed(self, request: Request) -> Response:
        st = self.state
        if request.method == "PATCH":
            body = request.get_json(silent=True) or {}
            with st.lock:
                st.event_webhook["signed"] = bool(body.get("enabled", True))
        return json_response({"public_key": st.public_key_b64})

    def api_settings(self, request: Request) -> Response:
        st = self.state
        with st.lock:
            if request.method == "PATCH":
                body = request.get_json(silent=True) or {}
                if "url" in body:
                    st.event_webhook["url"] = body["url"]
                if "enabled" in body:
                    st.event_webhook["enabled"] = bool(body["enabled"])
            hook = dict(st.event_webhook)
        names = ["processed", "delivered", "deferred", "bounce", "dropped", "open", "click",
                 "spam_report", "unsubscribe", "group_unsubscribe", "group_resubscribe"]  # fmt: skip
        return json_response(
            {"enabled": hook["enabled"], "url": hook["url"] or "", **{n: True for n in names}}
        )

    # sandbox --------------------------------------------------------------------------------------
    def sandbox(self, request: Request) -> Response:
        adapter = SANDBOX_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return json_response({"error": "not found"}, 404)
        try:
            return getattr(self, f"sb_{endpoint}")(request, **values)
        except KeyError as exc:
            return json_response({"error": str(exc.args[0] if exc.args else exc)}, 404)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)

    def sb_api_config(self, request):
        st = self.state
        if request.method == "POST":
            b = request.get_json(silent=True) or {}
            if "email_activity" in b:
                with st.lock:
                    st.email_activity = bool(b["email_activity"])
            if set(b) - {"email_activity"} or not b:
                st.configure_events(
                    b.get("event_url", b.get("url")), b.get("enabled", True), b.get("signed", True)
                )
            with st.lock:
                return json_response({**st.event_webhook, "email_activity": st.email_activity})
        with st.lock:
            return json_response(
                {
                    **st.event_webhook,
                    "public_key": st.public_key_b64,
                    "email_activity": st.email_activity,
                }
            )

    def sb_api_events(self, request):
        b = dict(request.get_json(silent=True) or {})
        mid = b.pop("message_id")
        event = b.pop("event")
        email = b.pop("email", None)
        return json_response(self.state.emit_event(mid, event, email, **b), 201)

    def sb_api_mails(self, request):
        with self.state.lock:
            return json_response([_mail_json(m) for m in self.state.mails.values()])

    def sb_api_mail(self, request, mid):
        with self.state.lock:
            return json_response(_mail_json(self.state.mails[mid]))

    def sb_api_deliveries(self, request):
        return json_response(list(self.state.deliveries))

    def sb_api_faults(self, request):
        st = self.state
        if request.method == "POST":
            b = request.get_json(silent=True) or {}
            rule = st.inject_fault(
                b.get("status", 500), int(b.get("count", 1)), float(b.get("delay", 0))
            )
            return json_response(rule, 201)
        if request.method == "DELETE":
            st.faults.clear()
        return json_response(st.faults.rules)

    def sb_api_reset(self, request):
        self.state.reset()
        return json_response({"ok": True})

    def sb_ui_index(self, request):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        with st.lock:
            mails = list(reversed(st.mails.values()))
            hook = dict(st.event_webhook)
        rows = []
        for m in mails:
            to = ", ".join(r["email"] for r in m["recipients"] if r["kind"] == "to")
            subject = m["subject"] or (m["recipients"][0]["subject"] if m["recipients"] else "")
            last = m["events"][-1]["event"] if m["events"] else ("sandbox_mode" if
                                                                 m["sandbox_mode"] else "")  # fmt: skip
            when = time.strftime("%H:%M:%S", time.gmtime(m["received_at"]))
            rows.append(
                f"<tr><td>{when}</td><td>{esc(m['from'].get('email'))}</td><td>{esc(to)}</td>"
                f"<td><a href='{esc(base)}/mail/{esc(m['id'])}'>"
                f"{esc(subject or m['template_id'] or '(no subject)')}</a></td>"
                f"<td>{esc(last)}</td></tr>"
            )
        table = (
            "<table><tr><th>Time (UTC)</th><th>From</th><th>To</th><th>Subject</th>"
            "<th>Last event</th></tr>" + "".join(rows) + "</table>"
            if rows
            else "<p class='muted'>No mail sent yet.</p>"
        )
        info = (
            f"<p class='muted'>Event webhook: {esc(hook['url'] or 'not set')} "
            f"({'enabled' if hook['enabled'] else 'disabled'}, "
            f"{'signed' if hook['signed'] else 'unsigned'})</p>"
        )
        return Response(
            page("Sandbox SendGrid — outbox", info + table, "sendgrid"), mimetype="text/html"
        )

    def sb_ui_mail(self, request, mid):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        with st.lock:
            m = st.mails.get(mid)
            if m is None:
                return Response("Not found", status=404)
            m = dict(m, events=list(m["events"]))
        rcpts = "".join(
            f"<li>{esc(r['kind'])}: {esc(r['name'] or '')} &lt;{esc(r['email'])}&gt; — "
            f"subject “{esc(r['subject'] or '')}”, custom_args "
            f"<code>{esc(json.dumps(r['custom_args']))}</code></li>"
            for r in m["recipients"]
        )
        parts = [
            f"<p><a href='{esc(base)}/'>← outbox</a></p>",
            f"<p><b>From</b> {esc(m['from'].get('name') or '')} &lt;{esc(m['from']['email'])}"
            f"&gt; · <b>X-Message-Id</b> <code>{esc(m['id'])}</code>"
            + (f" · <b>template</b> {esc(m['template_id'])}" if m["template_id"] else "")
            + (f" · <b>categories</b> {esc(', '.join(m['categories']))}" if m["categories"] else "")
            + "</p>",
            f"<ul>{rcpts}</ul>",
        ]
        if m["html"] is not None:
            parts.append(
                "<h3>HTML part</h3><iframe sandbox='' title='HTML part' "
                "style='width:100%;height:420px;border:1px solid #c7cbd1;background:#fff' "
                f'srcdoc="{esc(m["html"])}"></iframe>'
            )
        if m["text"] is not None:
            parts.append(
                "<h3>Text part</h3><pre style='background:#fff;padding:12px;"
                f"border:1px solid #c7cbd1;white-space:pre-wrap'>{esc(m['text'])}</pre>"
            )
        if m["template_id"]:
            data = [p.get("dynamic_template_data") for p in m["personalizations"]]
            parts.append(
                f"<h3>dynamic_template_data</h3><pre>{esc(json.dumps(data, indent=2))}</pre>"
            )
        if m["attachments"]:
            parts.append(
                "<h3>Attachments</h3><ul>"
                + "".join(
                    f"<li>{esc(a['filename'])} ({esc(a['type'])}, {a['size']} bytes)</li>"
                    for a in m["attachments"]
                )
                + "</ul>"
            )
        buttons = "".join(
            f"<form method='post' action='{esc(base)}/mail/{esc(mid)}/event' class='inline'>"
            f"<input type='hidden' name='event' value='{e}'><button type='submit'>{e}</button>"
            "</form> "
            for e in ("open", "click", "spamreport", "unsubscribe")
        )
        parts.append(f"<h3>Simulate recipient</h3><p>{buttons}</p>")
        ev_rows = "".join(
            f"<tr><td>{esc(e['event'])}</td><td>{esc(e['email'])}</td>"
            f"<td><code>{esc(e['sg_event_id'])}</code></td></tr>"
            for e in m["events"]
        )
        parts.append(
            "<h3>Events</h3><table><tr><th>Event</th><th>Email</th><th>sg_event_id</th></tr>"
            f"{ev_rows}</table>"
        )
        subject = m["subject"] or (m["recipients"][0]["subject"] if m["recipients"] else "")
        return Response(
            page(f"Mail — {subject or mid}", "".join(parts), "sendgrid"), mimetype="text/html"
        )

    def sb_ui_event(self, request, mid):
        event = request.form.get("event") or "open"
        self.state.emit_event(mid, event)
        return redirect(f"{request.script_root}/_sandbox/mail/{urllib.parse.quote(mid)}")
