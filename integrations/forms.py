"""Settings → Integrations forms. Stored secrets are never sent back to the browser: secret
inputs render empty, and leaving one empty on an edit keeps the stored value — unless the
provider's address changes: then every saved secret of that connection is cleared, so no admin
can send a secret someone else saved to an address of their choosing.

Provider addresses: a vendor is reached only at its documented host(s) (a choice among them
when it has regional hosts); free text only where the operator allows custom addresses
(``PROVIDER_CUSTOM_URLS``), and even then the SSRF guard checks it at save and on every call."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from django import forms

from integrations.greenhouse.client import DEFAULT_BASE_URL as GREENHOUSE_DEFAULT_BASE_URL
from integrations.greenhouse.client import DOCUMENTED_BASE_URLS as GREENHOUSE_DOCUMENTED
from integrations.greenhouse.models import GreenhouseConnection, HarvestVersion
from integrations.http import UnsafeURL, check_provider_url
from integrations.lever.client import API_BASE_URLS as LEVER_API_BASE_URLS
from integrations.lever.client import DEFAULT_BASE_URL as LEVER_DEFAULT_BASE_URL
from integrations.lever.models import LeverAuth, LeverConnection
from integrations.policy import custom_addresses_allowed
from recruitflow.fields import mask_secret

ADDRESS_CHANGE_NOTE = (
    "Changing the address clears the saved secrets of this connection: paste them again."
)
GREENHOUSE_ADDRESSES = [(GREENHOUSE_DEFAULT_BASE_URL, "Greenhouse (harvest.greenhouse.io)")]
LEVER_ADDRESSES = [
    (LEVER_API_BASE_URLS[0], "Lever (api.lever.co)"),
    (LEVER_API_BASE_URLS[1], "Lever EU (api-eu.lever.co)"),
    (LEVER_API_BASE_URLS[2], "Lever developer sandbox (api.sandbox.lever.co)"),
]


# -- Provider addresses ------------------------------------------------------------------------


def provider_address_field(
    *, label: str, choices: Sequence[tuple[str, str]], help_text: str = "", required=True
) -> forms.Field:
    """The address input of a provider form: a choice among the vendor's documented addresses,
    or free text (checked by :func:`clean_provider_address`) where the operator allows custom
    addresses."""
    if custom_addresses_allowed():
        default = choices[0][0] if choices else ""
        return forms.URLField(
            label=label,
            assume_scheme="https",
            max_length=200,
            required=required,
            widget=forms.URLInput(attrs={"placeholder": default}),
            help_text=f"{help_text} This server allows custom addresses (for the sandbox): "
            f"any other address must be public. {ADDRESS_CHANGE_NOTE}".strip(),
        )
    return forms.ChoiceField(
        label=label,
        choices=list(choices),
        required=required,
        help_text=f"{help_text} {ADDRESS_CHANGE_NOTE}".strip(),
    )


def clean_provider_address(value: str, *, vendor: str, documented: Iterable[str]) -> str:
    """``value`` without a trailing slash, or a ValidationError saying why we will not call it
    (not the vendor's host while custom addresses are off; loopback, private, link-local,
    metadata or IPv4-mapped addresses; credentials in the URL)."""
    url = (value or "").strip().rstrip("/")
    if not url:
        return url
    try:
        check_provider_url(url, documented=documented, vendor=vendor)
    except UnsafeURL as exc:
        raise forms.ValidationError(str(exc)) from exc
    return url


def same_address(a: str | None, b: str | None) -> bool:
    def norm(url: str | None) -> tuple[str, str, str]:
        parts = urlsplit((url or "").strip().rstrip("/"))
        return parts.scheme.lower(), parts.netloc.lower(), parts.path

    return norm(a) == norm(b)


def address_change_message(label: str) -> str:
    return (
        f"You changed the address, so the saved {label.lower()} was cleared: it is never sent "
        f"to a new address. Paste the {label.lower()} again, or keep the old address."
    )


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
                f"Saved ({mask_secret(value)}). Leave empty to keep it (a changed address "
                f"clears it); type a new one to replace it. {field.help_text}"
            ).strip()


class _SecretKeepingForm(forms.ModelForm):
    """Secret fields keep their stored value when submitted empty, unless ``base_url``
    changes: then every stored secret (``secret_fields`` and ``other_secrets``) is cleared."""

    secret_fields: tuple[str, ...] = ()
    other_secrets: tuple[str, ...] = ()  # stored secrets the form does not show (tokens)
    vendor = ""
    documented: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_secrets = {
            name: getattr(self.instance, name, "") or "" for name in self.secret_fields
        }
        self.stored_address = self.instance.base_url if self.instance.pk else ""
        keep_stored_secrets(self, self.stored_secrets)

    def clean_base_url(self) -> str:
        return clean_provider_address(
            self.cleaned_data.get("base_url") or "", vendor=self.vendor, documented=self.documented
        )

    def address_changed(self) -> bool:
        if not self.stored_address or "base_url" not in getattr(self, "cleaned_data", {}):
            return False
        return not same_address(self.cleaned_data["base_url"], self.stored_address)

    def secret(self, name: str) -> str:
        """The value that will be stored: the typed one, or the saved one (not after an
        address change)."""
        typed = self.cleaned_data.get(name) or ""
        if typed or self.address_changed():
            return typed
        return self.stored_secrets.get(name, "")

    def _post_clean(self):
        super()._post_clean()
        if not self.address_changed():
            return
        for name in self.secret_fields:
            if name in self.errors and self.stored_secrets.get(name):
                self.errors[name].append(address_change_message(str(self.fields[name].label)))

    def save(self, commit: bool = True):
        if self.address_changed():
            for name in self.other_secrets:
                setattr(self.instance, name, "")
        for name in self.secret_fields:
            setattr(self.instance, name, self.secret(name))
        return super().save(commit=commit)


class GreenhouseConnectForm(_SecretKeepingForm):
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


class LeverConnectForm(_SecretKeepingForm):
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
            "api_key": _secret_input(),
            "signature_token": _secret_input(),
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
