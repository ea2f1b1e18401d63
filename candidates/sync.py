"""Writing what an ATS says into the mirror: bulk upserts, the stage/status diff that produces
StageTransition rows, and the page-by-page poll (:class:`SyncEngine`).

Public entry points are in ``candidates.services``; this module holds the machinery they share
with webhook processing (:class:`MirrorWriter`).

How the poll stays exact:

* Each page is one transaction: the candidates/applications upsert, the transitions found by
  diffing the page against the mirror rows (loaded once per page, locked), and, with the last
  page of a pass, the resource's cursor. A failure mid-pass rolls back only that page and
  leaves the cursor where the last complete pass put it, so the next poll re-reads from there.
* Duplicates cannot happen by construction: a change is recorded only when the incoming row
  differs from the mirror, and the mirror is updated in the same transaction. A webhook that
  already applied a change leaves nothing for the poll to find.
* A page read before a webhook landed must not roll the mirror back: rows whose
  ``last_activity_at`` is older than the mirror's are skipped as stale.
* The cursor is the time a complete pass *started*; the next pass asks for changes since then
  minus an overlap window, because vendors list by id, not by time, and clocks drift.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from candidates.models import (
    Application,
    ApplicationStatus,
    AtsUser,
    Candidate,
    Department,
    Job,
    Office,
    Stage,
    StageTransition,
    SyncCursor,
    SyncRun,
    SyncStatus,
    TransitionSource,
)
from candidates.upsert import bulk_upsert
from integrations.base import (
    ATSProvider,
    ExtApplication,
    ExtCandidate,
    ExtDepartment,
    ExtJob,
    ExtOffice,
    ExtStage,
    ExtUser,
    NotFound,
)
from recruitflow.tasks import send_task_by_name

logger = logging.getLogger(__name__)

CURSOR_OVERLAP = timedelta(minutes=5)
# Jobs, stages, departments, offices and users change rarely: an incremental poll re-reads them
# when they are older than this, or at once when an application names a job/stage we lack.
REFERENCE_MAX_AGE = timedelta(hours=1)
PAGE_SIZE = {"greenhouse": 500, "lever": 100}
DEFAULT_PAGE_SIZE = 100
DEFAULT_PHONE_REGION = settings.PHONENUMBER_DEFAULT_REGION

UNIQUE_KEY = ["organization", "provider", "external_id"]
CANDIDATE_UPDATE_FIELDS = [
    "first_name",
    "last_name",
    "emails",
    "phones",
    "primary_email",
    "mobile_phone",
    "tags",
    "remote_updated_at",
    "deleted_at",
    "synced_at",
]
APPLICATION_UPDATE_FIELDS = [
    "candidate",
    "job",
    "stage",
    "stage_name",
    "status",
    "source_name",
    "prospect",
    "applied_at",
    "last_activity_at",
    "stage_entered_at",
    "deleted_at",
    "synced_at",
]
COUNT_KEYS = (
    "departments",
    "offices",
    "users",
    "jobs",
    "stages",
    "candidates",
    "applications",
    "transitions",
)


class SyncAborted(Exception):
    """The run was marked finished by someone else (e.g. declared stale) while it ran."""


# --------------------------------------------------------------------------------------------
# Small mapping helpers
# --------------------------------------------------------------------------------------------


# ATS users often type numbers in national form ("07700 900123"). After the candidate's own hints
# and the default region, these regions are tried in turn; a national number is rarely valid in
# another country's numbering plan, so the first valid reading is taken.
FALLBACK_PHONE_REGIONS = ("GB", "CA", "AU", "IE", "DE", "FR", "ES", "IT", "NL", "IN")


def region_hints_from_emails(emails: Iterable[str]) -> list[str]:
    """Country regions suggested by email domains (anna@example.co.uk → GB)."""
    hints = []
    for email in emails:
        tld = email.rsplit(".", 1)[-1].upper() if "." in email else ""
        region = "GB" if tld == "UK" else tld
        if region in phonenumbers.SUPPORTED_REGIONS:
            hints.append(region)
    return hints


def normalize_mobile_phone(
    phones: Iterable[tuple[str, str | None]], *, region_hints: Iterable[str] = ()
) -> str:
    """The mobile number (else the first one) in E.164, or "" when it cannot be read."""
    phones = list(phones)
    if not phones:
        return ""
    mobile = next((value for value, kind in phones if (kind or "").lower() == "mobile"), None)
    raw = mobile if mobile is not None else phones[0][0]
    regions = [*region_hints, DEFAULT_PHONE_REGION]
    if raw.lstrip().startswith("0"):
        # A national trunk prefix: written the way people outside North America write numbers.
        regions += FALLBACK_PHONE_REGIONS
    for region in dict.fromkeys(regions):
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ""


def _email_or_blank(value: str) -> str:
    value = (value or "").strip()
    return value if "@" in value and len(value) <= 254 else ""


def candidate_row(organization, provider: str, ext: ExtCandidate) -> Candidate:
    return Candidate(
        organization=organization,
        provider=provider,
        external_id=ext.external_id,
        first_name=(ext.first_name or "")[:255],
        last_name=(ext.last_name or "")[:255],
        emails=[{"value": v, "type": t} for v, t in ext.emails],
        phones=[{"value": v, "type": t} for v, t in ext.phones],
        primary_email=_email_or_blank(ext.emails[0][0]) if ext.emails else "",
        mobile_phone=normalize_mobile_phone(
            ext.phones, region_hints=region_hints_from_emails(v for v, _ in ext.emails)
        ),
        tags=list(ext.tags),
        remote_updated_at=ext.updated_at,
        deleted_at=None,
    )


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


_DONE = object()


def prefetched(items: Iterable[Any], *, chunk: int, depth: int = 2) -> Iterator[Any]:
    """Iterate ``items`` in a helper thread, ``depth`` chunks ahead, so the next page is on
    the wire while this one is written to the database. The helper never touches the ORM
    (adapters only do HTTP); errors are re-raised here, in order."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for block in chunked(items, chunk):
                if not put(block):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer
            put(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=produce, name="ats-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            block = buffer.get()
            if block is _DONE:
                return
            if isinstance(block, BaseException):
                raise block
            yield from block
    finally:
        stop.set()


@dataclass
class _Existing:
    pk: int
    candidate_id: int
    job_id: int | None
    stage_id: int | None
    stage_name: str
    status: str
    last_activity_at: datetime | None
    stage_entered_at: datetime | None


@dataclass
class PageResult:
    applications: int = 0
    transitions: int = 0
    skipped_stale: int = 0
    created_transitions: list[StageTransition] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# The writer: every mirror write goes through here (poll and webhooks)
# --------------------------------------------------------------------------------------------


class MirrorWriter:
    """Upserts into one organization's mirror of one provider.

    Job and stage foreign keys are resolved from in-memory maps loaded once; the caller runs
    inside ``tenant_scope(organization)``.
    """

    def __init__(self, *, organization, provider: str):
        self.organization = organization
        self.provider = provider
        self._jobs: dict[str, int] | None = None
        self._stages: dict[str, tuple[int, str]] | None = None

    # -- lookups ---------------------------------------------------------------------------

    def _mirror(self, model):
        return model.objects.filter(provider=self.provider)

    def load_maps(self) -> None:
        self._jobs = dict(self._mirror(Job).values_list("external_id", "id"))
        self._stages = {
            ext: (pk, name)
            for ext, pk, name in self._mirror(Stage).values_list("external_id", "id", "name")
        }

    @property
    def jobs(self) -> dict[str, int]:
        if self._jobs is None:
            self.load_maps()
        assert self._jobs is not None
        return self._jobs

    @property
    def stages(self) -> dict[str, tuple[int, str]]:
        if self._stages is None:
            self.load_maps()
        assert self._stages is not None
        return self._stages

    def unknown_references(self, apps: Iterable[ExtApplication]) -> bool:
        return any(
            (a.job_external_id and a.job_external_id not in self.jobs)
            or (a.stage_external_id and a.stage_external_id not in self.stages)
            for a in apps
        )

    def candidate_ids(self, external_ids: Iterable[str]) -> dict[str, int]:
        ids = set(external_ids)
        if not ids:
            return {}
        return dict(
            self._mirror(Candidate).filter(external_id__in=ids).values_list("external_id", "id")
        )

    # -- reference data --------------------------------------------------------------------

    def _upsert(self, model, rows: list, update_fields: list[str]) -> dict[str, int]:
        if not rows:
            return {}
        model.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=UNIQUE_KEY,
            update_fields=[*update_fields, "synced_at"],
            batch_size=1000,
        )
        return dict(
            self._mirror(model)
            .filter(external_id__in=[r.external_id for r in rows])
            .values_list("external_id", "id")
        )

    def _row(self, model, external_id: str, **values):
        return model(
            organization=self.organization,
            provider=self.provider,
            external_id=external_id,
            **values,
        )

    def upsert_departments(self, items: list[ExtDepartment]) -> dict[str, int]:
        rows = {
            d.external_id: self._row(
                Department,
                d.external_id,
                name=d.name[:255],
                parent_external_id=d.parent_external_id or "",
            )
            for d in items
        }
        return self._upsert(Department, list(rows.values()), ["name", "parent_external_id"])

    def upsert_offices(self, items: list[ExtOffice]) -> dict[str, int]:
        rows = {
            o.external_id: self._row(
                Office, o.external_id, name=o.name[:255], location=(o.location or "")[:255]
            )
            for o in items
        }
        return self._upsert(Office, list(rows.values()), ["name", "location"])

    def upsert_users(self, items: list[ExtUser]) -> dict[str, int]:
        rows = {
            u.external_id: self._row(
                AtsUser, u.external_id, name=u.name[:255], email=_email_or_blank(u.email or "")
            )
            for u in items
        }
        return self._upsert(AtsUser, list(rows.values()), ["name", "email"])

    def upsert_jobs(
        self,
        items: list[ExtJob],
        *,
        departments: dict[str, int],
        offices: dict[str, int],
        users: dict[str, int],
    ) -> tuple[int, int]:
        """Jobs, their hiring team and departments/offices (M2M replaced), and their stages.
        Returns (jobs, stages) written."""
        rows = {
            j.external_id: self._row(Job, j.external_id, name=j.name[:255], status=j.status or "")
            for j in items
        }
        job_ids = self._upsert(Job, list(rows.values()), ["name", "status"])
        relations = (
            (Job.departments, departments, "department_external_ids"),
            (Job.offices, offices, "office_external_ids"),
            (Job.recruiters, users, "recruiter_external_ids"),
            (Job.coordinators, users, "coordinator_external_ids"),
            (Job.hiring_managers, users, "hiring_manager_external_ids"),
        )
        for descriptor, targets, attr in relations:
            through = descriptor.through
            source_field = descriptor.field.m2m_field_name()
            target_field = descriptor.field.m2m_reverse_field_name()
            through.objects.filter(**{f"{source_field}__in": list(job_ids.values())}).delete()
            links = {
                (job_ids[j.external_id], targets[ext])
                for j in items
                for ext in getattr(j, attr)
                if ext in targets and j.external_id in job_ids
            }
            through.objects.bulk_create(
                [
                    through(**{f"{source_field}_id": job, f"{target_field}_id": target})
                    for job, target in links
                ]
            )
        stages: dict[str, ExtStage] = {}
        for job in items:
            for position, stage in enumerate(job.stages):
                if stage.position is None:
                    stage = ExtStage(stage.external_id, stage.job_external_id, stage.name, position)
                stages.setdefault(stage.external_id, stage)
        stage_rows = [
            self._row(
                Stage,
                s.external_id,
                job_id=job_ids.get(s.job_external_id) if s.job_external_id else None,
                name=s.name[:255],
                position=max(0, min(s.position or 0, 32767)),
            )
            for s in stages.values()
        ]
        self._upsert(Stage, stage_rows, ["job", "name", "position"])
        self.load_maps()
        return len(rows), len(stage_rows)

    def ensure_job_and_stage(
        self,
        *,
        job_external_id: str | None,
        job_name: str = "",
        stage_external_id: str | None,
        stage_name: str = "",
    ) -> None:
        """Create placeholder job/stage rows an event names before a sync has read them.

        Existing rows are left alone (the next reference refresh fills in the rest)."""
        created = False
        if job_external_id and job_external_id not in self.jobs:
            Job.objects.bulk_create(
                [self._row(Job, job_external_id, name=job_name[:255])],
                ignore_conflicts=True,
            )
            created = True
        if stage_external_id and stage_external_id not in self.stages:
            if created:
                self.load_maps()
            job_id = self.jobs.get(job_external_id) if job_external_id else None
            if self.provider == "lever":
                job_id = None  # Lever's stages are global
            Stage.objects.bulk_create(
                [self._row(Stage, stage_external_id, job_id=job_id, name=stage_name[:255])],
                ignore_conflicts=True,
            )
            created = True
        if created:
            self.load_maps()

    # -- candidates ------------------------------------------------------------------------

    def upsert_candidates(self, items: list[ExtCandidate]) -> dict[str, int]:
        rows = {c.external_id: candidate_row(self.organization, self.provider, c) for c in items}
        if not rows:
            return {}
        bulk_upsert(
            Candidate,
            list(rows.values()),
            unique_fields=UNIQUE_KEY,
            update_fields=CANDIDATE_UPDATE_FIELDS,
        )
        return {ext: row.pk for ext, row in rows.items() if row.pk is not None} or (
            self.candidate_ids(rows)
        )

    def candidate_stub(self, external_id: str) -> int:
        """A placeholder for a candidate the ATS no longer returns (merged/deleted/not ready)."""
        Candidate.objects.bulk_create(
            [self._row(Candidate, external_id)],
            ignore_conflicts=True,
        )
        return self.candidate_ids([external_id])[external_id]

    # -- applications and transitions ------------------------------------------------------

    def apply_applications(
        self,
        items: list[ExtApplication],
        *,
        candidate_ids: dict[str, int],
        source: str,
        observed_at: datetime,
        record_new: bool,
        provider_event_id: str = "",
        new_application_hint: bool = False,
    ) -> PageResult:
        """Upsert applications and write one StageTransition per observed change.

        Call inside ``transaction.atomic()``: the mirror rows of the page are locked, diffed
        against ``items`` and rewritten together with the transitions. ``record_new``: record
        applications we had never seen as ``is_new_application`` transitions (not during the
        first full sync, which would replay the whole history). ``new_application_hint``: an
        unseen application counts as new even when ``record_new`` is off (webhook said so).
        """
        result = PageResult()
        incoming = {a.external_id: a for a in items}  # the last copy of a repeated id wins
        if not incoming:
            return result
        existing = {
            row[0]: _Existing(*row[1:])
            for row in self._mirror(Application)
            .select_for_update()
            .filter(external_id__in=list(incoming))
            .values_list(
                "external_id",
                "id",
                "candidate_id",
                "job_id",
                "stage_id",
                "stage_name",
                "status",
                "last_activity_at",
                "stage_entered_at",
            )
        }
        rows: list[Application] = []
        pending: list[tuple[Application, _Existing | None, bool]] = []
        moved_candidates: list[tuple[int, int]] = []
        for ext in incoming.values():
            candidate_id = candidate_ids.get(ext.candidate_external_id or "")
            if candidate_id is None:
                logger.warning("Application %s has no candidate; skipped", ext.external_id)
                continue
            old = existing.get(ext.external_id)
            if (
                old is not None
                and old.last_activity_at is not None
                and ext.last_activity_at is not None
                and ext.last_activity_at < old.last_activity_at
            ):
                result.skipped_stale += 1  # read before a newer change (webhook) landed
                continue
            job_id = self.jobs.get(ext.job_external_id) if ext.job_external_id else None
            if ext.stage_external_id is None and ext.status != ApplicationStatus.ACTIVE and old:
                # Greenhouse drops current_stage once hired: the stage did not change.
                stage_id, stage_name = old.stage_id, old.stage_name
            else:
                known = self.stages.get(ext.stage_external_id) if ext.stage_external_id else None
                stage_id = known[0] if known else None
                stage_name = ext.stage_name or (known[1] if known else "")
            if job_id is None and old is not None and not ext.job_external_id:
                job_id = old.job_id
            status = ext.status if ext.status in ApplicationStatus.values else "active"
            if old is None:
                changed = record_new or new_application_hint
                entered = observed_at if changed else None
            else:
                stage_changed = stage_id != old.stage_id or (
                    stage_id is None and stage_name != old.stage_name
                )
                changed = stage_changed or status != old.status
                entered = observed_at if stage_changed else old.stage_entered_at
                if old.candidate_id != candidate_id:
                    moved_candidates.append((old.candidate_id, candidate_id))
            row = Application(
                organization=self.organization,
                provider=self.provider,
                external_id=ext.external_id,
                candidate_id=candidate_id,
                job_id=job_id,
                stage_id=stage_id,
                stage_name=stage_name[:255],
                status=status,
                source_name=(ext.source_name or "")[:255],
                prospect=ext.prospect,
                applied_at=ext.applied_at,
                last_activity_at=ext.last_activity_at,
                stage_entered_at=entered,
                deleted_at=None,
            )
            rows.append(row)
            if changed:
                pending.append((row, old, old is None))
        if rows:
            bulk_upsert(
                Application,
                rows,
                unique_fields=UNIQUE_KEY,
                update_fields=APPLICATION_UPDATE_FIELDS,
            )
        result.applications = len(rows)
        if pending:
            missing_pk = [row.external_id for row, _, _ in pending if row.pk is None]
            pks = (
                dict(
                    self._mirror(Application)
                    .filter(external_id__in=missing_pk)
                    .values_list("external_id", "id")
                )
                if missing_pk
                else {}
            )
            transitions = []
            for row, old, is_new in pending:
                transitions.append(
                    StageTransition(
                        organization=self.organization,
                        provider=self.provider,
                        application_id=row.pk or pks[row.external_id],
                        candidate_id=row.candidate_id,
                        job_id=row.job_id,
                        from_stage_id=old.stage_id if old else None,
                        to_stage_id=row.stage_id,
                        from_stage_name=old.stage_name if old else "",
                        to_stage_name=row.stage_name,
                        from_status=old.status if old else "",
                        to_status=row.status,
                        is_new_application=is_new,
                        observed_at=observed_at,
                        source=source,
                        provider_event_id=provider_event_id if len(pending) == 1 else "",
                    )
                )
            StageTransition.objects.bulk_create(
                transitions, ignore_conflicts=bool(provider_event_id)
            )
            result.transitions = len(transitions)
            result.created_transitions = transitions
            announce_transitions(self, transitions, provider_event_id=provider_event_id)
        for old_candidate, new_candidate in moved_candidates:
            # The application now belongs to another person: the ATS merged them.
            if not Application.objects.filter(candidate_id=old_candidate).exists():
                Candidate.objects.filter(pk=old_candidate, merged_into__isnull=True).update(
                    merged_into_id=new_candidate
                )
        return result

    # -- merges and deletions --------------------------------------------------------------

    def merge_candidate(self, *, loser_external_id: str, winner_id: int) -> bool:
        loser = self._mirror(Candidate).filter(external_id=loser_external_id).first()
        if loser is None or loser.pk == winner_id:
            return False
        Application.objects.filter(candidate_id=loser.pk).update(candidate_id=winner_id)
        StageTransition.objects.filter(candidate_id=loser.pk).update(candidate_id=winner_id)
        Candidate.objects.filter(pk=loser.pk).update(merged_into_id=winner_id)
        return True

    def delete_candidate(self, external_id: str, *, at: datetime) -> bool:
        candidate = self._mirror(Candidate).filter(external_id=external_id).first()
        if candidate is None:
            return False
        Application.objects.filter(candidate_id=candidate.pk, deleted_at__isnull=True).update(
            deleted_at=at
        )
        Candidate.objects.filter(pk=candidate.pk).update(deleted_at=at)
        return True

    def delete_application(self, external_id: str, *, at: datetime) -> bool:
        return bool(
            self._mirror(Application)
            .filter(external_id=external_id, deleted_at__isnull=True)
            .update(deleted_at=at)
        )


