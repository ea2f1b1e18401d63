""" "Use the sandbox": an organization of its own on the sandbox vendors that `make run` starts.

`organization_sandbox_use` gives the organization its own sandbox Greenhouse company (its own
candidates, credentials, webhook and screens), connects to it, tests the connection, requests
the first sync and points the company's webhook at the organization's endpoint, so a stage
change made on the company's screen reaches the organization at once. Texting and e-mail go
through the sandbox too when nothing is connected for them up the account tree: texts from a
sandbox number of the organization's own (its replies come back to it), e-mail to the sandbox
outbox with a sandbox SendGrid API key of its own whose account's signed Event Webhook posts to
the organization's endpoint (delivery, bounce and open events come back to it, not the demo). Safe to run again: the company is found by a key made from the organization, and what
is already set up is kept. Lives in `recruitflow` because it wires the ATS mirror and messaging.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.crypto import salted_hmac

from candidates.demo import (
    SandboxUnavailable,
    sandbox_company_create,
    sandbox_greenhouse_connect,
    sandbox_sendgrid_account,
    sandbox_sync_start,
    sandbox_webhook_point,
)
from integrations.connections import ats_connection_for
from integrations.cronofy.connections import cronofy_settings_for
from integrations.cronofy.screen import CronofyScreen
from integrations.cronofy.services import cronofy_settings_save
from integrations.greenhouse.models import GreenhouseConnection
from integrations.greenhouse.screen import SANDBOX_CLIENT_PREFIX, sandbox_screen_for
from integrations.messaging_screens import MessagingScreen
from integrations.screens import screens_for
from messaging import selectors as messaging_selectors
from messaging.services import sandbox_sms_wire
from recruitflow.tenancy import tenant_scope

NOT_AVAILABLE = (
    "The sandbox is not available on this installation (SANDBOX_URL is not set): connect your "
    "own ATS under Settings → Integrations. `make run` starts the sandbox on a developer machine."
)


class SandboxRefused(Exception):
    """The organization cannot use the sandbox now; the message says why and what to do."""


@dataclass
class SandboxSetup:
    """What "Use the sandbox" did: sentences for the admin, problems, and the company's screen."""

    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    screen_url: str = ""
    company_key: str = ""


def sandbox_available() -> bool:
    return bool(settings.SANDBOX_URL)


def sandbox_company_key(organization) -> str:
    """The key of the organization's sandbox company: stable for the organization, different
    on another installation (keyed with this one's secret), not guessable from the id."""
    digest = salted_hmac("recruitflow.sandbox_org", str(organization.pk)).hexdigest()
    return f"rf-{organization.pk}-{digest[:10]}"


def sandbox_screen_url(organization) -> str:
    """The organization's sandbox Greenhouse screen ("move a candidate there"), or "" when it
    does not use the sandbox."""
    with tenant_scope(organization):
        connection = GreenhouseConnection.objects.filter(organization=organization).first()
    return sandbox_screen_for(connection)


def organization_sandbox_use(*, organization, membership) -> SandboxSetup:
    """Set ``organization`` up on the sandbox (see the module). Owners and admins only.

    Raises PermissionDenied for another role, SandboxRefused when the sandbox is not available
    or the organization is connected to an ATS of its own; the rest is reported in the result.
    """
    if membership is None or membership.organization_id != organization.pk:
        raise PermissionDenied("Only owners and admins of this organization can do this.")
    if not membership.is_admin:
        raise PermissionDenied("Only owners and admins can set up the sandbox.")
    sandbox = settings.SANDBOX_URL
    if not sandbox:
        raise SandboxRefused(NOT_AVAILABLE)
    with tenant_scope(organization):
        current = ats_connection_for(organization)
    if current is not None and not (
        isinstance(current, GreenhouseConnection) and current.base_url.startswith(sandbox)
    ):
        raise SandboxRefused(
            "This organization is connected to its own ATS, so the sandbox would replace it. "
            "Disconnect it under Settings → Integrations first if you want to try the sandbox."
        )

    key = sandbox_company_key(organization)
    if current is not None and current.client_id != f"{SANDBOX_CLIENT_PREFIX}{key}":
        # Already on the sandbox's shared company (the demo's, or its credentials typed in by
        # hand): switching companies would mix two companies' records in one mirror.
        setup = SandboxSetup(screen_url=sandbox_screen_for(current))
        setup.done.append(
            "Your ATS connection already reads the sandbox Greenhouse's shared company; it is "
            "kept as it is."
        )
        _messaging_use(organization, setup)
        _calendar_use(organization, setup)
        return setup
    try:
        company = sandbox_company_create(sandbox_url=sandbox, key=key, name=organization.name)
    except SandboxUnavailable as exc:
        raise SandboxRefused(f"{exc} Start it (`make run` does) and try again.") from exc
    setup = SandboxSetup(screen_url=company["screen_url"], company_key=key)
    connection = sandbox_greenhouse_connect(
        organization=organization,
        sandbox_url=sandbox,
        client_id=company["client_id"],
        client_secret=company["client_secret"],
    )
    if connection is None:  # pointed elsewhere meanwhile
        raise SandboxRefused("This organization's ATS connection points somewhere else.")
    works, said = sandbox_sync_start(organization=organization, connection=connection)
    (setup.done if works else setup.problems).append(
        f"Connected to your own sandbox Greenhouse ({company['candidates']} candidates). {said}"
        if works
        else said
    )
    if works:
        hooked, said = sandbox_webhook_point(
            connection=connection,
            control_url=f"{sandbox}/greenhouse/companies/{key}/_sandbox/api",
            public_base_url=settings.PUBLIC_BASE_URL,
        )
        if hooked:
            setup.done.append("Stage changes there reach RecruitFlow at once (webhook on).")
        else:
            setup.problems.append(
                f"Webhook not on: {said}. Stage changes arrive with the next sync instead."
            )
    _messaging_use(organization, setup)
    _calendar_use(organization, setup)
    return setup


