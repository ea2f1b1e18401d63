"""TextUs's settings form (Settings → Messaging)."""

from __future__ import annotations

import re

from django import forms

from integrations.forms import ProviderSettingsForm, secret_input
from integrations.textus.client import DOCUMENTED_BASE_URLS as TEXTUS_DOCUMENTED
from integrations.textus.models import DEFAULT_BASE_URL as TEXTUS_DEFAULT_BASE_URL

TEXTUS_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class TextUsSettingsForm(ProviderSettingsForm):
    prefix_id = "textus"
    secret_fields = ("token", "signing_secret")
    required_secrets = ("token",)
    vendor = "TextUs"
    documented = TEXTUS_DOCUMENTED
    address_choices = ((TEXTUS_DEFAULT_BASE_URL, "TextUs (next.textus.com)"),)
    address_label = "TextUs API address"

    token = forms.CharField(
        label="API token",
        max_length=500,
        widget=secret_input(),
        help_text="In TextUs, sign in as a dedicated RecruitFlow user and create a token under "
        "Profile → API Tokens. The token acts with that user's rights.",
    )
    account_slug = forms.CharField(
        label="Account",
        max_length=100,
        help_text="The account texts go out from, as in the TextUs address bar: "
        "next.textus.com/<account>/…",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    signing_secret = forms.CharField(
        label="Webhook signing secret",
        max_length=500,
        required=False,
        widget=secret_input(),
        help_text="TextUs → Settings → Integrations → Webhooks shows it. Without it, replies "
        "and delivery reports from TextUs are refused.",
    )
    base_url = forms.URLField(
        label="TextUs API address",
        assume_scheme="https",
        max_length=200,
        help_text="Leave https://next.textus.com unless you use the sandbox.",
    )

    def clean_account_slug(self) -> str:
        value = self._strip("account_slug").strip("/")
        if not TEXTUS_SLUG.match(value):
            raise forms.ValidationError(
                "Enter only the account's short name (letters, digits and dashes), as it appears "
                "in the TextUs address bar after next.textus.com/."
            )
        return value

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "token": self.secret("token"),
            "account_slug": data["account_slug"],
            "signing_secret": self.secret("signing_secret"),
            "base_url": data["base_url"].rstrip("/"),
        }
