"""Settings → Messaging forms: quiet hours, the automatic texts and the provider connections.

Forms only parse and check what an admin typed; the writes go through
``messaging.settings_services``. Stored secrets are never sent back to the browser: secret
inputs render empty, and leaving one empty keeps the saved value — unless the provider's address
changes, which clears every saved secret (see ``integrations.forms``).
"""

from __future__ import annotations

import base64
import binascii
import re

import phonenumbers
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django import forms
from django.conf import settings

from integrations.forms import (
    address_change_message,
    clean_provider_address,
    keep_stored_secrets,
    provider_address_field,
    same_address,
)
from integrations.messaging import sms_segments
from integrations.sendgrid.models import DEFAULT_BASE_URL as SENDGRID_DEFAULT_BASE_URL
from integrations.sendgrid.transport import DOCUMENTED_BASE_URLS as SENDGRID_DOCUMENTED
from integrations.textus.client import DOCUMENTED_BASE_URLS as TEXTUS_DOCUMENTED
from integrations.textus.models import DEFAULT_BASE_URL as TEXTUS_DEFAULT_BASE_URL
from integrations.twilio.models import DEFAULT_BASE_URL as TWILIO_DEFAULT_BASE_URL
from integrations.twilio.provider import DOCUMENTED_BASE_URLS as TWILIO_DOCUMENTED
from messaging.models import DEFAULT_HELP_REPLY, DEFAULT_OPT_OUT_FOOTER
from messaging.settings_services import window_problems

DAY_CHOICES = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
MAX_SMS_CHARS = 1600  # Twilio refuses longer bodies (error 21617)

ACCOUNT_SID = re.compile(r"^AC[0-9A-Za-z]{32,33}$")
SERVICE_SID = re.compile(r"^MG[0-9A-Za-z]{32,33}$")
TEXTUS_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
STOP_WORD = re.compile(r"\bSTOP\b", re.IGNORECASE)


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(format="%H:%M", attrs={"type": "time"})


def _secret_input() -> forms.PasswordInput:
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})


def _days_field(*, required: bool) -> forms.TypedMultipleChoiceField:
    return forms.TypedMultipleChoiceField(
        choices=DAY_CHOICES,
        coerce=int,
        required=required,
        widget=forms.CheckboxSelectMultiple,
        label="On these days",
    )


def _add_problems(form: forms.Form, problems: dict[str, str]) -> None:
    for field, message in problems.items():
        form.add_error(field if field in form.fields else None, message)


# --------------------------------------------------------------------------------------------
# Quiet hours and automatic texts
# --------------------------------------------------------------------------------------------


class QuietHoursForm(forms.Form):
    sms_window_start = forms.TimeField(label="Texts go out from", widget=_time_input())
    sms_window_end = forms.TimeField(label="until", widget=_time_input())
    sms_days = _days_field(required=False)
    email_quiet_hours = forms.BooleanField(
        required=False,
        label="Hold e-mails outside a window too",
        help_text="Off: e-mails go out at any hour.",
    )
    email_window_start = forms.TimeField(
        label="E-mails go out from", required=False, widget=_time_input()
    )
    email_window_end = forms.TimeField(label="until", required=False, widget=_time_input())
    email_days = _days_field(required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "quiet_%s")
        super().__init__(*args, **kwargs)

    @classmethod
    def initial_from(cls, prefs) -> dict:
        return {
            "sms_window_start": prefs.sms_window_start,
            "sms_window_end": prefs.sms_window_end,
            "sms_days": list(prefs.sms_days),
            "email_quiet_hours": bool(prefs.email_window_start and prefs.email_window_end),
            "email_window_start": prefs.email_window_start,
            "email_window_end": prefs.email_window_end,
            "email_days": list(prefs.email_days),
        }

    def clean(self):
        cleaned = super().clean()
        _add_problems(
            self,
            window_problems(
                start=cleaned.get("sms_window_start"),
                end=cleaned.get("sms_window_end"),
                days=cleaned.get("sms_days") or [],
                prefix="sms",
                what="Texts",
            ),
        )
        if cleaned.get("email_quiet_hours"):
            for name in ("email_window_start", "email_window_end"):
                if cleaned.get(name) is None and name not in self.errors:
                    self.add_error(name, "Enter a time, or untick “Hold e-mails outside a window”.")
            if cleaned.get("email_window_start") and cleaned.get("email_window_end"):
                _add_problems(
                    self,
                    window_problems(
                        start=cleaned["email_window_start"],
                        end=cleaned["email_window_end"],
                        days=cleaned.get("email_days") or [],
                        prefix="email",
                        what="E-mails",
                    ),
                )
        return cleaned

    def preference_changes(self) -> dict:
        """The MessagingPreferences fields this form sets."""
        data = self.cleaned_data
        email_on = data["email_quiet_hours"]
        return {
            "sms_window_start": data["sms_window_start"],
            "sms_window_end": data["sms_window_end"],
            "sms_days": sorted(data["sms_days"]),
            "email_window_start": data["email_window_start"] if email_on else None,
            "email_window_end": data["email_window_end"] if email_on else None,
            "email_days": sorted(data["email_days"]) if email_on else list(range(7)),
        }


