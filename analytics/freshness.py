"""What the cached parts of the Analytics page and the dashboard are keyed by, so a cached
figure is never older than the data it was built from.

- The stored days (the monthly rows) change only when a rollup rebuilds a month: each
  organization has a *stored generation*, a token replaced after every rebuild commits, and the
  rows read from the months are cached under it (``ANALYTICS_STORED_CACHE_SECONDS`` at most).
- Today's figures are computed from the raw rows at most every
  ``ANALYTICS_TODAY_CACHE_SECONDS``; the computation carries a stamp, and what is built from it
  (the page's cards) is cached under that stamp, so it is exactly as fresh as today's figures.

A reader that raced a rebuild caches what it read under the generation it started with, which
the rebuild has already replaced: stale rows are never served under the new token.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction


def _generation_key(organization_id: int) -> str:
    return f"analytics:stored-generation:{organization_id}"


def stored_generation(organization_id: int) -> str:
    """The current token of the organization's stored days (a new one when none is known)."""
    key = _generation_key(organization_id)
    token = cache.get(key)
    if token is None:
        cache.add(key, uuid.uuid4().hex, None)
        token = cache.get(key) or "none"
    return token


def stored_changed(organization_id: int) -> None:
    """The organization's months were rebuilt: a new token now (inside the rebuild's
    transaction, so the same connection reads its own rows at once) and another once it commits
    (a reader that saw the old rows in between cached them under the first token)."""

    def renew():
        cache.set(_generation_key(organization_id), uuid.uuid4().hex, None)

    renew()
    transaction.on_commit(renew)


def stored_seconds() -> int:
    return getattr(settings, "ANALYTICS_STORED_CACHE_SECONDS", 3600)


def digest(*parts) -> str:
    """A short stable digest of JSON-able parts, for cache keys."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
