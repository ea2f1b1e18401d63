"""Trigram indexes for the global search (recruitflow/search.py) on Postgres: `icontains`
compares UPPER(column) LIKE UPPER('%...%'), so the names and e-mail are indexed as UPPER(...);
the mobile number (E.164) is searched by its digits with a plain LIKE. Built CONCURRENTLY so a
large candidates table keeps taking writes; nothing on SQLite (it scans)."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "candidate_first_name_trgm": "UPPER(first_name) gin_trgm_ops",
    "candidate_last_name_trgm": "UPPER(last_name) gin_trgm_ops",
    "candidate_primary_email_trgm": "UPPER(primary_email) gin_trgm_ops",
    "candidate_mobile_phone_trgm": "mobile_phone gin_trgm_ops",
}
TABLE = "candidates_candidate"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
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

    dependencies = [("candidates", "0012_candidate_erasure")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
