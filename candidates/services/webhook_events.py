"""ATS webhooks: storing a verified delivery through the one intake (:mod:`integrations.intake`,
which applies it in a task, sweeps and reprocesses), and applying its vendor-neutral events to
the mirror (moves delivered out of order included)."""

from __future__ import annotations

import dataclasses
import functools
import time
from datetime import datetime, timedelta

from django.db import connections, router, transaction
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
)
from candidates.sync.writer import MirrorWriter, announce_transitions
from integrations import intake
from integrations.base import ExtApplication, ExtCandidate, NotFound
from integrations.connections import (
    CallRecorder,
    ats_connection_for,
    provider_for,
    provider_identifier,
    webhook_heard,
)
from integrations.events import (
    ApplicationChanged,
    ApplicationDeleted,
    ApplicationToRead,
    AtsEvent,
    CandidateChanged,
    CandidateDeleted,
    CandidatesMerged,
)
from integrations.models import WebhookDelivery
from recruitflow.tenancy import tenant_scope

# --------------------------------------------------------------------------------------------
# Storing
# --------------------------------------------------------------------------------------------


# How stale the connection's "last heard" (``last_webhook_at``, the onboarding checklist's) may
# get: a POST that finds it written more recently than this writes nothing, so the POSTs of a
# burst do not all update (and wait on) the connection's row.
HEARD_EVERY = timedelta(seconds=10)


def ats_webhook_store(
    *,
    connection,
    event_id: str,
    action: str,
    raw_body: bytes,
    ignore: bool = False,
    only_while: tuple[str, list] | None = None,
) -> WebhookDelivery | None:
    """Store an ATS delivery whose signature was verified, through the one intake (which
    queues its apply task after commit), and note on the connection when it last heard
    (at most every :data:`HEARD_EVERY`, judged by the ``connection`` the endpoint just read).

    Returns None for a delivery already stored (same vendor event id): nothing new is written
    and nothing is queued (the intake's sweep still applies the stored one if it never was).
    ``ignore`` stores it as ignored (pings, events nobody handles). ``only_while``: the
    intake's condition to store under (raises :class:`integrations.intake.SourceChanged`
    when it no longer holds)."""
    organization = connection.organization
    delivery, created = intake.store(
        organization=organization,
        provider=provider_identifier(connection),
        kind=action,
        event_id=event_id,
        raw_body=raw_body,
        ignore=ignore,
        only_while=only_while,
    )
    if not created:
        return None
    heard = connection.last_webhook_at
    if heard is None or delivery.received_at - heard >= HEARD_EVERY:
        # Conditional: of the POSTs of a burst that all read an old time, the first one writes
        # it and the others match nothing instead of queueing on the connection's row lock.
        with tenant_scope(organization):
            type(connection).objects.filter(
                Q(last_webhook_at__isnull=True)
                | Q(last_webhook_at__lt=delivery.received_at - HEARD_EVERY),
                pk=connection.pk,
            ).update(last_webhook_at=delivery.received_at)
        # Written now, or by another POST less than HEARD_EVERY ago.
        webhook_heard(connection, delivery.received_at)
    return delivery


# --------------------------------------------------------------------------------------------
# Applying (the intake's handler of the ATS events)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _AtsDelivery:
    """What the ATS events of one delivery share: the connection, the mirror writer and an
    adapter made on first need, whose calls are recorded when the delivery is done."""

    connection: object
    writer: MirrorWriter
    recorder: CallRecorder
    _provider: object = None

    def provider(self):
        if self._provider is None:
            self._provider = provider_for(self.connection, recorder=self.recorder)
        return self._provider

    def fetch_candidate(self, external_id: str) -> ExtCandidate | None:
        try:
            return self.provider().get_candidate(external_id)
        except NotFound:
            return None


