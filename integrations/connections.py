"""From a stored per-organization connection to a working provider adapter.

Every HTTP attempt an adapter makes is recorded by a `CallRecorder` and written as
`ProviderCall` rows when `flush()` is called (after a sync page commits, or at the end of a
connection test), so a rolled-back sync transaction does not erase the record of its calls.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.utils import timezone

from accounts.models import Organization
from integrations.base import ATSProvider, LinkFieldCheck, PermissionCheck
from integrations.greenhouse.models import GreenhouseConnection
from integrations.greenhouse.provider import GreenhouseProvider
from integrations.http import CallRecord, ProviderError
from integrations.lever.models import LeverConnection
from integrations.lever.provider import LeverProvider
from integrations.models import ConnectionStatus, ProviderCall
from recruitflow.tenancy import scopes_disabled

ATS_CONNECTION_MODELS = {"greenhouse": GreenhouseConnection, "lever": LeverConnection}


def ats_connection_for(organization) -> GreenhouseConnection | LeverConnection | None:
    """The organization's ATS connection (Greenhouse first), or None. Runs in its scope."""
    for model in ATS_CONNECTION_MODELS.values():
        connection = model.objects.filter(organization=organization).first()
        if connection is not None and connection.status != ConnectionStatus.DISCONNECTED:
            return connection
    return None


# What a web process keeps of the connections its webhook endpoints found, by model and token:
# a POST within WEBHOOK_KEPT_FOR of the read verifies with the kept secret and is stored by a
# statement that inserts only while the connection is still as it was read
# (:func:`webhook_connection_unchanged`), so a burst's POSTs skip the read and nothing changed
# (a secret, a token, a disconnection, a deactivated organization) is ever taken for current.
WEBHOOK_KEPT_FOR = 300.0  # seconds
WEBHOOK_KEPT_MAX = 256  # connections per process; the oldest read goes first
_kept: dict[tuple[str, str], tuple[float, Any]] = {}
_keeping = threading.Lock()


def webhook_connection(model, token: str, secret: str, *, fresh: bool = False):
    """The connection of ``model`` (Greenhouse's, Lever's) that a webhook endpoint's ``token``
    names, if it is not disconnected and its organization is active, or None: with only what a
    POST reads (its ``secret`` field decrypted and as stored, when it last heard, its
    organization's id; the organization's other fields are read if something asks for them).
    One statement written once per model: building the ORM's query on every POST was a
    quarter of a burst's endpoint CPU. Cross-tenant on purpose: the token is what names the
    organization.

    Unless ``fresh``, a connection this process read less than :data:`WEBHOOK_KEPT_FOR` ago is
    given again without a statement (``webhook_kept`` is then True): what it says may have
    changed since, so its secret only decides which POSTs are worth storing, and the store
    checks it is still current (:func:`webhook_connection_unchanged`)."""
    key = (model._meta.label, token)
    if not fresh:
        kept = _kept.get(key)
        if kept is not None and time.monotonic() - kept[0] < WEBHOOK_KEPT_FOR:
            connection = copy.copy(kept[1])
            connection.webhook_kept = True
            return connection
    with scopes_disabled():
        found = list(
            model.objects.raw(
                _webhook_lookup_sql(model, secret), [token, ConnectionStatus.DISCONNECTED]
            )
        )
    if not found:
        _kept.pop(key, None)
        return None
    connection = found[0]
    connection.organization = Organization.from_db(
        connection._state.db, ["id"], [connection.organization_id]
    )
    connection.webhook_kept = False
    connection.webhook_secret_field = secret
    with _keeping:  # a threaded worker's requests: one of them evicts at a time
        _kept.pop(key, None)
        while len(_kept) >= WEBHOOK_KEPT_MAX:
            _kept.pop(next(iter(_kept)), None)
        _kept[key] = (time.monotonic(), copy.copy(connection))
    return connection


def forget_webhook_connection(connection) -> None:
    """Read ``connection`` afresh at its endpoint's next POST."""
    _kept.pop((type(connection)._meta.label, connection.endpoint_token), None)


