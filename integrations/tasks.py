"""Celery tasks of the webhook intake (:mod:`integrations.intake`): load by id, call intake."""

from __future__ import annotations

from celery import shared_task

from integrations import intake
from recruitflow.tasks import OrganizationTask


# Nobody reads its result (the delivery row keeps the state): not stored.
@shared_task(base=OrganizationTask, ignore_result=True)
def webhook_delivery_apply(organization, delivery_id: int) -> str | None:
    """Apply a stored webhook delivery, with up to ``intake.APPLY_BATCH`` of the
    organization's other received deliveries of the same vendor (a burst of webhooks is applied
    by a few tasks; the others find their delivery applied and stop); returns the state of
    ``delivery_id`` afterwards."""
    delivery = intake.apply(
        delivery_id=delivery_id, organization=organization, batch_size=intake.APPLY_BATCH
    )
    return delivery.state if delivery is not None else None


@shared_task
def webhook_deliveries_sweep() -> int:
    """Beat, every 30 seconds: queue every vendor's deliveries whose task was lost or whose
    retry is due. Returns how many were queued."""
    return intake.sweep()