def _ats_delivery(context: intake.Context) -> _AtsDelivery:
    """The connection, writer and recorder of the task's batch of deliveries, read once for
    all of them; the recorder's calls are stored as each delivery is done."""
    batch = context.batch
    if "ats" not in batch.shared:
        connection = ats_connection_for(batch.organization)
        found = None
        if connection is not None and provider_identifier(connection) == batch.provider:
            writer = MirrorWriter(
                organization=batch.organization, provider=batch.provider, announce_together=True
            )
            found = _AtsDelivery(
                connection=connection,
                writer=writer,
                recorder=CallRecorder(organization=batch.organization, provider=batch.provider),
            )
            # The batch's stage changes go to Journeys in one task, whose match runs their
            # first steps together.
            batch.on_finish(writer.announce_committed)
        batch.shared["ats"] = found
    shared = batch.shared["ats"]
    if shared is None:
        raise intake.Ignored("No matching ATS connection.")
    if "ats" not in context.shared:
        context.shared["ats"] = shared
        context.on_finish(shared.recorder.flush)
    return shared


def ats_event_apply(event: AtsEvent, context: intake.Context) -> bool:
    """Apply one vendor-neutral ATS event of a stored delivery to the mirror (registered with
    the intake in ``CandidatesConfig.ready``). False when there was nothing to apply. Moves
    delivered out of order are recorded at their own time; applying an event twice changes
    nothing (its transition carries the vendor's event id)."""
    shared = _ats_delivery(context)
    try:
        return _apply_event(
            shared.writer,
            event,
            stored=context.delivery,
            get_provider=shared.provider,
            fetch=shared.fetch_candidate,
        )
    except Exception:
        # The intake rolls this event's savepoint back: what the writer read or wrote in it
        # is not to be trusted by the batch's next deliveries.
        shared.writer.forget()
        raise


@dataclasses.dataclass(frozen=True)
class _Change:
    """A stage change of a batch that carries everything it needs (its application and the
    candidate's details), with its delivery's context."""

    event: ApplicationChanged
    application: ExtApplication
    candidate: ExtCandidate
    context: intake.Context

    @property
    def names(self) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("application", self.application.external_id), (
            "candidate",
            self.candidate.external_id,
        )

    def older_than(self, mirrored: datetime | None) -> bool:
        moved = self.application.last_activity_at
        return mirrored is not None and moved is not None and mirrored > moved


def _change(event, context: intake.Context) -> _Change | None:
    """The event as a :class:`_Change`, when it is a stage change naming its application's
    candidate and carrying the candidate's details (applied without asking the ATS)."""
    if not isinstance(event, ApplicationChanged):
        return None
    app, candidate = event.application, event.candidate
    if app is None or candidate is None or not app.candidate_external_id:
        return None
    if candidate.external_id != app.candidate_external_id:
        return None
    return _Change(event=event, application=app, candidate=candidate, context=context)


def ats_events_apply_together(items: list[tuple[AtsEvent, intake.Context]]) -> dict[int, bool]:
    """Apply a batch's stage changes together (registered with the intake's
    ``register_together``): the candidates in one upsert, the applications in one, their
    transitions in one insert, instead of about ten statements per webhook. Taken only when
    every delivery of the batch is a stage change carrying its candidate, and only the
    deliveries whose application and candidate no other delivery of the batch names, and
    whose move is not older than the mirror: the rest are applied one at a time afterwards, in
    their order, as is the whole batch when anything here fails. Returns {delivery pk: True}
    for the deliveries applied."""
    changes = [_change(event, context) for event, context in items]
    if not changes or None in changes:
        return {}
    named: dict[tuple[str, str], int] = {}
    for change in changes:
        assert change is not None
        for key in change.names:
            named[key] = named.get(key, 0) + 1
    alone = [c for c in changes if c is not None and all(named[k] == 1 for k in c.names)]
    if len(alone) < 2:
        return {}
    for change in alone:  # each delivery writes its calls (none here) when it is done
        writer = _ats_delivery(change.context).writer
    try:
        return _apply_changes(writer, alone)
    except Exception:
        writer.forget()  # what it read or wrote is rolled back with the savepoint
        raise


