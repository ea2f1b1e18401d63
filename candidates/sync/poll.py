"""The poll: :class:`SyncEngine` reads an ATS page by page and hands each page to the writer."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from candidates.models import (
    Application,
    Candidate,
    SyncCursor,
    SyncRun,
    SyncStatus,
    TransitionSource,
)
from candidates.sync.writer import MirrorWriter
from integrations.base import (
    ATSProvider,
    ExtApplication,
    ExtCandidate,
    NotFound,
)

CURSOR_OVERLAP = timedelta(minutes=5)
# Jobs, stages, departments, offices and users change rarely: an incremental poll re-reads them
# when they are older than this, or at once when an application names a job/stage we lack.
REFERENCE_MAX_AGE = timedelta(hours=1)
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
        self.page_size = provider.page_size
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
            # An ATS of opportunities: each is one candidate with one application.
            self.sync_combined(
                lambda **kw: ((c, [a]) for c, a in opportunities(**kw)), record_new=record_new
            )
        elif embedded is not None and self.full:
            # An ATS that embeds full applications in candidates: one listing reads both.
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
        """One listing of (candidate, its applications): opportunities, or candidates with their
        applications embedded. Returns False when some candidate came without its applications, so the
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
