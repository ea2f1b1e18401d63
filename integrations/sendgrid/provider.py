"""SendGrid adapter: :class:`EmailProvider` on the official SDK."""

from __future__ import annotations

from typing import Any

from integrations.messaging import (
    DeliveryUpdate,
    EmailMessage,
    EmailProvider,
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
        self.client = SendGridClient(
            config_value(config, "api_key") or "",
            base_url=config_value(config, "base_url") or DEFAULT_BASE_URL,
            **client_kwargs,
        )

    def build_payload(self, message: EmailMessage) -> dict[str, Any]:
        return build_mail_payload(
            message,
            default_from_email=self.from_email,
            default_from_name=self.from_name,
            default_reply_to=self.reply_to,
        )

    def send(self, message: EmailMessage) -> SendResult:
        return self.client.send(self.build_payload(message))

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
