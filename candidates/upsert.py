"""Bulk upsert of mirror rows: COPY into a temporary table and one INSERT … ON CONFLICT on
Postgres, Django's `bulk_create(update_conflicts=True)` elsewhere.

Django's bulk_create spends most of a large sync building Python-side SQL parameters; COPY
streams the rows instead, and one INSERT … SELECT … ON CONFLICT merges them, returning the ids.
Rows must be unique on the conflict key within one call (callers dedupe by external id).
"""

from __future__ import annotations

from django.db import connections, models, router, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

# Below this many rows the plain path is as fast and simpler to reason about.
COPY_THRESHOLD = 200


def bulk_upsert(
    model: type[models.Model],
    rows: list[models.Model],
    *,
    unique_fields: list[str],
    update_fields: list[str],
    batch_size: int = 1000,
) -> None:
    """Insert or update `rows` on `unique_fields`; afterwards every row has its primary key.

    All rows share every unique field but the last (one organization and provider), so the last
    one (the external id) identifies a row within the call."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql" or len(rows) < COPY_THRESHOLD:
        model._base_manager.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=unique_fields,
            update_fields=update_fields,
            batch_size=batch_size,
        )
        return
    # The temporary table lives until the end of the transaction (ON COMMIT DROP).
    with transaction.atomic(using=connection.alias):
        _copy_upsert(connection, model, rows, unique_fields, update_fields)


# A call that writes more rows than this share of what the planner believes the table holds
# has it counted again (ANALYZE) at once.
GROWN_SHARE = 0.2


def _analyze_if_grown(cursor, name: str, table: str, written: int) -> None:
    """Have Postgres count a table a sync has just grown a lot (a new organization's first sync
    fills an empty mirror): until autovacuum gets to it, a minute later, the planner still takes
    it for empty and finds a candidate by external id by scanning all of its organization's rows
    (its index on the organization looks as good as the unique key), on every webhook."""
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [name])
    believed = cursor.fetchone()[0]
    if believed < 0 or written > GROWN_SHARE * believed:  # -1: never counted
        cursor.execute(f"ANALYZE {table}")


def _copy_upsert(connection, model, rows, unique_fields, update_fields) -> None:
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for row in rows:
                setattr(row, field.attname, now)
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    temp = quote(f"upsert_{meta.db_table}")
    columns = ", ".join(quote(f.column) for f in fields)
    conflict = ", ".join(quote(meta.get_field(name).column) for name in unique_fields)
    updates = ", ".join(
        f"{quote(meta.get_field(name).column)} = EXCLUDED.{quote(meta.get_field(name).column)}"
        for name in update_fields
    )
    attnames = [f.attname for f in fields]
    json_columns = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
    key_column = meta.get_field(unique_fields[-1]).attname

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {temp}")
        with cursor.cursor.copy(f"COPY {temp} ({columns}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                values = [getattr(row, name) for name in attnames]
                for i in json_columns:
                    values[i] = Jsonb(values[i])
                copy.write_row(values)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {temp} "  # noqa: S608
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates} "
            f"RETURNING {quote(meta.pk.column)}, {quote(meta.get_field(unique_fields[-1]).column)}"
        )
        ids = dict((key, pk) for pk, key in cursor.fetchall())
        _analyze_if_grown(cursor, meta.db_table, table, len(rows))
    for row in rows:
        row.pk = ids.get(getattr(row, key_column))
        row._state.adding = False
        row._state.db = connection.alias
