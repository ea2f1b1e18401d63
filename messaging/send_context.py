"""What every send of an organization reads the same way — its texting and e-mail providers,
the status callback URL, the reply domain, the quiet-hours windows, the provider account its
sends count against —
resolved once per organization and worker process instead of once per message.

A context lives ``MESSAGING_SEND_CONTEXT_SECONDS`` and is dropped at once when the
organization, or one above it in the account tree, changes what it sends with: every
organization has a generation in the shared cache, and a context is used only while the
generations of the organization's tree are the ones it was built with.
:func:`send_settings_changed` gives an organization a new generation; saving or deleting a
vendor's settings row, the messaging preferences (they hold the callback token) or an
organization (its parent) calls it (:func:`connect_invalidation`, wired in ``apps.ready``).
This is cache upkeep, not a domain side effect: nothing but this cache listens.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from accounts.models import Organization
from messaging import selectors
from messaging.models import MessagingPreferences

GENERATION_KEY = "messaging:send-settings:{}"
_MISSING = object()


def _generations(organization) -> tuple:
    """The generations of ``organization`` and its ancestors (one cache round trip; a key the
    cache lost gets a fresh value, so a cleared cache invalidates every context)."""
    keys = [GENERATION_KEY.format(node.pk) for node in organization.ancestors()]
    found = cache.get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        for key in missing:
            cache.add(key, uuid.uuid4().hex, timeout=None)
        found.update(cache.get_many(missing))
    return tuple(found.get(key) for key in keys)


def send_settings_changed(organization_id: int) -> None:
    """The organization changed what its sends (and its sub-accounts' sends) use: every
    process rebuilds their contexts before the next send."""
    cache.set(GENERATION_KEY.format(organization_id), uuid.uuid4().hex, timeout=None)
    _CONTEXTS.pop(organization_id, None)


def send_context_drop(organization_id: int) -> None:
    """Forget this process's context of the organization (a provider call failed: the next
    send reads the settings again, in case they were fixed meanwhile)."""
    _CONTEXTS.pop(organization_id, None)


def _account(identifier: str, config: dict[str, Any] | None, organization) -> str:
    """The provider account a send counts against: the vendor and its credentials (two
    organizations holding the same credentials share the account's limit); without a settings
    row (the default sandbox, Django's mail backend) the account tree's root."""
    if config is None:
        return f"{identifier}:tree-{organization.ancestors()[-1].pk}"
    digest = hashlib.sha256(
        json.dumps(
            {k: v for k, v in config.items() if k not in ("from_name", "reply_to")},
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()[:20]
    return f"{identifier}:{digest}"


@dataclass
class SendContext:
    """One organization's resolved sending settings; each part read on first use."""

    organization: Organization
    generations: tuple
    built_at: float
    _values: dict[str, Any] = field(default_factory=dict)

    def _memo(self, name: str, build):
        value = self._values.get(name, _MISSING)
        if value is _MISSING:
            try:
                value = build()
            except selectors.MessagingNotConfigured as exc:
                value = exc
            self._values[name] = value
        if isinstance(value, selectors.MessagingNotConfigured):
            raise value
        return value

    def sms_provider(self):
        return self._memo("sms", lambda: selectors.sms_provider_for(self.organization))

    def email_provider(self):
        return self._memo("email", lambda: selectors.email_provider_for(self.organization))

    def status_callback(self, identifier: str) -> str | None:
        return self._memo(
            f"callback:{identifier}",
            lambda: selectors.status_callback_url(
                organization=self.organization, provider=identifier
            ),
        )

    def preferences(self):
        """The messaging preferences (quiet-hours windows, callback token)."""
        return self._memo(
            "preferences", lambda: selectors.preferences_for(organization=self.organization)
        )

    def reply_domain(self) -> str:
        return self._memo("reply_domain", lambda: selectors.reply_domain(self.organization))

    def sms_sandbox_sender(self):
        return self._memo("sandbox", lambda: selectors.sandbox_sms_sender(self.organization))

    def account(self, channel: str) -> str:
        """The provider account of ``channel`` ("sms" or "email") sends count against."""

        def build() -> str:
            if channel == "sms":
                identifier = self.sms_provider().identifier
                _found, row = selectors.sms_settings_for(self.organization)
            else:
                identifier = self.email_provider().identifier
                _found, row = selectors.email_settings_for(self.organization)
            config = row.provider_config() if row is not None else None
            return _account(identifier, config, self.organization)

        return self._memo(f"account:{channel}", build)


_CONTEXTS: dict[int, SendContext] = {}
_LOCK = threading.Lock()


def send_context(organization) -> SendContext:
    """The organization's sending context, built again when it expired or a generation of its
    tree changed."""
    generations = _generations(organization)
    now = time.monotonic()
    with _LOCK:
        context = _CONTEXTS.get(organization.pk)
        if (
            context is None
            or context.generations != generations
            or now - context.built_at > settings.MESSAGING_SEND_CONTEXT_SECONDS
        ):
            context = SendContext(organization, generations, now)
            _CONTEXTS[organization.pk] = context
    return context


def _changed(sender, instance, **kwargs) -> None:
    organization_id = instance.pk if sender is Organization else instance.organization_id
    if organization_id is not None:
        send_settings_changed(organization_id)


def connect_invalidation() -> None:
    """Drop contexts when what they were built from changes (called once from ``ready``)."""
    models = {MessagingPreferences, Organization}
    models.update(screen.model for cap in ("sms", "email") for screen in selectors._screens(cap))
    for model in models:
        post_save.connect(_changed, sender=model, dispatch_uid=f"send-context-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"send-context-{model.__name__}")
