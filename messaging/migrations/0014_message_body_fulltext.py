"""Indexes for the global search's message text (recruitflow/search.py) on Postgres:

- ``message_body_fts``: a GIN index on the 'simple' tsvector of a message's body — the very
  expression Django's ``SearchVector("body", config="simple")`` writes — so a prefix query
  (``interv:*``) is an index lookup instead of a trigram scan over every message;
- ``conversation_newest``: the organization's conversations newest message first, the order
  the search (and the Inbox) reads them in, so its newest 500 are read off the index instead of
  sorting every conversation.

Built CONCURRENTLY so the outbox keeps taking writes; nothing on SQLite (it keeps the substring
scan)."""

from django.db import migrations

INDEXES = {
    "message_body_fts": (
        "messaging_message USING gin (to_tsvector('simple'::regconfig, COALESCE((body)::text, '')))"
    ),
    "conversation_newest": (
        "messaging_conversation (organization_id, last_message_at DESC NULLS LAST, id DESC)"
    ),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0013_search_indexes")]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