def webhook_heard(connection, at) -> None:
    """The connection's "last heard" is now ``at`` (written, or found written by another POST):
    the kept copy says so, so the next POSTs do not try to write it again."""
    kept = _kept.get((type(connection)._meta.label, connection.endpoint_token))
    if kept is not None:
        kept[1].last_webhook_at = at


def webhook_connection_unchanged(connection) -> tuple[str, list]:
    """A condition (a ``SELECT`` and its values) that finds a row while ``connection``, as
    :func:`webhook_connection` read it, is still current: the same row under the same token,
    not disconnected, its organization active, its secret the same stored value (any write of
    the secret stores a new one, the same text encrypted again included)."""
    model: Any = type(connection)
    secret = connection.webhook_secret_field
    return _unchanged_sql(model, secret), [
        connection.pk,
        connection.endpoint_token,
        connection.webhook_secret_stored,
        ConnectionStatus.DISCONNECTED,
    ]


def _columns(model):
    quote = connections[router.db_for_read(model)].ops.quote_name

    def column(owner, name: str) -> str:
        return quote(owner._meta.get_field(name).column)

    return quote, column


def _joined(model) -> str:
    quote, column = _columns(model)
    return (
        f"FROM {quote(model._meta.db_table)} c "
        f"INNER JOIN {quote(Organization._meta.db_table)} o "
        f"ON o.{column(Organization, 'id')} = c.{column(model, 'organization')} "
    )


@functools.cache
def _webhook_lookup_sql(model, secret: str) -> str:
    """:func:`webhook_connection`'s statement (only the models' own table and column names are
    written into it; the values are parameters)."""
    _, column = _columns(model)
    selected = ", ".join(
        f"c.{column(model, name)}"
        for name in ("id", "organization", "endpoint_token", "last_webhook_at", secret)
    )
    return (
        f"SELECT {selected}, c.{column(model, secret)} AS webhook_secret_stored "  # noqa: S608
        f"{_joined(model)}WHERE c.{column(model, 'endpoint_token')} = %s "
        f"AND o.{column(Organization, 'is_active')} AND c.{column(model, 'status')} <> %s"
    )


@functools.cache
def _unchanged_sql(model, secret: str) -> str:
    """:func:`webhook_connection_unchanged`'s condition, written once per model."""
    _, column = _columns(model)
    return (
        f"SELECT 1 {_joined(model)}WHERE c.{column(model, 'id')} = %s "  # noqa: S608
        f"AND c.{column(model, 'endpoint_token')} = %s AND c.{column(model, secret)} = %s "
        f"AND o.{column(Organization, 'is_active')} AND c.{column(model, 'status')} <> %s"
    )


def provider_identifier(connection) -> str:
    return "greenhouse" if isinstance(connection, GreenhouseConnection) else "lever"


class CallRecorder:
    """Collects the adapter's call records; `flush()` stores them as ProviderCall rows."""

    def __init__(self, *, organization, provider: str, sync_run_id: int | None = None):
        self.organization = organization
        self.provider = provider
        self.sync_run_id = sync_run_id
        self.pending: list[CallRecord] = []
        self.total = 0

    def __call__(self, record: CallRecord) -> None:
        self.pending.append(record)
        self.total += 1

    def flush(self) -> int:
        records, self.pending = self.pending, []
        ProviderCall.objects.bulk_create(
            [
                ProviderCall(
                    organization=self.organization,
                    provider=self.provider,
                    method=r.method,
                    path=(r.path or r.url)[:500],
                    status=r.status,
                    duration_ms=int(r.duration_ms),
                    attempt=r.attempt,
                    error=r.error or "",
                    sync_run_id=self.sync_run_id,
                    started_at=_aware(r.started_at),
                )
                for r in records
            ]
        )
        return len(records)


def _aware(started_at):
    from datetime import UTC, datetime

    if isinstance(started_at, datetime):
        return started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(started_at), tz=UTC)


