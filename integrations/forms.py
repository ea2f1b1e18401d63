"""Settings → Integrations forms. Stored secrets are never sent back to the browser: secret
inputs render empty, and leaving one empty on an edit keeps the stored value."""

from __future__ import annotations

from django import forms

from integrations.greenhouse.client import DEFAULT_BASE_URL as GREENHOUSE_DEFAULT_BASE_URL
from integrations.greenhouse.models import GreenhouseConnection, HarvestVersion
from integrations.lever.client import DEFAULT_BASE_URL as LEVER_DEFAULT_BASE_URL
from integrations.lever.models import LeverConnection
from recruitflow.fields import mask_secret


def _secret_input(**attrs) -> forms.PasswordInput:
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", **attrs})


def keep_stored_secrets(form: forms.BaseForm, stored: dict[str, str]) -> None:
    """Make ``form``'s secret fields optional and say which value is saved (masked): an empty
    submission keeps it. Used by every provider settings form."""
    for name, value in stored.items():
        field = form.fields[name]
        field.required = False
        if value:
            field.help_text = (
                f"Saved ({mask_secret(value)}). Leave empty to keep it; type a new one to "
                f"replace it. {field.help_text}"
            ).strip()


class _SecretKeepingForm(forms.ModelForm):
    """Secret fields keep their stored value when submitted empty."""

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_secrets = {
            name: getattr(self.instance, name, "") or "" for name in self.secret_fields
        }
        keep_stored_secrets(self, self.stored_secrets)

    def secret(self, name: str) -> str:
        """The value that will be stored: the typed one, or the saved one."""
        return self.cleaned_data.get(name) or self.stored_secrets.get(name, "")

    def save(self, commit: bool = True):
        for name in self.secret_fields:
            setattr(self.instance, name, self.secret(name))
        return super().save(commit=commit)


class GreenhouseConnectForm(_SecretKeepingForm):
    secret_fields = ("client_secret", "api_key")

    api_version = forms.ChoiceField(
        label="Harvest API version",
        choices=HarvestVersion.choices,
        initial=HarvestVersion.V3,
        widget=forms.RadioSelect,
        help_text="Greenhouse retires v1 keys (Harvest v1/v2 stop working on 31 August 2026); "
        "use v3 unless you only have a v1 API key.",
    )

    base_url = forms.URLField(
        label="Harvest base URL",
        assume_scheme="https",
        max_length=200,
        widget=forms.URLInput(attrs={"placeholder": GREENHOUSE_DEFAULT_BASE_URL}),
        help_text="Leave the default (https://harvest.greenhouse.io) unless Greenhouse gave you "
        "a regional host.",
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
            "client_secret": _secret_input(),
            "api_key": _secret_input(),
            "acting_user_id": forms.TextInput(attrs={"inputmode": "numeric"}),
            "poll_interval_minutes": forms.NumberInput(attrs={"min": 1, "max": 60}),
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "greenhouse_%s")  # both providers' forms share a page
        super().__init__(*args, **kwargs)
        self.fields["client_id"].required = False
        self.fields["acting_user_id"].required = True
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


class LeverConnectForm(_SecretKeepingForm):
    secret_fields = ("api_key", "signature_token")

    base_url = forms.URLField(
        label="Lever API base URL",
        assume_scheme="https",
        max_length=200,
        widget=forms.URLInput(attrs={"placeholder": LEVER_DEFAULT_BASE_URL}),
        help_text="Leave the default (https://api.lever.co/v1) unless you use the sandbox.",
    )

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
            "api_key": _secret_input(),
            "signature_token": _secret_input(),
            "poll_interval_minutes": forms.NumberInput(attrs={"min": 1, "max": 60}),
        }

    def __init__(self, *args, oauth_connected: bool = False, **kwargs):
        kwargs.setdefault("auto_id", "lever_%s")
        super().__init__(*args, **kwargs)
        self.oauth_connected = oauth_connected
        if not self.instance.base_url:
            self.initial["base_url"] = LEVER_DEFAULT_BASE_URL

    def clean(self):
        cleaned = super().clean()
        if not self.oauth_connected and not self.secret("api_key"):
            self.add_error("api_key", "Paste a Lever API key, or connect with OAuth instead.")
        return cleaned
