"""Lever's settings form (Settings → Integrations)."""

from __future__ import annotations

from django import forms

from integrations.forms import SecretKeepingForm, provider_address_field, secret_input
from integrations.lever.client import API_BASE_URLS as LEVER_API_BASE_URLS
from integrations.lever.client import DEFAULT_BASE_URL as LEVER_DEFAULT_BASE_URL
from integrations.lever.models import LeverAuth, LeverConnection

LEVER_ADDRESSES = [
    (LEVER_API_BASE_URLS[0], "Lever (api.lever.co)"),
    (LEVER_API_BASE_URLS[1], "Lever EU (api-eu.lever.co)"),
    (LEVER_API_BASE_URLS[2], "Lever developer sandbox (api.sandbox.lever.co)"),
]


class LeverConnectForm(SecretKeepingForm):
    secret_fields = ("api_key", "signature_token")
    other_secrets = ("access_token", "refresh_token")
    vendor = "Lever"
    documented = LEVER_API_BASE_URLS

    class Meta:
        model = LeverConnection
        fields = [
            "api_key",
            "base_url",
            "acting_user_id",
            "signature_token",
            "poll_interval_minutes",
        ]
        labels = {
            "api_key": "Lever API key",
            "acting_user_id": "Perform notes as (Lever user ID)",
            "signature_token": "Webhook signature token",
            "poll_interval_minutes": "Check for changes every (minutes)",
        }
        help_texts = {
            "api_key": "Settings → Integrations and API → API Credentials → Generate new key in "
            "Lever. Not needed when you connect with OAuth.",
            "acting_user_id": "The Lever user notes and files are written as (perform_as).",
            "signature_token": "Settings → Integrations and API → Webhooks in Lever shows a "
            "signature token for each webhook; paste it here so we can verify deliveries.",
            "poll_interval_minutes": "Webhooks bring changes in seconds; this regular check "
            "catches anything a webhook missed. 1 to 60 minutes.",
        }
        widgets = {
            "api_key": secret_input(),
            "signature_token": secret_input(),
            "poll_interval_minutes": forms.NumberInput(attrs={"min": 1, "max": 60}),
        }

    def __init__(self, *args, oauth_connected: bool = False, **kwargs):
        kwargs.setdefault("auto_id", "lever_%s")
        super().__init__(*args, **kwargs)
        self.oauth_connected = oauth_connected
        self.fields["base_url"] = provider_address_field(
            label="Lever API base URL",
            choices=LEVER_ADDRESSES,
            help_text="Lever's Data API (your Lever account's region).",
        )
        if not self.instance.base_url:
            self.initial["base_url"] = LEVER_DEFAULT_BASE_URL

    def clean(self):
        cleaned = super().clean()
        oauth_kept = self.oauth_connected and not self.address_changed()
        if not oauth_kept and not self.secret("api_key"):
            if self.oauth_connected:
                self.add_error(
                    "api_key",
                    "You changed the address, so the Lever OAuth authorization was cleared: it "
                    "is never sent to a new address. Paste a Lever API key, or keep the old "
                    "address.",
                )
            else:
                self.add_error("api_key", "Paste a Lever API key, or connect with OAuth instead.")
        return cleaned

    def save(self, commit: bool = True):
        if self.address_changed():
            # The OAuth tokens were cleared with the address: only an API key can work now.
            self.instance.auth_method = LeverAuth.API_KEY
            self.instance.token_expires_at = None
        return super().save(commit=commit)
