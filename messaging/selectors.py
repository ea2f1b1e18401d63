"""Reads of the messaging domain. Every function takes the organization."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import Organization
from candidates.models import Office
from integrations.messaging import (
    DeliveryUpdate,
    EmailMessage,
    EmailProvider,
    ProviderError,
    SendResult,
    SMSProvider,
    WebhookRequest,
)
from integrations.messaging_screens import MessagingScreen
from integrations.screens import screens_for
from messaging.email_consent import normalize_email
from messaging.models import (
    Channel,
    Conversation,
    EmailOptOutEntry,
    EmailReplyEndpoint,
    Message,
    MessagingPreferences,
    OptOutAction,
    OptOutEntry,
)
from messaging.quiet_hours import ZoneGuess, candidate_zone
from recruitflow.tenancy import scopes_disabled

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


def _screens(capability: str) -> list[MessagingScreen]:
    """The vendor screens of ``capability`` ("sms" or "email"), in lookup order."""
    return [s for s in screens_for(capability) if isinstance(s, MessagingScreen)]


def _screen(identifier: str) -> MessagingScreen | None:
    return next(
        (s for cap in ("sms", "email") for s in _screens(cap) if s.identifier == identifier),
        None,
    )


def _first_settings(organization, models: list[tuple[str, type]]):
    """``(identifier, settings row)`` of the nearest organization up the tree that has any."""
    with scopes_disabled():  # ancestors' rows: a deliberate walk up this organization's tree
        for node in organization.ancestors():
            for identifier, model in models:
                row = model.objects.filter(organization_id=node.pk).first()
                if row is not None:
                    return identifier, row
    return None, None


def _settings_for(organization, capability: str):
    return _first_settings(organization, [(s.identifier, s.model) for s in _screens(capability)])


def sms_settings_for(organization):
    """``(identifier, settings row)`` of the texting vendor of ``organization`` or its nearest
    ancestor, or ``(None, None)``."""
    return _settings_for(organization, "sms")


def email_settings_for(organization):
    """``(identifier, settings row)`` of the e-mail vendor of ``organization`` or its nearest
    ancestor, or ``(None, None)`` (e-mails then go out through Django's mail backend)."""
    return _settings_for(organization, "email")


def _default_sandbox_screen() -> MessagingScreen | None:
    """The texting vendor whose sandbox an organization that chose the sandbox texts through."""
    return next((s for s in _screens("sms") if s.default_sandbox), None)


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
    """True when texts of ``organization`` go through the default sandbox texting vendor: no
    texting settings anywhere up its account tree, and it chose the sandbox
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
    """``(owner, number)`` when texts of ``organization`` go out through the sandbox: the
    number they are sent from and the organization it belongs to (the tree's root for the
    default sandbox, else the organization holding the texting settings that point at the
    sandbox). None when texting does not run on the sandbox."""
    if not sandbox_shortcuts_enabled():
        return None
    identifier, row = sms_settings_for(organization)
    if row is None:
        if not sandbox_chosen_by_default(organization):
            return None
        return organization.ancestors()[-1], sandbox_sms_number(organization)
    screen = _default_sandbox_screen()
    if screen is None or identifier != screen.identifier:
        return None
    number = screen.sandbox_sender(row)
    if not number:
        return None
    owner = next(org for org in organization.ancestors() if org.pk == row.organization_id)
    return owner, number


def _sandbox_sms_provider(organization, *, timeout, max_attempts=None) -> SMSProvider | None:
    screen = _default_sandbox_screen()
    config = screen.sandbox_config(sandbox_sms_number(organization)) if screen else None
    if screen is None or config is None:
        return None
    return screen.adapter(config, timeout=timeout, max_attempts=max_attempts)


def sandbox_sms_provider() -> str:
    """The identifier of the texting vendor whose sandbox the default sandbox is ("" if none)."""
    screen = _default_sandbox_screen()
    return screen.identifier if screen is not None else ""


def texting_not_set_up() -> str:
    """What a recruiter reads when no texting vendor is connected anywhere up the tree."""
    labels = " or ".join(s.label for s in _screens("sms"))
    return f"Texting is not set up: connect {labels} in Settings → Messaging."


def sms_provider_for(organization) -> SMSProvider:
    """The SMS provider of ``organization``: its own settings, else the nearest ancestor's,
    else the default sandbox when the organization chose it (:func:`sms_uses_sandbox`)."""
    identifier, row = sms_settings_for(organization)
    kwargs = _provider_kwargs()
    if row is not None:
        screen = _screen(identifier)
        assert screen is not None  # the row was found through its screen
        return screen.adapter(row.provider_config(), **kwargs)
    provider = (
        _sandbox_sms_provider(organization, **kwargs) if sms_uses_sandbox(organization) else None
    )
    if provider is None:
        raise MessagingNotConfigured(texting_not_set_up())
    return provider


def callback_provider_for(organization, provider: str):
    """``(adapter, None)`` whose key verifies ``provider``'s callbacks to ``organization`` —
    the organization's own settings or the nearest ancestor's (the default sandbox's key when
    the organization texts through the sandbox by default) — or ``(None, reason)`` when
    nothing could have signed them. The sandbox's key is public, so settings holding it
    verify nothing unless sandbox shortcuts are enabled (``SANDBOX_SHORTCUTS``)."""
    screen = _screen(provider)
    if screen is None:
        return None, f"No messaging provider called {provider!r}."
    _identifier, row = _first_settings(organization, [(provider, screen.model)])
    timeout = settings.MESSAGING_PROVIDER_TIMEOUT_S
    if row is not None:
        problem = screen.callback_problem(row, sandbox_shortcuts=sandbox_shortcuts_enabled())
        if problem:
            return None, problem
        try:
            return screen.adapter(row.provider_config(), timeout=timeout), None
        except ProviderError as exc:
            return None, exc.message
    if screen.default_sandbox and sms_uses_sandbox(organization):
        adapter = _sandbox_sms_provider(organization, timeout=timeout)
        if adapter is not None:
            return adapter, None
    return None, f"{screen.label} is not connected for this organization."


class DjangoEmailProvider(EmailProvider):
    """E-mail through Django's configured backend (console/file/SMTP): what runs out of the box
    when no e-mail vendor is connected. No delivery events."""

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
            headers={
                "X-RecruitFlow-Message-Id": str(message.message_id or ""),
                **dict(message.headers),
            },
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
    """The e-mail vendor of ``organization`` or its nearest ancestor, else Django's backend."""
    identifier, row = _settings_for(organization, "email")
    screen = _screen(identifier) if row is not None else None
    if screen is None:
        return DjangoEmailProvider()
    return screen.adapter(row.provider_config(), timeout=_provider_kwargs()["timeout"])


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


def locked_addresses(*, organization, phones, emails) -> set[tuple[str, str]]:
    """``(channel, address)`` of those ``phones`` and ``emails`` whose latest opt-out ledger entry
    in ``organization`` is a lock, as :func:`is_locked` and ``email_is_locked`` decide for one
    address (e-mail addresses normalized): one read per channel, for a batch of sends."""
    phones = {phone for phone in phones if phone}
    emails = {normalize_email(email) for email in emails if normalize_email(email)}
    locked: set[tuple[str, str]] = set()
    ledgers = (
        (Channel.SMS, OptOutEntry, "phone", phones),
        (Channel.EMAIL, EmailOptOutEntry, "email", emails),
    )
    for channel, ledger, field_name, addresses in ledgers:
        if not addresses:
            continue
        seen: set[str] = set()
        rows = ledger.unscoped.filter(
            organization_id=organization.pk, **{f"{field_name}__in": addresses}
        ).order_by("-created_at", "-id")
        for address, action in rows.values_list(field_name, "action"):
            if address not in seen:
                seen.add(address)
                if action == OptOutAction.LOCK:
                    locked.add((channel, address))
    return locked


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
    provider's console; the sandbox and each send that asks for callbacks are given them
    directly). ``urls`` is keyed by the callback's URL name (each vendor screen's
    ``webhooks``); an attribute reads it with underscores for hyphens (``urls.x_status``)."""

    urls: dict[str, str]
    organization: Any = field(default=None, repr=False, compare=False)

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.urls[name.replace("_", "-")]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def email_reply_domain(self) -> str:
        """The host the provider must parse for this organization's replies."""
        return reply_domain(self.organization)

    @property
    def email_inbound(self) -> str:
        """Where the e-mail provider posts replies, with the basic auth it must send (read
        only when shown: it makes the organization's credentials on first use)."""
        return inbound_parse_url(organization=self.organization).url_with_credentials