def _apply_changes(writer: MirrorWriter, changes: list[_Change]) -> dict[int, bool]:
    for change in changes:
        if change.event.job is not None:
            _upsert_webhook_job(writer, change.event)
        writer.ensure_job_and_stage(
            job_external_id=change.application.job_external_id,
            job_name=change.event.job_name,
            stage_external_id=change.application.stage_external_id,
            stage_name=change.application.stage_name or "",
        )
    by_application = {change.application.external_id: change for change in changes}
    _lock_applications(writer, list(by_application))
    # A move older than what the mirror holds (delivered out of order) is recorded at its own
    # time by the one-at-a-time path, and must not roll the candidate's details back.
    mirrored = dict(
        Application.objects.filter(
            provider=writer.provider,
            external_id__in=list(by_application),
            last_activity_at__isnull=False,
        ).values_list("external_id", "last_activity_at")
    )
    fresh = [c for ext, c in by_application.items() if not c.older_than(mirrored.get(ext))]
    if not fresh:
        return {}
    result = writer.apply_applications(
        [change.application for change in fresh],
        candidate_ids=writer.upsert_candidates([change.candidate for change in fresh]),
        source=TransitionSource.WEBHOOK,
        observed_at=timezone.now(),
        record_new=True,
        provider_event_ids={
            change.application.external_id: change.context.delivery.event_id for change in fresh
        },
    )
    if result.skipped_stale or result.applications < len(fresh):
        # The poll wrote a newer state meanwhile, or a candidate is missing: the one-at-a-time
        # path records them as such.
        raise intake.ApplyAlone
    return {change.context.delivery.pk: True for change in fresh}


def register_handlers() -> None:
    """Hand the intake this app's handlers of the ATS events (``CandidatesConfig.ready``)."""
    intake.register(AtsEvent, ats_event_apply)
    intake.register_together(AtsEvent, ats_events_apply_together)


def _lock_application(writer: MirrorWriter, external_id: str) -> None:
    """Serialize webhook writes to one application, even one not in the mirror yet (no row to
    lock): two moves delivered at once must be applied one after the other."""
    _lock_applications(writer, [external_id])


def _lock_applications(writer: MirrorWriter, external_ids: list[str]) -> None:
    """:func:`_lock_application` for several applications, in one statement and in one order
    (two transactions locking overlapping sets wait for each other instead of deadlocking)."""
    connection = connections[router.db_for_write(Application)]
    if connection.vendor != "postgresql":
        return  # SQLite serializes writers anyway
    prefix = f"webhook-application:{writer.organization.pk}:{writer.provider}:"
    keys = sorted({prefix + external_id for external_id in external_ids})
    with connection.cursor() as cursor:
        if len(keys) == 1:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", keys)
        else:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(h) FROM "
                "(SELECT hashtext(k) AS h FROM unnest(%s::text[]) AS k ORDER BY 1) AS keys",
                [keys],
            )


def _apply_one(
    writer: MirrorWriter,
    *,
    candidate: ExtCandidate | None,
    application: ExtApplication,
    event: WebhookDelivery,
    new_hint: bool,
    fetch_candidate=None,
) -> int:
    # In the intake's savepoint of the event already: one more would only cost two statements.
    with transaction.atomic(savepoint=False):
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
        stage_id, stage_name = before[0], before[1]  # some ATSs drop the stage once hired
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
    announce_transitions(writer, created, provider_event_ids=[event.event_id])
    return 1


# The jobs (with their offices and departments) as webhooks described them, that this process
# compared with the mirror (and wrote what differed) in the last RECENT_JOB_SECONDS, by
# organization and vendor: a burst's batches name the same few jobs again and again. A job is
# remembered once the transaction that compared it committed. What the ATS poll writes in the
# meantime (read from the same ATS) stands until a webhook describes the job after that.
RECENT_JOB_SECONDS = 60.0
_RECENT_JOBS_KEPT = 10_000
_recent_jobs: dict[tuple, float] = {}


