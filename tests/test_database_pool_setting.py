"""DATABASE_POOL turns psycopg's connection pool on for Postgres only (with CONN_MAX_AGE 0, as
Django requires); SQLite, the development default, is left as it is."""

from __future__ import annotations

import pytest

from tests.probes import ROOT, python_json

READ = (
    "import json, django; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; print(json.dumps({'engine': d['ENGINE'], "
    "'conn_max_age': d.get('CONN_MAX_AGE'), 'pool': d.get('OPTIONS', {}).get('pool')}))"
)


def _database_settings(**env: str) -> dict:
    return python_json(READ, SECRET_KEY="pool-setting-test", **env)


@pytest.mark.parametrize("pool", ["true", "false"])
def test_the_pool_is_a_postgres_setting(pool):
    found = _database_settings(
        DATABASE_URL="postgres://rf@127.0.0.1:5432/rf_pool", DATABASE_POOL=pool,
        DATABASE_POOL_MAX_SIZE="6", DATABASE_CONN_MAX_AGE="60",
    )  # fmt: skip
    assert found["engine"] == "django.db.backends.postgresql"
    if pool == "true":
        assert found["pool"] == {"min_size": 2, "max_size": 6, "timeout": 10.0}
        assert found["conn_max_age"] == 0  # Django refuses persistent connections with a pool
    else:
        assert found["pool"] is None
        assert found["conn_max_age"] == 60


def test_sqlite_never_gets_a_pool():
    found = _database_settings(
        DATABASE_URL=f"sqlite:///{ROOT / 'var' / 'pool-test.sqlite3'}", DATABASE_POOL="true"
    )
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["pool"] is None
