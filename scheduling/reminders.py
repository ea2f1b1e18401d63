"""Reminders and expiry: the sweep that expires unanswered requests and sends the reminders to
schedule and the day-before reminders (``reminders_send_due``, run by beat per organization)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scheduling import timeline_kinds as scheduling_kinds
from scheduling.rules import _timeline

from . import notify, words
from .models import (
    Booking,
    BookingStatus,
    RequestStatus,
    SchedulingRequest,
)

# ----------------------------------------------------------------------------------------------
# Reminders and expiry
# ----------------------------------------------------------------------------------------------


def _expire_due(*, organization, now: datetime) -> int:
    expired = 0
    due = list(
        SchedulingRequest.objects.filter(
            organization=organization, status=RequestStatus.PENDING, expires_at__lte=now
        ).values_list("pk", flat=True)
    )
    for pk in due:
        with transaction.atomic():
            claimed = SchedulingRequest.objects.filter(
                organization=organization, pk=pk, status=RequestStatus.PENDING
            ).update(status=RequestStatus.EXPIRED, updated_at=now)
            if not claimed:
                continue
            expired += 1
            request = SchedulingRequest.objects.select_related("template", "candidate").get(
                organization=organization, pk=pk
            )
            _timeline(
                organization=organization,
                request=request,
                kind=scheduling_kinds.SCHEDULING_REQUEST_EXPIRED,
                summary=f"Scheduling link for “{request.template.name}” expired unbooked",
                occurred_at=now,
            )
    return expired


def _send_reminders_to_schedule(*, organization, now: datetime) -> int:
    sent = 0
    waiting = (
        SchedulingRequest.objects.filter(
            organization=organization,
            status=RequestStatus.PENDING,
            reminder_sent_at__isnull=True,
            expires_at__gt=now,
        )
        .filter(Q(template__reminder_email__isnull=False) | Q(template__reminder_sms__isnull=False))
        .values_list("pk", "created_at", "template__reminder_delay_hours")
    )
    due = [pk for pk, created, hours in waiting if created + timedelta(hours=hours) <= now]
    for pk in due:
        with transaction.atomic():
            # The claim: a concurrent sweep waits on this row, then finds it taken.
            claimed = SchedulingRequest.objects.filter(
                organization=organization,
                pk=pk,
                status=RequestStatus.PENDING,
                reminder_sent_at__isnull=True,
            ).update(reminder_sent_at=now)
            if not claimed:
                continue
            request = SchedulingRequest.objects.select_related(
                "template", "candidate", "application"
            ).get(organization=organization, pk=pk)
            result = notify.notify(organization=organization, kind="reminder", request=request)
            if result.sent:
                sent += 1
            _timeline(
                organization=organization,
                request=request,
                kind=scheduling_kinds.SCHEDULING_REMINDER_SENT,
                summary=(
                    f"Reminder to Schedule “{request.template.name}” sent by "
                    f"{result.channels_sent()}"
                    if result.sent
                    else f"Reminder to Schedule “{request.template.name}” could not be sent"
                ),
                detail="\n".join(result.problems()),
                occurred_at=now,
                channels=[d.channel for d in result.sent],
            )
    return sent


def _send_day_before(*, organization, now: datetime) -> int:
    sent = 0
    due = list(
        Booking.objects.filter(
            organization=organization,
            status=BookingStatus.CONFIRMED,
            day_before_sent_at__isnull=True,
            start__gt=now,
            start__lte=now + timedelta(hours=24),
        )
        .filter(
            Q(template__day_before_email__isnull=False) | Q(template__day_before_sms__isnull=False)
        )
        .values_list("pk", flat=True)
    )
    for pk in due:
        with transaction.atomic():
            claimed = Booking.objects.filter(
                organization=organization,
                pk=pk,
                status=BookingStatus.CONFIRMED,
                day_before_sent_at__isnull=True,
            ).update(day_before_sent_at=now)
            if not claimed:
                continue
            booking = Booking.objects.select_related(
                "request__template", "request__candidate", "request__application", "template"
            ).get(organization=organization, pk=pk)
            request = booking.request
            result = notify.notify(
                organization=organization, kind="day_before", request=request, booking=booking
            )
            if result.sent:
                sent += 1
            when = words.when_short(booking.start, booking.end, booking.candidate_time_zone)
            _timeline(
                organization=organization,
                request=request,
                kind=scheduling_kinds.INTERVIEW_REMINDER_SENT,
                summary=(
                    f"Day Before Interview Reminder for {booking.title} ({when}) sent by "
                    f"{result.channels_sent()}"
                    if result.sent
                    else f"Day Before Interview Reminder for {booking.title} ({when}) could not "
                    "be sent"
                ),
                detail="\n".join(result.problems()),
                occurred_at=now,
                booking_id=booking.pk,
                channels=[d.channel for d in result.sent],
            )
    return sent


def reminders_send_due(*, organization, now: datetime | None = None) -> int:
    """The minute sweep of one organization: expire links past their expiry, send each
    Reminder to Schedule once (``reminder_delay_hours`` after the request, while unbooked) and
    each Day Before Interview Reminder once (in the 24 hours before the interview). Each item is
    claimed by a conditional UPDATE, so overlapping sweeps send once. Returns how many
    reminders went out."""
    now = now or timezone.now()
    _expire_due(organization=organization, now=now)
    return _send_reminders_to_schedule(organization=organization, now=now) + _send_day_before(
        organization=organization, now=now
    )
