"""Scheduling's part of deleting a candidate's personal data (``candidates.erasure``;
this module registers itself when ``SchedulingConfig.ready`` imports it).

The interview events in members' calendars carry the candidate's name, e-mail and phone in
their title and description, so they are removed from every connected calendar (past ones
too); a calendar service that refuses is reported to the admin, not hidden. A booking keeps its
row and times (the Schedule's and analytics' counts stay), its title (which names the
candidate) and the reason given by whoever cancelled become the marker, and the candidate's time
zone is forgotten. An upcoming interview is cancelled (``CancelledBy.ERASURE``: the Schedule
says "Cancelled when the candidate's data was erased") without a Cancellation Notification (there
is no address left to send it to), its holds freed; a request still waiting for the candidate
is closed, so its link no longer opens.
"""

from __future__ import annotations

from django.utils import timezone

from candidates.erasure import ERASED, ErasurePart, register_eraser

from .calendars import booking_events_remove
from .models import (
    BookedSlot,
    Booking,
    BookingStatus,
    CancelledBy,
    RequestStatus,
    SchedulingRequest,
)

CANCEL_REASON = "The candidate's personal data was deleted."


def scheduling_erase(*, organization, candidate) -> ErasurePart:
    now = timezone.now()
    bookings = list(
        Booking.objects.filter(organization=organization, candidate=candidate).order_by("pk")
    )
    problems: list[str] = []
    removed = 0
    for booking in bookings:
        if booking.status != BookingStatus.CONFIRMED:
            continue  # a cancelled booking's events were removed when it was cancelled
        trouble = booking_events_remove(organization=organization, booking=booking)
        problems += trouble
        removed += not trouble
    upcoming = [b.pk for b in bookings if b.status == BookingStatus.CONFIRMED and b.start > now]
    if upcoming:
        for booking in Booking.objects.filter(organization=organization, pk__in=upcoming):
            booking.status = BookingStatus.CANCELLED
            booking.cancelled_at = now
            booking.cancelled_by = CancelledBy.ERASURE
            booking.cancelled_by_user = None
            booking.cancel_reason = CANCEL_REASON
            booking.sequence += 1
            booking.save(
                update_fields=[
                    "status",
                    "cancelled_at",
                    "cancelled_by",
                    "cancelled_by_user",
                    "cancel_reason",
                    "sequence",
                    "updated_at",
                ]
            )
        BookedSlot.objects.filter(
            organization=organization, booking_id__in=upcoming, active=True
        ).update(active=False)
        SchedulingRequest.objects.filter(
            organization=organization, booking__pk__in=upcoming
        ).update(status=RequestStatus.CANCELLED, updated_at=now)
    erased = Booking.objects.filter(organization=organization, candidate=candidate)
    erased.update(title=ERASED, candidate_time_zone="UTC", updated_at=now)
    erased.exclude(cancel_reason__in=("", CANCEL_REASON)).update(cancel_reason=ERASED)
    closed = SchedulingRequest.objects.filter(
        organization=organization, candidate=candidate, status=RequestStatus.PENDING
    ).update(status=RequestStatus.CANCELLED, updated_at=now)
    return ErasurePart(
        counts={
            "bookings": len(bookings),
            "calendar_events_removed": removed,
            "scheduling_requests": closed,
        },
        problems=problems,
    )


register_eraser("scheduling", scheduling_erase)
