"""Greenhouse's settings form (Settings → Integrations)."""

from __future__ import annotations

from django import forms

from integrations.forms import SecretKeepingForm, provider_address_field, secret_input
from integrations.greenhouse.client import DEFAULT_BASE_URL as GREENHOUSE_DEFAULT_BASE_URL
from integrations.greenhouse.client import DOCUMENTED_BASE_URLS as GREENHOUSE_DOCUMENTED
from integrations.greenhouse.models import GreenhouseConnection, HarvestVersion

GREENHOUSE_ADDRESSES = [(GREENHOUSE_DEFAULT_BASE_URL, "Greenhouse (harvest.greenhouse.io)")]


class GreenhouseConnectForm(SecretKeepingForm):
    secret_fields = ("client_secret", "api_key")
    vendor = "Greenhouse"
    documented = GREENHOUSE_DOCUMENTED

    api_version = forms.ChoiceField(
        label="Harvest API version",
        choices=HarvestVersion.choices,
        initial=HarvestVersion.V3,
        widget=forms.RadioSelect,
        help_text="Greenhouse retires v1 keys (Harvest v1/v2 stop working on 31 August 2026); "
        "use v3 unless you only have a v1 API key.",
    )

    class Meta:
        model = GreenhouseConnection
        fields = [
            "api_version",
            "base_url",
            "client_id",
            "client_secret",
            "api_key",
            "acting_user_id",
            "poll_interval_minutes",
        ]
        labels = {
            "client_id": "Client ID",
            "client_secret": "Client secret",
            "api_key": "Harvest API key",
            "acting_user_id": "Acting user ID",
            "poll_interval_minutes": "Check for changes every (minutes)",
        }
        help_texts = {
            "client_id": "Configure → Dev Center → API Credential Management → your Harvest v3 "
            "credential.",
            "acting_user_id": "The numeric ID of a Greenhouse user (Configure → Users → open the "
            "user; the number at the end of the address). Notes and emails on the activity feed "
            "are written as this user.",
            "poll_interval_minutes": "Webhooks bring changes in seconds; this regular check "
            "catches anything a webhook missed. 1 to 60 minutes.",
        }
        widgets = {
            "client_secret": secret_input(),
            "api_key": secret_input(),
            "acting_user_id": forms.TextInput(attrs={"inputmode": "numeric"}),
            "poll_interval_minutes": forms.NumberInput(attrs={"min": 1, "max": 60}),
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "greenhouse_%s")  # both providers' forms share a page
        super().__init__(*args, **kwargs)
        self.fields["client_id"].required = False
        self.fields["acting_user_id"].required = True
        self.fields["base_url"] = provider_address_field(
            label="Harvest base URL",
            choices=GREENHOUSE_ADDRESSES,
            help_text="Greenhouse's Harvest API (v1 and v3).",
        )
        if not self.instance.base_url:
            self.initial["base_url"] = GREENHOUSE_DEFAULT_BASE_URL

    def clean_acting_user_id(self) -> str:
        value = (self.cleaned_data.get("acting_user_id") or "").strip()
        if not value.isdigit():
            raise forms.ValidationError(
                "Enter the numeric Greenhouse user ID (for example 4080), not a name or an email "
                "address."
            )
        return value

    def clean_client_id(self) -> str:
        return (self.cleaned_data.get("client_id") or "").strip()

    def clean(self):
        cleaned = super().clean()
        version = cleaned.get("api_version")
        if version == HarvestVersion.V3:
            if not cleaned.get("client_id"):
                self.add_error("client_id", "Harvest v3 needs the client ID of your credential.")
            if not self.secret("client_secret"):
                self.add_error("client_secret", "Harvest v3 needs the client secret.")
        elif version == HarvestVersion.V1 and not self.secret("api_key"):
            self.add_error("api_key", "Harvest v1 needs an API key.")
        return cleaned