def _job_compared_recently(key: tuple) -> bool:
    at = _recent_jobs.get(key)
    return at is not None and time.monotonic() - at < RECENT_JOB_SECONDS


def _job_compared(key: tuple) -> None:
    if len(_recent_jobs) >= _RECENT_JOBS_KEPT:
        _recent_jobs.clear()
    _recent_jobs[key] = time.monotonic()


def recent_jobs_forget() -> None:
    """Forget which jobs this process compared lately (a test's database starts afresh)."""
    _recent_jobs.clear()


def _upsert_webhook_job(writer: MirrorWriter, event: ApplicationChanged) -> None:
    """The application's job from the payload, with its offices and departments, mapped like
    the poll maps it, so office and department criteria match at once. Offices and
    departments already in the mirror are left as the reference refresh wrote them (the
    payload lacks e.g. a department's parent); the hiring team is not in the payload and is
    left alone. The mirror is read first and only what differs is written (a burst's webhooks
    name the same few jobs), and a job the writer already wrote in this form, or this process
    compared in this form lately (``RECENT_JOB_SECONDS``), is skipped."""
    job = event.job
    if job is None:
        return
    values = {"name": job.name[:255]} if job.name else {}
    if job.status:
        values["status"] = job.status[:20]
    places = (
        (
            Office,
            "offices",
            event.offices,
            event.job_offices_known,
            job.office_external_ids,
            lambda o: {"name": o.name[:255], "location": (o.location or "")[:255]},
        ),
        (
            Department,
            "departments",
            event.departments,
            event.job_departments_known,
            job.department_external_ids,
            lambda d: {"name": d.name[:255]},
        ),
    )
    described = (
        job.external_id,
        tuple(sorted(values.items())),
        tuple(
            (frozenset(items), known, frozenset(linked)) for _, _, items, known, linked, _ in places
        ),
    )
    if not writer.first_sight(described):
        return
    remembered = (writer.organization.pk, writer.provider, described)
    if _job_compared_recently(remembered):
        return
    with transaction.atomic():
        row = Job.objects.filter(provider=writer.provider, external_id=job.external_id).first()
        if row is None:
            # Events of two applications of a new job may arrive at once: insert-or-ignore.
            Job.objects.bulk_create(
                [writer.mirror_row(Job, job.external_id, **values)], ignore_conflicts=True
            )
            row = Job.objects.get(provider=writer.provider, external_id=job.external_id)
            writer.load_maps()
        elif any(getattr(row, name) != value for name, value in values.items()):
            Job.objects.filter(pk=row.pk).update(**values)
        for model, relation, items, known, linked, fields in places:
            ids = _places(
                writer, model, items, fields, wanted={i.external_id for i in items} | set(linked)
            )
            if known:
                target = {ids[ext] for ext in linked if ext in ids}
                links = getattr(row, relation)
                if set(links.values_list("id", flat=True)) != target:
                    links.set(target)
    transaction.on_commit(functools.partial(_job_compared, remembered))


def _places(writer: MirrorWriter, model, items, fields, *, wanted: set[str]) -> dict[str, int]:
    """The mirror's ids of the ``wanted`` offices (or departments); the payload's ``items`` not
    in the mirror yet are inserted first, with ``fields(item)``."""
    if not wanted:
        return {}

    def read() -> dict[str, int]:
        rows = model.objects.filter(provider=writer.provider, external_id__in=wanted)
        return dict(rows.values_list("external_id", "id"))

    ids = read()
    missing = [item for item in items if item.external_id not in ids]
    if not missing:
        return ids
    model.objects.bulk_create(
        [writer.mirror_row(model, item.external_id, **fields(item)) for item in missing],
        ignore_conflicts=True,
    )
    return read()


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
