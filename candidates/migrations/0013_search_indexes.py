"""Indexes for the global search (recruitflow/search.py) on Postgres; nothing on SQLite (it
scans).

- Name and e-mail: one pg_trgm GIN index on UPPER(first_name || ' ' || last_name || ' ' ||
  primary_email), the expression `search.CandidateText` builds and `icontains` upper-cases, so
  each word of a query is one index lookup (three per-column indexes cost three scans per word,
  each over long posting lists: names repeat).
- Mobile number: a B-tree on the reversed E.164 number (with the organization first), so "ends
  with the typed digits" is a prefix match; trigrams of digits are too common to be selective.

Built CONCURRENTLY so a large candidates table keeps taking writes."""

from django.db import migrations

INDEXES = {
    "candidate_search_text_trgm": (
        "USING gin (UPPER((first_name || ' ' || last_name || ' ' || primary_email)) gin_trgm_ops)"
    ),
    "candidate_mobile_reversed": "(organization_id, REVERSE(mobile_phone) text_pattern_ops)",
}
TABLE = "candidates_candidate"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Left installed on the way back: other apps' search indexes use it too.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} {definition}"
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
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
