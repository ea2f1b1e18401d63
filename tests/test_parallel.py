"""The suite runs under pytest-xdist (`scripts/test.sh`): each worker keeps its database, broker,
cache and broker folder to itself (tests/parallel.py)."""

import os

import pytest

from tests.parallel import ROOT, clear_cache, worker_environment

WORKER = os.environ.get("PYTEST_XDIST_WORKER")
REDIS = ("redis://", "rediss://")


def test_a_worker_gets_its_own_redis_key_prefix_and_broker_folder():
    env = worker_environment(
        "gw2",
        {
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
            "CACHE_URL": "redis://127.0.0.1:6379/15",
            "CELERY_BROKER_DIR": "var/test-broker",
        },
    )
    assert env == {
        "REDIS_KEY_PREFIX": "gw2",
        "CELERY_BROKER_DIR": str(ROOT / "var" / "test-broker-gw2"),
    }
    assert worker_environment("gw2", {}) == env


def test_a_worker_keeps_the_prefix_it_was_given():
    env = worker_environment("gw0", {"REDIS_KEY_PREFIX": "ci"})
    assert env["REDIS_KEY_PREFIX"] == "ci-gw0"


@pytest.mark.skipif(not WORKER, reason="runs under pytest-xdist (-n)")
def test_this_worker_started_with_its_own_settings(db, settings):
    from django.core.cache import caches
    from django.db import connection

    assert connection.settings_dict["NAME"].endswith(f"_{WORKER}") or (
        connection.vendor == "sqlite"  # an in-memory database is private to the process anyway
    )
    assert caches["default"].key_prefix.endswith(WORKER)
    if settings.CELERY_BROKER_URL.startswith(REDIS):
        assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"].endswith(f"{WORKER}:")
    else:
        assert str(settings.BROKER_DIR).endswith(f"-{WORKER}")


@pytest.mark.skipif(
    not os.environ.get("CACHE_URL", "").startswith(REDIS), reason="needs a Redis cache (CACHE_URL)"
)
def test_clearing_the_cache_leaves_other_users_of_the_redis_database_alone(settings):
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": "clear-test-mine"},
        "other": {**settings.CACHES["default"], "KEY_PREFIX": "clear-test-other"},
    }
    mine, other = caches["default"], caches["other"]
    assert isinstance(mine, RedisCache)
    try:
        mine.set("k", 1)
        other.set("k", 2)
        clear_cache()
        assert mine.get("k") is None
        assert other.get("k") == 2
    finally:
        other.delete("k")
