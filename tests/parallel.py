"""The suite under pytest-xdist (`scripts/test.sh` passes ``-n``): what each worker keeps to itself.

Every xdist worker is its own process with its own settings, read from the environment when
Django starts. So before a worker starts, the controller gives it (`worker_environment`, applied
through the ``pytest_xdist_setupnodes`` hook in ``tests/conftest.py``):

- its own Postgres (or SQLite) test database: pytest-django adds the ``_gw<N>`` suffix itself;
- its own keys in the Redis broker and cache databases: ``REDIS_KEY_PREFIX`` (the worker's id)
  prefixes every cache key and every broker key. Prefixes, not database numbers: Redis has 16
  databases and CI already uses 14 and 15, so "base + worker" would run past the end or onto
  somebody else's database. Worker processes a test starts (the drills) inherit the
  environment, so they consume only their own xdist worker's queues;
- its own folder for the filesystem broker (``CELERY_BROKER_DIR``).

``clear_cache`` empties this worker's cache keys only: Django's Redis cache ``clear()`` flushes the
whole database, which the other workers share.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker_environment(worker: str, environ: os._Environ | dict | None = None) -> dict[str, str]:
    """The environment variables xdist worker ``worker`` (``gw0``, ``gw1``…) starts with, on top
    of the controller's."""
    environ = os.environ if environ is None else environ
    prefix = environ.get("REDIS_KEY_PREFIX", "")
    broker_dir = ROOT / (environ.get("CELERY_BROKER_DIR") or "var/test-broker")
    return {
        "REDIS_KEY_PREFIX": f"{prefix}-{worker}" if prefix else worker,
        "CELERY_BROKER_DIR": f"{broker_dir}-{worker}",
    }


def clear_cache() -> None:
    """Empty the default cache; on a shared Redis with a key prefix, only this prefix's keys."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    if isinstance(cache, RedisCache) and cache.key_prefix:
        client = cache._cache.get_client(None, write=True)
        pattern = re.sub(r"([\\*?\[\]])", r"\\\1", cache.key_prefix) + ":*"
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()
