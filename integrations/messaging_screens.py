"""The flow every texting (``sms``) and e-mail (``email``) vendor's card follows on Settings →
Messaging: save the settings (an empty secret keeps the saved one, unless the address changes)
and test them at once, test again, disconnect (deleting the credentials); and the connection
test's outcome, a :class:`ConnectionCheck` kept in the session for the card.

An organization has at most one texting vendor of its own; a sub-account without one uses the
nearest ancestor's (the page shows that; ``messaging.selectors`` applies it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.connections import CallRecorder
from integrations.forms import (
    ProviderSettingsForm,
    address_change_message,
    apply_errors,
    same_address,
)
from integrations.http import (
    AuthError,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    Unreachable,
    UnsafeURL,
    ValidationFailed,
    check_provider_url,
)
from integrations.messaging import MessagingTransientError
from integrations.registry import get_provider_class
from integrations.screens import ProviderScreen, SettingsPage, screens_for

TEST_TIMEOUT_S = 10
SESSION_CHECK = "messaging_settings:check:{provider}"
# Where each capability's section is on the page.
ANCHORS = {"sms": "texting", "email": "email"}


# ----------------------------------------------------------------------------------------------
# Connection tests
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of a connection test. ``problem`` is "" when it passed, else one of
    credentials, permission, not_found, unreachable, busy, invalid, error."""

    provider: str
    ok: bool
    message: str
    problem: str = ""
    checked: tuple[str, ...] = ()
    checked_at: datetime = field(default_factory=timezone.now)

    def as_session(self) -> dict:
        return {
            "provider": self.provider,
            "ok": self.ok,
            "message": self.message,
            "problem": self.problem,
            "checked": list(self.checked),
            "checked_at": self.checked_at.isoformat(),
        }


def problem_of(error: ProviderError) -> str:
    if isinstance(error, AuthError):
        return "credentials"
    if isinstance(error, PermissionDenied):
        return "permission"
    if isinstance(error, NotFound):
        return "not_found"
    if isinstance(error, RateLimited):
        return "busy"
    if isinstance(error, Unreachable) or getattr(error, "code", None) in ("unreachable", "timeout"):
        return "unreachable"
    if isinstance(error, ValidationFailed):
        return "invalid"
    if isinstance(error, TransientError | MessagingTransientError):
        return "unreachable" if error.status is None else "error"
    return "error"


def failed(provider: str, error: ProviderError) -> ConnectionCheck:
    return ConnectionCheck(
        provider=provider, ok=False, message=error.message, problem=problem_of(error)
    )


# ----------------------------------------------------------------------------------------------
# Saving: the rules every vendor's save follows
# ----------------------------------------------------------------------------------------------


def own_for_update(model, organization):
    return model.objects.select_for_update().filter(organization=organization).first()


def address_for(row, base_url: str, *, field_default: str) -> tuple[str, bool]:
    """The address to store and whether it differs from the saved one. A changed address
    means no saved secret may be reused: it would be sent somewhere the admin who saved it
    never chose."""
    new = (base_url or row.base_url or "").rstrip("/") or field_default
    changed = bool(row.pk and row.base_url) and not same_address(new, row.base_url)
    return new, changed


def checked_address(url: str, *, vendor: str, documented) -> str:
    try:
        check_provider_url(url, documented=documented, vendor=vendor)
    except UnsafeURL as exc:
        raise ValidationError({"base_url": str(exc)}) from exc
    return url


def saved_secret(row, name: str, typed: str, *, address_changed: bool) -> str:
    if typed.strip():
        return typed.strip()
    return "" if address_changed else (getattr(row, name) or "")


def required_secret(value: str, *, field: str, label: str, missing: str, changed: bool) -> str:
    """``value``, or the ValidationError that says why the secret is missing."""
    if not value:
        raise ValidationError({field: address_change_message(label) if changed else missing})
    return value


# ----------------------------------------------------------------------------------------------
# The screens
# ----------------------------------------------------------------------------------------------


