"""Celery tasks of the ATS mirror: thin wrappers that load by id and call a service."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from recruitflow.tasks import OrganizationTask
from recruitflow.tenancy import scopes_disabled, tenant_scope

logger = logging.getLogger(__name__)


@shared_task(base=OrganizationTask)
def run_sync(organization, sync_run_id: int) -> None:
    from candidates import services
    from candidates.models import SyncRun

    sync_run = SyncRun.objects.filter(pk=sync_run_id).first()
    if sync_run is not None:
        services.sync_execute(sync_run=sync_run)


@shared_task(base=OrganizationTask)
def process_webhook_event(organization, event_id: int) -> None:
    from candidates import services
    from candidates.models import WebhookEvent

    event = WebhookEvent.objects.filter(pk=event_id).first()
    if event is not None:
        services.webhook_event_process(event=event)


@shared_task
def poll_due_organizations() -> int:
    """Beat, every minute: start an incremental sync for each organization whose connected ATS
    is due (its poll interval has passed since its last sync started). Returns how many."""
    from candidates import services
    from candidates.models import SyncRun
    from integrations.connections import ATS_CONNECTION_MODELS
    from integrations.models import ConnectionStatus

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
                    .values_list("started_at", flat=True)
                    .first()
                )
                interval = timedelta(minutes=connection.poll_interval_minutes)
                if last is None or last + interval <= now:
                    due.append(connection.organization)
    started = 0
    for organization in {org.pk: org for org in due}.values():
        with tenant_scope(organization):
            try:
                services.sync_request(organization=organization, full=False)
            except (services.SyncAlreadyRunning, services.NoATSConnection):
                continue
            started += 1
    return started
