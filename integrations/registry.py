"""Provider registry: identifier -> adapter class, importing ``integrations.<id>.provider`` lazily.

Adapters register themselves with ``@register("greenhouse")``; callers ask for a class by the
identifier stored on a connection row, so importing the registry never imports every vendor.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TypeVar

# Identifiers we know how to load even before the app registry is ready; any other installed
# ``integrations.<id>`` app is loadable too, so adding a provider needs no line here.
KNOWN_PROVIDERS: tuple[str, ...] = ("greenhouse", "lever", "sendgrid", "twilio", "textus")
KNOWN_PROVIDERS += ("cronofy",)  # calendars


def _installed() -> set[str]:
    from django.apps import apps

    if not apps.ready:
        return set()
    prefix = "integrations."
    return {
        config.name[len(prefix) :]
        for config in apps.get_app_configs()
        if config.name.startswith(prefix) and config.name.count(".") == 1
    }


_registry: dict[str, type] = {}

T = TypeVar("T", bound=type)


class UnknownProvider(LookupError):
    """No adapter is registered under that identifier."""


def register(identifier: str) -> Callable[[T], T]:
    """Class decorator: make the adapter available as ``identifier``."""

    def decorator(cls: T) -> T:
        existing = _registry.get(identifier)
        if existing is not None and existing is not cls:
            raise ValueError(f"Provider {identifier!r} is already registered by {existing!r}.")
        _registry[identifier] = cls
        return cls

    return decorator


def get_provider_class(identifier: str) -> type:
    """The adapter class for ``identifier``, importing its module on first use."""
    if identifier not in _registry:
        if identifier not in KNOWN_PROVIDERS and identifier not in _installed():
            raise UnknownProvider(f"No provider called {identifier!r}.")
        importlib.import_module(f"integrations.{identifier}.provider")
    try:
        return _registry[identifier]
    except KeyError:
        raise UnknownProvider(
            f"integrations.{identifier}.provider did not register {identifier!r}."
        ) from None


def available() -> list[str]:
    """Identifiers of every provider that can be loaded."""
    return sorted(set(KNOWN_PROVIDERS) | _installed() | set(_registry))
