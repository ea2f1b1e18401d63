"""SendGrid's settings form (Settings → Messaging)."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django import forms

from integrations.forms import ProviderSettingsForm, secret_input
from integrations.sendgrid.models import DEFAULT_BASE_URL as SENDGRID_DEFAULT_BASE_URL
from integrations.sendgrid.transport import DOCUMENTED_BASE_URLS as SENDGRID_DOCUMENTED


def load_event_webhook_key(text: str):
    """The EC public key in a pasted SendGrid verification key (bare base64 DER or PEM), or a
    ValueError saying what is wrong with it."""
    lines = [
        line.strip()
        for line in text.strip().splitlines()
        if line.strip() and not line.strip().startswith("-----")
    ]
    body = "".join(lines)
    try:
        der = base64.b64decode(body, validate=True)
        key = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ValueError(
            "This is not a SendGrid verification key. In SendGrid, open Settings → Mail Settings "
            "→ Event Webhook, turn on Signed Event Webhook and copy the Verification Key (a block "
            "of letters that starts with MFkw)."
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError(
            "This key is not the kind SendGrid signs events with (an elliptic-curve public key). "
            "Copy the Verification Key from Settings → Mail Settings → Event Webhook."
        )
    return key


class SendGridSettingsForm(ProviderSettingsForm):
    prefix_id = "sendgrid"
    secret_fields = ("api_key",)
    required_secrets = ("api_key",)
    vendor = "SendGrid"
    documented = SENDGRID_DOCUMENTED
    address_choices = (
        (SENDGRID_DEFAULT_BASE_URL, "SendGrid (api.sendgrid.com)"),
        (SENDGRID_DOCUMENTED[1], "SendGrid EU region (api.eu.sendgrid.com)"),
    )
    address_label = "SendGrid API address"
    address_help = "The EU address is for accounts in SendGrid's EU region."

    api_key = forms.CharField(
        label="API key",
        max_length=500,
        widget=secret_input(),
        help_text="SendGrid → Settings → API Keys → Create API Key, with at least “Mail Send” "
        "access. It starts with SG.",
    )
    from_email = forms.EmailField(
        label="From e-mail",
        max_length=254,
        help_text="A sender verified in SendGrid (Settings → Sender Authentication).",
    )
    from_name = forms.CharField(
        label="From name",
        max_length=200,
        required=False,
        help_text="What candidates see as the sender, e.g. “Northwind Recruiting Team”.",
    )
    reply_to = forms.EmailField(
        label="Reply-to e-mail",
        max_length=254,
        required=False,
        help_text="Where candidates' replies go. Empty: back to the from e-mail.",
    )
    event_public_key = forms.CharField(
        label="Event Webhook verification key",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="Settings → Mail Settings → Event Webhook → Signed Event Webhook in SendGrid. "
        "Without it, delivery, bounce and open events from SendGrid are refused.",
    )
    base_url = forms.URLField(
        label="SendGrid API address",
        assume_scheme="https",
        max_length=200,
        help_text="Leave https://api.sendgrid.com unless your account is in the EU region "
        "(https://api.eu.sendgrid.com) or you use the sandbox.",
    )

    def clean_api_key(self) -> str:
        value = self._strip("api_key")
        if value and not value.startswith("SG."):
            raise forms.ValidationError(
                "SendGrid API keys start with “SG.”. Copy the whole key shown when you created "
                "it (SendGrid shows it only once; create a new one if you lost it)."
            )
        return value

    def clean_event_public_key(self) -> str:
        value = (self.cleaned_data.get("event_public_key") or "").strip()
        if not value:
            return ""
        try:
            load_event_webhook_key(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return value

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "api_key": self.secret("api_key"),
            "from_email": data["from_email"],
            "from_name": data["from_name"].strip(),
            "reply_to": data["reply_to"],
            "event_public_key": data["event_public_key"],
            "base_url": data["base_url"].rstrip("/"),
        }