def _calendar_use(organization, setup: SandboxSetup) -> None:
    """The sandbox Cronofy as the organization's calendar application, unless one is set up
    up the account tree; each member then connects their own sandbox calendar in My calendar."""
    if cronofy_settings_for(organization) is not None:
        setup.done.append("Calendars: kept the calendar settings already saved.")
        return
    fill = CronofyScreen().sandbox_fill()
    if not fill:
        return
    try:
        with tenant_scope(organization):
            cronofy_settings_save(
                organization=organization, previous_client_secret="", **json.loads(fill)
            )
    except ValidationError as exc:
        setup.problems.append(f"Calendars not set up: {'; '.join(exc.messages)}")
        return
    setup.done.append(
        "Calendars: the sandbox calendar service; each member connects their own in My calendar."
    )


def _messaging_use(organization, setup: SandboxSetup) -> None:
    """Texting and e-mail through the sandbox, each only when nothing is connected for it up
    the account tree (what is set up stays)."""
    if not messaging_selectors.sandbox_shortcuts_enabled():
        setup.problems.append(
            "Texting and e-mail were not set up: this installation does not allow sandbox "
            "shortcuts (SANDBOX_SHORTCUTS is off)."
        )
        return
    if messaging_selectors.sandbox_chosen_by_default(organization):
        setup.done.append("Texting and e-mail: already through the sandbox (the demo's).")
        return
    sms = _fill_screen("sms")
    if messaging_selectors.sms_settings_for(organization)[1] is not None:
        setup.done.append("Texting: kept the texting settings already saved.")
    elif sms is not None:
        values = dict(sms.sandbox_fill() or {})
        number = messaging_selectors.sandbox_sms_number(organization)
        if "from_number" in values:
            # A number of this organization's own, so candidates' replies come back to it
            # (the sandbox's shared service number answers to one organization only).
            values["from_number"] = number
            values["messaging_service_sid"] = ""
        if _saved(sms, organization, values, setup):
            with tenant_scope(organization):
                wired = sandbox_sms_wire(organization=organization)
            setup.done.append(
                f"Texting: through the sandbox {sms.label} from {number}"
                + ("; replies come back to your Inbox." if wired else ".")
            )
    email = _fill_screen("email")
    if messaging_selectors.email_settings_for(organization)[1] is not None:
        setup.done.append("E-mail: kept the e-mail settings already saved.")
    elif email is not None and _saved(
        email, organization, _email_values(email, organization), setup
    ):
        setup.done.append(
            f"E-mail: through the sandbox {email.label} (its outbox shows them); delivery, "
            "bounce and open events come back to this organization."
        )


def _email_values(screen: MessagingScreen, organization) -> dict:
    """The sandbox e-mail settings with an API key of the organization's own whose account's
    Event Webhook posts, signed, to the organization's endpoint (the shared key's webhook
    belongs to the demo). Without an event webhook on the provider, the shared values."""
    values = dict(screen.sandbox_fill() or {})
    events = messaging_selectors.callback_urls(organization=organization).urls.get(
        f"{screen.identifier}-events"
    )
    if "api_key" not in values or events is None:
        return values
    api_key = f"{values['api_key']}-{sandbox_company_key(organization)}"
    try:
        public_key = sandbox_sendgrid_account(
            sandbox_url=settings.SANDBOX_URL, api_key=api_key, event_url=events
        )
    except SandboxUnavailable:
        return values
    return {**values, "api_key": api_key, "event_public_key": public_key}


def _fill_screen(capability: str) -> MessagingScreen | None:
    screens = [
        s for s in screens_for(capability) if isinstance(s, MessagingScreen) and s.sandbox_fill()
    ]
    preferred = [s for s in screens if s.default_sandbox]
    return next(iter(preferred or screens), None)


def _saved(screen: MessagingScreen, organization, values: dict, setup: SandboxSetup) -> bool:
    form = screen.form_class
    kwargs = {
        name: str(values.get(name, "") or "")
        for name in form.base_fields
        if name != "base_url" and name in values
    }
    try:
        with tenant_scope(organization):
            screen.save_settings(
                organization=organization, base_url=values.get("base_url", ""), **kwargs
            )
    except ValidationError as exc:
        setup.problems.append(f"{screen.label} not set up: {'; '.join(exc.messages)}")
        return False
    return True
