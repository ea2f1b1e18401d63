"""After a database restart (every connection dropped), the next request or task reconnects
instead of failing on its stale persistent connection."""

import os

import pytest
from django.db import close_old_connections, connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="terminating a backend needs Postgres",
    ),
]


def _drop_this_connection() -> None:
    """What a database restart does to this process's persistent connection."""
    import psycopg

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"] or "postgres",
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_the_first_query_after_the_database_dropped_the_connection_reconnects():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    _drop_this_connection()

    close_old_connections()  # Django does this as each request and each Celery task starts
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_request_after_the_database_dropped_the_connection_finds_it_healthy(client):
    _drop_this_connection()
    close_old_connections()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True