def provider_for(connection, *, recorder: CallRecorder | None = None, **http_kwargs) -> ATSProvider:
    """Build the production adapter for a stored connection."""
    if recorder is not None:
        http_kwargs["on_call"] = recorder
    if isinstance(connection, GreenhouseConnection):
        return GreenhouseProvider(
            {
                "api_version": connection.api_version,
                "base_url": connection.base_url,
                "api_key": connection.api_key,
                "client_id": connection.client_id,
                "client_secret": connection.client_secret,
                "token_url": connection.token_url or None,
                "acting_user_id": connection.acting_user_id or None,
            },
            **http_kwargs,
        )
    if isinstance(connection, LeverConnection):

        def persist_tokens(tokens) -> None:
            # Lever rotates refresh tokens: the old one is dead once a new one is issued.
            connection.access_token = tokens.access_token
            connection.refresh_token = tokens.refresh_token
            connection.token_expires_at = tokens.expires_at
            connection.save(update_fields=["access_token", "refresh_token", "token_expires_at"])

        from django.conf import settings

        return LeverProvider(
            {
                "api_key": connection.api_key or None,
                "access_token": connection.access_token or None,
                "refresh_token": connection.refresh_token or None,
                "client_id": getattr(settings, "LEVER_CLIENT_ID", "") or None,
                "client_secret": getattr(settings, "LEVER_CLIENT_SECRET", "") or None,
                "auth_base": getattr(settings, "LEVER_AUTH_BASE", "") or None,
                "base_url": connection.base_url,
                "perform_as": connection.acting_user_id or None,
            },
            on_tokens=persist_tokens,
            **http_kwargs,
        )
    raise TypeError(f"Not an ATS connection: {connection!r}")


@dataclass
class ConnectionTestResult:
    ok: bool
    checks: list[PermissionCheck]
    error: str = ""

    @property
    def missing(self) -> list[PermissionCheck]:
        return [check for check in self.checks if check.ok is False]


def connection_test(connection) -> ConnectionTestResult:
    """Check credentials and every permission the product needs; record the outcome on the
    connection (status, last_error, last_checked_at) and the calls made."""
    recorder = CallRecorder(
        organization=connection.organization, provider=provider_identifier(connection)
    )
    try:
        provider = provider_for(connection, recorder=recorder, max_attempts=2)
        checks = provider.check_permissions()
    except ProviderError as exc:
        result = ConnectionTestResult(ok=False, checks=[], error=str(exc))
    except ValueError as exc:
        result = ConnectionTestResult(ok=False, checks=[], error=str(exc))
    else:
        missing = [c for c in checks if c.ok is False]
        error = ""
        if missing:
            error = "Missing permissions: " + "; ".join(c.label for c in missing)
        result = ConnectionTestResult(ok=not missing, checks=checks, error=error)
    recorder.flush()
    connection.status = ConnectionStatus.CONNECTED if result.ok else ConnectionStatus.ERROR
    connection.last_error = result.error
    connection.last_checked_at = timezone.now()
    connection.save(update_fields=["status", "last_error", "last_checked_at", "updated_at"])
    return result


def link_field_check(connection, field_name: str) -> LinkFieldCheck:
    """Read the ATS's candidate field definitions and say whether ``field_name`` can take the
    link RecruitFlow writes (the video interview's review link); the calls are recorded. A
    connection that cannot be reached or whose credentials fail is a ``False`` check saying so
    (the connection test names the cause in full)."""
    recorder = CallRecorder(
        organization=connection.organization, provider=provider_identifier(connection)
    )
    try:
        provider = provider_for(connection, recorder=recorder, max_attempts=2)
        return provider.candidate_link_field_check(field_name)
    except (ProviderError, ValueError) as exc:
        return LinkFieldCheck(name=field_name, ok=False, detail=f"Could not check: {exc}")
    finally:
        recorder.flush()


def link_field_refusal(organization) -> str:
    """Why the organization's ATS connection cannot write a candidate field (its adapter's
    words), or "" when it can or when no adapter can be made (a write then reports that)."""
    connection = ats_connection_for(organization)
    if connection is None:
        return ""
    try:
        provider = provider_for(connection)
    except (ProviderError, ValueError):
        return ""
    return provider.candidate_link_field_refusal()
