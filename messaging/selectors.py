"""Reads of the messaging domain. Every function takes the organization."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import QuerySet
from django.urls import reverse

from integrations.messaging import (
    DeliveryUpdate,
    EmailMessage,
    EmailProvider,
    ProviderError,
    SendResult,
    SMSProvider,
    WebhookRequest,
)
from integrations.registry import get_provider_class
from integrations.twilio.sandbox import (
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_SERVICE_SID,
)
from messaging.models import (
    Conversation,
    Message,
    MessagingPreferences,
    OptOutAction,
    OptOutEntry,
)
from messaging.quiet_hours import ZoneGuess, candidate_zone
from recruitflow.tenancy import scopes_disabled

SANDBOX_SERVICE_NUMBER = "+15005550100"  # the sandbox Messaging Service's number
SANDBOX_NUMBER_PREFIX = "+1500"


class MessagingNotConfigured(Exception):
    """No provider settings anywhere up the account tree and no sandbox to fall back to."""


# --------------------------------------------------------------------------------------------
# Providers (account tree)
# --------------------------------------------------------------------------------------------


def _provider_kwargs() -> dict[str, Any]:
    return {
        "timeout": settings.MESSAGING_PROVIDER_TIMEOUT_S,
        "max_attempts": settings.MESSAGING_PROVIDER_MAX_ATTEMPTS,
    }


def _first_settings(organization, models: list[tuple[str, type]]):
    """``(identifier, settings row)`` of the nearest organization up the tree that has any."""
    with scopes_disabled():  # ancestors' rows: a deliberate walk up this organization's tree
        for node in organization.ancestors():
            for identifier, model in models:
                row = model.objects.filter(organization_id=node.pk).first()
                if row is not None:
                    return identifier, row
    return None, None


def sms_settings_for(organization):
    from integrations.textus.models import TextUsSettings
    from integrations.twilio.models import TwilioSettings

    return _first_settings(organization, [("twilio", TwilioSettings), ("textus", TextUsSettings)])


def sandbox_shortcuts_enabled() -> bool:
    """True when this deployment allows sandbox shortcuts: ``SANDBOX_URL`` is set and
    ``SANDBOX_SHORTCUTS`` is on (its default follows ``DEBUG``)."""
    return bool(settings.SANDBOX_URL) and bool(getattr(settings, "SANDBOX_SHORTCUTS", False))


def sandbox_chosen_by_default(organization) -> bool:
    """True when ``organization`` chose the sandbox without saving settings: it (or an
    organization above it) is the seeded demo organization (``Organization.is_demo``), and
    shortcuts are enabled. Any other organization chooses the sandbox by saving the sandbox's
    settings ("Use the sandbox" in Settings → Messaging)."""
    return sandbox_shortcuts_enabled() and any(org.is_demo for org in organization.ancestors())


def sms_uses_sandbox(organization) -> bool:
    """True when texts of ``organization`` go through the sandbox Twilio by default: no Twilio
    or TextUs settings anywhere up its account tree, and it chose the sandbox
    (:func:`sandbox_chosen_by_default`)."""
    return sandbox_chosen_by_default(organization) and sms_settings_for(organization)[1] is None


def sandbox_sms_number(organization) -> str:
    """The sandbox phone number texts of ``organization``'s account tree go out from.

    Every tree gets its own number (derived from the root organization, so it needs no storage
    and survives a sandbox restart): a candidate's reply reaches the number that texted them,
    and that number's incoming-message URL is this tree's, never another customer's."""
    root = organization.ancestors()[-1]
    return f"{SANDBOX_NUMBER_PREFIX}{root.pk % 10**7:07d}"


