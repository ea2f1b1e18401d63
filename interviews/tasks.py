"""Celery tasks of video interviews: thin wrappers that load by id and call a service.

``interviews.send_reminders`` runs on beat every minute (registered by
``interviews/migrations/0002_reminder_schedule.py``) and queues one
``interviews.send_reminders_for_organization`` per organization with open interviews.
"""

from __future__ import annotations

from celery import shared_task

from accounts.models import Organization
from recruitflow.tasks import OrganizationTask
from recruitflow.tenancy import scopes_disabled

from . import reminders
from .models import OPEN_STATUSES, VideoInterview


@shared_task(name="interviews.send_reminders_for_organization", base=OrganizationTask)
def send_reminders_for_organization(organization) -> int:
    """Expire the video interview links that ran out and send the reminders due in one
    organization."""
    return reminders.reminders_send_due(organization=organization)


@shared_task(name="interviews.send_reminders")
def send_reminders() -> int:
    """Beat, every minute: one task per organization with open video interviews. Returns how
    many were queued."""
    with scopes_disabled():  # beat fan-out: a deliberate look across organizations
        ids = set(
            VideoInterview.objects.filter(status__in=OPEN_STATUSES)
            .values_list("organization_id", flat=True)
            .distinct()
        )
        active = list(
            Organization.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True)
        )
    for organization_id in sorted(active):
        send_reminders_for_organization.delay(organization_id)
    return len(active)
