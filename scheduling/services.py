"""Scheduling writes: requests, the times on offer, bookings, reschedules and cancellations.

Race safety of a booking, in layers:

1. the request row is locked (``select_for_update``), so one request books once;
2. the user rows of the members are locked in id order, so two bookings that involve the same
   member run one after the other and the second recomputes the slots with the first one's
   holds in view (READ COMMITTED reads the latest committed rows after the lock wait) — this is
   what also keeps overlapping starts and the daily limit safe;
3. the partial unique index on active holds (member, start) is the database's last word: an
   IntegrityError there becomes :class:`SlotTaken`, inside a savepoint, so nothing else changes.

Calendar events and the messages of a booking go out after the commit: a calendar that cannot
be written is a timeline entry, never a lost booking.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.messaging import E164
from journeys import timeline_kinds as journeys_kinds
from messaging.selectors import is_locked
from scheduling import timeline_kinds as scheduling_kinds
from scheduling.rules import (
    MINIMUM_LINK_DAYS,
    InvalidSlot,
    RequestClosed,
    SchedulingError,
    _timeline,
    after_commit,
    checked_zone,
    closed_message,
    company_name,
    lock_members,
    offered_slots,
    pick_slot,
    place_holds,
    refuse_slot,
    remember_time_zone,
    request_link,
    to_utc,
)

from . import availability as av
from . import conferencing, notify, words
from .models import (
    BookedSlot,
    Booking,
    BookingStatus,
    CancelledBy,
    RequestSource,
    RequestStatus,
    SchedulingRequest,
    SchedulingTemplate,
)

# ----------------------------------------------------------------------------------------------
# Requests
# ----------------------------------------------------------------------------------------------


def _reachability_problem(*, organization, template: SchedulingTemplate, candidate) -> str:
    """Empty when the Request to Schedule can reach the candidate on some channel, else what
    to fix."""
    reasons = []
    if template.request_email_id:
        if (candidate.primary_email or "").strip():
            return ""
        reasons.append("it is an e-mail and they have no e-mail address")
    if template.request_sms_id:
        phone = (candidate.mobile_phone or "").strip()
        if not phone:
            reasons.append("it is a text message and they have no mobile number")
        elif not E164.match(phone):
            reasons.append(f"it is a text message and {phone} is not a full international number")
        elif is_locked(organization, phone):
            reasons.append("it is a text message and they opted out of texts")
        else:
            return ""
    return (
        f"The Request to Schedule can't reach {candidate.full_name}: {'; '.join(reasons)}. "
        "Add their contact details in the ATS, or give the template a message on another "
        "channel."
    )


def check_usable(
    *, organization, template: SchedulingTemplate, candidate, application, send: bool
) -> None:
    if template.organization_id != organization.pk:
        raise SchedulingError("That scheduling template doesn't exist.")
    if candidate.organization_id != organization.pk or candidate.deleted_at is not None:
        raise SchedulingError("That candidate doesn't exist (any more).")
    if application is not None and application.candidate_id != candidate.pk:
        raise SchedulingError("That application belongs to another candidate.")
    if not template.members.filter(required=True).exists():
        raise SchedulingError(
            f"“{template.name}” has no required interviewer. Add at least one required member "
            "in Library → Scheduling templates."
        )
    if not send:
        return
    if not (template.request_email_id or template.request_sms_id):
        raise SchedulingError(
            f"“{template.name}” has no Request to Schedule message. Choose an e-mail or a text "
            "message for it in Library → Scheduling templates."
        )
    problem = _reachability_problem(
        organization=organization, template=template, candidate=candidate
    )
    if problem:
        raise SchedulingError(problem)


def request_create(
    *,
    organization,
    template: SchedulingTemplate,
    candidate,
    application=None,
    source: str,
    step_run_id: int | None = None,
    actor=None,
    send: bool = True,
    now: datetime | None = None,
) -> SchedulingRequest:
    """Invite ``candidate`` to book an interview from ``template``: a request with its own
    link, the Request to Schedule (e-mail and/or text; a channel that cannot go out is on the
    timeline and does not stop the other) and a ``scheduling_requested`` timeline entry.
    One request per journey step run: the same ``step_run_id`` returns the first request."""
    if source not in RequestSource.values:
        raise ValueError(f"Unknown request source {source!r}.")
    now = now or timezone.now()
    if step_run_id is not None:
        existing = SchedulingRequest.objects.filter(
            organization=organization, step_run_id=step_run_id
        ).first()
        if existing is not None:
            return existing
    check_usable(
        organization=organization,
        template=template,
        candidate=candidate,
        application=application,
        send=send,
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                request = SchedulingRequest.objects.create(
                    organization=organization,
                    template=template,
                    candidate=candidate,
                    application=application,
                    source=source,
                    step_run_id=step_run_id,
                    created_by=actor,
                    expires_at=now + timedelta(days=max(template.horizon_days, MINIMUM_LINK_DAYS)),
                )
        except IntegrityError:
            if step_run_id is None:
                raise
            # A concurrent run of the same step won: theirs is the request.
            return SchedulingRequest.objects.get(organization=organization, step_run_id=step_run_id)
        link = request_link(request)
        result = None
        if send:
            result = notify.notify(organization=organization, kind="request", request=request)
        if result is None:
            summary = f"Scheduling link created for “{template.name}”"
        elif result.sent:
            summary = f"Request to Schedule “{template.name}” sent by {result.channels_sent()}"
        else:
            summary = f"Request to Schedule “{template.name}” could not be sent"
        detail_lines = [f"Scheduling link: {link}"]
        if result is not None:
            detail_lines += result.problems()
        _timeline(
            organization=organization,
            request=request,
            kind=scheduling_kinds.SCHEDULING_REQUESTED,
            summary=summary,
            detail="\n".join(detail_lines),
            occurred_at=now,
            link=link,
            source=source,
            channels=[d.channel for d in result.sent] if result else [],
            expires_at=request.expires_at.isoformat(),
        )
    return request


# ----------------------------------------------------------------------------------------------
# Slots
# ----------------------------------------------------------------------------------------------


def slots_for_request(
    *, organization, request: SchedulingRequest, now: datetime | None = None
) -> list[av.Slot]:
    """The times ``request``'s candidate may pick now. A pending request offers times up to
    the template's horizon or the link's expiry, whichever comes first; a booked request (the
    candidate rescheduling) offers the template's horizon and its own holds don't block."""
    now = now or timezone.now()
    template = request.template
    horizon_end = now + timedelta(days=template.horizon_days)
    if request.status == RequestStatus.PENDING:
        if request.expires_at <= now:
            return []
        return offered_slots(
            organization=organization,
            template=template,
            now=now,
            until=min(horizon_end, request.expires_at),
        )
    if request.status == RequestStatus.BOOKED:
        booking = Booking.objects.filter(organization=organization, request=request).first()
        if booking is None or booking.status != BookingStatus.CONFIRMED:
            return []
        return offered_slots(
            organization=organization,
            template=template,
            now=now,
            until=horizon_end,
            exclude_booking=booking,
        )
    return []


def template_slots(
    *, organization, template: SchedulingTemplate, now: datetime | None = None, days: int = 14
) -> list[av.Slot]:
    """The times ``template`` offers over the next ``days`` days (at most its horizon): the
    health check's numbers."""
    now = now or timezone.now()
    days = min(days, template.horizon_days)
    return offered_slots(
        organization=organization, template=template, now=now, until=now + timedelta(days=days)
    )


