"""Twilio's settings form (Settings → Messaging)."""

from __future__ import annotations

import re

import phonenumbers
from django import forms
from django.conf import settings

from integrations.forms import ProviderSettingsForm, secret_input
from integrations.twilio.models import DEFAULT_BASE_URL as TWILIO_DEFAULT_BASE_URL
from integrations.twilio.provider import DOCUMENTED_BASE_URLS as TWILIO_DOCUMENTED

ACCOUNT_SID = re.compile(r"^AC[0-9A-Za-z]{32,33}$")
SERVICE_SID = re.compile(r"^MG[0-9A-Za-z]{32,33}$")


class TwilioSettingsForm(ProviderSettingsForm):
    prefix_id = "twilio"
    secret_fields = ("auth_token",)
    required_secrets = ("auth_token",)
    vendor = "Twilio"
    documented = TWILIO_DOCUMENTED
    address_choices = ((TWILIO_DEFAULT_BASE_URL, "Twilio (api.twilio.com)"),)
    address_label = "Twilio API address"

    account_sid = forms.CharField(
        label="Account SID",
        max_length=64,
        help_text="Twilio Console → Account Info. Starts with AC.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    auth_token = forms.CharField(
        label="Auth Token",
        max_length=200,
        widget=secret_input(),
        help_text="Twilio Console → Account Info. Twilio also signs its webhooks with it.",
    )
    messaging_service_sid = forms.CharField(
        label="Messaging Service SID",
        max_length=64,
        required=False,
        help_text="Preferred: Messaging → Services in Twilio (starts with MG). The service picks "
        "the sending number and keeps opt-outs per service.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    from_number = forms.CharField(
        label="Or send from this number",
        max_length=32,
        required=False,
        help_text="A Twilio number in international format, e.g. +14155550100. Used when no "
        "Messaging Service is set.",
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    base_url = forms.URLField(
        label="Twilio API address",
        assume_scheme="https",
        max_length=200,
        help_text="Leave https://api.twilio.com unless you use the sandbox.",
    )

    def clean_account_sid(self) -> str:
        value = self._strip("account_sid")
        if not ACCOUNT_SID.match(value):
            raise forms.ValidationError(
                "An Account SID is AC followed by 32 letters and digits. Copy it from Twilio "
                "Console → Account Info (not an API key SID, which starts with SK)."
            )
        return value

    def clean_messaging_service_sid(self) -> str:
        value = self._strip("messaging_service_sid")
        if value and not SERVICE_SID.match(value):
            raise forms.ValidationError(
                "A Messaging Service SID is MG followed by 32 letters and digits (Twilio "
                "Console → Messaging → Services)."
            )
        return value

    def clean_from_number(self) -> str:
        value = self._strip("from_number")
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value, settings.PHONENUMBER_DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            raise forms.ValidationError(
                f"“{value}” is not a phone number. Write it in international format with the "
                "country code, e.g. +14155550100."
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean(self):
        cleaned = super().clean()
        if (
            not cleaned.get("messaging_service_sid")
            and not cleaned.get("from_number")
            and "messaging_service_sid" not in self.errors
            and "from_number" not in self.errors
        ):
            self.add_error(
                "messaging_service_sid",
                "Enter the Messaging Service SID, or the Twilio number texts are sent from.",
            )
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "account_sid": data["account_sid"],
            "auth_token": self.secret("auth_token"),
            "messaging_service_sid": data["messaging_service_sid"],
            "from_number": data["from_number"],
            "base_url": data["base_url"].rstrip("/"),
        }
