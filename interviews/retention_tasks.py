"""Celery tasks of the recordings' retention: thin wrappers around :mod:`interviews.retention`.

``interviews.retention_sweep`` (beat, daily: ``CELERY_BEAT_SCHEDULE``) queues
``interviews.retention_apply`` for each organization with interviews whose recordings may be
past their retention; each deletes what its organization's period says is due.
"""

from __future__ import annotations

from celery import shared_task

from recruitflow.tasks import OrganizationTask

from . import retention


@shared_task(name="interviews.retention_sweep")
def retention_sweep() -> int:
    """Beat: queue the retention of every organization with recordings that may be due."""
    organization_ids = retention.organizations_due()
    for organization_id in organization_ids:
        retention_apply.delay(organization_id)
    return len(organization_ids)


@shared_task(name="interviews.retention_apply", base=OrganizationTask)
def retention_apply(organization) -> int:
    """Delete the organization's recordings past its retention; returns how many interviews'."""
    return retention.recordings_expire(organization=organization)