class AutoTextsForm(forms.Form):
    help_reply = forms.CharField(
        label="Reply to HELP",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MAX_SMS_CHARS,
        help_text="Sent at once when a candidate texts HELP or INFO (even during quiet hours: "
        "they just wrote to you). Say who you are and how to stop texts.",
    )
    opt_out_footer = forms.CharField(
        label="Opt-out footer",
        max_length=200,
        help_text="The line that tells candidates how to stop texts. It must mention STOP, "
        "the word carriers and Twilio act on.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "texts_%s")
        super().__init__(*args, **kwargs)

    @classmethod
    def initial_from(cls, prefs) -> dict:
        return {
            "help_reply": prefs.help_reply or DEFAULT_HELP_REPLY,
            "opt_out_footer": prefs.opt_out_footer or DEFAULT_OPT_OUT_FOOTER,
        }

    def clean_help_reply(self) -> str:
        value = (self.cleaned_data.get("help_reply") or "").strip()
        if not value:
            raise forms.ValidationError("Write the reply candidates get when they text HELP.")
        return value

    def clean_opt_out_footer(self) -> str:
        value = " ".join((self.cleaned_data.get("opt_out_footer") or "").split())
        if not STOP_WORD.search(value):
            raise forms.ValidationError(
                "Mention the word STOP, for example “Reply STOP to opt out.” Candidates must be "
                "told how to stop texts, and STOP is the keyword carriers recognise."
            )
        return value

    @staticmethod
    def segments_text(text: str) -> str:
        encoding, segments, chars = sms_segments(text or "")
        unit = "character" if chars == 1 else "characters"
        parts = "text" if segments == 1 else "texts"
        return f"{chars} {unit}, {segments} {parts} ({encoding})"


# --------------------------------------------------------------------------------------------
# Provider connections
# --------------------------------------------------------------------------------------------


class _ProviderForm(forms.Form):
    """Secret fields keep their saved value when submitted empty, unless the address changes.
    The address is a choice among the vendor's documented hosts, or free text (checked by the
    SSRF guard) where the operator allows custom addresses."""

    secret_fields: tuple[str, ...] = ()
    required_secrets: tuple[str, ...] = ()
    prefix_id = ""
    vendor = ""
    documented: tuple[str, ...] = ()
    address_choices: tuple[tuple[str, str], ...] = ()
    address_label = "API address"
    address_help = ""

    def __init__(
        self,
        *args,
        stored_secrets: dict[str, str] | None = None,
        stored_address: str = "",
        **kwargs,
    ):
        kwargs.setdefault("auto_id", f"{self.prefix_id}_%s")
        super().__init__(*args, **kwargs)
        self.stored_secrets = {
            name: (stored_secrets or {}).get(name, "") for name in self.secret_fields
        }
        self.stored_address = stored_address or ""
        self.fields["base_url"] = provider_address_field(
            label=self.address_label, choices=self.address_choices, help_text=self.address_help
        )
        self.fields["base_url"].initial = self.address_choices[0][0]
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
        """The value that will be stored: the one typed now, or the saved one (not after an
        address change)."""
        typed = (self.cleaned_data.get(name) or "").strip()
        if typed or self.address_changed():
            return typed
        return self.stored_secrets.get(name, "")

    def clean(self):
        cleaned = super().clean()
        for name in self.required_secrets:
            if not self.secret(name) and name not in self.errors:
                self.add_error(name, f"Paste the {self.fields[name].label}.")
                if self.address_changed() and self.stored_secrets.get(name):
                    self.add_error(name, address_change_message(str(self.fields[name].label)))
        return cleaned

    def _strip(self, name: str) -> str:
        return (self.cleaned_data.get(name) or "").strip()


class TwilioSettingsForm(_ProviderForm):
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
        widget=_secret_input(),
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


class TextUsSettingsForm(_ProviderForm):
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
        widget=_secret_input(),
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
        widget=_secret_input(),
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


class SendGridSettingsForm(_ProviderForm):
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
        widget=_secret_input(),
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


class ZoneCheckForm(forms.Form):
    """Which time zone a candidate with this number (and office) gets, and what happens to a
    text queued now."""

    check_phone = forms.CharField(
        label="Candidate's mobile number",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "placeholder": "+447700900123"}),
    )
    check_location = forms.CharField(
        label="Office of their job (optional)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "London, UK"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "zone_%s")
        super().__init__(*args, **kwargs)

    def clean_check_phone(self) -> str:
        value = (self.cleaned_data.get("check_phone") or "").strip()
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value, settings.PHONENUMBER_DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            raise forms.ValidationError(
                f"“{value}” is not a phone number. Include the country code, e.g. +447700900123."
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("check_phone") and not cleaned.get("check_location") and not self.errors:
            raise forms.ValidationError("Enter a mobile number, an office location or both.")
        return cleaned
