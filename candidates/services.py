"""Writes to the ATS mirror: starting and running syncs, storing and processing webhooks.

The sync machinery (bulk upserts, the stage diff, paging) is in ``candidates.sync``.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from candidates.models import (
    Candidate,
    Provider,
    SyncKind,
    SyncRun,
    SyncStatus,
    TimelineEvent,
    TransitionSource,
    WebhookEvent,
)
from candidates.sync import MirrorWriter, SyncAborted, SyncEngine
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


def webhook_event_record(
    *, connection, event_id: str, action: str, raw_body: bytes, ignore: bool = False
) -> WebhookEvent | None:
    """Store a delivery whose signature was verified; queue its processing after commit.

    Returns None for a delivery already stored (same provider event id): nothing new is
    written and nothing is queued. ``ignore`` stores it as ignored (pings, unknown events).
    """
    from candidates.tasks import process_webhook_event

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
                )
        except IntegrityError:
            return None
        type(connection).objects.filter(pk=connection.pk).update(last_webhook_at=now)
        if not ignore:
            transaction.on_commit(lambda: process_webhook_event.delay(organization.pk, event.pk))
        return event


def webhook_event_process(*, event: WebhookEvent) -> WebhookEvent:
    """Apply a stored delivery to the mirror (safe to run twice: the diff and the
    transition's unique provider event id make a repeat a no-op)."""
    organization = event.organization
    with tenant_scope(organization):
        if event.state in (WebhookEvent.State.PROCESSED, WebhookEvent.State.IGNORED):
            return event
        connection = ats_connection_for(organization)
        state, error = WebhookEvent.State.PROCESSED, ""
        if connection is None or provider_identifier(connection) != event.provider:
            state, error = WebhookEvent.State.IGNORED, "No matching ATS connection."
        else:
            recorder = CallRecorder(organization=organization, provider=event.provider)
            try:
                if event.provider == Provider.GREENHOUSE:
                    handled = _process_greenhouse(event, connection, recorder)
                else:
                    handled = _process_lever(event, connection, recorder)
                if not handled:
                    state = WebhookEvent.State.IGNORED
            except (ProviderError, ValueError) as exc:
                state, error = WebhookEvent.State.FAILED, str(exc)
            finally:
                recorder.flush()
        WebhookEvent.objects.filter(pk=event.pk).update(
            state=state, error=error, processed_at=timezone.now()
        )
        event.refresh_from_db()
        return event


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
        if candidate is not None:
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
        result = writer.apply_applications(
            [application],
            candidate_ids=candidate_ids,
            source=TransitionSource.WEBHOOK,
            observed_at=timezone.now(),
            record_new=False,
            provider_event_id=event.event_id,
            new_application_hint=new_hint,
        )
    return result.transitions


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
        kind="time_zone_set" if time_zone else "time_zone_cleared",
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
