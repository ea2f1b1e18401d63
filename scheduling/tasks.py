"""Celery tasks of scheduling: thin wrappers that load by id and call a service.

``scheduling.send_reminders`` runs on beat every minute (registered by
``scheduling/migrations/0002_reminder_schedule.py``) and queues one
``scheduling.send_reminders_for_organization`` per organization with work due.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization
from recruitflow.tasks import OrganizationTask
from recruitflow.tenancy import scopes_disabled
from scheduling import conferencing, reminders
from scheduling.models import Booking, BookingStatus, RequestStatus, SchedulingRequest


@shared_task(name="scheduling.send_reminders_for_organization", base=OrganizationTask)
def send_reminders_for_organization(organization) -> int:
    """Expire links, send the Reminders to Schedule and Day Before Interview Reminders due
    in one organization."""
    return reminders.reminders_send_due(organization=organization)


@shared_task(name=conferencing.WAIT_TASK, base=OrganizationTask)
def conference_wait(organization, booking_id: int, check: int = 1) -> str:
    """Look again for a booking's conference join URL; the invitation goes out once it is
    there or after the wait (``scheduling.conferencing``)."""
    return conferencing.conference_check(
        organization=organization, booking_id=booking_id, check=check
    )


@shared_task(name="scheduling.send_reminders")
def send_reminders() -> int:
    """Beat, every minute: the organizations with pending requests or interviews in the next
    24 hours that have not had their reminder; one task each. Returns how many were queued."""
    now = timezone.now()
    with scopes_disabled():  # beat fan-out: a deliberate look across organizations
        pending = SchedulingRequest.objects.filter(Q(status=RequestStatus.PENDING)).values_list(
            "organization_id", flat=True
        )
        upcoming = Booking.objects.filter(
            status=BookingStatus.CONFIRMED,
            day_before_sent_at__isnull=True,
            start__gt=now,
            start__lte=now + timedelta(hours=24),
        ).values_list("organization_id", flat=True)
        ids = set(pending.distinct()) | set(upcoming.distinct())
        active = list(
            Organization.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True)
        )
    for organization_id in sorted(active):
        send_reminders_for_organization.delay(organization_id)
    return len(active)
