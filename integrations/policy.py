"""The operator's outbound policy for provider addresses, read from Django settings.

``integrations.http`` has no Django imports; the app config hands it this function, which is
called on every request so ``override_settings`` (tests) and a changed setting apply at once.
"""

from __future__ import annotations

from django.conf import settings

from integrations.http_guard import OutboundPolicy


def policy_from_settings() -> OutboundPolicy:
    return OutboundPolicy(
        custom_urls=bool(getattr(settings, "PROVIDER_CUSTOM_URLS", False)),
        allowlist=tuple(
            entry.strip().rstrip("/")
            for entry in getattr(settings, "PROVIDER_URL_ALLOWLIST", ()) or ()
            if entry and entry.strip()
        ),
    )


def custom_addresses_allowed() -> bool:
    return bool(getattr(settings, "PROVIDER_CUSTOM_URLS", False))
