"""Twilio on Settings → Messaging (texts): the Account SID, Auth Token and sender (a Messaging
Service or a number), saved and checked against the account's message log."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError

from integrations.http import ProviderError
from integrations.messaging_screens import TEST_TIMEOUT_S, ConnectionCheck, MessagingScreen
from integrations.screens import register
from integrations.twilio.forms import TwilioSettingsForm
from integrations.twilio.models import TwilioSettings
from integrations.twilio.provider import DEFAULT_BASE_URL, TwilioSMSProvider
from integrations.twilio.sandbox import (
    PHONES_PATH,
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_SERVICE_NUMBER,
    SANDBOX_SERVICE_SID,
)


@register
class TwilioScreen(MessagingScreen):
    identifier = "twilio"
    capability = "sms"
    label = "Twilio"
    logo = "img/integrations/twilio.svg"
    help_text = "Twilio: a Messaging Service or a number of your Twilio account."
    docs_url = "https://www.twilio.com/docs/messaging"
    model = TwilioSettings
    form_class = TwilioSettingsForm
    adapter_retries = True
    status_callback = "twilio-status"
    incoming_callback = "twilio-inbound"
    default_sandbox = True
    legacy_routes = (
        ("twilio/", "save", "twilio"),
        ("twilio/test/", "test", "twilio_test"),
    )
    webhooks = (
        (
            "twilio-inbound",
            "Inbound texts",
            "In Twilio, open Messaging → Services → your service → Integration and choose "
            "“Send a webhook” with this URL for incoming messages (or set it as “A message comes "
            "in” on the phone number).",
        ),
        (
            "twilio-status",
            "Delivery status callback",
            "RecruitFlow asks Twilio to report each text's delivery here; paste it as the "
            "service's “Delivery Status Callback” too so reports reach us even for texts sent "
            "from the Twilio Console.",
        ),
    )

    def summary(self, row) -> str:
        return f"Account SID {row.account_sid}"

    def sandbox_fill(self):
        sandbox = settings.SANDBOX_URL
        if not sandbox:
            return None
        return {
            "account_sid": SANDBOX_ACCOUNT_SID,
            "auth_token": SANDBOX_AUTH_TOKEN,
            "messaging_service_sid": SANDBOX_SERVICE_SID,
            "from_number": "",
            "base_url": f"{sandbox}/twilio",
        }

    def callback_problem(self, row, *, sandbox_shortcuts: bool) -> str:
        if row.auth_token == SANDBOX_AUTH_TOKEN and not sandbox_shortcuts:
            return (
                "These Twilio settings hold the sandbox's public auth token, which this "
                "deployment does not accept (SANDBOX_SHORTCUTS is off): enter the account's "
                "own auth token in Settings → Messaging."
            )
        return ""

    def sandbox_config(self, number: str):
        if not settings.SANDBOX_URL:
            return None
        return {
            "account_sid": SANDBOX_ACCOUNT_SID,
            "auth_token": SANDBOX_AUTH_TOKEN,
            "from_number": number,
            "base_url": settings.SANDBOX_URL.rstrip("/") + "/twilio",
        }

    def sandbox_sender(self, row) -> str:
        sandbox = (settings.SANDBOX_URL or "").rstrip("/")
        if not sandbox or row.base_url.rstrip("/") != f"{sandbox}/twilio":
            return ""
        return row.from_number or (
            SANDBOX_SERVICE_NUMBER if row.messaging_service_sid == SANDBOX_SERVICE_SID else ""
        )

    def sandbox_phones(self, phone: str = "") -> str:
        sandbox = settings.SANDBOX_URL
        if not sandbox:
            return ""
        page = f"phone/{quote(phone, safe='+')}" if phone else ""
        return f"{sandbox.rstrip('/')}{PHONES_PATH}{page}"

    def clean_row(self, row) -> None:
        if not row.messaging_service_sid and not row.from_number:
            raise ValidationError(
                {"messaging_service_sid": "Enter a Messaging Service SID or a from number."}
            )

    def check(self, row, recorder) -> ConnectionCheck:
        try:
            provider = TwilioSMSProvider(
                row.provider_config(), on_call=recorder, timeout=TEST_TIMEOUT_S, max_attempts=1
            )
            # One page of the account's message log: proves the SID and token, texts nobody.
            uri = f"{DEFAULT_BASE_URL}/2010-04-01/Accounts/{provider.account_sid}/Messages.json"
            provider.client.request("GET", uri, params={"PageSize": 1})
        except ProviderError as exc:
            return self.failed(exc)
        sender = (
            f"Messaging Service {row.messaging_service_sid}"
            if row.messaging_service_sid
            else f"number {row.from_number}"
        )
        return ConnectionCheck(
            provider="twilio",
            ok=True,
            message="Twilio accepted the Account SID and Auth Token. Texts go out through "
            f"{sender}.",
            checked=("Account SID and Auth Token accepted", f"Sender: {sender}"),
        )
