"""Sync runs: starting a sync of the organization's ATS, running it to the end, failing
stale runs and deferring rate-limited ones."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from candidates.models import (
    SyncCursor,
    SyncKind,
    SyncRun,
    SyncStatus,
)
from candidates.sync.poll import SyncAborted, SyncEngine
from integrations.connections import (
    CallRecorder,
    ats_connection_for,
    provider_for,
    provider_identifier,
)
from integrations.http import AuthError, PermissionDenied, ProviderError, RateLimited
from integrations.models import ConnectionStatus
from integrations.screens import screens_for
from recruitflow.tasks import task_named
from recruitflow.tenancy import tenant_scope

logger = logging.getLogger(__name__)


# A running sync refreshes heartbeat_at at least once per page; one that has been silent this
# long lost its worker and must not block the next sync forever.
STALE_SYNC_AFTER = timedelta(minutes=10)
RUN_SYNC_TASK = "candidates.tasks.run_sync"
# A sync the ATS kept rate limiting pauses at least this long (beat checks every minute), or
# as long as the ATS asked when that is longer.
RATE_LIMIT_PAUSE = timedelta(minutes=1)


class _ThreadSafeRecorder(CallRecorder):
    """The sync reads the next page in a helper thread while it writes this one."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()

    def __call__(self, record) -> None:
        with self._lock:
            super().__call__(record)

    def flush(self) -> int:
        with self._lock:  # a few milliseconds; the helper waits only to log its next call
            return super().flush()


class SyncAlreadyRunning(Exception):
    """Another sync of this organization is running; the message says so in plain words."""


class NoATSConnection(Exception):
    """The organization has no usable ATS connection."""


# --------------------------------------------------------------------------------------------
# Syncs
# --------------------------------------------------------------------------------------------


def sync_runs_fail_stale(*, organization, now=None) -> int:
    """Mark running syncs whose worker went silent as failed; returns how many."""
    now = now or timezone.now()
    cutoff = now - STALE_SYNC_AFTER
    return SyncRun.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff),
        organization=organization,
        status=SyncStatus.RUNNING,
    ).update(
        status=SyncStatus.FAILED,
        finished_at=now,
        error="The sync stopped responding (its worker was probably restarted); "
        "the next sync picks up where the last complete one ended.",
    )


def sync_request(*, organization, full: bool = False, enqueue: bool = True) -> SyncRun:
    """Start a sync of the organization's ATS: create the SyncRun (running) and queue it.

    ``enqueue=False`` leaves running it to the caller (``manage.py ats_sync``, benchmarks).

    Raises SyncAlreadyRunning when one is running, NoATSConnection when there is nothing to
    sync. The run is a full one when asked, or when no complete pass has happened yet.
    """
    with tenant_scope(organization):
        connection = ats_connection_for(organization)
        if connection is None:
            names = " or ".join(screen.label for screen in screens_for("ats"))
            raise NoATSConnection(f"Connect {names} before syncing.")
        provider = provider_identifier(connection)
        sync_runs_fail_stale(organization=organization)
        has_cursor = SyncCursor.objects.filter(
            provider=provider, resource="applications", position__isnull=False
        ).exists()
        now = timezone.now()
        try:
            with transaction.atomic():
                sync_run = SyncRun.objects.create(
                    organization=organization,
                    provider=provider,
                    kind=SyncKind.FULL if full or not has_cursor else SyncKind.INCREMENTAL,
                    status=SyncStatus.RUNNING,
                    started_at=now,
                    heartbeat_at=now,
                    phase="queued",
                    counts={},
                )
        except IntegrityError:
            running = SyncRun.objects.filter(status=SyncStatus.RUNNING).first()
            since = f" (started {timezone.localtime(running.started_at):%H:%M})" if running else ""
            raise SyncAlreadyRunning(
                f"A sync is already running{since}. Wait for it to finish, then try again."
            ) from None
        if enqueue:
            transaction.on_commit(
                lambda: task_named(RUN_SYNC_TASK).delay(organization.pk, sync_run.pk)
            )
        return sync_run


def _finish(sync_run: SyncRun, *, status: str, error: str = "", **fields) -> None:
    now = timezone.now()
    fields.update(status=status, error=error, finished_at=now, heartbeat_at=now)
    SyncRun.objects.filter(pk=sync_run.pk, status=SyncStatus.RUNNING).update(**fields)
    sync_run.refresh_from_db()


def sync_execute(*, sync_run: SyncRun) -> SyncRun:
    """Run a SyncRun to the end (in the calling process) and record how it went.

    Provider errors never escape: permanent ones (credentials, permissions) fail the run and
    flag the connection with the adapter's message; transient ones fail the run and the next
    poll retries from the last complete position. When the ATS keeps rate limiting us the run
    is *deferred* instead: it stops with ``resume_at`` (after the window, at least
    ``RATE_LIMIT_PAUSE``) and beat starts the follow-up then, which reads on from the cursor of
    the last complete pass, so nothing is missed. Unexpected errors fail the run and re-raise.
    """
    organization = sync_run.organization
    with tenant_scope(organization):
        if sync_run.status != SyncStatus.RUNNING:
            return sync_run
        connection = ats_connection_for(organization)
        if connection is None:
            _finish(sync_run, status=SyncStatus.FAILED, error="The ATS connection was removed.")
            return sync_run
        recorder = _ThreadSafeRecorder(
            organization=organization, provider=sync_run.provider, sync_run_id=sync_run.pk
        )
        engine = None
        try:
            provider = provider_for(connection, recorder=recorder)
            engine = SyncEngine(sync_run=sync_run, provider=provider, recorder=recorder)
            engine.execute()
        except (AuthError, PermissionDenied) as exc:
            _fail(sync_run, engine, recorder, str(exc))
            connection.status = ConnectionStatus.ERROR
            connection.last_error = str(exc)
            connection.save(update_fields=["status", "last_error", "updated_at"])
        except RateLimited as exc:
            _defer(sync_run, engine, recorder, exc)
        except ProviderError as exc:
            _fail(sync_run, engine, recorder, str(exc))
        except SyncAborted:
            recorder.flush()
            sync_run.refresh_from_db()
        except Exception as exc:
            logger.exception("Sync %s of organization %s crashed", sync_run.pk, organization.pk)
            _fail(sync_run, engine, recorder, f"Unexpected error: {type(exc).__name__}: {exc}")
            raise
        else:
            _finish(
                sync_run,
                status=SyncStatus.SUCCEEDED,
                counts=engine.counts,
                api_calls=recorder.total,
                progress_done=engine.done,
                progress_total=engine.done,
                phase="done",
            )
        return sync_run


def _fail(sync_run: SyncRun, engine: SyncEngine | None, recorder: CallRecorder, error: str):
    recorder.flush()
    fields: dict[str, Any] = {"api_calls": recorder.total}
    if engine is not None:
        fields["counts"] = engine.counts
    _finish(sync_run, status=SyncStatus.FAILED, error=error, **fields)


def _defer(sync_run: SyncRun, engine: SyncEngine | None, recorder: CallRecorder, exc):
    recorder.flush()
    pause = max(RATE_LIMIT_PAUSE, timedelta(seconds=exc.retry_after or 0))
    fields: dict[str, Any] = {"api_calls": recorder.total, "resume_at": timezone.now() + pause}
    if engine is not None:
        fields["counts"] = engine.counts
    _finish(sync_run, status=SyncStatus.DEFERRED, error=str(exc), **fields)