INBOUND_EMAIL_USERNAME = "inbound"


def reply_domain(organization) -> str:
    """The host of ``organization``'s reply addresses: ``o<id>.REPLY_EMAIL_DOMAIN`` of the
    organization whose e-mail settings it sends with (its own, or the nearest ancestor's). One
    host per e-mail account, because the provider routes a parsed host to one account's URL
    (a wildcard MX for ``*.REPLY_EMAIL_DOMAIN`` points them all at the provider)."""
    _identifier, row = _settings_for(organization, "email")
    owner_id = row.organization_id if row is not None else organization.pk
    return f"o{owner_id}.{settings.REPLY_EMAIL_DOMAIN}"


def issued_reply_endpoint(organization) -> EmailReplyEndpoint | None:
    """The organization's reply endpoint credentials, if any were ever made."""
    return EmailReplyEndpoint.unscoped.filter(organization_id=organization.pk).first()


def reply_endpoint_for(organization) -> EmailReplyEndpoint:
    """The organization's basic-auth credentials for its reply endpoint (made on first use)."""
    endpoint = issued_reply_endpoint(organization)
    if endpoint is not None:
        return endpoint
    try:
        with transaction.atomic():
            return EmailReplyEndpoint.unscoped.create(
                organization=organization,
                username=INBOUND_EMAIL_USERNAME,
                password=secrets.token_urlsafe(24),
            )
    except IntegrityError:
        return EmailReplyEndpoint.unscoped.get(organization_id=organization.pk)


