"""Celery tasks of partner webhooks (beat: collect and deliver every few seconds, purge hourly;
schedules written by the partners migrations). Each loads what it needs and calls a service."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Organization
from partners import collector, delivery, retention
from partners.models import Subscription
from recruitflow.tenancy import scopes_disabled, tenant_scope


def organizations_with_subscriptions() -> list[Organization]:
    with scopes_disabled():
        ids = set(
            Subscription.unscoped.filter(enabled=True)
            .values_list("organization_id", flat=True)
            .distinct()
        )
    return list(Organization.objects.filter(pk__in=ids, is_active=True))


@shared_task(name="partners.collect")
def collect() -> int:
    """Beat: read new rows of every source for each organization that has a webhook."""
    created = 0
    for organization in organizations_with_subscriptions():
        with tenant_scope(organization):
            created += collector.collect(organization=organization).events
    return created


@shared_task(name="partners.deliver_due")
def deliver_due() -> int:
    """Beat, and queued after new deliveries commit: send what is due."""
    return delivery.deliver_due()


@shared_task(name="partners.purge")
def purge() -> int:
    """Beat: delete events, deliveries and attempts older than the retention (30 days)."""
    return retention.purge_old()
