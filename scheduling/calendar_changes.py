"""Changes made in members' calendars (Cronofy push notifications): an interview event the
member deleted cancels its booking, through ``services.booking_cancel``."""

from __future__ import annotations

import logging
from datetime import datetime

from integrations.calendars import ProviderError
from integrations.connections import CallRecorder
from integrations.cronofy.connections import connection_provider
from integrations.cronofy.models import CalendarConnection

from . import services
from .calendars import EVENT_PREFIX
from .models import Booking, BookingStatus, CancelledBy
from .words import person_name

logger = logging.getLogger(__name__)


def booking_id_of(event_id: str | None) -> int | None:
    """The booking behind one of our event ids ("rf-booking-42" → 42)."""
    if not event_id or not event_id.startswith(EVENT_PREFIX):
        return None
    number = event_id[len(EVENT_PREFIX) :]
    return int(number) if number.isdigit() else None


def connection_changes_apply(
    *, organization, channel_id: str, changes_since: datetime
) -> list[int]:
    """Read what changed in the calendar behind ``channel_id`` since ``changes_since`` and
    cancel each confirmed booking whose event the member deleted (Cancellation Notification
    included, through ``services.booking_cancel``). Returns the cancelled booking ids.
    Transient Cronofy errors are raised (the task retries); others are recorded and logged."""
    connection = (
        CalendarConnection.objects.filter(organization=organization, channel_id=channel_id)
        .select_related("user")
        .first()
    )
    if connection is None:
        logger.info("Cronofy change for unknown channel %s: nothing to read.", channel_id)
        return []
    recorder = CallRecorder(organization=organization, provider="cronofy")
    try:
        provider, account = connection_provider(connection, recorder=recorder)
        changes = provider.changed_events(account, changes_since)
    except ProviderError as exc:
        if not exc.permanent:
            raise
        CalendarConnection.objects.filter(pk=connection.pk).update(last_error=str(exc))
        logger.warning("Changes of calendar connection %s can't be read: %s", connection.pk, exc)
        return []
    finally:
        if recorder.pending:
            recorder.flush()
    deleted = {booking_id_of(change.event_id) for change in changes if change.deleted}
    deleted.discard(None)
    if not deleted:
        return []
    name = person_name(connection.user)
    cancelled = []
    bookings = Booking.objects.filter(
        organization=organization, pk__in=deleted, status=BookingStatus.CONFIRMED
    ).select_related("request", "template", "candidate")
    for booking in bookings:
        if connection.user_id not in [int(pk) for pk in booking.attendee_ids or []]:
            continue
        try:
            services.booking_cancel(
                organization=organization,
                booking=booking,
                by=CancelledBy.INTERVIEWER,
                reason=f"{name} deleted the interview from their calendar",
            )
        except services.SchedulingError as exc:
            # Already cancelled by someone else, or already started: nothing to undo.
            logger.info("Booking %s not cancelled after a calendar deletion: %s", booking.pk, exc)
            continue
        cancelled.append(booking.pk)
    return cancelled
