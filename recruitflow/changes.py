"""Whether an organization's data changed: a generation number per organization, and one for
every organization at once, that moves after every committed write.

What is cached from the database for longer than a request (a signed-in page, `page_cache`) is
kept under the generations it was read at; a write moves them, so the next read misses and
reads again. Nothing has to remember which cached thing a write affects, and no write path can
forget to say so: the tracker sits on Django's database connections (an execute wrapper,
installed on every connection of every process: web, workers, beat, commands), so it sees every
statement the ORM, a bulk update or raw SQL sends.

- A write to a tenant table (`TenantModel`) made inside `tenant_scope(org)` moves that
  organization's generation. The tables are read from the statement's text wherever they are
  written in it (the parts of a `WITH`; an `EXECUTE` writes what its `PREPARE` wrote). Every
  other write (a tenant table with scopes disabled, a table shared by organizations) moves the
  generation of all organizations; a write to the people and their organizations (users,
  memberships, organizations, API keys) moves that of `ACCOUNTS` too; a write whose tables cannot be
  read (DDL, `COPY`, an `EXECUTE` this process did not see prepared) moves every generation.
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

import contextvars
import functools
import re
import time
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.backends.signals import connection_created

from . import redis_cache
from .tenancy import TenantModel, current_organization, scopes_are_disabled

ALL = "all"
# The people and their organizations: a user, a membership, an organization, an API key. What
# a request reads before its page or answer (the signed-in user and their memberships, the API
# key) is kept under this generation; a write to these tables moves it and ALL.
ACCOUNTS = "accounts"
# Statements that change no row.
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SET", "SHOW", "BEGIN", "COMMIT",
          "DEALLOCATE", "EXPLAIN", "PRAGMA", "DECLARE", "FETCH", "CLOSE", "VALUES",
          "ANALYZE")  # fmt: skip
# Every table a statement writes, wherever in it (a `WITH` writes in its parts).
_WRITTEN = re.compile(r'\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)"?', re.IGNORECASE)
# What follows UPDATE without naming a table: ON CONFLICT DO UPDATE SET, FOR UPDATE OF/SKIP...
_NOT_TABLES = frozenset({"SET", "OF", "SKIP", "NOWAIT"})
_PREPARE = re.compile(r"\s*PREPARE\s+(\w+)", re.IGNORECASE)
_EXECUTE = re.compile(r"\s*EXECUTE\s+(\w+)", re.IGNORECASE)
_UNSHOWN = frozenset({"django_session", "django_celery_results_taskresult",
                      "django_celery_results_groupresult", "django_celery_results_chordcounter"})  # fmt: skip
# The tables a prepared statement writes, by its name (learnt from its PREPARE, which passes
# through the tracker like any statement); the same name is always the same text.
_prepared_writes: dict[str, frozenset[str] | None] = {}


def key(scope: int | str) -> str:
    return f"rf:gen:{scope}"


# What the request being served read from the cache before its view, in one round trip
# (`read_ahead`): the generations and kept entries it is about to ask for, by cache key (None:
# absent). Forgotten at the request's end and at its first write.
_ahead: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "recruitflow_read_ahead", default=None
)


def _read(keys: list[str], entries: list[str]) -> dict[str, Any]:
    """The generations under `keys` and the `entries`, in one round trip to the cache (a
    generation the cache has lost is made again first)."""
    found = cache.get_many([*keys, *entries])
    missing = [k for k in keys if k not in found]
    for name in missing:
        # `add`: of two processes that find it missing, the first one's number stands.
        cache.add(name, time.time_ns(), timeout=None)
    if missing:
        found.update(cache.get_many(missing))
    return found


def _generations(*scopes: int | str, also: str | None = None) -> tuple[tuple[int, ...], Any]:
    """The generations of `scopes` and, in the same round trip to the cache, the entry `also`
    (None when absent): from what the request read ahead when it holds them all."""
    keys = [key(scope) for scope in scopes]
    wanted = [*keys, also] if also else keys
    found = _ahead.get()
    if found is None or any(k not in found for k in wanted):
        found = _read(keys, [also] if also else [])
    return tuple(found.get(k, 0) for k in keys), found.get(also) if also else None


def read_ahead(entries: Iterable[str], *scopes: int | str) -> None:
    """Read the generations of `scopes` and the kept `entries` now, in one round trip, for the
    `read_kept` calls the request makes next (until it writes or ends: `forget_ahead`)."""
    entries = list(entries)
    try:
        found = _read([key(scope) for scope in scopes], entries)
    except Exception:  # an entry that no longer unpickles: each reader reads (and fails) alone
        _ahead.set(None)
        return
    _ahead.set({k: found.get(k) for k in [*map(key, scopes), *entries]})


def forget_ahead() -> None:
    _ahead.set(None)


def read_kept(entry: str, *scopes: int | str) -> tuple[tuple[int, ...], Any]:
    """The current generations of `scopes` and what `keep` stored under `entry` at those same
    generations (None when nothing was, or it was made at others), in one round trip (none when
    the request read them ahead)."""
    try:
        now, kept = _generations(*scopes, also=entry)
    except Exception:  # an entry an older release kept that no longer unpickles: made again
        now, kept = _generations(*scopes)[0], None
    if kept is not None and kept[0] == now:
        return now, kept[1]
    return now, None


def keep(entry: str, generations: tuple[int, ...], value: Any, seconds: int) -> None:
    """Store `value` under `entry`, made at `generations` (as `read_kept` gave them)."""
    cache.set(entry, (generations, value), timeout=seconds)


def bump(scopes) -> None:
    """Move the generations of these scopes (organization ids and/or `ALL`): on Redis in one
    round trip for them all, on every write a worker makes. A generation the cache lost starts
    again from the clock (`SET NX`) before it moves: never a number an entry was kept under."""
    names = [key(scope) for scope in scopes]
    if not names:
        return
    pipe = redis_cache.pipeline()
    if pipe is not None:
        for name in map(redis_cache.full_key, names):
            pipe.set(name, time.time_ns(), nx=True)
            pipe.incr(name)
        pipe.execute()
        return
    for name in names:
        try:
            cache.incr(name)
        except ValueError:  # not in the cache (never read, or evicted)
            cache.set(name, time.time_ns(), timeout=None)


@functools.cache
def _tenant_tables() -> frozenset[str]:
    return frozenset(
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if issubclass(model, TenantModel)
    )


@functools.cache
def _account_tables() -> frozenset[str]:
    return frozenset(
        apps.get_model(label)._meta.db_table
        for label in (
            settings.AUTH_USER_MODEL,
            "accounts.Membership",
            "accounts.Organization",
            "accounts.ApiKey",
        )
    )


def _tables_written(text: str) -> frozenset[str] | None:
    """The tables a statement writes, None when it cannot be told from its text."""
    prepared = _EXECUTE.match(text)
    if prepared is not None:
        return _prepared_writes.get(prepared.group(1))
    tables = frozenset(
        name.rsplit(".", 1)[-1]
        for name in _WRITTEN.findall(text)
        if name.upper() not in _NOT_TABLES
    )
    return tables or None


def scopes_of(sql) -> frozenset[int | str]:
    """Which generations a statement moves: an organization's id, `ALL`, `ACCOUNTS` (none for a
    read, or a table no page shows)."""
    text = sql if isinstance(sql, str) else str(sql)
    head = text.lstrip()[:10].upper()
    if head.startswith(_READS):
        return frozenset()
    if head.startswith("PREPARE"):
        name = _PREPARE.match(text)
        if name is not None:
            _prepared_writes[name.group(1)] = _tables_written(text[name.end() :]) or frozenset()
        return frozenset()
    tables = _tables_written(text)
    if tables is None:
        # A write whose tables cannot be read (DDL, COPY, an EXECUTE of a statement this
        # process did not see prepared): every generation.
        return frozenset({ALL, ACCOUNTS}) if not head.startswith("WITH") else frozenset()
    tables -= _UNSHOWN
    if not tables:
        return frozenset()
    organization = current_organization()
    organization_id = None if scopes_are_disabled() or organization is None else organization.pk
    scopes: set[int | str] = set()
    for table in tables:
        if table in _account_tables():
            scopes.update((ACCOUNTS, ALL))
        elif organization_id is not None and table in _tenant_tables():
            scopes.add(organization_id)
        else:
            scopes.add(ALL)
    return frozenset(scopes)


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
        scopes = scopes_of(sql)
        if scopes:
            self.wrote(scopes)
        return result

    def wrote(self, scopes) -> None:
        _ahead.set(None)  # what was read ahead may be what this write changed
        if not settings.PAGE_CACHE:  # nothing is kept under the generations
            return
        connection = self.connection
        if not connection.in_atomic_block or _never_commits(connection):
            bump(scopes)
            return
        self.pending.update(scopes)
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
