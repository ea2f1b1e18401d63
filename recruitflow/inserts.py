"""A row inserted by a statement written once, for the hottest writes: building the ORM's
``INSERT`` on every call costs more CPU than the database spends on it.

:func:`inserted_fields` and :func:`insert_params` give a model's columns and an unsaved
instance's values in one order (auto values such as ``auto_now_add`` filled as ``save()`` fills
them); :func:`insert_returning_pk` inserts an instance with them and sets its primary key,
:func:`insert_returning_pk_if` only while a condition holds;
:func:`run_prepared` runs such a statement prepared once per database session. Only a model's
own table and column names are written into the statements; the values are parameters.
"""

from __future__ import annotations

import functools
import hashlib
import weakref

from django.apps import apps
from django.conf import settings
from django.db import connections, router, transaction


def inserted_fields(model) -> list:
    """The columns an insert writes: every concrete field but the primary key."""
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def insert_params(instance, connection) -> list:
    """The unsaved ``instance``'s values, in :func:`inserted_fields` order."""
    return [
        field.get_db_prep_save(field.pre_save(instance, True), connection)
        for field in inserted_fields(type(instance))
    ]


@functools.cache
def _insert_returning_sql(label: str, db: str) -> str:
    model = apps.get_model(label)
    quote = connections[db].ops.quote_name
    meta = model._meta
    fields = inserted_fields(model)
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    return (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values}) "  # noqa: S608
        f"RETURNING {quote(meta.pk.column)}"
    )


def insert_returning_pk(instance) -> None:
    """Insert the unsaved ``instance`` and set its primary key, by one statement written once
    per model where the database returns the key from an ``INSERT`` (else ``save()``). Like
    ``save(force_insert=True)`` without its signals: for models that have no receivers."""
    model = type(instance)
    db = router.db_for_write(model)
    connection = connections[db]
    if not connection.features.can_return_columns_from_insert:
        instance.save(force_insert=True, using=db)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_returning_sql(model._meta.label, db), insert_params(instance, connection)
        )
        instance.pk = cursor.fetchone()[0]
    instance._state.adding, instance._state.db = False, db


def insert_select_sql(model, connection) -> str:
    """``INSERT INTO <model's table> (<columns>) SELECT <values>``, to be followed by what the
    row is inserted for (``FROM``, ``WHERE``): every value a parameter, in
    :func:`inserted_fields` order, given with its column's type (read as the column's, never as
    text)."""
    quote = connection.ops.quote_name
    fields = inserted_fields(model)
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in fields)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {values}"  # noqa: S608


@functools.cache
def _insert_if_sql(label: str, db: str, condition: str) -> str:
    model = apps.get_model(label)
    connection = connections[db]
    pk = connection.ops.quote_name(model._meta.pk.column)
    return f"{insert_select_sql(model, connection)} WHERE EXISTS ({condition}) RETURNING {pk}"


def insert_returning_pk_if(instance, condition: str, params: list) -> bool:
    """:func:`insert_returning_pk`, only while ``condition`` (a ``SELECT`` written once, its
    values in ``params``) finds a row: on Postgres, one statement that checks and inserts at
    once. False, with nothing inserted, when it finds none."""
    model = type(instance)
    db = router.db_for_write(model)
    connection = connections[db]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 WHERE EXISTS ({condition})", params)  # noqa: S608
            if cursor.fetchone() is None:
                return False
            insert_returning_pk(instance)
            return True
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_if_sql(model._meta.label, db, condition),
            [*insert_params(instance, connection), *params],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding, instance._state.db = False, db
    return True


def run_prepared(cursor, sql: str, params: list) -> tuple:
    """``sql`` (written once, ``%s`` placeholders) with ``params``; its one row. Where the
    setting allows (``DATABASE_PREPARED_STATEMENTS``: no transaction-mode pooler in front of
    Postgres), through a statement prepared once per database session: Postgres then neither
    parses nor plans it again (half its CPU for a statement of several parts)."""
    if not settings.DATABASE_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return cursor.fetchone()
    name, prepare = _prepared(sql)
    session = cursor.connection  # the driver's connection: one per database session
    names = _prepared_in.setdefault(session, set())
    if name not in names:
        cursor.execute(prepare)
        names.add(name)
    cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)
    return cursor.fetchone()


# The statements prepared in each database session (a new session prepares them again).
_prepared_in: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@functools.cache
def _prepared(sql: str) -> tuple[str, str]:
    """A name for ``sql`` and its ``PREPARE`` (``%s`` placeholders numbered ``$1``…)."""
    parts = sql.split("%s")
    numbered = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))
    name = "rf_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:16]
    return name, f"PREPARE {name} AS {numbered}"
