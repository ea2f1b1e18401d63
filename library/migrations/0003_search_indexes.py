"""Trigram indexes for the global search (recruitflow/search.py) on Postgres: message templates
by name and subject (`icontains`, i.e. UPPER(column) LIKE UPPER('%...%')); nothing on SQLite
(it scans)."""

from django.db import migrations

INDEXES = {
    "message_template_name_trgm": "UPPER(name) gin_trgm_ops",
    "message_template_subject_trgm": "UPPER(subject) gin_trgm_ops",
}
TABLE = "library_messagetemplate"


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

    dependencies = [("library", "0002_rename_table")]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
