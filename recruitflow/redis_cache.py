"""Commands Django's cache API has no word for, sent to the Redis behind `CACHES["default"]` in
one round trip: counters moved and their expiry set together. Django's own `incr` asks whether
the key exists first (two round trips) and cannot set an expiry."""

from __future__ import annotations

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCacheClient


def pipeline():
    """A pipeline (no transaction) on the Redis the cache writes to, or None when the cache is
    not Redis. Name its keys with `full_key`."""
    client = getattr(cache, "_cache", None)
    if not isinstance(client, RedisCacheClient):
        return None
    return client.get_client(write=True).pipeline(transaction=False)


def full_key(name: str) -> str:
    """`name` as Django's cache API stores it (prefix and version applied)."""
    return cache.make_and_validate_key(name)
