"""Celery tasks of messaging: thin wrappers that load by id and call a service."""

from __future__ import annotations

import time
from dataclasses import asdict

from celery import shared_task
from django.db import InterfaceError, OperationalError

from messaging import recovery, services
from recruitflow.tasks import OrganizationTask

# A task that fails on a dropped database connection is tried again (Celery closes the broken
# connection after the failure; the health check replaces it): every task here is safe to
# repeat (claims, idempotency, row locks).
DB_ERRORS = (OperationalError, InterfaceError)
DB_RETRY = {"autoretry_for": DB_ERRORS, "retry_backoff": 5, "retry_backoff_max": 120}

MAX_RETRIES = 6
RECONCILE_RETRIES = 5


def _backoff(retries: int) -> int:
    return min(600, 30 * 2**retries)


# Nobody reads these tasks' results (the Message row is the record): not stored.
@shared_task(
    base=OrganizationTask, bind=True, max_retries=MAX_RETRIES, ignore_result=True, **DB_RETRY
)
def message_deliver(self, organization, message_id: int) -> str:
    """Send one queued message. Provably-unsent transient failures retry with backoff; when
    the retries run out the message is marked failed (and can be retried by hand). A message
    its provider account has no room for this second is queued again for its turn (a new
    task, published before this one is acknowledged: never dropped; the claim keeps a
    duplicate from sending twice)."""
    result = services.message_deliver(organization=organization, message_id=message_id)
    while result.outcome == services.DeliveryOutcome.THROTTLED and self.request.is_eager:
        # In process (eager Celery) nothing else would run it later: wait here.
        time.sleep(result.retry_after or 0)
        result = services.message_deliver(organization=organization, message_id=message_id)
    if result.outcome == services.DeliveryOutcome.THROTTLED:
        message_deliver.apply_async((organization.pk, message_id), countdown=result.retry_after)
        return str(result.outcome)
    if result.outcome == services.DeliveryOutcome.RETRY:
        if self.request.retries < self.max_retries:
            raise self.retry(countdown=result.retry_after or _backoff(self.request.retries))
        services.message_give_up(organization=organization, message_id=message_id)
        return str(services.DeliveryOutcome.FAILED)
    return str(result.outcome)


@shared_task(
    base=OrganizationTask, bind=True, max_retries=MAX_RETRIES, ignore_result=True, **DB_RETRY
)
def message_deliver_batch(self, organization, message_ids: list[int]) -> dict[str, int]:
    """Send several queued messages of one organization, one after another, each as
    :func:`message_deliver` sends one (producers hand over up to
    ``services.DELIVERY_BATCH`` at a time: ``services.messages_batched``). A message its
    provider account has no room for this second is queued again alone for its turn, and one
    whose send provably failed for now alone as that task's first retry (the same backoff and
    number of tries as a message sent alone); both are published before this task is
    acknowledged. Returns how many ended each way."""
    return _deliver_batch(organization, message_ids)


@shared_task(
    base=OrganizationTask, bind=True, max_retries=MAX_RETRIES, ignore_result=True, **DB_RETRY
)
def message_deliver_urgent_batch(self, organization, message_ids: list[int]) -> dict[str, int]:
    """:func:`message_deliver_batch` for messages someone is waiting for now (the first
    messages of stage changes: ``services.messages_batched(urgent=True)``); its own name so
    that it is routed at the one-message priority (``CELERY_TASK_ROUTES``)."""
    return _deliver_batch(organization, message_ids)


def _deliver_batch(organization, message_ids: list[int]) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for message_id, result in services.messages_deliver(
        organization=organization, message_ids=message_ids
    ):
        if result.outcome == services.DeliveryOutcome.THROTTLED:
            message_deliver.apply_async((organization.pk, message_id), countdown=result.retry_after)
        elif result.outcome == services.DeliveryOutcome.RETRY:
            message_deliver.apply_async(
                (organization.pk, message_id),
                countdown=result.retry_after or _backoff(0),
                retries=1,
            )
        outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1
    return outcomes


@shared_task(
    base=OrganizationTask, bind=True, max_retries=RECONCILE_RETRIES, ignore_result=True, **DB_RETRY
)
def message_reconcile(self, organization, message_id: int) -> str:
    """Ask the provider about a message an ambiguous send left unknown."""
    result = services.message_reconcile(organization=organization, message_id=message_id)
    if result.outcome == services.DeliveryOutcome.RETRY and self.request.retries < self.max_retries:
        raise self.retry(countdown=result.retry_after or _backoff(self.request.retries))
    return str(result.outcome)


@shared_task
def messages_release_held() -> int:
    """Beat, every minute: release held messages whose quiet hours are over."""
    return services.messages_release_held()


@shared_task
def delivery_recover() -> dict:
    """Beat, every minute: settle messages left sending, queued or unknown by a worker that
    died (``messaging.recovery``)."""
    return asdict(recovery.delivery_recover())