# ----------------------------------------------------------------------------------------------
# Bookings
# ----------------------------------------------------------------------------------------------


def booking_book(
    *,
    organization,
    request: SchedulingRequest,
    start: datetime,
    time_zone: str,
    now: datetime | None = None,
) -> Booking:
    """Book ``start`` (one of the offered slots) for ``request``. Raises :class:`RequestClosed`
    when the request is not open, :class:`SlotTaken` when someone got the time first and
    :class:`InvalidSlot` for a time never offered; nothing changes then."""
    now = now or timezone.now()
    start = to_utc(start)
    zone = checked_zone(time_zone)
    with transaction.atomic():
        request = (
            SchedulingRequest.objects.select_for_update(of=("self",))
            .select_related("template", "candidate", "application")
            .get(organization=organization, pk=request.pk)
        )
        if request.status != RequestStatus.PENDING:
            raise RequestClosed(closed_message(request, organization))
        if request.expires_at <= now:
            request.status = RequestStatus.EXPIRED
            raise RequestClosed(closed_message(request, organization))
        template = request.template
        lock_members(template)
        horizon_end = min(now + timedelta(days=template.horizon_days), request.expires_at)
        slots = offered_slots(
            organization=organization, template=template, now=now, until=horizon_end
        )
        slot = pick_slot(slots, start)
        if slot is None:
            raise refuse_slot(template=template, start=start, exclude_booking=None)
        context = notify.message_context(organization=organization, request=request)
        booking = Booking.objects.create(
            organization=organization,
            request=request,
            template=template,
            candidate=request.candidate,
            start=slot.start,
            end=slot.end,
            title=context["interview"]["title"][:300],
            location=template.location,
            video_link=template.video_link,
            candidate_time_zone=zone,
        )
        holds = place_holds(
            organization=organization, booking=booking, template=template, slot=slot
        )
        booking.attendee_ids = holds.attendee_ids
        conferencing.initial_link(organization=organization, booking=booking)
        booking.save(
            update_fields=["attendee_ids", "video_link", "meeting_link_source", "updated_at"]
        )
        request.status = RequestStatus.BOOKED
        request.save(update_fields=["status", "updated_at"])
        remember_time_zone(organization=organization, candidate=request.candidate, time_zone=zone)
        _timeline(
            organization=organization,
            request=request,
            kind=journeys_kinds.BOOKED,
            summary=f"Booked {booking.title} for {words.when_short(slot.start, slot.end, zone)}",
            detail=_booking_detail(organization, booking),
            occurred_at=now,
            booking_id=booking.pk,
            start=slot.start.isoformat(),
            end=slot.end.isoformat(),
        )
        after_commit(organization=organization, booking=booking, kind="invitation")
    return booking


