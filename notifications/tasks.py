"""Beat drives notifications (schedules written by this app's migrations):
``notifications.collect_sweep`` every few seconds reads what the domains wrote and sends the
e-mails members want immediately; ``notifications.digest_sweep`` every few minutes sends the
daily digests that are due (08:00 in each member's zone); ``notifications.free_times_sweep``
once a day looks for scheduling templates with no free times."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Organization
from recruitflow.tasks import OrganizationTask
from recruitflow.tenancy import scopes_disabled

from . import collector, mail, services


def _active_organization_ids() -> list[int]:
    with scopes_disabled():
        return list(Organization.objects.filter(is_active=True).values_list("pk", flat=True))


@shared_task(name="notifications.collect_organization", base=OrganizationTask)
def collect_organization(organization) -> int:
    written = collector.collect(organization=organization)
    mail.emails_send_pending(organization=organization)
    return written


@shared_task(name="notifications.collect_sweep")
def collect_sweep() -> int:
    ids = _active_organization_ids()
    for pk in ids:
        collect_organization.delay(pk)
    return len(ids)


@shared_task(name="notifications.digest_organization", base=OrganizationTask)
def digest_organization(organization) -> int:
    return mail.digests_send(organization=organization)


@shared_task(name="notifications.digest_sweep")
def digest_sweep() -> int:
    ids = _active_organization_ids()
    for pk in ids:
        digest_organization.delay(pk)
    return len(ids)


@shared_task(name="notifications.free_times_organization", base=OrganizationTask)
def free_times_organization(organization) -> int:
    written = services.templates_without_free_times(organization=organization)
    mail.emails_send_pending(organization=organization)
    return written


@shared_task(name="notifications.free_times_sweep")
def free_times_sweep() -> int:
    ids = _active_organization_ids()
    for pk in ids:
        free_times_organization.delay(pk)
    return len(ids)
