"""What every vendor's settings form shares. Stored secrets are never sent back to the browser: secret
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
from django.core.exceptions import ValidationError

from integrations.http import UnsafeURL, check_provider_url
from integrations.policy import custom_addresses_allowed
from recruitflow.fields import mask_secret

ADDRESS_CHANGE_NOTE = (
    "Changing the address clears the saved secrets of this connection: paste them again."
)


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


def secret_input(**attrs) -> forms.PasswordInput:
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


class SecretKeepingForm(forms.ModelForm):
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


class ProviderSettingsForm(forms.Form):
    """A settings form not bound to a model (the texting and e-mail vendors'). Secret fields keep their saved value when submitted empty, unless the address changes.
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


def apply_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's ValidationError on ``form``: by field where it names one."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
