"""All mutable state of the fake SendGrid: keys, the outbox of sent mail, event settings,
deliveries and faults."""

from __future__ import annotations

import base64
import hmac
import threading
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from integrations.sandbox._common import Faults, WebhookDispatcher
from integrations.sandbox.sendgrid.activity import ActivityMixin
from integrations.sandbox.sendgrid.contract import DEFAULT_API_KEY, SendGridError, b64id
from integrations.sandbox.sendgrid.events import EventsMixin
from integrations.sandbox.sendgrid.inbound import InboundMixin
from integrations.sandbox.sendgrid.validation import validate_mail


class SendGridState(EventsMixin, ActivityMixin, InboundMixin):
    """Mail store, event webhook config per account and the ECDSA key.

    Every API key is an account (a SendGrid user or subuser): its Event Webhook setting
    (:meth:`hook_for`) is its own, as in SendGrid's Mail Settings, and a mail's events go to the
    webhook of the account whose key sent it.

    Operations: :meth:`send` (what the API does), :meth:`emit_event` (engagement events),
    :meth:`reply_as_candidate` (an Inbound Parse POST), :meth:`parse_setting_put`,
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

    @property
    def event_webhook(self) -> dict:
        """The default account's Event Webhook setting (the one the demo uses)."""
        return self.hook_for(self.default_key)

    def hook_for(self, key: str | None) -> dict:
        """The Event Webhook setting of the account of API key ``key`` (the default account's
        when none is given); the dict itself, to read or change under :attr:`lock`."""
        with self.lock:
            return self.accounts.setdefault(
                key or self.default_key, {"url": None, "enabled": True, "signed": True}
            )

    def _install_defaults(self) -> None:
        self.api_keys: set[str] = {self.default_key}
        self.accounts: dict[str, dict] = {}
        self.verified_senders: set[str] | None = None
        self.email_activity = False
        self.mails: dict[str, dict] = {}
        self.suppressions: dict[str, str] = {}
        if hasattr(self, "inbound_dispatcher"):
            self.inbound_dispatcher.cancel_all()
        self._install_inbound()

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
        self,
        url: str | None = None,
        enabled: bool = True,
        signed: bool = True,
        api_key: str | None = None,
    ) -> dict:
        """Set the Event Webhook of ``api_key``'s account (made, key accepted, if new)."""
        with self.lock:
            if api_key:
                self.api_keys.add(api_key)
            hook = self.hook_for(api_key)
            hook.update({"url": url, "enabled": bool(enabled), "signed": bool(signed)})
            return dict(hook)

    def inject_fault(self, status: int | None = 500, count: int = 1, delay: float = 0.0) -> dict:
        """Next ``count`` API requests answer ``status`` (429 with rate-limit headers)."""
        return self.faults.add("/v3/", status, count, delay)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        return self.dispatcher.wait_idle(timeout)

    def check_key(self, key: str | None) -> bool:
        with self.lock:
            return bool(key) and any(hmac.compare_digest(key, k) for k in self.api_keys)

    def mails_to(self, email: str) -> list[dict]:
        low = email.lower()
        with self.lock:
            return [
                m
                for m in self.mails.values()
                if any(r["email"].lower() == low for r in m["recipients"])
            ]

    # sending ------------------------------------------------------------------------------------
    def send(self, payload, api_key: str = "") -> dict:
        """Validate and store a mail sent with ``api_key`` (the default account's when empty);
        fire events to that account's webhook.  Raises :class:`SendGridError`."""
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
            xmid = b64id(16)
            mail = self._store(xmid, payload, sandbox)
            mail["account"] = api_key or self.default_key
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
