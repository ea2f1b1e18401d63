"""Changes made in members' calendars (the calendar provider's push notifications, stored and
applied by the one webhook intake as the vendor-neutral ``CalendarChanged``): an interview
event the member deleted cancels its booking, through ``services.booking_cancel``; a calendar
account the provider lost access to marks its connection as needing attention; a conferencing
profile it lost marks the member's conferencing as disconnected (``conferencing``), and a
change showing a conference's join URL releases the invitation waiting for it. An account
owner's erasure request (``CalendarErasureRequested``) forgets that calendar account."""

from __future__ import annotations

import logging
from datetime import datetime

from integrations import calendar_service, intake
from integrations.calendar_service import (
    CalendarConnection,
    CalendarConnectionStatus,
    connection_provider,
)
from integrations.calendars import CalendarChanged, CalendarErasureRequested, ProviderError
from integrations.connections import CallRecorder

from . import conferencing, services
from .calendars import EVENT_PREFIX, connection_profile_disconnected
from .models import Booking, BookingStatus, CancelledBy, ConferenceStatus
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
    Transient provider errors are raised (the intake tries the delivery again later); others
    are recorded on the connection and logged."""
    connection = (
        CalendarConnection.objects.filter(organization=organization, channel_id=channel_id)
        .select_related("user")
        .first()
    )
    if connection is None:
        logger.info("Calendar change for unknown channel %s: nothing to read.", channel_id)
        return []
    recorder = CallRecorder(organization=organization, provider=calendar_service.IDENTIFIER)
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
    _conferences_arrived(organization, connection, changes)
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
                actor=connection.user,
            )
        except services.SchedulingError as exc:
            # Already cancelled by someone else, or already started: nothing to undo.
            logger.info("Booking %s not cancelled after a calendar deletion: %s", booking.pk, exc)
            continue
        cancelled.append(booking.pk)
    return cancelled


def _conferences_arrived(organization, connection, changes) -> None:
    """A change that shows the join URL of a conference an invitation is waiting for: store it
    and send the invitation now rather than at the wait task's next look."""
    ready = {
        booking_id_of(change.event_id)
        for change in changes
        if not change.deleted and change.conference is not None and change.conference.ready
    }
    ready.discard(None)
    if not ready:
        return
    waiting = Booking.objects.filter(
        organization=organization,
        pk__in=ready,
        conference_host_id=connection.user_id,
        conference_status=ConferenceStatus.PENDING,
    ).values_list("pk", flat=True)
    for booking_id in list(waiting):
        conferencing.conference_check(organization=organization, booking_id=booking_id)


def calendar_changed_apply(record: CalendarChanged, context: intake.Context) -> bool:
    """The intake's handler of a calendar push notification (registered in
    ``SchedulingConfig.ready``): read the calendar's changes and cancel what the member
    deleted, or mark a disconnected account's connection as needing attention. False when
    there was nothing to do (no such channel, nothing deleted, already disconnected)."""
    if record.disconnected:
        return connection_profile_disconnected(
            organization=context.organization, channel_id=record.channel_id
        )
    if record.conferencing_disconnected:
        return conferencing.conferencing_disconnected(
            organization=context.organization, channel_id=record.channel_id
        )
    if record.changes_since is None:
        raise ValueError("A calendar change notification needs the time changes are read since.")
    known = CalendarConnection.objects.filter(
        organization=context.organization, channel_id=record.channel_id
    ).exists()
    if not known:
        raise intake.Ignored(f"No calendar connection has the channel {record.channel_id}.")
    connection_changes_apply(
        organization=context.organization,
        channel_id=record.channel_id,
        changes_since=record.changes_since,
    )
    return True


def calendar_erasure_apply(record: CalendarErasureRequested, context: intake.Context) -> bool:
    """The intake's handler of a calendar account owner's erasure request (GDPR) sent by the
    calendar service: forget everything we hold of that account — tokens, channel, the account's
    and calendar's ids, names and address — and show the member their calendar as disconnected.
    Busy time is read from the service when needed and never stored, so nothing else of the
    account is kept; no call goes to the service (the account is being deleted there)."""
    connection = CalendarConnection.objects.filter(
        organization=context.organization, channel_id=record.channel_id
    ).first()
    if connection is None:
        raise intake.Ignored(f"No calendar connection has the channel {record.channel_id}.")
    for name in (
        "access_token",
        "refresh_token",
        "channel_id",
        "email",
        "sub",
        "profile_id",
        "profile_name",
        "provider_name",
        "calendar_id",
        "calendar_name",
        "scope",
        "authorization_state",
    ):
        setattr(connection, name, "")
    connection.token_expires_at = None
    connection.connected_at = None
    connection.tzid = "Etc/UTC"
    connection.status = CalendarConnectionStatus.DISCONNECTED
    connection.last_error = (
        "The calendar account's owner asked the calendar service to delete their data, so "
        "RecruitFlow deleted what it held of that account. Connect a calendar again in "
        "Schedule → My calendar."
    )
    connection.save()
    logger.info("Calendar connection %s forgotten after an erasure request.", connection.pk)
    return True


def register_handlers() -> None:
    """Hand the intake this app's handler of calendar notifications (``SchedulingConfig.ready``)."""
    intake.register(CalendarChanged, calendar_changed_apply)
    intake.register(CalendarErasureRequested, calendar_erasure_apply)
