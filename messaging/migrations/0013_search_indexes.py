"""Trigram index for the global search (recruitflow/search.py) on Postgres: conversations are
found by the text of their messages (`body__icontains`, i.e. UPPER(body) LIKE UPPER('%...%')).
Built CONCURRENTLY so the outbox keeps taking writes; nothing on SQLite (it scans)."""

from django.db import migrations

INDEXES = {"message_body_trgm": "UPPER(body) gin_trgm_ops"}
TABLE = "messaging_message"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Left installed on the way back: other apps' search indexes use it too.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} USING gin ({expression})"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0012_time_indexes")]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
