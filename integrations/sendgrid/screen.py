"""SendGrid on Settings → Messaging (e-mail): the API key, sender and Event Webhook verification
key, checked with a send in SendGrid's sandbox mode (nothing is delivered)."""

from __future__ import annotations

import uuid

from django.conf import settings

from integrations.http import ProviderError
from integrations.messaging_screens import TEST_TIMEOUT_S, ConnectionCheck, MessagingScreen
from integrations.screens import register
from integrations.sendgrid.client import SendGridClient
from integrations.sendgrid.forms import SendGridSettingsForm
from integrations.sendgrid.models import SendGridSettings

# SendGrid's sandbox mode validates a send (key, permission, sender) without delivering it.
TEST_SUBJECT = "RecruitFlow connection test (sandbox mode: not delivered)"


@register
class SendGridScreen(MessagingScreen):
    identifier = "sendgrid"
    capability = "email"
    label = "SendGrid"
    logo = "img/integrations/sendgrid.svg"
    help_text = (
        "Connect SendGrid to send from your own domain and see what happens to every e-mail."
    )
    docs_url = "https://www.twilio.com/docs/sendgrid"
    model = SendGridSettings
    form_class = SendGridSettingsForm
    legacy_routes = (
        ("sendgrid/", "save", "sendgrid"),
        ("sendgrid/test/", "test", "sendgrid_test"),
    )
    disconnected_what = "API key"
    webhooks = (
        (
            "sendgrid-events",
            "Event Webhook URL",
            "In SendGrid, go to Settings → Mail Settings → Event Webhook, paste this URL, tick "
            "Processed, Delivered, Deferred, Bounced, Dropped, Opened, Clicked, Spam Reports and "
            "Unsubscribes, and turn on Signed Event Webhook.",
        ),
        (
            "email-reply-domain",
            "Reply domain (candidates' replies go here)",
            "Point this host's MX record (or a wildcard MX for every account's) at "
            "mx.sendgrid.net; in SendGrid go to Settings → Inbound Parse and add this host with "
            "the URL below.",
        ),
        (
            "email-inbound",
            "Inbound Parse URL (candidates' replies)",
            "Paste this URL for the reply domain in SendGrid's Inbound Parse settings: it "
            "carries the user name and password SendGrid sends with every reply (keep it "
            "secret).",
        ),
    )

    def summary(self, row) -> str:
        return f"from {row.from_email}"

    def sandbox_fill(self):
        sandbox = settings.SANDBOX_URL
        if not sandbox:
            return None
        return {
            "api_key": "SG.sandbox-key",
            "from_email": "talent@recruitflow.test",
            "from_name": "RecruitFlow Talent Team",
            "base_url": f"{sandbox}/sendgrid",
        }

    def callback_problem(self, row, *, sandbox_shortcuts: bool) -> str:
        if not row.event_public_key:
            return (
                "The SendGrid Event Webhook verification key is not set: copy it from SendGrid "
                "(Mail Settings → Event Webhook → Signature Verification) into Settings → "
                "Messaging."
            )
        return ""

    def check(self, row, recorder) -> ConnectionCheck:
        payload = {
            "personalizations": [{"to": [{"email": row.from_email}]}],
            "from": {"email": row.from_email, **({"name": row.from_name} if row.from_name else {})},
            "subject": TEST_SUBJECT,
            "content": [{"type": "text/plain", "value": "Connection test from RecruitFlow."}],
            "mail_settings": {"sandbox_mode": {"enable": True}},
            "custom_args": {"recruitflow_connection_test": uuid.uuid4().hex},
        }
        try:
            client = SendGridClient(
                row.api_key,
                base_url=row.base_url,
                on_call=recorder,
                timeout=TEST_TIMEOUT_S,
                max_attempts=1,
            )
            client.check_send(payload)
        except ProviderError as exc:
            return self.failed(exc)
        checked = [
            "API key accepted, with Mail Send access",
            f"SendGrid will send from {row.from_email}",
        ]
        message = (
            f"SendGrid accepted the API key and will send from {row.from_email} (checked in "
            "SendGrid's sandbox mode: nothing was delivered)."
        )
        if not row.event_public_key:
            checked.append("No Event Webhook verification key: delivery events are refused")
            message += (
                " Paste the Event Webhook verification key too, or delivery, bounce and open "
                "events will be refused."
            )
        return ConnectionCheck(
            provider="sendgrid", ok=True, message=message, checked=tuple(checked)
        )