def sandbox_sms_sender(organization):
    """``(owner, number)`` when texts of ``organization`` go out through the sandbox Twilio:
    the number they are sent from and the organization it belongs to (the tree's root for the
    default sandbox, else the organization holding the Twilio settings that point at the
    sandbox). None when texting does not run on the sandbox."""
    if not sandbox_shortcuts_enabled():
        return None
    identifier, row = sms_settings_for(organization)
    if row is None:
        if not sandbox_chosen_by_default(organization):
            return None
        return organization.ancestors()[-1], sandbox_sms_number(organization)
    sandbox_twilio = settings.SANDBOX_URL.rstrip("/") + "/twilio"
    if identifier != "twilio" or row.base_url.rstrip("/") != sandbox_twilio:
        return None
    number = row.from_number or (
        SANDBOX_SERVICE_NUMBER if row.messaging_service_sid == SANDBOX_SERVICE_SID else ""
    )
    if not number:
        return None
    owner = next(org for org in organization.ancestors() if org.pk == row.organization_id)
    return owner, number


def _sandbox_twilio_config(organization) -> dict[str, Any]:
    return {
        "account_sid": SANDBOX_ACCOUNT_SID,
        "auth_token": SANDBOX_AUTH_TOKEN,
        "from_number": sandbox_sms_number(organization),
        "base_url": settings.SANDBOX_URL.rstrip("/") + "/twilio",
    }


def sms_provider_for(organization) -> SMSProvider:
    """The SMS provider of ``organization``: its own settings, else the nearest ancestor's,
    else the sandbox Twilio when the organization chose it (:func:`sms_uses_sandbox`)."""
    identifier, row = sms_settings_for(organization)
    kwargs = _provider_kwargs()
    if row is not None:
        cls = get_provider_class(identifier)
        if identifier == "twilio":
            return cls(row.provider_config(), **kwargs)
        return cls(row.provider_config(), timeout=kwargs["timeout"])
    if not sms_uses_sandbox(organization):
        raise MessagingNotConfigured(
            "Texting is not set up: connect Twilio or TextUs in Settings → Messaging."
        )
    return get_provider_class("twilio")(_sandbox_twilio_config(organization), **kwargs)


def callback_provider_for(organization, provider: str):
    """``(adapter, None)`` whose key verifies ``provider``'s callbacks to ``organization`` —
    the organization's own settings or the nearest ancestor's (the sandbox Twilio's auth token
    when the organization texts through the sandbox by default) — or ``(None, reason)`` when
    nothing could have signed them. The sandbox's auth token is public, so settings holding it
    verify nothing unless sandbox shortcuts are enabled (``SANDBOX_SHORTCUTS``)."""
    from integrations.sendgrid.models import SendGridSettings
    from integrations.textus.models import TextUsSettings
    from integrations.twilio.models import TwilioSettings

    models_by_provider = {
        "twilio": TwilioSettings,
        "textus": TextUsSettings,
        "sendgrid": SendGridSettings,
    }
    _identifier, row = _first_settings(organization, [(provider, models_by_provider[provider])])
    cls = get_provider_class(provider)
    timeout = settings.MESSAGING_PROVIDER_TIMEOUT_S
    if row is not None:
        if provider == "textus" and not row.signing_secret:
            return None, (
                "The TextUs signing secret is not set: copy it from the TextUs webhook "
                "integration into Settings → Messaging."
            )
        if (
            provider == "twilio"
            and row.auth_token == SANDBOX_AUTH_TOKEN
            and not sandbox_shortcuts_enabled()
        ):
            return None, (
                "These Twilio settings hold the sandbox's public auth token, which this "
                "deployment does not accept (SANDBOX_SHORTCUTS is off): enter the account's "
                "own auth token in Settings → Messaging."
            )
        if provider == "sendgrid" and not row.event_public_key:
            return None, (
                "The SendGrid Event Webhook verification key is not set: copy it from SendGrid "
                "(Mail Settings → Event Webhook → Signature Verification) into Settings → "
                "Messaging."
            )
        try:
            return cls(row.provider_config(), timeout=timeout), None
        except ProviderError as exc:
            return None, exc.message
    if provider == "twilio" and sms_uses_sandbox(organization):
        return cls(_sandbox_twilio_config(organization), timeout=timeout), None
    names = {"twilio": "Twilio", "textus": "TextUs", "sendgrid": "SendGrid"}
    return None, f"{names[provider]} is not connected for this organization."


