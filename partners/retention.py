"""How long the delivery log is kept (``PARTNER_WEBHOOK_RETENTION_DAYS``, 30 by default)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from partners.models import Delivery, DeliveryAttempt, DeliveryStatus, Event
from recruitflow.tenancy import scopes_disabled


def retention() -> timedelta:
    return timedelta(days=getattr(settings, "PARTNER_WEBHOOK_RETENTION_DAYS", 30))


def purge_old(*, now: datetime | None = None) -> int:
    """Delete attempts, settled deliveries and events older than the retention. A delivery
    still waiting for a retry is kept with its event. Returns how many rows went."""
    cutoff = (now or timezone.now()) - retention()
    with scopes_disabled():
        attempts, _ = DeliveryAttempt.unscoped.filter(started_at__lt=cutoff).delete()
        settled = Delivery.unscoped.filter(
            created_at__lt=cutoff,
            status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED],
        )
        deliveries, _ = settled.delete()
        waiting = Delivery.unscoped.filter(event=OuterRef("pk"))
        events, _ = Event.unscoped.filter(created_at__lt=cutoff).filter(~Exists(waiting)).delete()
    return attempts + deliveries + events
