"""The one entry point of every vendor's Settings action: ``<vendor>/<action>/`` under its
capability's Settings page, dispatched to the vendor screen's handler (``integrations.screens``).
"""

from __future__ import annotations

from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from recruitflow.decorators import admin_required

from .screens import SettingsPage, get_screen, screens_for


@admin_required
def provider_action(request, vendor: str, action: str = "save", *, page: SettingsPage):
    """Run ``action`` of ``vendor``'s screen for ``page`` (a 404 for a vendor of another
    capability, an unknown action, or an uninstalled vendor)."""
    screen = get_screen(vendor)
    if screen is None or screen.capability not in page.capabilities:
        raise Http404
    handler = screen.handler(action)
    if request.method != "POST" and action not in screen.get_actions:
        if action == "save" and screen.save_get_redirects:  # a bookmark: back to the page
            return redirect(page.url_name)
        return HttpResponseNotAllowed(["POST"])
    return handler(request, page)


@admin_required
@require_POST
def disconnect_capability(request, *, page: SettingsPage, capability: str):
    """Disconnect whichever vendor of ``capability`` the organization has of its own."""
    if capability not in page.capabilities:
        raise Http404
    screens = screens_for(capability)
    own = next((s for s in screens if s.own(request.organization) is not None), None)
    return (own or screens[0]).disconnect(request, page)
