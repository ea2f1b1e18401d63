"""Celery tasks of the calendar layer (registered by name; ``scheduling.tasks`` imports this
module so workers know them)."""

from __future__ import annotations

from celery import shared_task

from integrations.base import parse_iso_datetime
from integrations.http import TransientError
from recruitflow.tasks import OrganizationTask
from scheduling.calendar_changes import connection_changes_apply

MAX_RETRIES = 6


@shared_task(
    name="scheduling.cronofy_changes",
    base=OrganizationTask,
    bind=True,
    max_retries=MAX_RETRIES,
)
def cronofy_changes(self, organization, channel_id: str, changes_since: str) -> list[int]:
    """Read a calendar's changes after a Cronofy notification; cancel bookings whose event an
    interviewer deleted. Cronofy being briefly unavailable is retried with backoff."""
    try:
        return connection_changes_apply(
            organization=organization,
            channel_id=channel_id,
            changes_since=parse_iso_datetime(changes_since),
        )
    except TransientError as exc:
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 1800)) from exc