class DjangoEmailProvider(EmailProvider):
    """E-mail through Django's configured backend (console/file/SMTP): what runs out of the box
    when no SendGrid key is set. No delivery events."""

    identifier = "django"
    display_name = "Django e-mail backend"

    def send(self, message: EmailMessage) -> SendResult:
        sender = message.from_email or settings.DEFAULT_FROM_EMAIL
        if message.from_email and message.from_name:
            sender = f"{message.from_name} <{message.from_email}>"
        to = f"{message.to_name} <{message.to_email}>" if message.to_name else message.to_email
        message_id = f"django-{uuid.uuid4().hex}"
        mail = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text or "",
            from_email=sender,
            to=[to],
            reply_to=[message.reply_to] if message.reply_to else None,
            headers={"X-RecruitFlow-Message-Id": str(message.message_id or "")},
        )
        if message.html:
            mail.attach_alternative(message.html, "text/html")
        for filename, content, mimetype in message.attachments:
            mail.attach(filename, content, mimetype)
        mail.send()
        return SendResult(provider_message_id=message_id, status="sent")

    def verify_webhook(self, request: WebhookRequest) -> bool:
        return False

    def parse_webhook(self, request: WebhookRequest) -> list[DeliveryUpdate]:
        return []


def email_provider_for(organization) -> EmailProvider:
    """SendGrid settings of ``organization`` or its nearest ancestor, else Django's backend."""
    from integrations.sendgrid.models import SendGridSettings

    identifier, row = _first_settings(organization, [("sendgrid", SendGridSettings)])
    if row is None:
        return DjangoEmailProvider()
    return get_provider_class(identifier)(
        row.provider_config(), timeout=_provider_kwargs()["timeout"]
    )


# --------------------------------------------------------------------------------------------
# Opt-out ledger
# --------------------------------------------------------------------------------------------


def opt_out_latest(*, organization, phone: str) -> OptOutEntry | None:
    return (
        OptOutEntry.unscoped.filter(organization_id=organization.pk, phone=phone)
        .order_by("-created_at", "-id")
        .first()
    )


def is_locked(organization, phone: str) -> bool:
    """True when the latest ledger entry for ``phone`` in ``organization`` is a lock."""
    if not phone:
        return False
    latest = opt_out_latest(organization=organization, phone=phone)
    return latest is not None and latest.action == OptOutAction.LOCK


def opt_out_history(*, organization, phone: str) -> QuerySet[OptOutEntry]:
    return OptOutEntry.unscoped.filter(organization_id=organization.pk, phone=phone)


# --------------------------------------------------------------------------------------------
# Preferences, zones, conversations
# --------------------------------------------------------------------------------------------


def preferences_for(*, organization) -> MessagingPreferences:
    """The organization's preferences row, created with the defaults the first time it is
    needed (the row also holds the token of the organization's callback URLs)."""
    prefs, _created = MessagingPreferences.unscoped.get_or_create(organization=organization)
    return prefs


@dataclass(frozen=True)
class CallbackUrls:
    """The public URLs providers call for one organization (what an admin pastes into the
    provider's console; the sandbox and each Twilio send are given them directly)."""

    twilio_status: str
    twilio_inbound: str
    textus: str
    sendgrid_events: str


def organization_for_endpoint(token: str):
    """The active organization whose webhook endpoint token is ``token``, or None. Crosses
    tenants on purpose: the token in a provider's callback URL is what names the organization
    (messaging callbacks and Cronofy notifications share it)."""
    with scopes_disabled():
        prefs = (
            MessagingPreferences.unscoped.select_related("organization")
            .filter(endpoint_token=token, organization__is_active=True)
            .first()
        )
    return prefs.organization if prefs is not None else None


