"""E-mails to members, in the organization's brand (its name, logo and colour) with a link to
the thing: one per notification for the kinds a member wants immediately, and the daily digest
at 08:00 in the member's zone (once a day: ``DigestSent`` is unique per member and day)."""

from __future__ import annotations

import logging
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from notifications.models import DigestSent, Notification
from scheduling.models import MemberCalendar

logger = logging.getLogger(__name__)

DIGEST_HOUR = time(8, 0)
EMAIL_BATCH = 200


def absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path if path.startswith("/") else path


def brand(organization) -> dict:
    return {
        "organization": organization,
        "brand_color": organization.brand_color or "#2563eb",
        "logo_url": absolute(organization.logo.url) if organization.logo else "",
        "all_url": absolute(reverse("notifications:index")),
        "preferences_url": absolute(reverse("notifications:preferences")),
    }


def _send(*, organization, to: str, subject: str, template: str, context: dict) -> None:
    context = {**brand(organization), **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"notifications/email/{template}.txt", context),
        to=[to],
    )
    message.attach_alternative(
        render_to_string(f"notifications/email/{template}.html", context), "text/html"
    )
    message.send()


def emails_send_pending(*, organization, now: datetime | None = None) -> int:
    """Send the e-mails of notifications whose member wants them immediately. Each row is
    claimed by a conditional UPDATE first, so two workers never send one twice; a send that
    fails is put back to be tried on the next pass."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(organization=organization, email_pending=True)
        .order_by("id")
        .values_list("pk", flat=True)[:EMAIL_BATCH]
    )
    sent = 0
    for pk in ids:
        if not Notification.objects.filter(pk=pk, email_pending=True).update(
            email_pending=False, emailed_at=now
        ):
            continue
        notification = Notification.objects.select_related("user").get(pk=pk)
        if not notification.user.email:
            continue
        try:
            _send(
                organization=organization,
                to=notification.user.email,
                subject=f"{notification.title} · {organization.name}",
                template="notification",
                context={"notification": notification, "url": absolute(notification.link)},
            )
        except Exception:  # the mail server is down: try again on the next pass
            logger.exception("Could not e-mail notification %s", pk)
            Notification.objects.filter(pk=pk).update(email_pending=True, emailed_at=None)
            continue
        sent += 1
    return sent


def organization_zone(organization) -> ZoneInfo:
    try:
        return ZoneInfo(organization.time_zone)
    except Exception:  # a zone the system no longer knows
        return ZoneInfo("UTC")


def member_zone(*, organization, user_id: int) -> ZoneInfo:
    """The member's zone: their calendar's (My calendar), else the organization's."""
    name = (
        MemberCalendar.objects.filter(organization=organization, user_id=user_id)
        .values_list("time_zone", flat=True)
        .first()
    ) or organization.time_zone
    try:
        return ZoneInfo(name)
    except Exception:  # a zone the system no longer knows
        return ZoneInfo("UTC")


def digest_send(*, organization, user, now: datetime) -> DigestSent | None:
    """The member's digest of today (their zone) when it is 08:00 or later there and none was
    sent today. Sends nothing (but records the day) when nothing waits for it."""
    zone = member_zone(organization=organization, user_id=user.pk)
    local = now.astimezone(zone)
    if local.time() < DIGEST_HOUR:
        return None
    day = local.date()
    if DigestSent.objects.filter(organization=organization, user=user, day=day).exists():
        return None
    try:
        with transaction.atomic():
            items = list(
                Notification.objects.select_for_update()
                .filter(organization=organization, user=user, digest_pending=True)
                .order_by("created_at", "id")
            )
            record = DigestSent.objects.create(
                organization=organization, user=user, day=day, item_count=len(items), sent_at=now
            )
            if items and user.email:
                _send(
                    organization=organization,
                    to=user.email,
                    subject=f"Your RecruitFlow digest for {local:%A %-d %B} · {organization.name}",
                    template="digest",
                    context={
                        "user": user,
                        "day": local,
                        "items": [(n, absolute(n.link)) for n in items],
                    },
                )
            Notification.objects.filter(pk__in=[n.pk for n in items]).update(
                digest_pending=False, digested_at=now
            )
    except IntegrityError:  # another worker sent today's digest first
        return None
    return record


def digests_send(*, organization, now: datetime | None = None) -> int:
    """Every member's digest that is due. A digest that cannot be e-mailed is rolled back and
    tried on the next pass."""
    now = now or timezone.now()
    user_ids = Membership.objects.filter(organization=organization).values_list(
        "user_id", flat=True
    )
    sent = 0
    for user in get_user_model().objects.filter(pk__in=list(user_ids)).order_by("pk"):
        try:
            record = digest_send(organization=organization, user=user, now=now)
        except Exception:
            logger.exception("Could not send the digest of user %s", user.pk)
            continue
        sent += bool(record and record.item_count)
    return sent
