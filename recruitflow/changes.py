"""Whether an organization's data changed: a generation number per organization, and one for
every organization at once, that moves after every committed write.

What is cached from the database for longer than a request (a signed-in page, `page_cache`) is
kept under the generations it was read at; a write moves them, so the next read misses and
reads again. Nothing has to remember which cached thing a write affects, and no write path can
forget to say so: the tracker sits on Django's database connections (an execute wrapper,
installed on every connection of every process: web, workers, beat, commands), so it sees every
statement the ORM, a bulk update or raw SQL sends.

- A write to a tenant table (`TenantModel`) made inside `tenant_scope(org)` moves that
  organization's generation. Every other write (a tenant table with scopes disabled, a table
  shared by organizations, a statement whose table cannot be read from its text: a `WITH ...
  UPDATE`, an `EXECUTE` of a prepared statement) moves the generation of all organizations.
  Over-telling costs a cache miss; under-telling would show an old page, so doubt tells more.
- Inside a transaction the generations move once, after the commit (`on_commit`): a page read
  before then would still see the old rows. A rolled-back transaction moves nothing. Outside
  one (autocommit), and inside a test case's transaction (which never commits), they move right
  after the statement.
- The generations live in the shared cache (`CACHES["default"]`), so a worker's write reaches
  every web process. A generation the cache has lost comes back as a new number (the clock in
  nanoseconds), never as one a cached entry was stored under.
- Writes to tables no page shows (sessions, Celery's task results) move nothing.
"""

from __future__ import annotations

import functools
import re
import time

from django.apps import apps
from django.core.cache import cache
from django.db import connections
from django.db.backends.signals import connection_created

from .tenancy import TenantModel, current_organization, scopes_are_disabled

ALL = "all"
# Statements that change no row.
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SET", "SHOW", "BEGIN", "COMMIT",
          "PREPARE", "EXPLAIN", "DEALLOCATE", "PRAGMA", "DECLARE", "FETCH", "CLOSE", "VALUES")  # fmt: skip
_TABLE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)"?', re.IGNORECASE)
_WRITE_WORD = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b", re.IGNORECASE)
_UNSHOWN = frozenset({"django_session", "django_celery_results_taskresult",
                      "django_celery_results_groupresult", "django_celery_results_chordcounter"})  # fmt: skip


def key(scope: int | str) -> str:
    return f"rf:gen:{scope}"


def generations(organization_id: int) -> tuple[int, int]:
    """The generation of all organizations and of this one, as a cached read must be keyed."""
    keys = (key(ALL), key(organization_id))
    found = cache.get_many(keys)
    missing = [k for k in keys if k not in found]
    for name in missing:
        # `add`: of two processes that find it missing, the first one's number stands.
        cache.add(name, time.time_ns(), timeout=None)
    if missing:
        found = cache.get_many(keys)
    return found.get(keys[0], 0), found.get(keys[1], 0)


def bump(scopes) -> None:
    """Move the generations of these scopes (organization ids and/or `ALL`)."""
    for scope in scopes:
        name = key(scope)
        try:
            cache.incr(name)
        except ValueError:  # not in the cache (never read, or evicted): a number never used
            cache.set(name, time.time_ns(), timeout=None)


@functools.cache
def _tenant_tables() -> frozenset[str]:
    return frozenset(
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if issubclass(model, TenantModel)
    )


def scope_of(sql) -> int | str | None:
    """Which generation a statement moves: an organization's id, `ALL`, or None (a read, or a
    table no page shows)."""
    text = sql if isinstance(sql, str) else str(sql)
    head = text.lstrip()[:10].upper()
    if head.startswith(_READS):
        return None
    if head.startswith("WITH") and not _WRITE_WORD.search(text):
        return None
    found = _TABLE.match(text)
    if found is None:
        return ALL
    table = found.group(1).rsplit(".", 1)[-1]
    if table in _UNSHOWN:
        return None
    organization = current_organization()
    if table in _tenant_tables() and organization is not None and not scopes_are_disabled():
        return organization.pk
    return ALL


def _never_commits(connection) -> bool:
    """A test case's transaction, rolled back at the test's end: for the code it tests, a
    write there is done when it is made."""
    return getattr(connection.atomic_blocks[0], "_from_testcase", False)


class _Tracker:
    """One per database connection object: the scopes its open transaction wrote."""

    def __init__(self, connection):
        self.connection = connection
        self.pending: set[int | str] = set()

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        scope = scope_of(sql)
        if scope is not None:
            self.wrote(scope)
        return result

    def wrote(self, scope) -> None:
        connection = self.connection
        if not connection.in_atomic_block or _never_commits(connection):
            bump((scope,))
            return
        self.pending.add(scope)
        # Registered again when a rolled-back savepoint took the registration with it.
        if not any(entry[1] == self.flush for entry in connection.run_on_commit):
            connection.on_commit(self.flush)

    def flush(self) -> None:
        scopes, self.pending = self.pending, set()
        bump(scopes)


def install(connection) -> None:
    """Put the tracker on a connection object (once: the object outlives its reconnections)."""
    if not any(isinstance(w, _Tracker) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(_Tracker(connection))


def _on_connection_created(sender, connection, **kwargs) -> None:
    install(connection)


def connect() -> None:
    """Track every connection opened from now on, and the ones already open."""
    connection_created.connect(_on_connection_created, dispatch_uid="recruitflow.changes")
    for connection in connections.all(initialized_only=True):
        install(connection)
