"""Provider screens: what each vendor shows and does on its capability's Settings page.

Each vendor declares, in its own folder (``integrations/<vendor>/screen.py``), a
:class:`ProviderScreen` subclass decorated with :func:`register`: its capability (``ats``,
``sms``, ``email``, ``calendar``), label, logo, help text and docs link, the partial template
that draws its card (``templates/integrations/<vendor>/settings.html``), and its handlers —
``save``, ``test``, ``disconnect`` and any vendor-specific action (``action_<name>``). The
registry finds the screens by autodiscovery: every installed app ``integrations.<vendor>`` with
a ``screen`` module. Adding a provider is one folder plus its ``INSTALLED_APPS`` line.

The Settings pages belong to the domain apps above (Integrations to ``candidates``, Messaging to
``messaging``, Calendars to ``scheduling``): each loops over :func:`screens_for` its capability
and hands every handler a :class:`SettingsPage`, through which the vendor re-renders the page
(a form with errors), links back to it, and reaches what only the domain knows (the last
webhook event, the callback URLs). So this module, like every vendor folder, imports nothing of
the domain.

Shapes borrowed from pretix's payment providers (a class per provider with a settings form and
its own template) and healthchecks' integrations (one folder per kind, looked up by name).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from django.apps import apps
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

CAPABILITIES = {
    "ats": "Applicant tracking",
    "sms": "Texts (SMS)",
    "email": "E-mail",
    "calendar": "Calendars",
}
PACKAGE = "integrations"


class SettingsPage(Protocol):
    """What a domain Settings page offers the vendor screens drawn on it."""

    capabilities: tuple[str, ...]
    url_name: str  # the page itself, e.g. "integrations:index"

    def render(
        self, request: HttpRequest, *, forms: dict[str, Any] | None = None, status: int = 200
    ) -> HttpResponse:
        """The whole page, with ``forms`` (bound, with their errors) in place of the blank
        forms of the vendors they are keyed by."""
        ...

    def card(self, request: HttpRequest, screen: ProviderScreen) -> dict[str, Any]:
        """What the domain adds to a vendor's card (last event received, callback URLs)."""
        ...


class ProviderScreen:
    """One vendor's part of a Settings page. Subclasses set the class attributes and implement
    the handlers their template's buttons post to; every handler takes ``(request, page)`` and
    returns a response. Handlers run for admins only, inside the organization's scope."""

    identifier: ClassVar[str] = ""
    capability: ClassVar[str] = ""
    label: ClassVar[str] = ""
    logo: ClassVar[str] = ""  # a static path, e.g. "integrations/greenhouse.svg"
    help_text: ClassVar[str] = ""
    docs_url: ClassVar[str] = ""
    # Actions a GET may reach (OAuth returns); every other action needs a POST.
    get_actions: ClassVar[tuple[str, ...]] = ()
    # Whether a GET of the save address (a bookmark of the form's address) goes back to the
    # page instead of answering 405.
    save_get_redirects: ClassVar[bool] = False
    # Older addresses of actions, kept for bookmarks, open forms and redirect URIs registered at
    # the vendor: (route under the page, action, URL name in the page's namespace).
    legacy_routes: ClassVar[tuple[tuple[str, str, str], ...]] = ()

    @property
    def template(self) -> str:
        return f"integrations/{self.identifier}/settings.html"

    # -- what the page asks ----------------------------------------------------------------

    def own(self, organization) -> Any:
        """The organization's own settings row, or None."""
        raise NotImplementedError

    def card(self, request: HttpRequest, page: SettingsPage, *, form=None) -> dict[str, Any]:
        """The context of this vendor's partial template."""
        return {
            "screen": self,
            "template": self.template,
            "provider": self.identifier,
            "id": self.identifier,
            "name": self.label,
            **page.card(request, self),
        }

    # -- handlers ---------------------------------------------------------------------------

    def handler(self, action: str) -> Callable[[HttpRequest, SettingsPage], HttpResponse]:
        name = action.replace("-", "_")
        if name in ("save", "test", "disconnect"):
            return getattr(self, name)
        method = getattr(self, f"action_{name}", None)
        if method is None:
            raise Http404(f"{self.label} has no action {action!r}.")
        return method

    def save(self, request: HttpRequest, page: SettingsPage) -> HttpResponse:
        raise Http404

    def test(self, request: HttpRequest, page: SettingsPage) -> HttpResponse:
        raise Http404

    def disconnect(self, request: HttpRequest, page: SettingsPage) -> HttpResponse:
        raise Http404

    # -- helpers ----------------------------------------------------------------------------

    def back(self, page: SettingsPage, *, anchor: str | None = None) -> HttpResponse:
        """Back to the page, at this vendor's card (or at ``anchor``; "" for the top). A page
        in tabs says which of its addresses shows this vendor (``address_of(screen)``)."""
        anchor = self.identifier if anchor is None else anchor
        address_of = getattr(page, "address_of", None)
        url = address_of(self) if address_of else reverse(page.url_name)
        return redirect(url + (f"#{anchor}" if anchor else ""))


# ----------------------------------------------------------------------------------------------
# The registry
# ----------------------------------------------------------------------------------------------

_screens: dict[str, ProviderScreen] = {}
_discovered = False


def register(cls: type[ProviderScreen]) -> type[ProviderScreen]:
    """Class decorator: make ``cls`` the screen of ``cls.identifier``."""
    if cls.capability not in CAPABILITIES:
        raise ValueError(f"{cls.__name__}: unknown capability {cls.capability!r}.")
    existing = _screens.get(cls.identifier)
    if existing is not None and type(existing).__qualname__ != cls.__qualname__:
        raise ValueError(f"Screen {cls.identifier!r} is already registered by {existing!r}.")
    _screens[cls.identifier] = cls()
    return cls


def vendor_apps() -> list[str]:
    """Identifiers of the installed vendor apps (``integrations.<vendor>``), in
    ``INSTALLED_APPS`` order."""
    prefix = f"{PACKAGE}."
    return [
        config.name[len(prefix) :]
        for config in apps.get_app_configs()
        if config.name.startswith(prefix) and config.name.count(".") == 1
    ]


def autodiscover() -> None:
    """Import ``integrations.<vendor>.screen`` of every installed vendor app (once)."""
    global _discovered
    if _discovered:
        return
    for identifier in vendor_apps():
        module = f"{PACKAGE}.{identifier}.screen"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    _discovered = True


def screens_for(capability: str) -> list[ProviderScreen]:
    """Every screen of ``capability``, in ``INSTALLED_APPS`` order."""
    autodiscover()
    order = {identifier: n for n, identifier in enumerate(vendor_apps())}
    found = [s for s in _screens.values() if s.capability == capability]
    return sorted(found, key=lambda s: order.get(s.identifier, len(order)))


def choices_for(capability: str) -> list[tuple[str, str]]:
    """``(identifier, label)`` of every provider of ``capability``: the stored identifiers and
    their labels, for model and form choices in the domain apps (which name no vendor)."""
    return [(screen.identifier, screen.label) for screen in screens_for(capability)]


def get_screen(identifier: str) -> ProviderScreen | None:
    autodiscover()
    return _screens.get(identifier)
