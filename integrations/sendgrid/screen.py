"""SendGrid on Settings → Messaging (e-mail): the API key, sender and Event Webhook verification
key, checked with a send in SendGrid's sandbox mode (nothing is delivered)."""

from __future__ import annotations

import http.client
import uuid
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.http import CallRecord, ProviderError
from integrations.messaging_screens import (
    TEST_TIMEOUT_S,
    ConnectionCheck,
    MessagingScreen,
    address_for,
    checked_address,
    failed,
    own_for_update,
    required_secret,
    saved_secret,
    unreachable,
)
from integrations.screens import register
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

    @transaction.atomic
    def save_settings(
        self,
        *,
        organization,
        from_email: str,
        api_key: str = "",
        from_name: str = "",
        reply_to: str = "",
        event_public_key: str = "",
        base_url: str = "",
    ) -> SendGridSettings:
        """Connect SendGrid or change its settings. An empty ``api_key`` keeps the saved one,
        unless the address changes."""
        from integrations.sendgrid.transport import DOCUMENTED_BASE_URLS

        row = own_for_update(SendGridSettings, organization) or SendGridSettings(
            organization=organization
        )
        address, changed = address_for(
            row, base_url, field_default=SendGridSettings._meta.get_field("base_url").default
        )
        checked_address(address, vendor="SendGrid", documented=DOCUMENTED_BASE_URLS)
        row.api_key = required_secret(
            saved_secret(row, "api_key", api_key, address_changed=changed),
            field="api_key",
            label="API key",
            missing="Paste the SendGrid API key.",
            changed=changed,
        )
        row.from_email = from_email.strip()
        row.from_name = from_name.strip()
        row.reply_to = reply_to.strip()
        row.event_public_key = event_public_key.strip()
        row.base_url = address
        row.save()
        return row

    def check(self, row, recorder) -> ConnectionCheck:
        import python_http_client.exceptions as sg_errors

        from integrations.sendgrid.client import SendGridClient, map_http_error

        try:
            client = SendGridClient(
                row.api_key,
                base_url=row.base_url,
                on_call=recorder,
                timeout=TEST_TIMEOUT_S,
                max_attempts=1,
            )
        except ProviderError as exc:
            return failed("sendgrid", exc)
        payload = {
            "personalizations": [{"to": [{"email": row.from_email}]}],
            "from": {"email": row.from_email, **({"name": row.from_name} if row.from_name else {})},
            "subject": TEST_SUBJECT,
            "content": [{"type": "text/plain", "value": "Connection test from RecruitFlow."}],
            "mail_settings": {"sandbox_mode": {"enable": True}},
            "custom_args": {"recruitflow_connection_test": uuid.uuid4().hex},
        }
        started = timezone.now()
        try:
            client.sg.client.mail.send.post(request_body=payload)
        except sg_errors.HTTPError as exc:
            recorder(_record(client, started, exc.status_code))
            return failed("sendgrid", map_http_error(exc, from_email=row.from_email))
        except (OSError, http.client.HTTPException) as exc:
            recorder(_record(client, started, None, type(exc).__name__))
            return unreachable("sendgrid", self.label, row.base_url, exc)
        except ProviderError as exc:  # the SSRF guard refused the address, or a redirect
            recorder(_record(client, started, exc.status, exc.code or "refused"))
            return failed("sendgrid", exc)
        recorder(_record(client, started, 200))
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


def _record(client, started: datetime, status: int | None, error: str = "") -> CallRecord:
    return CallRecord(
        method="POST",
        url=client.send_url,
        path=urlsplit(client.send_url).path,
        status=status,
        duration_ms=int((timezone.now() - started).total_seconds() * 1000),
        attempt=1,
        error=error or (f"HTTP {status}" if status and status >= 400 else None),
        started_at=started,
    )
