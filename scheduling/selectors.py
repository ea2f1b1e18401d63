"""Scheduling reads, always given the organization."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Membership
from integrations.calendar_service import CalendarConnection, CalendarConnectionStatus
from integrations.screens import screens_for

from .models import (
    BookedSlot,
    Booking,
    BookingStatus,
    BusyBlock,
    RequestStatus,
    SchedulingRequest,
)

FEED_PAST_DAYS = 30


def calendar_service_name() -> str:
    """What the pages call the service people's calendars connect through: the label of the
    calendar vendor's screen on Settings → Calendars."""
    return " or ".join(screen.label for screen in screens_for("calendar")) or "a calendar service"


def _with_attendees(bookings: list[Booking]) -> list[Booking]:
    """Set ``booking.attendees`` (users, in invitation order) on each booking: one query."""
    ids = {int(pk) for booking in bookings for pk in booking.attendee_ids or []}
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=ids)}
    for booking in bookings:
        booking.attendees = [
            users[int(pk)] for pk in booking.attendee_ids or [] if int(pk) in users
        ]
    return bookings


def upcoming_bookings(
    *, organization, now: datetime | None = None, limit: int = 50
) -> list[Booking]:
    """Confirmed interviews that have not ended yet, soonest first, with ``candidate``,
    ``template``, ``request`` loaded and ``attendees`` (users) set."""
    now = now or timezone.now()
    bookings = list(
        Booking.objects.filter(
            organization=organization, status=BookingStatus.CONFIRMED, end__gt=now
        )
        .select_related("candidate", "template", "request")
        .order_by("start", "id")[:limit]
    )
    return _with_attendees(bookings)


WEEK_LIMIT = 500


def week_bookings(*, organization, start: datetime, end: datetime) -> list[Booking]:
    """Interviews, confirmed and cancelled, that overlap ``[start, end)``, soonest first (at
    most ``WEEK_LIMIT``), with ``candidate``, ``template`` and ``cancelled_by_user`` loaded and
    ``attendees`` (users) set. A hiring manager's scope keeps to their candidates."""
    bookings = list(
        Booking.objects.filter(organization=organization, start__lt=end, end__gt=start)
        .select_related("candidate", "template", "cancelled_by_user")
        .order_by("start", "id")[:WEEK_LIMIT]
    )
    return _with_attendees(bookings)


def pending_requests(
    *, organization, limit: int = 50, now: datetime | None = None
) -> list[SchedulingRequest]:
    """Requests still waiting for the candidate (not expired), newest first, with
    ``candidate`` and ``template`` loaded."""
    now = now or timezone.now()
    return list(
        SchedulingRequest.objects.filter(
            organization=organization, status=RequestStatus.PENDING, expires_at__gt=now
        )
        .select_related("candidate", "template", "application")
        .order_by("-created_at", "-id")[:limit]
    )


def bookings_per_day(
    *, organization, zone: str, days: int = 14, now: datetime | None = None
) -> list[tuple[object, int]]:
    """``(local date, confirmed interviews starting that day)`` for the next ``days`` days in
    ``zone``, every day listed (zero included)."""
    from zoneinfo import ZoneInfo

    now = now or timezone.now()
    tz = ZoneInfo(zone)
    first = now.astimezone(tz).date()
    counts = {first + timedelta(days=offset): 0 for offset in range(days)}
    starts = Booking.objects.filter(
        organization=organization,
        status=BookingStatus.CONFIRMED,
        start__gte=now - timedelta(days=1),
        start__lt=now + timedelta(days=days + 1),
    ).values_list("start", flat=True)
    for start in starts:
        day = start.astimezone(tz).date()
        if day in counts:
            counts[day] += 1
    return sorted(counts.items())


def feed_bookings(*, organization, user, now: datetime | None = None) -> list[Booking]:
    """The interviews of ``user``'s subscription feed: confirmed ones from 30 days ago on,
    where they hold a seat now."""
    now = now or timezone.now()
    booking_ids = BookedSlot.objects.filter(
        organization=organization, user=user, active=True
    ).values("booking_id")
    return list(
        Booking.objects.filter(
            organization=organization,
            pk__in=booking_ids,
            status=BookingStatus.CONFIRMED,
            end__gte=now - timedelta(days=FEED_PAST_DAYS),
        )
        .select_related("candidate", "template", "request")
        .order_by("start", "id")
    )


def feed_busy_blocks(*, organization, user, now: datetime | None = None) -> list[BusyBlock]:
    """``user``'s built-in busy time for the feed, from 30 days ago on."""
    now = now or timezone.now()
    return list(
        BusyBlock.objects.filter(
            organization=organization, user=user, end__gte=now - timedelta(days=FEED_PAST_DAYS)
        ).order_by("start", "id")
    )


def team_members(*, organization) -> list:
    """The organization's memberships with their users, by name."""
    return list(
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__first_name", "user__email")
    )


def pending_connections(*, organization) -> dict:
    """Calendar connections still waiting for authorization, by user id."""
    return {
        c.user_id: c
        for c in CalendarConnection.objects.filter(
            organization=organization, status=CalendarConnectionStatus.PENDING
        )
    }


def busy_blocks_ahead(*, organization, user, now: datetime | None = None, limit: int = 200):
    """A member's built-in busy time that has not ended yet, earliest first."""
    now = now or timezone.now()
    return list(
        BusyBlock.objects.filter(organization=organization, user=user, end__gte=now).order_by(
            "start", "id"
        )[:limit]
    )