class MessagingScreen(ProviderScreen):
    """A texting or e-mail vendor. Subclasses set ``model`` (a settings row with ``base_url``)
    and ``form_class`` (a :class:`~integrations.forms.ProviderSettingsForm`, which names the
    vendor, its documented addresses and its secrets), implement :meth:`check` (the
    connection test) and may add their own rules to a save in :meth:`clean_row`."""

    model: ClassVar[Any]  # the vendor's settings model
    form_class: ClassVar[type[ProviderSettingsForm]]
    # What a disconnect deletes, in "… is disconnected and its <what> deleted."
    disconnected_what: ClassVar[str] = "credentials"
    # (callback name, label, where to paste it): the page turns each name into this
    # organization's URL.
    webhooks: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    # Of those, the one each send names for its delivery reports ("" when the vendor reports
    # to an account-wide webhook instead), and the one a sandbox number's incoming texts go to.
    status_callback: ClassVar[str] = ""
    incoming_callback: ClassVar[str] = ""

    # Whether the vendor's adapter retries its own sends (it is given ``max_attempts``).
    adapter_retries: ClassVar[bool] = False
    # Whether an organization that chose the sandbox without saving settings texts through this
    # vendor's sandbox (one texting vendor at most says so).
    default_sandbox: ClassVar[bool] = False

    def own(self, organization):
        return self.model.objects.filter(organization=organization).first()

    # -- the domain's lookups ----------------------------------------------------------------

    def adapter(self, config: dict[str, Any], *, timeout: float, max_attempts: int | None = None):
        """The vendor's adapter for ``config`` (a settings row's ``provider_config()``)."""
        cls = get_provider_class(self.identifier)
        if self.adapter_retries and max_attempts is not None:
            return cls(config, timeout=timeout, max_attempts=max_attempts)
        return cls(config, timeout=timeout)

    def callback_problem(self, row, *, sandbox_shortcuts: bool) -> str:
        """Why callbacks signed with ``row``'s key cannot be trusted ("" when they can): a
        missing signing key, or a key everyone knows."""
        return ""

    def sandbox_config(self, number: str) -> dict[str, Any] | None:
        """The adapter config that texts from the sandbox ``number`` (the default sandbox of
        :attr:`default_sandbox`), or None when no sandbox runs."""
        return None

    def sandbox_sender(self, row) -> str:
        """The sandbox number ``row`` sends from when its address is the sandbox's, else ""."""
        return ""

    def summary(self, row) -> str:
        """A short mention of a settings row, e.g. "Account SID AC…" (inheritance notes)."""
        return ""

    def sandbox_fill(self) -> dict[str, str] | None:
        """Values of the sandbox vendor `make run` starts, for the "Use the sandbox" button."""
        return None

    def sender_email(self, organization) -> str:
        """The address e-mails of ``organization`` go out from through this vendor: its own
        settings row's ``from_email`` (read whatever tenant scope is active, for a
        sub-account's parent), or "" when it has none."""
        row = self.model.unscoped.filter(organization_id=organization.pk).first()
        return (getattr(row, "from_email", "") or "") if row is not None else ""

    def sandbox_phones(self, phone: str = "") -> str:
        """The sandbox vendor's phone screens (all numbers, or ``phone``'s texts with a form to
        reply as the candidate); "" for a vendor without them or when no sandbox runs."""
        return ""

    def form(self, row, data=None):
        """The settings form for this organization's own row (or a blank one)."""
        initial, stored = {}, {}
        if row is not None:
            for name in self.form_class.base_fields:
                if name in self.form_class.secret_fields:
                    stored[name] = getattr(row, name, "") or ""
                else:
                    initial[name] = getattr(row, name, "")
        return self.form_class(
            data,
            initial=initial,
            stored_secrets=stored,
            stored_address=row.base_url if row is not None else "",
        )

    @transaction.atomic
    def save_settings(self, *, organization, base_url: str = "", **values: str):
        """Connect the vendor or change its settings (``values``: the form's
        ``service_kwargs()``). The address must pass the SSRF guard; an empty secret keeps the
        saved one unless the address changes, and a required one must then be typed again."""
        form = self.form_class
        row = own_for_update(self.model, organization) or self.model(organization=organization)
        address, changed = address_for(
            row, base_url, field_default=self.model._meta.get_field("base_url").default
        )
        checked_address(address, vendor=form.vendor, documented=form.documented)
        for name, value in values.items():
            if name in form.secret_fields:
                value = saved_secret(row, name, value, address_changed=changed)
                if name in form.required_secrets:
                    label = str(form.base_fields[name].label)
                    value = required_secret(
                        value,
                        field=name,
                        label=label,
                        missing=f"Paste the {form.vendor} {label}.",
                        changed=changed,
                    )
            setattr(row, name, value.strip())
        self.clean_row(row)
        row.base_url = address
        row.save()
        return row

    def clean_row(self, row) -> None:
        """The vendor's own rules on a row about to be saved: tidy values, or raise a
        ValidationError keyed by field."""

    def check(self, row, recorder: CallRecorder) -> ConnectionCheck:
        raise NotImplementedError

    def failed(self, error: ProviderError) -> ConnectionCheck:
        """A failed connection test, from the error the vendor's call raised."""
        return failed(self.identifier, error)

    # -- the card --------------------------------------------------------------------------

    def card(self, request, page: SettingsPage, *, form=None, row=None) -> dict[str, Any]:
        connected = row is not None
        fill = self.sandbox_fill()
        return {
            **super().card(request, page, form=form),
            "connected": connected,
            "row": row,
            "form": form or self.form(row),
            "check": stored_check(request, self.identifier) if connected else None,
            "fill": json.dumps(fill) if fill else "",
        }

    # -- handlers --------------------------------------------------------------------------

    def connection_test(self, *, organization) -> ConnectionCheck:
        """Call the vendor with the organization's own saved settings and say whether they
        work: wrong credentials, a missing permission or an unreachable host each get their
        own message. Nothing is sent to anyone. The calls made are stored as ProviderCall
        rows."""
        row = self.own(organization)
        if row is None:
            return ConnectionCheck(
                provider=self.identifier,
                ok=False,
                problem="not_connected",
                message=f"Connect {self.label} first.",
            )
        recorder = CallRecorder(organization=organization, provider=self.identifier)
        result = self.check(row, recorder)
        with transaction.atomic():
            recorder.flush()
        return result

    def tested(self, request) -> ConnectionCheck:
        result = self.connection_test(organization=request.organization)
        request.session[SESSION_CHECK.format(provider=self.identifier)] = result.as_session()
        if result.ok:
            messages.success(request, f"{self.label} works: {result.message}")
        else:
            messages.error(request, f"{self.label} test failed: {result.message}")
        return result

    def refuse_second(self, organization) -> None:
        """One texting vendor per organization: refuse while another one is saved."""
        if self.capability != "sms":
            return
        for other in screens_for(self.capability):
            if other is not self and other.own(organization) is not None:
                raise ValidationError(
                    f"{other.label} already sends this organization's texts. Disconnect "
                    f"{other.label} first, then connect {self.label}."
                )

    def save(self, request, page):
        organization = request.organization
        form = self.form(self.own(organization), request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    self.refuse_second(organization)
                    self.save_settings(organization=organization, **form.service_kwargs())
                    page.saved(request, self)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                self.tested(request)
                return self.back(page)
        return page.render(request, forms={self.identifier: form}, status=400)

    def test(self, request, page):
        self.tested(request)
        return self.back(page)

    def disconnect(self, request, page):
        organization = request.organization
        with transaction.atomic():
            deleted, _ = self.model.objects.filter(organization=organization).delete()
        for screen in screens_for(self.capability):
            request.session.pop(SESSION_CHECK.format(provider=screen.identifier), None)
        if deleted:
            messages.success(
                request,
                f"{self.label} is disconnected and its {self.disconnected_what} deleted. "
                f"{page.after_disconnect(request, self)}",
            )
        return self.back(page, anchor=ANCHORS[self.capability])


def stored_check(request, provider: str) -> dict | None:
    stored = request.session.get(SESSION_CHECK.format(provider=provider))
    if not stored:
        return None
    result = dict(stored)
    try:
        result["checked_at"] = datetime.fromisoformat(stored["checked_at"])
    except (KeyError, TypeError, ValueError):
        result["checked_at"] = None
    return result
