"""Writes to the ATS mirror: starting and running syncs, storing and processing webhooks.

The sync machinery (bulk upserts, the stage diff, paging) is in ``candidates.sync``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from datetime import timedelta

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from candidates import timeline
from candidates.models import (
    Application,
    ApplicationStatus,
    Candidate,
    Department,
    Job,
    Office,
    Provider,
    StageTransition,
    SyncKind,
    SyncRun,
    SyncStatus,
    TimelineEvent,
    TransitionSource,
    WebhookEvent,
)
from candidates.sync.poll import SyncAborted, SyncEngine
from candidates.sync.writer import MirrorWriter, announce_transitions
from integrations.base import ExtApplication, ExtCandidate, NotFound
from integrations.connections import (
    CallRecorder,
    ats_connection_for,
    provider_for,
    provider_identifier,
)
from integrations.greenhouse import webhooks as greenhouse_webhooks
from integrations.http import AuthError, PermissionDenied, ProviderError, RateLimited
from integrations.lever import webhooks as lever_webhooks
from integrations.models import ConnectionStatus
from recruitflow.tenancy import tenant_scope

logger = logging.getLogger(__name__)

# A running sync refreshes heartbeat_at at least once per page; one that has been silent this
# long lost its worker and must not block the next sync forever.
STALE_SYNC_AFTER = timedelta(minutes=10)
# A sync the ATS kept rate limiting pauses at least this long (beat checks every minute), or
# as long as the ATS asked when that is longer.
RATE_LIMIT_PAUSE = timedelta(minutes=1)

GREENHOUSE_APPLICATION_ACTIONS = frozenset(
    {
        "candidate_stage_change",
        "new_candidate_application",
        "new_prospect_application",
        "application_updated",
        "hire_candidate",
        "unhire_candidate",
        "reject_candidate",
        "unreject_candidate",
    }
)
NEW_APPLICATION_EVENTS = frozenset(
    {"new_candidate_application", "new_prospect_application", "applicationCreated"}
)
LEVER_OPPORTUNITY_EVENTS = frozenset(
    {"candidateStageChange", "candidateArchiveChange", "candidateHired", "applicationCreated"}
)


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
    from candidates.models import SyncCursor
    from candidates.tasks import run_sync

    with tenant_scope(organization):
        connection = ats_connection_for(organization)
        if connection is None:
            raise NoATSConnection("Connect Greenhouse or Lever before syncing.")
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
            transaction.on_commit(lambda: run_sync.delay(organization.pk, sync_run.pk))
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
    fields = {"api_calls": recorder.total}
    if engine is not None:
        fields["counts"] = engine.counts
    _finish(sync_run, status=SyncStatus.FAILED, error=error, **fields)


def _defer(sync_run: SyncRun, engine: SyncEngine | None, recorder: CallRecorder, exc):
    recorder.flush()
    pause = max(RATE_LIMIT_PAUSE, timedelta(seconds=exc.retry_after or 0))
    fields = {"api_calls": recorder.total, "resume_at": timezone.now() + pause}
    if engine is not None:
        fields["counts"] = engine.counts
    _finish(sync_run, status=SyncStatus.DEFERRED, error=str(exc), **fields)


# --------------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------------


# A delivery still unprocessed this long after it arrived lost its task (the broker refused it,
# or the worker died): the beat sweep queues it again. Transient failures wait longer each time.
WEBHOOK_RETRY_AFTER = timedelta(minutes=2)
WEBHOOK_MAX_SWEEPS = 8


def webhook_retry_delay(attempts: int) -> timedelta:
    """2, 4, 8 … minutes, at most about two hours."""
    return WEBHOOK_RETRY_AFTER * 2 ** min(max(attempts, 0), 6)


def _queue_webhook_processing(organization_id: int, event_id: int) -> bool:
    """Ask a worker to process a stored event. A broker that refuses is logged, not raised:
    the event is committed, so the sweep queues it later and the ATS is still told 200."""
    from candidates.tasks import process_webhook_event

    try:
        process_webhook_event.delay(organization_id, event_id)
    except Exception:
        logger.warning(
            "Could not queue webhook event %s; the sweep will queue it", event_id, exc_info=True
        )
        return False
    return True


def webhook_event_record(
    *, connection, event_id: str, action: str, raw_body: bytes, ignore: bool = False
) -> WebhookEvent | None:
    """Store a delivery whose signature was verified; queue its processing after commit.

    Returns None for a delivery already stored (same provider event id): nothing new is
    written and nothing is queued (the sweep still queues the stored one if it was never
    processed). ``ignore`` stores it as ignored (pings, unknown events).
    """
    organization = connection.organization
    now = timezone.now()
    with tenant_scope(organization):
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    organization=organization,
                    provider=provider_identifier(connection),
                    event_id=event_id[:100],
                    action=action[:60],
                    raw_body=raw_body.decode("utf-8", errors="replace"),
                    received_at=now,
                    state=WebhookEvent.State.IGNORED if ignore else WebhookEvent.State.RECEIVED,
                    processed_at=now if ignore else None,
                    next_attempt_at=None if ignore else now + WEBHOOK_RETRY_AFTER,
                )
        except IntegrityError:
            return None
        type(connection).objects.filter(pk=connection.pk).update(last_webhook_at=now)
        if not ignore:
            transaction.on_commit(lambda: _queue_webhook_processing(organization.pk, event.pk))
        return event


def webhook_events_sweep(*, now=None) -> int:
    """Queue every webhook event (all organizations) that is due: still ``received`` past
    :data:`WEBHOOK_RETRY_AFTER`, or failed on a transient error whose wait is over. Each is
    claimed by a conditional UPDATE of ``next_attempt_at``, so two sweeps at once queue it
    once; processing is idempotent besides. After :data:`WEBHOOK_MAX_SWEEPS` the event is
    marked failed for good with its last error. Returns how many were queued."""
    from recruitflow.tenancy import scopes_disabled

    now = now or timezone.now()
    queued = 0
    with scopes_disabled():
        due = WebhookEvent.objects.filter(
            state__in=[WebhookEvent.State.RECEIVED, WebhookEvent.State.FAILED],
            next_attempt_at__lte=now,
        ).order_by("next_attempt_at")
        for pk, organization_id, attempts, due_at, error in due.values_list(
            "pk", "organization_id", "attempts", "next_attempt_at", "error"
        )[:1000]:
            claim = WebhookEvent.objects.filter(pk=pk, next_attempt_at=due_at)
            if attempts >= WEBHOOK_MAX_SWEEPS:
                claim.update(
                    state=WebhookEvent.State.FAILED,
                    next_attempt_at=None,
                    processed_at=now,
                    error=f"Gave up after {attempts} attempts. {error}".strip(),
                )
                continue
            claimed = claim.update(
                attempts=attempts + 1, next_attempt_at=now + webhook_retry_delay(attempts + 1)
            )
            if claimed and _queue_webhook_processing(organization_id, pk):
                queued += 1
    return queued


def webhook_event_process(*, event: WebhookEvent) -> WebhookEvent:
    """Apply a stored delivery to the mirror.

    Safe to run twice and concurrently: the event row is locked for the whole processing
    (another worker holding it makes this call a no-op) and only a received event, or one that
    failed on a transient error, is processed. A payload of the wrong shape fails for good with
    the reason; a transient provider error fails with a time for the sweep to try again."""
    organization = event.organization
    with tenant_scope(organization), transaction.atomic():
        locked = (
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(
                Q(state=WebhookEvent.State.RECEIVED)
                | Q(state=WebhookEvent.State.FAILED, next_attempt_at__isnull=False),
                pk=event.pk,
            )
            .first()
        )
        if locked is None:  # done, failed for good, or being processed right now
            event.refresh_from_db()
            return event
        connection = ats_connection_for(organization)
        now = timezone.now()
        state, error, retry_at = WebhookEvent.State.PROCESSED, "", None
        if connection is None or provider_identifier(connection) != locked.provider:
            state, error = WebhookEvent.State.IGNORED, "No matching ATS connection."
        else:
            recorder = CallRecorder(organization=organization, provider=locked.provider)
            try:
                if locked.provider == Provider.GREENHOUSE:
                    handled = _process_greenhouse(locked, connection, recorder)
                else:
                    handled = _process_lever(locked, connection, recorder)
                if not handled:
                    state = WebhookEvent.State.IGNORED
            except ProviderError as exc:
                state, error = WebhookEvent.State.FAILED, str(exc)
                if not exc.permanent:
                    retry_at = now + webhook_retry_delay(locked.attempts)
            except ValueError as exc:  # the payload's shape (InvalidPayload) and the like
                state, error = WebhookEvent.State.FAILED, str(exc)
            finally:
                recorder.flush()
        WebhookEvent.objects.filter(pk=locked.pk).update(
            state=state, error=error, processed_at=timezone.now(), next_attempt_at=retry_at
        )
    event.refresh_from_db()
    return event


def _lock_application(writer: MirrorWriter, external_id: str) -> None:
    """Serialize webhook writes to one application, even one not in the mirror yet (no row to
    lock): two moves delivered at once must be applied one after the other."""
    connection = connections[router.db_for_write(Application)]
    if connection.vendor != "postgresql":
        return  # SQLite serializes writers anyway
    key = f"webhook-application:{writer.organization.pk}:{writer.provider}:{external_id}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def _apply_one(
    writer: MirrorWriter,
    *,
    candidate: ExtCandidate | None,
    application: ExtApplication,
    event: WebhookEvent,
    new_hint: bool,
    fetch_candidate=None,
) -> int:
    with transaction.atomic():
        _lock_application(writer, application.external_id)
        # An event older than the mirror (delivered out of order) must not roll the candidate's
        # details back either.
        stale = application.last_activity_at is not None and (
            Application.objects.filter(
                provider=writer.provider,
                external_id=application.external_id,
                last_activity_at__gt=application.last_activity_at,
            ).exists()
        )
        if candidate is not None and not stale:
            candidate_ids = writer.upsert_candidates([candidate])
        else:
            candidate_ids = writer.candidate_ids([application.candidate_external_id or ""])
        cand_ext = application.candidate_external_id or ""
        if cand_ext and cand_ext not in candidate_ids:
            fetched = fetch_candidate(cand_ext) if fetch_candidate else None
            if fetched is not None:
                candidate_ids.update(writer.upsert_candidates([fetched]))
            else:
                candidate_ids[cand_ext] = writer.candidate_stub(cand_ext)
        # A webhook is a real event, not history: an application first seen here is recorded
        # (unlike the first full sync, which must not replay the past into journeys).
        result = writer.apply_applications(
            [application],
            candidate_ids=candidate_ids,
            source=TransitionSource.WEBHOOK,
            observed_at=timezone.now(),
            record_new=True,
            provider_event_id=event.event_id,
            new_application_hint=new_hint,
        )
        if result.skipped_stale:
            return _record_out_of_order(writer, application=application, event=event)
    return result.transitions


def _record_out_of_order(writer: MirrorWriter, *, application: ExtApplication, event) -> int:
    """An event older than what the mirror already holds (its newer sibling was processed
    first) leaves the application where it is, but the move it reports still happened: record
    it at its own time, between the transitions around it, so journeys on that stage start.

    The transition that was recorded after it (which jumped straight past this stage) is
    re-pointed to start from this stage, so the history reads in order."""
    row = Application.objects.filter(
        provider=writer.provider, external_id=application.external_id
    ).first()
    if row is None or application.last_activity_at is None:
        return 0
    occurred = min(application.last_activity_at, timezone.now())
    history = StageTransition.objects.filter(application_id=row.pk)
    later = history.filter(observed_at__gt=occurred).order_by("observed_at", "pk").first()
    earlier = history.filter(observed_at__lte=occurred).order_by("observed_at", "pk").last()
    if later is not None:
        before = (later.from_stage_id, later.from_stage_name, later.from_status)
    elif earlier is not None:
        before = (earlier.to_stage_id, earlier.to_stage_name, earlier.to_status)
    else:
        before = (None, "", "")
    if application.stage_external_id is None:
        stage_id, stage_name = before[0], before[1]  # Greenhouse drops the stage once hired
    else:
        known = writer.stages.get(application.stage_external_id)
        stage_id = known[0] if known else None
        stage_name = (application.stage_name or (known[1] if known else ""))[:255]
    status = application.status if application.status in ApplicationStatus.values else "active"
    after = (stage_id, stage_name, status)
    if after == before or (
        later is not None and after == (later.to_stage_id, later.to_stage_name, later.to_status)
    ):
        return 0  # nothing moved, or the later transition already records this state
    transition = StageTransition(
        organization=writer.organization,
        provider=writer.provider,
        application_id=row.pk,
        candidate_id=row.candidate_id,
        job_id=row.job_id,
        from_stage_id=before[0],
        from_stage_name=before[1],
        from_status=before[2],
        to_stage_id=stage_id,
        to_stage_name=stage_name,
        to_status=status,
        observed_at=occurred,
        source=TransitionSource.WEBHOOK,
        provider_event_id=event.event_id,
    )
    created = StageTransition.objects.bulk_create([transition], ignore_conflicts=True)
    if later is not None:
        StageTransition.objects.filter(pk=later.pk).update(
            from_stage_id=stage_id, from_stage_name=stage_name, from_status=status
        )
    announce_transitions(writer, created, provider_event_id=event.event_id)
    return 1


def _upsert_webhook_job(writer: MirrorWriter, parsed) -> None:
    """The application's job from the payload, with its offices and departments, mapped like
    the poll maps it, so office and department criteria match at once. Offices and
    departments already in the mirror are left as the reference refresh wrote them (the
    payload lacks e.g. a department's parent); the hiring team is not in the payload and is
    left alone."""
    job = parsed.job
    raw_jobs = ((parsed.raw.get("payload") or {}).get("application") or {}).get("jobs") or []
    raw_job = next((j for j in raw_jobs if str(j.get("id")) == job.external_id), {})

    def mirror_row(model, external_id: str, **values):
        return model(
            organization=writer.organization,
            provider=writer.provider,
            external_id=external_id,
            **values,
        )

    with transaction.atomic():
        Office.objects.bulk_create(
            [
                mirror_row(
                    Office, o.external_id, name=o.name[:255], location=(o.location or "")[:255]
                )
                for o in parsed.offices
            ],
            ignore_conflicts=True,
        )
        Department.objects.bulk_create(
            [mirror_row(Department, d.external_id, name=d.name[:255]) for d in parsed.departments],
            ignore_conflicts=True,
        )
        values = {"name": job.name[:255]} if job.name else {}
        if job.status:
            values["status"] = job.status[:20]
        # Events of two applications of a new job may arrive at once: insert-or-ignore.
        Job.objects.bulk_create([mirror_row(Job, job.external_id, **values)], ignore_conflicts=True)
        row = Job.objects.get(provider=writer.provider, external_id=job.external_id)
        if values:
            Job.objects.filter(pk=row.pk).update(**values)
        if "offices" in raw_job:
            row.offices.set(
                Office.objects.filter(
                    provider=writer.provider, external_id__in=job.office_external_ids
                )
            )
        if "departments" in raw_job:
            row.departments.set(
                Department.objects.filter(
                    provider=writer.provider, external_id__in=job.department_external_ids
                )
            )
    writer.load_maps()


def _process_greenhouse(event: WebhookEvent, connection, recorder: CallRecorder) -> bool:
    parsed = greenhouse_webhooks.parse_event(event.raw_body.encode(), event_id=event.event_id)
    writer = MirrorWriter(organization=event.organization, provider=Provider.GREENHOUSE)
    now = timezone.now()
    provider = None

    def get_provider():
        nonlocal provider
        if provider is None:
            provider = provider_for(connection, recorder=recorder)
        return provider

    def fetch_candidate(external_id: str) -> ExtCandidate | None:
        try:
            return get_provider().get_candidate(external_id)
        except NotFound:
            return None

    if parsed.action in GREENHOUSE_APPLICATION_ACTIONS and parsed.application is not None:
        app = parsed.application
        if parsed.job is not None:
            _upsert_webhook_job(writer, parsed)
        raw_app = (parsed.raw.get("payload") or {}).get("application") or {}
        job_name = next(
            (str(j.get("name") or "") for j in raw_app.get("jobs") or [] if isinstance(j, dict)),
            "",
        )
        writer.ensure_job_and_stage(
            job_external_id=app.job_external_id,
            job_name=job_name,
            stage_external_id=app.stage_external_id,
            stage_name=app.stage_name or "",
        )
        _apply_one(
            writer,
            candidate=parsed.candidate,
            application=app,
            event=event,
            new_hint=parsed.action in NEW_APPLICATION_EVENTS,
            fetch_candidate=fetch_candidate,
        )
        return True
    if parsed.action == "merge_candidate" and parsed.candidate and parsed.merged_into:
        with transaction.atomic():
            winner = writer.candidate_ids([parsed.merged_into]).get(parsed.merged_into)
            if winner is None:
                fetched = fetch_candidate(parsed.merged_into)
                if fetched is not None:
                    winner = writer.upsert_candidates([fetched])[parsed.merged_into]
                else:
                    winner = writer.candidate_stub(parsed.merged_into)
            writer.merge_candidate(loser_external_id=parsed.candidate.external_id, winner_id=winner)
        return True
    if parsed.action == "delete_candidate" and parsed.deleted_candidate_id:
        writer.delete_candidate(parsed.deleted_candidate_id, at=now)
        return True
    if parsed.action == "delete_application" and parsed.deleted_application_id:
        writer.delete_application(parsed.deleted_application_id, at=now)
        return True
    if parsed.action == "update_candidate" and parsed.candidate is not None:
        writer.upsert_candidates([parsed.candidate])
        return True
    return False


def _process_lever(event: WebhookEvent, connection, recorder: CallRecorder) -> bool:
    parsed = lever_webhooks.parse_event(json.loads(event.raw_body))
    writer = MirrorWriter(organization=event.organization, provider=Provider.LEVER)
    if parsed.event == "candidateDeleted" and parsed.opportunity_id:
        writer.delete_candidate(parsed.opportunity_id, at=timezone.now())
        writer.delete_application(parsed.opportunity_id, at=timezone.now())
        return True
    if parsed.event not in LEVER_OPPORTUNITY_EVENTS or not parsed.opportunity_id:
        return False  # e.g. Lever's "test" delivery (candidateHired with empty data)
    # Lever signs only token + triggeredAt, so the body's data is not trusted: read the
    # opportunity itself.
    provider = provider_for(connection, recorder=recorder)
    try:
        candidate, application = provider.get_opportunity(parsed.opportunity_id)
    except NotFound:
        return False
    if parsed.event == "candidateStageChange":
        application = _lever_move_from_payload(writer, provider, application, parsed)
    writer.ensure_job_and_stage(
        job_external_id=application.job_external_id,
        stage_external_id=application.stage_external_id,
        stage_name=application.stage_name or "",
    )
    _apply_one(
        writer,
        candidate=candidate,
        application=application,
        event=event,
        new_hint=parsed.event in NEW_APPLICATION_EVENTS,
    )
    return True


def _lever_move_from_payload(writer: MirrorWriter, provider, application, parsed):
    """The move the delivery reports (``toStageId`` at ``triggeredAt``, which Lever signs),
    not the opportunity's stage now: two moves delivered late or out of order each record
    their own transition at their own time, as Greenhouse's do. The opportunity read gives
    everything else (the candidate, the job, the status)."""
    if not parsed.to_stage_id or parsed.triggered_at is None:
        return application
    stage_id = parsed.to_stage_id
    if stage_id == application.stage_external_id:
        name = application.stage_name
    elif stage_id in writer.stages:
        name = writer.stages[stage_id][1]
    else:
        name = next((s.name for s in provider.iter_stages() if s.external_id == stage_id), None)
        if name is None:
            return application  # not one of the account's stages: keep what Lever says now
    return dataclasses.replace(
        application,
        stage_external_id=stage_id,
        stage_name=name,
        last_activity_at=parsed.triggered_at,
    )


def lever_delivery_check(*, connection, body: dict, now=None) -> str | None:
    """Why a Lever delivery must be refused (forged or stale), or None when it is genuine."""
    token, triggered, signature = body.get("token"), body.get("triggeredAt"), body.get("signature")
    if not lever_webhooks.verify_signature(
        token, triggered, signature, connection.signature_token or ""
    ):
        return "The signature does not match."
    if not isinstance(triggered, (int, float)) or lever_webhooks.is_stale(
        int(triggered), now=now, max_age=LEVER_MAX_AGE
    ):
        return "The delivery is too old (or from the future)."
    return None


LEVER_MAX_AGE = timedelta(minutes=5)


@transaction.atomic
def candidate_time_zone_set(*, organization, candidate, time_zone: str, actor=None) -> None:
    """Record the candidate's own time zone (empty clears it): it comes first when quiet hours
    and send times are worked out. Kept on the timeline."""
    name = (actor.get_full_name() or actor.email) if actor is not None else ""
    source = f"set by {name}" if time_zone and name else ("set explicitly" if time_zone else "")
    Candidate.objects.filter(organization=organization, pk=candidate.pk).update(
        time_zone=time_zone, time_zone_source=source
    )
    candidate.time_zone, candidate.time_zone_source = time_zone, source
    TimelineEvent.objects.create(
        organization=organization,
        candidate=candidate,
        kind=timeline.TIME_ZONE_SET if time_zone else timeline.TIME_ZONE_CLEARED,
        summary=f"Time zone set to {time_zone}" if time_zone else "Time zone cleared",
        detail=source,
        occurred_at=timezone.now(),
    )


@transaction.atomic
def candidate_find_or_create_public(
    *, organization, first_name: str, last_name: str, email: str, phone: str
) -> tuple[Candidate, bool]:
    """The candidate who filled in a public scheduling link: ``(candidate, created)``.

    A candidate of the organization (not deleted, not merged away) whose primary e-mail matches
    case-insensitively is returned unchanged: anyone can type an address into a public form, so
    what they typed never changes a candidate's record (the caller decides what to do with a
    match). Otherwise a RecruitFlow candidate is created. The phone is optional; when given it
    is stored in E.164, read in ``PHONENUMBER_DEFAULT_REGION`` unless it starts with a country
    code. Raises ``ValidationError`` keyed by field ("first_name", "email", "phone") saying
    what to fix; nothing is written then.
    """
    import uuid

    import phonenumbers
    from django.conf import settings
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    email, phone = (email or "").strip(), (phone or "").strip()
    errors: dict[str, list[str]] = {}
    if not first_name:
        errors["first_name"] = ["Enter your first name."]
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [
            f"“{email}” is not an e-mail address. Enter one like name@example.com."
            if email
            else "Enter your e-mail address."
        ]
    mobile = ""
    if phone:
        try:
            number = phonenumbers.parse(phone, settings.PHONENUMBER_DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            errors["phone"] = [
                f"“{phone}” is not a phone number we can read. Enter it with the country "
                "code, like +44 7700 900123, or leave it empty."
            ]
        else:
            mobile = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if errors:
        raise ValidationError(errors)

    candidate = (
        Candidate.objects.select_for_update()
        .filter(
            organization=organization,
            primary_email__iexact=email,
            deleted_at__isnull=True,
            merged_into__isnull=True,
        )
        .order_by("-synced_at", "-pk")
        .first()
    )
    if candidate is not None:
        return candidate, False
    candidate = Candidate.objects.create(
        organization=organization,
        provider=Provider.RECRUITFLOW,
        external_id=uuid.uuid4().hex,
        first_name=first_name,
        last_name=last_name,
        primary_email=email,
        emails=[{"value": email, "type": "personal"}],
        mobile_phone=mobile,
        phones=[{"value": mobile, "type": "mobile"}] if mobile else [],
    )
    return candidate, True
