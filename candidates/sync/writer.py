"""The writer: every mirror write goes through :class:`MirrorWriter` (poll and webhooks), and
:func:`announce_transitions` tells journeys about the stage changes it recorded."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

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
)
from candidates.sync.mapping import candidate_row, email_or_blank
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
)
from integrations.registry import get_provider_class
from recruitflow.tasks import send_task_by_name
from recruitflow.tenancy import tenant_scope

logger = logging.getLogger(__name__)


UNIQUE_KEY = ["organization", "provider", "external_id"]
CANDIDATE_UPDATE_FIELDS = [
    "first_name",
    "last_name",
    "emails",
    "phones",
    "primary_email",
    "mobile_phone",
    "can_email",
    "tags",
    "remote_updated_at",
    "deleted_at",
    "synced_at",
]
# Read once: the enum's ``values`` builds a new list on every access, once per application.
APPLICATION_STATUSES = frozenset(ApplicationStatus.values)
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
class _Committed:
    """Transitions recorded in transactions that committed, not announced yet: their ids, and
    the vendor event ids of those inserted without returning their ids."""

    ids: list[int] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)

    def add(self, ids: list[int], event_ids: list[str]) -> None:
        self.ids.extend(ids)
        self.event_ids.extend(event_ids)

    def take(self) -> tuple[list[int], list[str]]:
        taken = self.ids[:], self.event_ids[:]
        self.ids.clear()
        self.event_ids.clear()
        return taken


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

    def __init__(self, *, organization, provider: str, announce_together: bool = False):
        self.organization = organization
        self.provider = provider
        self._jobs: dict[str, int] | None = None
        self._stages: dict[str, tuple[int, str]] | None = None
        # What the caller already wrote through this writer (see first_sight).
        self._seen: set = set()
        # ``announce_together``: the transitions recorded in transactions that committed,
        # announced in one task by announce_committed(); otherwise each transaction announces
        # its own.
        self._committed: _Committed | None = _Committed() if announce_together else None

    # -- lookups ---------------------------------------------------------------------------

    def _mirror(self, model):
        return model.objects.filter(provider=self.provider)

    def load_maps(self) -> None:
        self._jobs = dict(self._mirror(Job).values_list("external_id", "id"))
        self._stages = {
            ext: (pk, name)
            for ext, pk, name in self._mirror(Stage).values_list("external_id", "id", "name")
        }

    def forget(self) -> None:
        """Drop the maps and what :meth:`first_sight` remembers: after a rolled-back savepoint
        they may name rows that are gone."""
        self._jobs = self._stages = None
        self._seen.clear()

    def first_sight(self, key) -> bool:
        """True the first time ``key`` is shown to this writer (since :meth:`forget`): what
        many webhooks of a batch repeat (their job, its offices) is compared and written
        once."""
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def announce_committed(self) -> None:
        """Ask Journeys, in one task, to match every transition this writer (made with
        ``announce_together``) recorded in a transaction that committed, once the caller's
        own transaction, if any, commits. The ids of those inserted without returning them are
        read here, in one query for all."""
        committed = self._committed
        if committed is None:
            return

        def send() -> None:
            ids, event_ids = committed.take()
            if event_ids:
                with tenant_scope(self.organization):
                    ids += (
                        self._mirror(StageTransition)
                        .filter(provider_event_id__in=event_ids)
                        .values_list("pk", flat=True)
                    )
            if ids:
                send_task_by_name(
                    "journeys.match_transitions", [self.organization.pk, list(dict.fromkeys(ids))]
                )

        transaction.on_commit(send)

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

    def mirror_row(self, model, external_id: str, **values):
        """An unsaved row of ``model`` in this organization's mirror of the provider."""
        return model(
            organization=self.organization,
            provider=self.provider,
            external_id=external_id,
            **values,
        )

    def upsert_departments(self, items: list[ExtDepartment]) -> dict[str, int]:
        rows = {
            d.external_id: self.mirror_row(
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
            o.external_id: self.mirror_row(
                Office, o.external_id, name=o.name[:255], location=(o.location or "")[:255]
            )
            for o in items
        }
        return self._upsert(Office, list(rows.values()), ["name", "location"])

    def upsert_users(self, items: list[ExtUser]) -> dict[str, int]:
        rows = {
            u.external_id: self.mirror_row(
                AtsUser, u.external_id, name=u.name[:255], email=email_or_blank(u.email or "")
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
            j.external_id: self.mirror_row(
                Job, j.external_id, name=j.name[:255], status=j.status or ""
            )
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
            self.mirror_row(
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
                [self.mirror_row(Job, job_external_id, name=job_name[:255])],
                ignore_conflicts=True,
            )
            created = True
        if stage_external_id and stage_external_id not in self.stages:
            if created:
                self.load_maps()
            job_id = self.jobs.get(job_external_id) if job_external_id else None
            ats: type[ATSProvider] = get_provider_class(self.provider)
            if not ats.stages_per_job:
                job_id = None  # the account's stages are every job's
            Stage.objects.bulk_create(
                [self.mirror_row(Stage, stage_external_id, job_id=job_id, name=stage_name[:255])],
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
        # A candidate whose personal data an admin deleted keeps it deleted: the ATS's copy is
        # not written back (candidates.erasure); their applications still sync.
        erased = set(
            self._mirror(Candidate)
            .filter(external_id__in=list(rows), erased_at__isnull=False)
            .values_list("external_id", flat=True)
        )
        kept = [row for ext, row in rows.items() if ext not in erased]
        bulk_upsert(
            Candidate,
            kept,
            unique_fields=UNIQUE_KEY,
            update_fields=CANDIDATE_UPDATE_FIELDS,
        )
        ids = {ext: row.pk for ext, row in rows.items() if row.pk is not None}
        if erased or len(ids) < len(rows):
            ids = self.candidate_ids(rows)
        return ids

    def candidate_stub(self, external_id: str) -> int:
        """A placeholder for a candidate the ATS no longer returns (merged/deleted/not ready)."""
        Candidate.objects.bulk_create(
            [self.mirror_row(Candidate, external_id)],
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
        provider_event_ids: Mapping[str, str] | None = None,
    ) -> PageResult:
        """Upsert applications and write one StageTransition per observed change.

        Call inside ``transaction.atomic()``: the mirror rows of the page are locked, diffed
        against ``items`` and rewritten together with the transitions. ``record_new``: record
        applications we had never seen as ``is_new_application`` transitions (not during the
        first full sync, which would replay the whole history). ``new_application_hint``: an
        unseen application counts as new even when ``record_new`` is off (webhook said so).
        ``provider_event_id``: the vendor's id of the one event that reported ``items`` (its
        transition is recorded once however often the event is applied);
        ``provider_event_ids``: the same for items reported by several events, by
        application external id.
        """
        event_ids = provider_event_ids or {}
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
                # Some ATSs drop the current stage once hired: the stage did not change.
                stage_id, stage_name = old.stage_id, old.stage_name
            else:
                known = self.stages.get(ext.stage_external_id) if ext.stage_external_id else None
                stage_id = known[0] if known else None
                stage_name = ext.stage_name or (known[1] if known else "")
            if job_id is None and old is not None and not ext.job_external_id:
                job_id = old.job_id
            status = ext.status if ext.status in APPLICATION_STATUSES else "active"
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
                        provider_event_id=(
                            event_ids.get(row.external_id, "")
                            if event_ids
                            else (provider_event_id if len(pending) == 1 else "")
                        ),
                    )
                )
            StageTransition.objects.bulk_create(
                transitions, ignore_conflicts=bool(provider_event_id or event_ids)
            )
            result.transitions = len(transitions)
            result.created_transitions = transitions
            announce_transitions(
                self, transitions, provider_event_ids=[t.provider_event_id for t in transitions]
            )
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
    writer: MirrorWriter, transitions: list[StageTransition], *, provider_event_ids: list[str]
) -> None:
    """Once the transaction that wrote ``transitions`` commits, ask Journeys to match them (or,
    for a writer made with ``announce_together``, hand them to its announce_committed()).
    Those inserted without returning their ids (``ignore_conflicts``) are found by their
    vendor event ids, ``provider_event_ids``. The task is sent by name: candidates does not
    import journeys (journeys' beat sweep catches anything a lost message misses)."""
    ids = [t.pk for t in transitions if t.pk is not None]
    event_ids = [] if ids else [e for e in provider_event_ids if e]
    committed = writer._committed
    if committed is not None:  # the writer's caller announces them together
        transaction.on_commit(functools.partial(committed.add, ids, event_ids))
        return
    if event_ids:
        ids = list(
            writer._mirror(StageTransition)
            .filter(provider_event_id__in=event_ids)
            .values_list("pk", flat=True)
        )
    if not ids:
        return
    organization_id = writer.organization.pk

    def send() -> None:
        send_task_by_name("journeys.match_transitions", [organization_id, ids])

    transaction.on_commit(send)