def _booking_detail(organization, booking: Booking) -> str:
    names = [words.person_name(user) for user, _ in words.booking_attendees(booking)]
    lines = [f"With {words.join_names(names)}" if names else ""]
    if organization.time_zone and organization.time_zone != booking.candidate_time_zone:
        lines.append(
            "Your time: " + words.when_short(booking.start, booking.end, organization.time_zone)
        )
    return "\n".join(line for line in lines if line)


def _locked_booking(*, organization, booking: Booking) -> tuple[SchedulingRequest, Booking]:
    request = (
        SchedulingRequest.objects.select_for_update(of=("self",))
        .select_related("template", "candidate", "application")
        .get(organization=organization, pk=booking.request_id)
    )
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("template")
        .get(organization=organization, pk=booking.pk)
    )
    return request, booking


def booking_reschedule(
    *,
    organization,
    booking: Booking,
    start: datetime,
    time_zone: str,
    now: datetime | None = None,
) -> Booking:
    """Move ``booking`` to ``start``: the same booking (same calendar UID, SEQUENCE + 1) with
    its holds moved, the events updated and a new Interview Invitation."""
    now = now or timezone.now()
    start = to_utc(start)
    zone = checked_zone(time_zone)
    with transaction.atomic():
        request, booking = _locked_booking(organization=organization, booking=booking)
        if booking.status != BookingStatus.CONFIRMED:
            raise RequestClosed(
                "This interview was cancelled, so it can't be moved. Ask "
                f"{company_name(organization)} for a new scheduling link."
            )
        if booking.start <= now:
            raise RequestClosed("This interview has already started, so it can't be moved.")
        if start == booking.start:
            raise InvalidSlot("That is the time already booked. Pick a different time to move it.")
        template = booking.template
        lock_members(template)
        slots = offered_slots(
            organization=organization,
            template=template,
            now=now,
            until=now + timedelta(days=template.horizon_days),
            exclude_booking=booking,
        )
        slot = pick_slot(slots, start)
        if slot is None:
            raise refuse_slot(template=template, start=start, exclude_booking=booking)
        old_start, old_end = booking.start, booking.end
        # In a savepoint: when the new time is taken, the old holds stay active.
        with transaction.atomic():
            BookedSlot.objects.filter(
                organization=organization, booking=booking, active=True
            ).update(active=False)
            holds = place_holds(
                organization=organization, booking=booking, template=template, slot=slot
            )
        booking.start, booking.end = slot.start, slot.end
        booking.sequence += 1
        booking.reschedule_count += 1
        booking.day_before_sent_at = None
        booking.attendee_ids = holds.attendee_ids
        booking.candidate_time_zone = zone
        booking.save(
            update_fields=[
                "start",
                "end",
                "sequence",
                "reschedule_count",
                "day_before_sent_at",
                "attendee_ids",
                "candidate_time_zone",
                "updated_at",
            ]
        )
        remember_time_zone(organization=organization, candidate=request.candidate, time_zone=zone)
        _timeline(
            organization=organization,
            request=request,
            kind=scheduling_kinds.RESCHEDULED,
            summary=f"Rescheduled {booking.title} from "
            f"{words.when_short(old_start, old_end, zone)} to "
            f"{words.when_short(slot.start, slot.end, zone)}",
            detail=_booking_detail(organization, booking),
            occurred_at=now,
            booking_id=booking.pk,
            start=slot.start.isoformat(),
            end=slot.end.isoformat(),
            previous_start=old_start.isoformat(),
        )
        after_commit(organization=organization, booking=booking, kind="invitation")
    return booking


