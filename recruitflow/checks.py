"""Deploy checks (`manage.py check --deploy`) for settings that only production gets wrong."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register(Tags.security, deploy=True)
def shared_cache_for_throttles(app_configs, **kwargs):
    """Sign-in, MFA, API and public-link throttles count in the cache.

    A per-process cache gives every web worker its own counter, so an attacker gets the limit
    once per process (and again after each restart): with DEBUG off the cache must be shared.
    """
    if settings.DEBUG:
        return []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend not in PER_PROCESS_CACHES:
        return []
    return [
        Error(
            "The cache is per process, so login, MFA and API throttles are not shared between "
            "workers.",
            hint="Set CACHE_URL to a shared cache, e.g. CACHE_URL=redis://127.0.0.1:6379/1.",
            id="recruitflow.E001",
        )
    ]
