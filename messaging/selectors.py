"""Reads of the messaging domain. Every function takes the organization."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import QuerySet

from integrations.messaging import (
    DeliveryUpdate,
    EmailMessage,
    EmailProvider,
    SendResult,
    SMSProvider,
    WebhookRequest,
)
from integrations.registry import get_provider_class
from messaging.models import (
    Conversation,
    Message,
    MessagingPreferences,
    OptOutAction,
    OptOutEntry,
)
from messaging.quiet_hours import ZoneGuess, candidate_zone
from recruitflow.tenancy import scopes_disabled

SANDBOX_ACCOUNT_SID = "ACsandbox00000000000000000000000000"
SANDBOX_AUTH_TOKEN = "sandbox-auth-token"
SANDBOX_SERVICE_SID = "MGsandbox00000000000000000000000000"


class MessagingNotConfigured(Exception):
    """No provider settings anywhere up the account tree and no sandbox to fall back to."""


# --------------------------------------------------------------------------------------------
# Providers (account tree)
# --------------------------------------------------------------------------------------------


def _provider_kwargs() -> dict[str, Any]:
    return {
        "timeout": getattr(settings, "MESSAGING_PROVIDER_TIMEOUT_S", 10),
        "max_attempts": getattr(settings, "MESSAGING_PROVIDER_MAX_ATTEMPTS", 3),
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


def sms_provider_for(organization) -> SMSProvider:
    """The SMS provider of ``organization``: its own settings, else the nearest ancestor's,
    else the sandbox Twilio (when ``SANDBOX_URL`` is set)."""
    identifier, row = sms_settings_for(organization)
    kwargs = _provider_kwargs()
    if row is not None:
        cls = get_provider_class(identifier)
        if identifier == "twilio":
            return cls(row.provider_config(), **kwargs)
        return cls(row.provider_config(), timeout=kwargs["timeout"])
    sandbox = getattr(settings, "SANDBOX_URL", "")
    if not sandbox:
        raise MessagingNotConfigured(
            "Texting is not set up: connect Twilio or TextUs in Settings → Integrations."
        )
    config = {
        "account_sid": SANDBOX_ACCOUNT_SID,
        "auth_token": SANDBOX_AUTH_TOKEN,
        "messaging_service_sid": SANDBOX_SERVICE_SID,
        "base_url": sandbox.rstrip("/") + "/twilio",
    }
    return get_provider_class("twilio")(config, **kwargs)


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
    """The organization's preferences, or the defaults (unsaved) when it never set any."""
    prefs = MessagingPreferences.unscoped.filter(organization_id=organization.pk).first()
    return prefs or MessagingPreferences(organization=organization)


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
    )


def conversations(*, organization) -> QuerySet[Conversation]:
    return Conversation.unscoped.filter(organization_id=organization.pk).select_related("candidate")


def conversation_messages(*, organization, conversation: Conversation) -> QuerySet[Message]:
    return Message.unscoped.filter(organization_id=organization.pk, conversation=conversation)


def message_find(
    *, organization, our_id: str | int | None = None, provider_message_id: str | None = None
) -> Message | None:
    """A message by our id (as echoed back by the provider) or by the provider's id."""
    qs = Message.unscoped.filter(organization_id=organization.pk)
    if our_id not in (None, ""):
        try:
            found = qs.filter(pk=int(str(our_id))).first()
        except ValueError:
            found = None
        if found is not None:
            return found
    if provider_message_id:
        return qs.filter(provider_message_id=provider_message_id).first()
    return None
