"""SendGrid adapter: :class:`EmailProvider` on the official SDK."""

from __future__ import annotations

import json
from typing import Any

from integrations.messaging import (
    DeliveryUpdate,
    EmailMessage,
    EmailProvider,
    NotFound,
    SendResult,
    WebhookRequest,
    config_value,
    header_value,
)
from integrations.registry import register
from integrations.sendgrid.client import DEFAULT_BASE_URL, SendGridClient, build_mail_payload
from integrations.sendgrid.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    parse_events,
    verify_event_webhook,
)


@register("sendgrid")
class SendGridEmailProvider(EmailProvider):
    """SendGrid. ``config``: a dict or object with ``api_key``, ``base_url`` (default
    ``https://api.sendgrid.com``; the EU region is ``https://api.eu.sendgrid.com``),
    ``from_email``, ``from_name``, ``reply_to`` (defaults for messages that set none) and
    ``webhook_public_key`` (Mail Settings → Event Webhook → Signature Verification). Extra
    keyword arguments go to :class:`SendGridClient` (``on_call``, ``timeout``, ``sleep``...)."""

    identifier = "sendgrid"
    display_name = "SendGrid"

    def __init__(self, config: Any, **client_kwargs: Any) -> None:
        self.from_email = config_value(config, "from_email")
        self.from_name = config_value(config, "from_name")
        self.reply_to = config_value(config, "reply_to")
        self.webhook_public_key = config_value(config, "webhook_public_key")
        self.base_url = config_value(config, "base_url") or DEFAULT_BASE_URL
        self.client = SendGridClient(
            config_value(config, "api_key") or "",
            base_url=self.base_url,
            **client_kwargs,
        )

    def build_payload(self, message: EmailMessage) -> dict[str, Any]:
        payload = build_mail_payload(
            message,
            default_from_email=self.from_email,
            default_from_name=self.from_name,
            default_reply_to=self.reply_to,
        )
        if message.headers:
            # Mail Send's top-level "headers": string values, added to the MIME message as-is
            # (List-Unsubscribe and List-Unsubscribe-Post travel this way).
            payload["headers"] = {str(k): str(v) for k, v in message.headers.items()}
        return payload

    def send(self, message: EmailMessage) -> SendResult:
        return self.client.send(self.build_payload(message))

    def configure_inbound(self, *, hostname: str, url: str) -> bool:
        """Inbound Parse for ``hostname`` posts to ``url``: ``PATCH
        /v3/user/webhooks/parse/settings/<hostname>`` when the setting exists, else ``POST
        /v3/user/webhooks/parse/settings`` (parsed mode, no spam check). Through the SDK, so
        through the one guarded HTTP client."""
        settings = self.client.sg.client.user.webhooks.parse.settings
        body = {"url": url, "spam_check": False, "send_raw": False}
        try:
            current = settings._(hostname).get()
        except NotFound:
            settings.post(request_body={"hostname": hostname, **body})
            return True
        if json.loads(current.body or b"{}").get("url") != url:
            settings._(hostname).patch(request_body=body)
        return True

    def find_sent(self, our_message_id: str) -> SendResult | None:
        """The e-mail SendGrid has with our id, through the Email Activity API (see
        :meth:`SendGridClient.find_by_message_id`); raises NotSupported without that add-on."""
        return self.client.find_by_message_id(our_message_id)

    def verify_webhook(self, request: WebhookRequest, *, now: float | None = None) -> bool:
        return verify_event_webhook(
            request.raw_body,
            header_value(request.headers, SIGNATURE_HEADER),
            header_value(request.headers, TIMESTAMP_HEADER),
            self.webhook_public_key,
            now=now,
        )

    def parse_webhook(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        return parse_events(request.raw_body)
