"""Celery tasks of ATS activity write-back: the reader and the outbox worker run on beat
(schedules registered by ``writeback/migrations/0002_schedules.py``, editable in the admin)."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Organization
from recruitflow.tenancy import scopes_disabled, tenant_scope
from writeback import reader, transcript_uploads, worker
from writeback.models import WritebackRules

# A claimed row counts as in flight from its claim: a batch must finish well within
# WRITEBACK_CLAIM_TIMEOUT_SECONDS even at the ATS's write ceiling (5 writes/s for the strictest one).
WRITE_BATCH = 25
WRITE_MAX_BATCHES = 40


def organizations_recording() -> list[Organization]:
    """Active organizations whose own rules, or the nearest ancestor's, have ATS activity on."""
    with scopes_disabled():
        switches = dict(WritebackRules.objects.values_list("organization_id", "enabled"))
        if not any(switches.values()):
            return []
        organizations = list(Organization.objects.filter(is_active=True).select_related("parent"))
    recording = []
    for organization in organizations:
        for node in organization.ancestors():
            if node.pk in switches:
                if switches[node.pk]:
                    recording.append(organization)
                break
    return recording


@shared_task(name="writeback.read_activity")
def read_activity() -> int:
    """Beat, every few seconds: turn new timeline events and opt-outs into outbox rows."""
    read = 0
    for organization in organizations_recording():
        with tenant_scope(organization):
            read += reader.activity_read_pending(organization=organization).events
    return read


@shared_task(name="writeback.write_due")
def write_due() -> int:
    """Beat, every few seconds: recover writes whose worker died, then claim due writes in
    batches (``skip_locked``: several workers may run this at once) and write them."""
    worker.writes_recover_stale()
    written = 0
    # One writer session per organization for the whole tick: the adapter keeps pacing
    # itself by the ATS's rate-limit window from one batch to the next.
    sessions: dict[int, worker.WriterSession] = {}
    for _ in range(WRITE_MAX_BATCHES):
        claimed = worker.writes_claim_due(limit=WRITE_BATCH)
        if not claimed:
            break
        by_organization: dict[int, list[int]] = {}
        for organization_id, write_id in claimed:
            by_organization.setdefault(organization_id, []).append(write_id)
        organizations = Organization.objects.in_bulk(list(by_organization))
        for organization_id, write_ids in by_organization.items():
            organization = organizations[organization_id]
            with tenant_scope(organization):
                if organization_id not in sessions:
                    sessions[organization_id] = worker.writer_open(organization=organization)
                written += worker.writes_execute(
                    organization=organization,
                    write_ids=write_ids,
                    session=sessions[organization_id],
                )
    return written


@shared_task(name="writeback.upload_transcripts")
def upload_transcripts() -> int:
    """Beat, every minute: queue the PDF transcript upload of each SMS conversation that has
    been quiet for the rules' hours (a new version after later texts); the outbox writes it."""
    queued = 0
    for organization in organizations_recording():
        with tenant_scope(organization):
            queued += transcript_uploads.transcripts_enqueue_due(organization=organization)
    return queued
