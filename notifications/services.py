"""Writes: reading notifications, a member's preferences, and the daily check of scheduling
templates with no free times."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import ADMIN_ROLES, Membership
from notifications import badge
from notifications.collector import notifications_write
from notifications.mail import organization_zone
from notifications.models import Kind, Notification, Preference
from notifications.preferences import Channels
from notifications.sources import Item
from scheduling.health import templates_health
from scheduling.models import SchedulingTemplate, SchedulingTemplateMember

FREE_TIMES_DAYS = 7
MAX_ID = 2**63 - 1


class NotFound(Exception):
    """No such notification for this member."""


def notification_mark_read(*, organization, user, notification_id: int) -> Notification:
    if not 0 < notification_id <= MAX_ID:
        raise NotFound("No such notification.")
    notification = Notification.objects.filter(
        organization=organization, user=user, in_app=True, pk=notification_id
    ).first()
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        badge.unread_changed(organization_id=organization.pk, user_ids=[user.pk])
    return notification


def notifications_mark_all_read(*, organization, user) -> int:
    marked = Notification.objects.filter(
        organization=organization, user=user, in_app=True, read_at__isnull=True
    ).update(read_at=timezone.now())
    badge.unread_changed(organization_id=organization.pk, user_ids=[user.pk])
    return marked


@transaction.atomic
def preferences_save(*, organization, user, choices: dict[str, Channels]) -> None:
    """Store the member's channels for each kind given."""
    for kind, channels in choices.items():
        if kind not in Kind.values:
            raise ValueError(f"Unknown notification kind: {kind}")
        Preference.objects.update_or_create(
            organization=organization,
            user=user,
            kind=kind,
            defaults={
                "in_app": channels.in_app,
                "email": channels.email,
                "digest": channels.digest,
            },
        )


def templates_without_free_times(*, organization, now: datetime | None = None) -> int:
    """Tell the interviewers (or the admins) of each scheduling template that offers no
    interview time in the next 7 days; once per template and day (the organization's day).
    Returns how many notifications were written."""
    now = now or timezone.now()
    templates = list(SchedulingTemplate.objects.filter(organization=organization))
    if not templates:
        return 0
    health = templates_health(
        organization=organization, templates=templates, now=now, days=FREE_TIMES_DAYS
    )
    members = set(
        Membership.objects.filter(organization=organization).values_list("user_id", flat=True)
    )
    admins = tuple(
        Membership.objects.filter(organization=organization, role__in=ADMIN_ROLES)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
    interviewers: dict[int, set[int]] = {}
    for template_id, user_id in SchedulingTemplateMember.objects.filter(
        template__in=templates
    ).values_list("template_id", "user_id"):
        interviewers.setdefault(template_id, set()).add(user_id)
    day = now.astimezone(organization_zone(organization)).date()
    items = []
    for template in templates:
        report = health[template.pk]
        if report.slot_count:
            continue
        told = {u for u in interviewers.get(template.pk, set()) | {template.created_by_id} if u}
        told &= members
        items.append(
            Item(
                kind=Kind.NO_FREE_TIMES,
                key=f"no_free_times:{template.pk}:{day.isoformat()}",
                title=f"“{template.name}” has no free interview times in the next "
                f"{FREE_TIMES_DAYS} days",
                body=" ".join(report.problems)
                or "Candidates asked to book cannot pick a time. Check the interviewers' "
                "calendars or widen the availability windows.",
                link=reverse("scheduling_library:edit", args=[template.pk]),
                occurred_at=now,
                user_ids=tuple(sorted(told)) or admins,
            )
        )
    return len(notifications_write(organization=organization, items=items))
