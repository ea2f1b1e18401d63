"""Rows as the booking service leaves them, for tests that need a booking without booking."""

from __future__ import annotations

from datetime import timedelta

from recruitflow.tenancy import tenant_scope
from scheduling.models import BookedSlot, Booking, RequestSource, RequestStatus, SchedulingRequest


def booked(
    organization,
    template,
    candidate,
    users,
    start,
    *,
    minutes: int = 45,
    title: str = "Onsite interview · Sales Rep",
    **fields,
) -> Booking:
    """A confirmed booking of ``start`` holding ``users``, with its booked request."""
    with tenant_scope(organization):
        request = SchedulingRequest.objects.create(
            organization=organization,
            template=template,
            candidate=candidate,
            source=RequestSource.RECRUITER,
            status=RequestStatus.BOOKED,
            expires_at=start + timedelta(days=7),
        )
        booking = Booking.objects.create(
            organization=organization,
            request=request,
            template=template,
            candidate=candidate,
            start=start,
            end=start + timedelta(minutes=minutes),
            title=title,
            attendee_ids=[user.pk for user in users],
            **fields,
        )
        for user in users:
            BookedSlot.objects.create(
                organization=organization,
                booking=booking,
                user=user,
                start=booking.start,
                end=booking.end,
            )
    return booking
