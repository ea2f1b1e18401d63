"""Trigram index for the global search (recruitflow/search.py) on Postgres: journeys by name
(`name__icontains`, i.e. UPPER(name) LIKE UPPER('%...%')); nothing on SQLite (it scans)."""

from django.db import migrations

INDEXES = {"journey_name_trgm": "UPPER(name) gin_trgm_ops"}
TABLE = "journeys_journey"


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

    dependencies = [("journeys", "0007_time_indexes")]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
