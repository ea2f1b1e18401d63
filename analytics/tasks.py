"""Beat keeps the daily figures current: ``analytics.rollup_sweep`` (every few minutes, schedule
written by a migration) queues one ``analytics.rollup_organization`` per active organization."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Organization
from recruitflow.tasks import OrganizationTask
from recruitflow.tenancy import scopes_disabled

from . import services


@shared_task(name="analytics.rollup_organization", base=OrganizationTask)
def rollup_organization(organization) -> int:
    return len(services.rollup_organization(organization=organization))


@shared_task(name="analytics.rollup_sweep")
def rollup_sweep() -> int:
    with scopes_disabled():
        ids = list(Organization.objects.filter(is_active=True).values_list("pk", flat=True))
    for pk in ids:
        rollup_organization.delay(pk)
    return len(ids)
