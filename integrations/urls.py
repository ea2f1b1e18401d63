"""URL patterns of the vendor screens, included by each capability's Settings page:
``<vendor>/`` saves the vendor's settings form and ``<vendor>/<action>/`` runs any other action
(``test``, ``disconnect``, ``oauth-start``, ...), all through :func:`integrations.views.provider_action`.
"""

from __future__ import annotations

from django.urls import path

from .screens import SettingsPage, screens_for
from .views import disconnect_capability, provider_action


def provider_patterns(page: SettingsPage) -> list:
    """The generic patterns, named ``provider`` and ``provider_action`` in the including
    namespace (``{% url 'integrations:provider_action' 'lever' 'test' %}``), after the older
    addresses the page's vendors keep (``ProviderScreen.legacy_routes``)."""
    kwargs = {"page": page}
    legacy = [
        action_alias(route, page, screen.identifier, action, name)
        for capability in page.capabilities
        for screen in screens_for(capability)
        for route, action, name in screen.legacy_routes
    ]
    return [
        *legacy,
        path("<slug:vendor>/", provider_action, kwargs, name="provider"),
        path("<slug:vendor>/<slug:action>/", provider_action, kwargs, name="provider_action"),
    ]


def action_alias(route: str, page: SettingsPage, vendor: str, action: str, name: str):
    """An older address (and URL name) of one vendor action, kept for bookmarks, open forms and
    OAuth redirect URIs registered at the vendor."""
    kwargs = {"page": page, "vendor": vendor, "action": action}
    return path(route, provider_action, kwargs, name=name)


def capability_disconnect(route: str, page: SettingsPage, capability: str, name: str):
    """Disconnect the organization's own vendor of ``capability``, whichever it is."""
    return path(route, disconnect_capability, {"page": page, "capability": capability}, name=name)
