"""Celery tasks of the ATS mirror: thin wrappers that load by id and call a service."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from candidates import services
from candidates.models import SyncKind, SyncRun, SyncStatus
from integrations.connections import ATS_CONNECTION_MODELS
from integrations.models import ConnectionStatus
from recruitflow.tasks import OrganizationTask
from recruitflow.tenancy import scopes_disabled, tenant_scope

logger = logging.getLogger(__name__)


@shared_task(base=OrganizationTask)
def run_sync(organization, sync_run_id: int) -> None:
    sync_run = SyncRun.objects.filter(pk=sync_run_id).first()
    if sync_run is not None:
        services.sync_execute(sync_run=sync_run)


@shared_task
def poll_due_organizations() -> int:
    """Beat, every minute: start an incremental sync for each organization whose connected ATS
    is due (its poll interval has passed since its last sync started). A sync paused because
    the ATS kept rate limiting us (deferred) is due at its ``resume_at`` instead, neither
    earlier nor later, and resumes as the same kind. Returns how many."""

    now = timezone.now()
    due = []
    with scopes_disabled():
        for model in ATS_CONNECTION_MODELS.values():
            connections = model.objects.filter(
                status=ConnectionStatus.CONNECTED, organization__is_active=True
            ).select_related("organization")
            for connection in connections:
                last = (
                    SyncRun.objects.filter(organization_id=connection.organization_id)
                    .order_by("-started_at")
                    .values("started_at", "status", "resume_at", "kind")
                    .first()
                )
                interval = timedelta(minutes=connection.poll_interval_minutes)
                if last is None:
                    due.append((connection.organization, False))
                elif last["status"] == SyncStatus.DEFERRED and last["resume_at"] is not None:
                    if last["resume_at"] <= now:
                        due.append((connection.organization, last["kind"] == SyncKind.FULL))
                elif last["started_at"] + interval <= now:
                    due.append((connection.organization, False))
    started = 0
    for organization, full in {org.pk: (org, full) for org, full in due}.values():
        with tenant_scope(organization):
            try:
                services.sync_request(organization=organization, full=full)
            except (services.SyncAlreadyRunning, services.NoATSConnection):
                continue
            started += 1
    return started
