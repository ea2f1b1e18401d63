"""ATS webhook processing: storing a verified delivery once, the sweep that queues lost or
transiently failed ones, and applying a stored delivery to the mirror (moves delivered out of
order included)."""

from __future__ import annotations

import dataclasses
import functools
import logging
from datetime import timedelta

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from candidates.models import (
    Application,
    ApplicationStatus,
    Department,
    Job,
    Office,
    StageTransition,
    TransitionSource,
    WebhookEvent,
)
from candidates.sync.writer import MirrorWriter, announce_transitions
from integrations import intake
from integrations.base import ExtApplication, ExtCandidate, NotFound
from integrations.connections import (
    CallRecorder,
    ats_connection_for,
    provider_for,
    provider_identifier,
)
from integrations.events import (
    ApplicationChanged,
    ApplicationDeleted,
    ApplicationToRead,
    CandidateChanged,
    CandidateDeleted,
    CandidatesMerged,
)
from integrations.http import ProviderError
from recruitflow.tasks import task_named
from recruitflow.tenancy import scopes_disabled, tenant_scope

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------------


# A delivery still unprocessed this long after it arrived lost its task (the broker refused it,
# or the worker died): the beat sweep queues it again. Transient failures wait longer each time.
WEBHOOK_RETRY_AFTER = timedelta(minutes=2)
WEBHOOK_MAX_SWEEPS = 8
PROCESS_TASK = "candidates.tasks.process_webhook_event"


def webhook_retry_delay(attempts: int) -> timedelta:
    """2, 4, 8 … minutes, at most about two hours."""
    return WEBHOOK_RETRY_AFTER * 2 ** min(max(attempts, 0), 6)


def _queue_webhook_processing(organization_id: int, event_id: int) -> bool:
    """Ask a worker to process a stored event. A broker that refuses is logged, not raised:
    the event is committed, so the sweep queues it later and the ATS is still told 200."""
    try:
        task_named(PROCESS_TASK).delay(organization_id, event_id)
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


def webhook_events_reprocess(*, event_ids) -> int:
    """Staff's "reprocess" (the Django admin): the stored events go back to ``received``, with
    their attempts and error cleared, and are queued again after commit (the sweep still
    catches any the broker refuses). Applying an event twice changes nothing: its transition
    carries the provider event id. Crosses organizations on purpose. Returns how many."""
    now = timezone.now()
    with scopes_disabled():
        rows = list(
            WebhookEvent.objects.filter(pk__in=list(event_ids)).values_list("pk", "organization_id")
        )
        WebhookEvent.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            state=WebhookEvent.State.RECEIVED,
            error="",
            processed_at=None,
            attempts=0,
            next_attempt_at=now + WEBHOOK_RETRY_AFTER,
        )
    for pk, organization_id in rows:
        transaction.on_commit(functools.partial(_queue_webhook_processing, organization_id, pk))
    return len(rows)


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
                if not _process(locked, connection, recorder):
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


def _upsert_webhook_job(writer: MirrorWriter, event: ApplicationChanged) -> None:
    """The application's job from the payload, with its offices and departments, mapped like
    the poll maps it, so office and department criteria match at once. Offices and
    departments already in the mirror are left as the reference refresh wrote them (the
    payload lacks e.g. a department's parent); the hiring team is not in the payload and is
    left alone."""
    job = event.job
    if job is None:
        return

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
                for o in event.offices
            ],
            ignore_conflicts=True,
        )
        Department.objects.bulk_create(
            [mirror_row(Department, d.external_id, name=d.name[:255]) for d in event.departments],
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
        if event.job_offices_known:
            row.offices.set(
                Office.objects.filter(
                    provider=writer.provider, external_id__in=job.office_external_ids
                )
            )
        if event.job_departments_known:
            row.departments.set(
                Department.objects.filter(
                    provider=writer.provider, external_id__in=job.department_external_ids
                )
            )
    writer.load_maps()


def _process(stored: WebhookEvent, connection, recorder: CallRecorder) -> bool:
    """Apply the vendor-neutral events the vendor's integration reads in a stored delivery.
    False when there was nothing to apply (the event is then marked ignored)."""
    events = intake.parse_stored(
        stored.provider,
        raw_body=stored.raw_body,
        url="",
        received_at=stored.received_at,
        event_id=stored.event_id,
    )
    writer = MirrorWriter(organization=stored.organization, provider=stored.provider)
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

    handled = False
    for event in events:
        applied = _apply_event(
            writer, event, stored=stored, get_provider=get_provider, fetch=fetch_candidate
        )
        handled = handled or applied
    return handled


def _apply_event(writer: MirrorWriter, event, *, stored, get_provider, fetch) -> bool:
    if isinstance(event, ApplicationChanged) and event.application is not None:
        app = event.application
        if event.job is not None:
            _upsert_webhook_job(writer, event)
        writer.ensure_job_and_stage(
            job_external_id=app.job_external_id,
            job_name=event.job_name,
            stage_external_id=app.stage_external_id,
            stage_name=app.stage_name or "",
        )
        _apply_one(
            writer,
            candidate=event.candidate,
            application=app,
            event=stored,
            new_hint=event.new_application,
            fetch_candidate=fetch,
        )
        return True
    if isinstance(event, ApplicationToRead):
        provider = get_provider()
        try:
            candidate, application = provider.get_application_and_candidate(event.application_id)
        except NotFound:
            return False
        if event.reported_stage_id and event.occurred_at is not None:
            application = _reported_move(writer, provider, application, event)
        writer.ensure_job_and_stage(
            job_external_id=application.job_external_id,
            stage_external_id=application.stage_external_id,
            stage_name=application.stage_name or "",
        )
        _apply_one(
            writer,
            candidate=candidate,
            application=application,
            event=stored,
            new_hint=event.new_application,
        )
        return True
    if isinstance(event, CandidatesMerged) and event.loser is not None and event.winner_id:
        with transaction.atomic():
            winner = writer.candidate_ids([event.winner_id]).get(event.winner_id)
            if winner is None:
                fetched = fetch(event.winner_id)
                if fetched is not None:
                    winner = writer.upsert_candidates([fetched])[event.winner_id]
                else:
                    winner = writer.candidate_stub(event.winner_id)
            writer.merge_candidate(loser_external_id=event.loser.external_id, winner_id=winner)
        return True
    if isinstance(event, CandidateDeleted) and event.candidate_id:
        writer.delete_candidate(event.candidate_id, at=timezone.now())
        return True
    if isinstance(event, ApplicationDeleted) and event.application_id:
        writer.delete_application(event.application_id, at=timezone.now())
        return True
    if isinstance(event, CandidateChanged) and event.candidate is not None:
        writer.upsert_candidates([event.candidate])
        return True
    return False


def _reported_move(writer: MirrorWriter, provider, application, event: ApplicationToRead):
    """The move the delivery reports (its stage at its signed time), not the application's
    stage now: two moves delivered late or out of order each record their own transition at
    their own time. The application read from the ATS gives everything else (the candidate,
    the job, the status)."""
    stage_id = event.reported_stage_id
    if stage_id == application.stage_external_id:
        name = application.stage_name
    elif stage_id in writer.stages:
        name = writer.stages[stage_id][1]
    else:
        name = next((s.name for s in provider.iter_stages() if s.external_id == stage_id), None)
        if name is None:
            return application  # not one of the account's stages: keep what the ATS says now
    return dataclasses.replace(
        application,
        stage_external_id=stage_id,
        stage_name=name,
        last_activity_at=event.occurred_at,
    )