def announce_transitions(
    writer: MirrorWriter, transitions: list[StageTransition], *, provider_event_id: str = ""
) -> None:
    """Once the transaction that wrote ``transitions`` commits, ask Journeys to match them.
    The task is sent by name: candidates does not import journeys (journeys' beat sweep catches
    anything a lost message misses)."""
    ids = [t.pk for t in transitions if t.pk is not None]
    if not ids and provider_event_id:  # inserted with ignore_conflicts: no ids returned
        ids = list(
            writer._mirror(StageTransition)
            .filter(provider_event_id=provider_event_id)
            .values_list("pk", flat=True)
        )
    if not ids:
        return
    organization_id = writer.organization.pk

    def send() -> None:
        send_task_by_name("journeys.match_transitions", [organization_id, ids])

    transaction.on_commit(send)


# --------------------------------------------------------------------------------------------
# The poll
# --------------------------------------------------------------------------------------------


class SyncEngine:
    """Runs one SyncRun: reference data, then candidates, then applications, page by page."""

    def __init__(
        self,
        *,
        sync_run: SyncRun,
        provider: ATSProvider,
        recorder,
        clock: Callable[[], datetime] = timezone.now,
    ):
        self.run = sync_run
        self.organization = sync_run.organization
        self.provider = provider
        self.provider_name = sync_run.provider
        self.recorder = recorder
        self.clock = clock
        self.writer = MirrorWriter(organization=self.organization, provider=self.provider_name)
        self.page_size = PAGE_SIZE.get(self.provider_name, DEFAULT_PAGE_SIZE)
        self.counts: dict[str, int] = dict.fromkeys(COUNT_KEYS, 0)
        self.done = 0
        self.total: int | None = None
        self.full = sync_run.kind == "full"
        self.reference_refreshed = False
        self._phase_started = time.monotonic()

    # -- cursors and progress --------------------------------------------------------------

    def _cursor(self, resource: str) -> SyncCursor | None:
        return SyncCursor.objects.filter(provider=self.provider_name, resource=resource).first()

    def _advance_cursor(self, resource: str, position: datetime) -> None:
        SyncCursor.objects.update_or_create(
            organization=self.organization,
            provider=self.provider_name,
            resource=resource,
            defaults={"position": position},
        )

    def _since(self, resource: str) -> datetime | None:
        if self.full:
            return None
        cursor = self._cursor(resource)
        if cursor is None or cursor.position is None:
            return None
        return cursor.position - CURSOR_OVERLAP

    def _report(self, *, phase: str | None = None, page_size: int = 0) -> None:
        """Flush the call log and publish progress in its own small transaction."""
        self.recorder.flush()
        if page_size and (self.total is None or self.done >= self.total):
            # More pages may follow a full one: keep the bar short of full until we know.
            self.total = self.done + (page_size if page_size >= self.page_size else 0)
        fields: dict[str, Any] = {
            "progress_done": self.done,
            "progress_total": self.total,
            "counts": dict(self.counts),
            "api_calls": self.recorder.total,
            "heartbeat_at": timezone.now(),
        }
        if phase is not None:
            fields["phase"] = phase
        updated = SyncRun.objects.filter(pk=self.run.pk, status=SyncStatus.RUNNING).update(**fields)
        if not updated:
            raise SyncAborted("This sync was stopped while it ran.")
        for key, value in fields.items():
            setattr(self.run, key, value)

    # -- phases ----------------------------------------------------------------------------

    def execute(self) -> None:
        if self.full:
            previous = Candidate.objects.filter(provider=self.provider_name).count()
            previous += Application.objects.filter(provider=self.provider_name).count()
            self.total = previous or None
        record_new = self._cursor("applications") is not None
        self._report(phase="reference data")
        reference = self._cursor("reference")
        if (
            self.full
            or reference is None
            or reference.position is None
            or reference.position < self.clock() - REFERENCE_MAX_AGE
        ):
            self.sync_reference()
        else:
            self.writer.load_maps()
        opportunities = getattr(self.provider, "iter_opportunities", None)
        embedded = getattr(self.provider, "iter_candidates_with_applications", None)
        if opportunities is not None:
            # Lever: one opportunity is one candidate with one application.
            self.sync_combined(
                lambda **kw: ((c, [a]) for c, a in opportunities(**kw)), record_new=record_new
            )
        elif embedded is not None and self.full:
            # Greenhouse embeds full applications in candidates: one listing reads both.
            if not self.sync_combined(embedded, record_new=record_new):
                self.sync_applications(record_new=record_new)
        else:
            self.sync_candidates()
            self.sync_applications(record_new=record_new)
        self.total = self.done
        self._report(phase="done")

    def sync_reference(self) -> None:
        started = self.clock()
        departments = list(self.provider.iter_departments())
        offices = list(self.provider.iter_offices())
        users = list(self.provider.iter_users())
        jobs = list(self.provider.iter_jobs())
        with transaction.atomic():
            dept_ids = self.writer.upsert_departments(departments)
            office_ids = self.writer.upsert_offices(offices)
            user_ids = self.writer.upsert_users(users)
            n_jobs, n_stages = self.writer.upsert_jobs(
                jobs, departments=dept_ids, offices=office_ids, users=user_ids
            )
            self._advance_cursor("reference", started)
        self.counts.update(
            departments=len(dept_ids),
            offices=len(office_ids),
            users=len(user_ids),
            jobs=n_jobs,
            stages=n_stages,
        )
        self.reference_refreshed = True
        self._report(phase="reference data")

    def _refresh_reference_for(self, apps: list[ExtApplication]) -> None:
        if self.writer.unknown_references(apps) and not self.reference_refreshed:
            self.sync_reference()

    def _pass(self, resource: str, items: Iterator[Any], handle: Callable[[list, bool], None]):
        """Feed ``items`` to ``handle`` a page at a time; the last call (possibly with an empty
        page) is flagged so it can advance the cursor in the same transaction."""
        pending: list[Any] = []
        for item in prefetched(items, chunk=self.page_size):
            pending.append(item)
            if len(pending) >= self.page_size:
                page, pending = pending, []
                handle(page, False)
        handle(pending, True)

    def sync_candidates(self) -> None:
        started = self.clock()
        since = self._since("candidates")
        self._report(phase="candidates")

        def handle(page: list[ExtCandidate], last: bool) -> None:
            with transaction.atomic():
                self.writer.upsert_candidates(page)
                if last:
                    self._advance_cursor("candidates", started)
            self.counts["candidates"] += len(page)
            self.done += len(page)
            self._report(page_size=len(page))

        self._pass("candidates", self.provider.iter_candidates(updated_after=since), handle)

    def _candidates_for(self, apps: list[ExtApplication]) -> dict[str, int]:
        wanted = {a.candidate_external_id for a in apps if a.candidate_external_id}
        ids = self.writer.candidate_ids(wanted)
        for external_id in wanted - set(ids):
            # Created after the candidates pass read its page: fetch it on its own.
            try:
                candidate = self.provider.get_candidate(external_id)
            except NotFound:
                ids[external_id] = self.writer.candidate_stub(external_id)
                continue
            ids.update(self.writer.upsert_candidates([candidate]))
            self.counts["candidates"] += 1
        return ids

    def sync_applications(self, *, record_new: bool) -> None:
        started = self.clock()
        since = self._since("applications")
        self._report(phase="applications")

        def handle(page: list[ExtApplication], last: bool) -> None:
            self._refresh_reference_for(page)
            candidate_ids = self._candidates_for(page)
            with transaction.atomic():
                result = self.writer.apply_applications(
                    page,
                    candidate_ids=candidate_ids,
                    source=TransitionSource.POLL,
                    observed_at=self.clock(),
                    record_new=record_new,
                )
                if last:
                    self._advance_cursor("applications", started)
            self.counts["applications"] += result.applications
            self.counts["transitions"] += result.transitions
            self.done += len(page)
            self._report(page_size=len(page))

        self._pass("applications", self.provider.iter_applications(updated_after=since), handle)

    def sync_combined(self, iterate, *, record_new: bool) -> bool:
        """One listing of (candidate, its applications): Lever's opportunities, Greenhouse's
        candidates. Returns False when some candidate came without its applications, so the
        applications must still be listed (their cursor is then left alone)."""
        started = self.clock()
        since = self._since("applications")
        self._report(phase="candidates and applications")
        complete = True

        def handle(page: list[tuple[ExtCandidate, list[ExtApplication] | None]], last: bool):
            nonlocal complete
            apps = [app for _, group in page for app in group or ()]
            complete = complete and all(group is not None for _, group in page)
            self._refresh_reference_for(apps)
            with transaction.atomic():
                candidate_ids = self.writer.upsert_candidates([cand for cand, _ in page])
                result = self.writer.apply_applications(
                    apps,
                    candidate_ids=candidate_ids,
                    source=TransitionSource.POLL,
                    observed_at=self.clock(),
                    record_new=record_new,
                )
                if last:
                    self._advance_cursor("candidates", started)
                    if complete:
                        self._advance_cursor("applications", started)
            self.counts["candidates"] += len(page)
            self.counts["applications"] += result.applications
            self.counts["transitions"] += result.transitions
            self.done += len(page) + len(apps)
            self._report(page_size=len(page))

        self._pass("applications", iterate(updated_after=since), handle)
        return complete
