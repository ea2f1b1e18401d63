"""Celery tasks of accounts."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from accounts.models import IDEMPOTENCY_KEPT, IdempotencyRecord
from recruitflow.tenancy import scopes_disabled

PURGE_BATCH = 5000


@shared_task
def idempotency_records_purge() -> int:
    """Beat, hourly: forget partner Idempotency-Keys older than a day (their answers included),
    a batch at a time so the table never locks long. Returns how many were deleted."""
    cutoff = timezone.now() - IDEMPOTENCY_KEPT
    deleted = 0
    with scopes_disabled():
        while True:
            ids = list(
                IdempotencyRecord.unscoped.filter(created_at__lt=cutoff).values_list(
                    "pk", flat=True
                )[:PURGE_BATCH]
            )
            if not ids:
                return deleted
            deleted += IdempotencyRecord.unscoped.filter(pk__in=ids).delete()[0]