@dataclass(frozen=True)
class InboundParseUrl:
    """Where the e-mail provider posts replies: ``url`` (without credentials) and
    ``url_with_credentials`` (``https://user:password@host/...``, what is pasted into the
    provider's Inbound Parse settings, since it signs nothing and sends basic auth from it)."""

    url: str
    username: str
    password: str

    @property
    def url_with_credentials(self) -> str:
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{self.username}:{self.password}@{rest}"


def inbound_parse_url(*, organization) -> InboundParseUrl:
    token = preferences_for(organization=organization).endpoint_token
    endpoint = reply_endpoint_for(organization)
    url = settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
        "messaging_webhooks:email-inbound", args=[token]
    )
    return InboundParseUrl(url=url, username=endpoint.username, password=endpoint.password)


def organization_for_endpoint(token: str):
    """The active organization whose webhook endpoint token is ``token``, or None. Crosses
    tenants on purpose: the token in a provider's callback URL is what names the organization
    (messaging callbacks and calendar notifications share it)."""
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

    names = [
        name
        for cap in ("sms", "email")
        for screen in _screens(cap)
        for name, *_ in screen.webhooks
        if not hasattr(CallbackUrls, name.replace("-", "_"))  # e.g. the reply domain
    ]
    return CallbackUrls(urls={name: url(name) for name in names}, organization=organization)


def status_callback_url(*, organization, provider: str) -> str | None:
    """Where ``provider`` should report the delivery of a text it sends for ``organization``,
    or None when it reports to an account-wide webhook instead."""
    screen = _screen(provider)
    if screen is None or not screen.status_callback:
        return None
    return callback_urls(organization=organization).urls[screen.status_callback]


def incoming_text_url(*, organization, provider: str) -> str:
    """Where ``provider`` posts the texts candidates send to ``organization``'s numbers."""
    screen = _screen(provider)
    if screen is None or not screen.incoming_callback:
        raise MessagingNotConfigured(f"{provider!r} takes no incoming-text address per number.")
    return callback_urls(organization=organization).urls[screen.incoming_callback]


def organization_subtree(organization) -> list:
    """``organization`` and its active sub-accounts at any depth, the organization first."""
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
    return candidate_time_zones(organization=organization, candidates=[candidate])[candidate.pk]


def candidate_time_zones(*, organization, candidates) -> dict[int, ZoneGuess]:
    """:func:`candidate_time_zone` of each of ``candidates`` by id, their jobs' office
    locations read in one query (for a batch of sends)."""
    candidates = list(candidates)
    locations: dict[int, list[str]] = {}
    for candidate_id, location in (
        Office.unscoped.filter(
            organization_id=organization.pk,
            jobs__application__candidate_id__in={c.pk for c in candidates},
        )
        .exclude(location="")
        .values_list("jobs__application__candidate_id", "location")
        .distinct()
    ):
        locations.setdefault(candidate_id, []).append(location)
    return {
        candidate.pk: candidate_zone(
            phone=candidate.mobile_phone,
            office_locations=locations.get(candidate.pk, ()),
            organization_zone=organization.time_zone,
            explicit_zone=candidate.time_zone,
            explicit_source=candidate.time_zone_source,
        )
        for candidate in candidates
    }


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
