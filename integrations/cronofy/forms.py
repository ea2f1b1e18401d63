"""Cronofy's settings form (Settings → Calendars). Stored secrets are never sent back to the
browser."""

from __future__ import annotations

from django import forms

from integrations.cronofy.models import DataCenter
from integrations.forms import keep_stored_secrets


class CronofySettingsForm(forms.Form):
    secret_fields = ("client_secret", "previous_client_secret")

    client_id = forms.CharField(
        label="Client ID",
        max_length=200,
        help_text="Cronofy developer dashboard → your application → Credentials.",
    )
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Cronofy also signs its notifications with it.",
    )
    previous_client_secret = forms.CharField(
        label="Previous client secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Only while you rotate the secret in Cronofy: notifications signed with either "
        "are accepted.",
    )
    clear_previous_secret = forms.BooleanField(
        required=False, label="The rotation is done: forget the previous secret"
    )
    data_center = forms.ChoiceField(
        label="Data center",
        choices=DataCenter.choices,
        initial=DataCenter.US,
        help_text="Where your Cronofy application lives (the SDK identifier on its dashboard).",
    )
    api_base_url = forms.URLField(
        label="API address",
        required=False,
        assume_scheme="https",
        help_text="Leave empty: the data center decides. Set only for the sandbox.",
    )
    app_base_url = forms.URLField(
        label="Sign-in pages address",
        required=False,
        assume_scheme="https",
        help_text="Leave empty: the data center decides. Set only for the sandbox.",
    )

    def __init__(self, *args, stored_secrets: dict | None = None, **kwargs):
        kwargs.setdefault("auto_id", "cronofy_%s")
        super().__init__(*args, **kwargs)
        self.stored_secrets = stored_secrets or {}
        keep_stored_secrets(
            self, {name: self.stored_secrets.get(name, "") for name in self.secret_fields}
        )

    def secret(self, name: str) -> str:
        return (self.cleaned_data.get(name) or "").strip() or self.stored_secrets.get(name, "")

    def clean(self):
        cleaned = super().clean()
        if not self.secret("client_secret"):
            self.add_error("client_secret", "Paste the client secret from the Cronofy dashboard.")
        return cleaned

    def service_kwargs(self) -> dict:
        previous = (
            ""
            if self.cleaned_data.get("clear_previous_secret")
            else self.secret("previous_client_secret")
        )
        return {
            "client_id": self.cleaned_data["client_id"],
            "client_secret": self.secret("client_secret"),
            "previous_client_secret": previous,
            "data_center": self.cleaned_data["data_center"],
            "api_base_url": self.cleaned_data.get("api_base_url") or "",
            "app_base_url": self.cleaned_data.get("app_base_url") or "",
        }
