"""Celery tasks of messaging: thin wrappers that load by id and call a service."""

from __future__ import annotations

from celery import shared_task

from recruitflow.tasks import OrganizationTask

MAX_RETRIES = 6


@shared_task(base=OrganizationTask, bind=True, max_retries=MAX_RETRIES)
def message_deliver(self, organization, message_id: int) -> str:
    """Send one queued message. Provably-unsent transient failures retry with backoff."""
    from messaging import services

    result = services.message_deliver(organization=organization, message_id=message_id)
    if result.outcome == services.DeliveryOutcome.RETRY:
        countdown = result.retry_after or min(600, 30 * 2**self.request.retries)
        if self.request.retries < self.max_retries:
            raise self.retry(countdown=countdown)
    return str(result.outcome)


@shared_task
def messages_release_held() -> int:
    """Beat, every minute: release held messages whose quiet hours are over."""
    from messaging import services

    return services.messages_release_held()
