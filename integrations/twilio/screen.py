"""Twilio on Settings → Messaging (texts): the Account SID, Auth Token and sender (a Messaging
Service or a number), saved and checked against the account's message log."""

from __future__ import annotations

import json

import requests
from django.conf import settings
from django.db import transaction

from integrations.http import ProviderError
from integrations.messaging_screens import (
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
from integrations.twilio.forms import TwilioSettingsForm
from integrations.twilio.models import TwilioSettings
from integrations.twilio.sandbox import (
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
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

    @transaction.atomic
    def save_settings(
        self,
        *,
        organization,
        account_sid: str,
        auth_token: str = "",
        messaging_service_sid: str = "",
        from_number: str = "",
        base_url: str = "",
    ) -> TwilioSettings:
        """Connect Twilio or change its settings. An empty ``auth_token`` keeps the saved one,
        unless the address changes."""
        from integrations.twilio.provider import DOCUMENTED_BASE_URLS

        row = own_for_update(TwilioSettings, organization) or TwilioSettings(
            organization=organization
        )
        address, changed = address_for(
            row, base_url, field_default=TwilioSettings._meta.get_field("base_url").default
        )
        checked_address(address, vendor="Twilio", documented=DOCUMENTED_BASE_URLS)
        token = required_secret(
            saved_secret(row, "auth_token", auth_token, address_changed=changed),
            field="auth_token",
            label="Auth Token",
            missing="Paste the Twilio Auth Token.",
            changed=changed,
        )
        if not messaging_service_sid and not from_number:
            from django.core.exceptions import ValidationError

            raise ValidationError(
                {"messaging_service_sid": "Enter a Messaging Service SID or a from number."}
            )
        row.account_sid = account_sid.strip()
        row.auth_token = token
        row.messaging_service_sid = messaging_service_sid.strip()
        row.from_number = from_number.strip()
        row.base_url = address
        row.save()
        return row

    def check(self, row, recorder) -> ConnectionCheck:
        from twilio.base.exceptions import TwilioRestException

        from integrations.messaging_screens import TEST_TIMEOUT_S
        from integrations.twilio.provider import (
            DEFAULT_BASE_URL,
            TwilioSMSProvider,
            map_twilio_error,
        )

        try:
            provider = TwilioSMSProvider(
                row.provider_config(), on_call=recorder, timeout=TEST_TIMEOUT_S, max_attempts=1
            )
            # One page of the account's message log: proves the SID and token, texts nobody.
            uri = f"{DEFAULT_BASE_URL}/2010-04-01/Accounts/{provider.account_sid}/Messages.json"
            response = provider.client.request("GET", uri, params={"PageSize": 1})
        except ProviderError as exc:
            return failed("twilio", exc)
        except requests.RequestException as exc:
            return unreachable("twilio", self.label, row.base_url, exc)
        if response.status_code >= 400:
            try:
                body = json.loads(response.text or "{}")
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            error = map_twilio_error(
                TwilioRestException(
                    response.status_code,
                    uri,
                    msg=str(body.get("message") or ""),
                    code=body.get("code"),
                )
            )
            return failed("twilio", error)
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