def callback_urls(*, organization) -> CallbackUrls:
    token = preferences_for(organization=organization).endpoint_token
    base = settings.PUBLIC_BASE_URL.rstrip("/")

    def url(name: str) -> str:
        return base + reverse(f"messaging_webhooks:{name}", args=[token])

    return CallbackUrls(
        twilio_status=url("twilio-status"),
        twilio_inbound=url("twilio-inbound"),
        textus=url("textus"),
        sendgrid_events=url("sendgrid-events"),
    )


def organization_subtree(organization) -> list:
    """``organization`` and its active sub-accounts at any depth, the organization first."""
    from accounts.models import Organization

    found, frontier = [organization], [organization.pk]
    seen = {organization.pk}
    while frontier:
        children = list(
            Organization.objects.filter(parent_id__in=frontier, is_active=True).exclude(pk__in=seen)
        )
        found.extend(children)
        frontier = [child.pk for child in children]
        seen.update(frontier)
    return found


def organizations_sharing_sms_sender(*, organization, among: list) -> list:
    """Those of ``among`` that text through the same provider settings as ``organization``
    (its own or an ancestor's row, or the same sandbox number): one sender, so one opt-out
    list at the provider."""

    def sender(org):
        if sms_uses_sandbox(org):
            return ("sandbox", sandbox_sms_number(org))
        identifier, row = sms_settings_for(org)
        return (identifier, row.pk if row is not None else None)

    mine = sender(organization)
    return [org for org in among if sender(org) == mine]


def candidate_time_zone(*, organization, candidate) -> ZoneGuess:
    """The candidate's zone from the best evidence, with the reason (for the UI)."""
    from candidates.models import Office

    locations = list(
        Office.unscoped.filter(
            organization_id=organization.pk, jobs__application__candidate_id=candidate.pk
        )
        .exclude(location="")
        .values_list("location", flat=True)
        .distinct()
    )
    return candidate_zone(
        phone=candidate.mobile_phone,
        office_locations=locations,
        organization_zone=organization.time_zone,
        explicit_zone=candidate.time_zone,
        explicit_source=candidate.time_zone_source,
    )


def conversations(*, organization) -> QuerySet[Conversation]:
    return Conversation.unscoped.filter(organization_id=organization.pk).select_related("candidate")


def conversation_messages(*, organization, conversation: Conversation) -> QuerySet[Message]:
    return Message.unscoped.filter(organization_id=organization.pk, conversation=conversation)


def message_find(
    *,
    organization,
    our_id: str | int | None = None,
    provider_message_id: str | None = None,
    organizations: list | None = None,
) -> Message | None:
    """A message by our id (as echoed back by the provider) or by the provider's id, in
    ``organization`` (or any of ``organizations``, for callbacks to a parent account that
    also carry its sub-accounts' messages). Our id only counts when the provider's id, if both
    are known, agrees."""
    org_ids = [org.pk for org in organizations] if organizations else [organization.pk]
    qs = Message.unscoped.filter(organization_id__in=org_ids)
    if our_id not in (None, ""):
        try:
            found = qs.filter(pk=int(str(our_id))).first()
        except ValueError:
            found = None
        if found is not None and (
            not provider_message_id
            or not found.provider_message_id
            or found.provider_message_id == provider_message_id
        ):
            return found
    if provider_message_id:
        return qs.filter(provider_message_id=provider_message_id).first()
    return None


def latest_outbound_text(*, organizations: list, phone: str, sender: str = "") -> Message | None:
    """The most recent text any of ``organizations`` sent to ``phone`` (from ``sender`` when
    given and any were sent from it)."""
    qs = Message.unscoped.filter(
        organization_id__in=[org.pk for org in organizations],
        channel="sms",
        direction="outbound",
        to_address=phone,
        sent_at__isnull=False,
    ).order_by("-sent_at", "-id")
    if sender:
        from_sender = qs.filter(from_address=sender).first()
        if from_sender is not None:
            return from_sender
    return qs.first()