def booking_cancel(
    *, organization, booking: Booking, by: str, reason: str = "", actor=None
) -> Booking:
    """Cancel ``booking`` (``by``: a :class:`CancelledBy` value; ``actor``: the team member who
    cancelled, or the interviewer whose calendar lost the event): holds released, the request
    closed, the events removed and the Cancellation Notification sent (with a METHOD:CANCEL
    ``.ics`` of the same UID and a higher SEQUENCE)."""
    if by not in CancelledBy.values:
        raise ValueError(f"Unknown canceller {by!r}; use one of {', '.join(CancelledBy.values)}.")
    now = timezone.now()
    reason = (reason or "").strip()
    with transaction.atomic():
        request, booking = _locked_booking(organization=organization, booking=booking)
        if booking.status == BookingStatus.CANCELLED:
            raise RequestClosed("This interview is already cancelled.")
        if booking.start <= now:
            raise RequestClosed("This interview has already started, so it can't be cancelled.")
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        booking.cancelled_by = by
        booking.cancelled_by_user = actor if by != CancelledBy.CANDIDATE else None
        booking.cancel_reason = reason
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
        BookedSlot.objects.filter(organization=organization, booking=booking, active=True).update(
            active=False
        )
        request.status = RequestStatus.CANCELLED
        request.save(update_fields=["status", "updated_at"])
        when = words.when_short(booking.start, booking.end, booking.candidate_time_zone)
        if by == CancelledBy.CANDIDATE:
            summary = f"The candidate cancelled {booking.title} ({when})"
        elif by == CancelledBy.INTERVIEWER:
            who = words.person_name(actor) if actor is not None else "An interviewer"
            summary = (
                f"{who} removed {booking.title} ({when}) from their calendar, so it was cancelled"
            )
        else:
            who = words.person_name(actor) if actor is not None else "A team member"
            summary = f"{who} cancelled {booking.title} ({when})"
        _timeline(
            organization=organization,
            request=request,
            kind=scheduling_kinds.BOOKING_CANCELLED,
            summary=summary,
            detail=f"Reason: {reason}" if reason else "No reason given.",
            occurred_at=now,
            booking_id=booking.pk,
            cancelled_by=by,
            actor_id=actor.pk if actor is not None else None,
            reason=reason,
        )
        after_commit(organization=organization, booking=booking, kind="cancellation")
    return booking
