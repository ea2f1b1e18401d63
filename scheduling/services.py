"""Scheduling writes: requests, bookings, reschedules, cancellations and the reminder sweep.

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

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from candidates.models import TimelineEvent
from journeys import timeline_kinds as journeys_kinds
from recruitflow.tenancy import tenant_scope
from scheduling import timeline_kinds as scheduling_kinds

from . import availability as av
from . import notify
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

logger = logging.getLogger(__name__)

MINIMUM_LINK_DAYS = 7


class SchedulingError(Exception):
    """Scheduling cannot do what was asked; the message says why, in words for the reader."""


class SlotTaken(SchedulingError):
    """The time was free a moment ago and is not any more."""


class RequestClosed(SchedulingError):
    """The request is booked, cancelled or expired, or its booking is cancelled or past."""


class InvalidSlot(SchedulingError):
    """The time is not one the template offers."""


TAKEN_MESSAGE = "Someone has just booked that time. Please pick another one."


def request_link(request: SchedulingRequest) -> str:
    """The absolute URL of the candidate's booking page."""
    return notify.request_link(request)


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def _timeline(
    *,
    organization,
    request: SchedulingRequest,
    kind: str,
    summary: str,
    detail: str = "",
    occurred_at: datetime | None = None,
    **data,
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        organization=organization,
        candidate=request.candidate,
        application=request.application,
        kind=kind,
        summary=summary[:500],
        detail=detail,
        data={"request_id": request.pk, "template_id": request.template_id, **data},
        occurred_at=occurred_at or timezone.now(),
    )


def _company(organization) -> str:
    return organization.name


def _closed_message(request: SchedulingRequest, organization) -> str:
    company = _company(organization)
    if request.status == RequestStatus.BOOKED:
        return (
            "This interview is already booked. Use the reschedule link in your invitation to "
            "pick another time."
        )
    if request.status == RequestStatus.CANCELLED:
        return f"This interview was cancelled. Ask {company} for a new scheduling link."
    return f"This scheduling link has expired. Ask {company} for a new one."


def _parse_time(value: str, label: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise SchedulingError(
            f"{label}: {value!r} is not a time of day; use HH:MM such as 09:00."
        ) from None


def guardrails_for(template: SchedulingTemplate) -> av.WeeklyWindows:
    """The template's weekly windows as the engine's guardrails."""
    windows: dict[int, list[tuple[time, time]]] = {}
    try:
        for window in template.windows or []:
            weekday = int(window["weekday"])
            label = av.WEEKDAY_NAMES[weekday] if 0 <= weekday <= 6 else f"Day {weekday}"
            start = _parse_time(window["start"], label)
            end = _parse_time(window["end"], label)
            windows.setdefault(weekday, []).append((start, end))
        return av.WeeklyWindows(zone=template.time_zone, windows=windows)
    except (KeyError, TypeError, ValueError) as exc:
        raise SchedulingError(
            f"The availability windows of “{template.name}” can't be used ({exc}). Fix them in "
            "Library → Scheduling templates."
        ) from None


def _slots(
    *,
    organization,
    template: SchedulingTemplate,
    now: datetime,
    until: datetime,
    exclude_booking: Booking | None = None,
) -> list[av.Slot]:
    from . import calendars

    if until <= now:
        return []
    guardrails = guardrails_for(template)
    margin = timedelta(minutes=template.buffer_before_minutes + template.buffer_after_minutes)
    required, optional = calendars.engine_members(
        organization=organization,
        template=template,
        start=now - margin,
        end=until + margin,
        exclude_booking=exclude_booking,
    )
    if not required:
        return []
    try:
        return av.available_slots(
            required=required,
            optional=optional,
            guardrails=guardrails,
            duration=timedelta(minutes=template.duration_minutes),
            interval=timedelta(minutes=template.slot_interval_minutes or template.duration_minutes),
            minimum_notice=timedelta(hours=template.minimum_notice_hours),
            horizon=until - now,
            buffer_before=timedelta(minutes=template.buffer_before_minutes),
            buffer_after=timedelta(minutes=template.buffer_after_minutes),
            daily_limit=template.daily_limit or None,
            now=now,
        )
    except av.AvailabilityInputError as exc:
        raise SchedulingError(
            f"“{template.name}” can't offer times: {exc} Fix it in Library → Scheduling templates."
        ) from None


def _to_utc(start: datetime) -> datetime:
    from datetime import UTC

    if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise InvalidSlot("Pick one of the times shown (the time given has no time zone).")
    return start.astimezone(UTC)


def _zone(time_zone: str) -> str:
    try:
        return av.resolve_zone(time_zone).key
    except av.AvailabilityInputError as exc:
        raise SchedulingError(str(exc)) from None


def _lock_members(template: SchedulingTemplate) -> None:
    """Serialize bookings that share a member (see the module docstring)."""
    ids = sorted(template.members.values_list("user_id", flat=True))
    list(get_user_model().objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def _pick(slots: list[av.Slot], start: datetime) -> av.Slot | None:
    for slot in slots:
        if slot.start == start:
            return slot
    return None


def _refuse_slot(
    *, template: SchedulingTemplate, start: datetime, exclude_booking: Booking | None
) -> SchedulingError:
    """Why ``start`` is not offered: taken by another booking, or never offered."""
    end = start + timedelta(minutes=template.duration_minutes)
    required = template.members.filter(required=True).values_list("user_id", flat=True)
    holds = BookedSlot.objects.filter(
        user_id__in=list(required),
        active=True,
        start__lt=end + timedelta(minutes=template.buffer_after_minutes),
        end__gt=start - timedelta(minutes=template.buffer_before_minutes),
    )
    if exclude_booking is not None:
        holds = holds.exclude(booking_id=exclude_booking.pk)
    if holds.exists():
        return SlotTaken(TAKEN_MESSAGE)
    return InvalidSlot(
        "That time can't be booked (any more): it is outside the times offered or a calendar "
        "became busy. Please pick one of the times shown."
    )


@dataclass(frozen=True)
class _Holds:
    attendee_ids: list[int]


def _place_holds(
    *,
    organization,
    booking: Booking,
    template: SchedulingTemplate,
    slot: av.Slot,
) -> _Holds:
    """One hold per required member (a clash is :class:`SlotTaken`) and one per optional
    member free at that time (an optional member's clash just leaves them out)."""
    members = list(template.members.values_list("user_id", "required"))
    required_ids = [user_id for user_id, required in members if required]
    optional_free = {int(member_id) for member_id in slot.optional_free}
    optional_ids = [
        user_id for user_id, required in members if not required and user_id in optional_free
    ]
    try:
        with transaction.atomic():
            BookedSlot.objects.bulk_create(
                [
                    BookedSlot(
                        organization=organization,
                        booking=booking,
                        user_id=user_id,
                        start=slot.start,
                        end=slot.end,
                        required=True,
                    )
                    for user_id in required_ids
                ]
            )
    except IntegrityError:
        raise SlotTaken(TAKEN_MESSAGE) from None
    invited = list(required_ids)
    for user_id in optional_ids:
        try:
            with transaction.atomic():
                BookedSlot.objects.create(
                    organization=organization,
                    booking=booking,
                    user_id=user_id,
                    start=slot.start,
                    end=slot.end,
                    required=False,
                )
        except IntegrityError:
            continue
        invited.append(user_id)
    return _Holds(invited)


def _remember_time_zone(*, organization, candidate, time_zone: str) -> None:
    """The zone the candidate chose on the booking page becomes their zone, unless a team
    member set one."""
    from candidates.services import candidate_time_zone_set

    if candidate.time_zone == time_zone:
        return
    if candidate.time_zone and (candidate.time_zone_source or "").startswith("set by"):
        return
    candidate_time_zone_set(organization=organization, candidate=candidate, time_zone=time_zone)


def _after_change(*, organization, booking_id: int, kind: str) -> None:
    """After the commit: calendar events, then the candidate's message. Problems go on the
    timeline; nothing here can undo the booking."""
    from . import calendars

    with tenant_scope(organization):
        booking = (
            Booking.objects.select_related("request__candidate", "request__template", "template")
            .filter(organization=organization, pk=booking_id)
            .first()
        )
        if booking is None:
            return
        request = booking.request
        try:
            if kind == "cancellation":
                problems = calendars.booking_events_remove(
                    organization=organization, booking=booking
                )
            else:
                problems = calendars.booking_events_push(organization=organization, booking=booking)
        except Exception as exc:  # a calendar bug must not stop the candidate's message
            logger.exception("Calendar update for booking %s failed", booking_id)
            problems = [f"The interviewers' calendars couldn't be updated: {exc}"]
        if problems:
            _timeline(
                organization=organization,
                request=request,
                kind=scheduling_kinds.SCHEDULING_CALENDAR_PROBLEM,
                summary="Calendar not updated for " + booking.title,
                detail="\n".join(problems),
                booking_id=booking.pk,
                problems=problems,
            )
        notify.notify(organization=organization, kind=kind, request=request, booking=booking)


def _on_commit(*, organization, booking: Booking, kind: str) -> None:
    booking_id = booking.pk
    transaction.on_commit(
        lambda: _after_change(organization=organization, booking_id=booking_id, kind=kind)
    )


# ----------------------------------------------------------------------------------------------
# Requests
# ----------------------------------------------------------------------------------------------


def _reachability_problem(*, organization, template: SchedulingTemplate, candidate) -> str:
    """Empty when the Request to Schedule can reach the candidate on some channel, else what
    to fix."""
    from integrations.messaging import E164
    from messaging.selectors import is_locked

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


def _check_usable(
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
    _check_usable(
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
        return _slots(
            organization=organization,
            template=template,
            now=now,
            until=min(horizon_end, request.expires_at),
        )
    if request.status == RequestStatus.BOOKED:
        booking = Booking.objects.filter(organization=organization, request=request).first()
        if booking is None or booking.status != BookingStatus.CONFIRMED:
            return []
        return _slots(
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
    return _slots(
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
    start = _to_utc(start)
    zone = _zone(time_zone)
    with transaction.atomic():
        request = (
            SchedulingRequest.objects.select_for_update(of=("self",))
            .select_related("template", "candidate", "application")
            .get(organization=organization, pk=request.pk)
        )
        if request.status != RequestStatus.PENDING:
            raise RequestClosed(_closed_message(request, organization))
        if request.expires_at <= now:
            request.status = RequestStatus.EXPIRED
            raise RequestClosed(_closed_message(request, organization))
        template = request.template
        _lock_members(template)
        horizon_end = min(now + timedelta(days=template.horizon_days), request.expires_at)
        slots = _slots(organization=organization, template=template, now=now, until=horizon_end)
        slot = _pick(slots, start)
        if slot is None:
            raise _refuse_slot(template=template, start=start, exclude_booking=None)
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
        holds = _place_holds(
            organization=organization, booking=booking, template=template, slot=slot
        )
        booking.attendee_ids = holds.attendee_ids
        booking.save(update_fields=["attendee_ids", "updated_at"])
        request.status = RequestStatus.BOOKED
        request.save(update_fields=["status", "updated_at"])
        _remember_time_zone(organization=organization, candidate=request.candidate, time_zone=zone)
        _timeline(
            organization=organization,
            request=request,
            kind=journeys_kinds.BOOKED,
            summary=f"Booked {booking.title} for {notify.when_short(slot.start, slot.end, zone)}",
            detail=_booking_detail(organization, booking),
            occurred_at=now,
            booking_id=booking.pk,
            start=slot.start.isoformat(),
            end=slot.end.isoformat(),
        )
        _on_commit(organization=organization, booking=booking, kind="invitation")
    return booking


def _booking_detail(organization, booking: Booking) -> str:
    names = [notify.person_name(user) for user, _ in notify.booking_attendees(booking)]
    lines = [f"With {notify.join_names(names)}" if names else ""]
    if organization.time_zone and organization.time_zone != booking.candidate_time_zone:
        lines.append(
            "Your time: " + notify.when_short(booking.start, booking.end, organization.time_zone)
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
    start = _to_utc(start)
    zone = _zone(time_zone)
    with transaction.atomic():
        request, booking = _locked_booking(organization=organization, booking=booking)
        if booking.status != BookingStatus.CONFIRMED:
            raise RequestClosed(
                "This interview was cancelled, so it can't be moved. Ask "
                f"{_company(organization)} for a new scheduling link."
            )
        if booking.start <= now:
            raise RequestClosed("This interview has already started, so it can't be moved.")
        if start == booking.start:
            raise InvalidSlot("That is the time already booked. Pick a different time to move it.")
        template = booking.template
        _lock_members(template)
        slots = _slots(
            organization=organization,
            template=template,
            now=now,
            until=now + timedelta(days=template.horizon_days),
            exclude_booking=booking,
        )
        slot = _pick(slots, start)
        if slot is None:
            raise _refuse_slot(template=template, start=start, exclude_booking=booking)
        old_start, old_end = booking.start, booking.end
        # In a savepoint: when the new time is taken, the old holds stay active.
        with transaction.atomic():
            BookedSlot.objects.filter(
                organization=organization, booking=booking, active=True
            ).update(active=False)
            holds = _place_holds(
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
        _remember_time_zone(organization=organization, candidate=request.candidate, time_zone=zone)
        _timeline(
            organization=organization,
            request=request,
            kind=scheduling_kinds.RESCHEDULED,
            summary=f"Rescheduled {booking.title} from "
            f"{notify.when_short(old_start, old_end, zone)} to "
            f"{notify.when_short(slot.start, slot.end, zone)}",
            detail=_booking_detail(organization, booking),
            occurred_at=now,
            booking_id=booking.pk,
            start=slot.start.isoformat(),
            end=slot.end.isoformat(),
            previous_start=old_start.isoformat(),
        )
        _on_commit(organization=organization, booking=booking, kind="invitation")
    return booking


def booking_cancel(
    *, organization, booking: Booking, by: str, reason: str = "", actor=None
) -> Booking:
    """Cancel ``booking`` (``by``: a :class:`CancelledBy` value): holds released, the request
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
        booking.cancel_reason = reason
        booking.sequence += 1
        booking.save(
            update_fields=[
                "status",
                "cancelled_at",
                "cancelled_by",
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
        when = notify.when_short(booking.start, booking.end, booking.candidate_time_zone)
        if by == CancelledBy.CANDIDATE:
            summary = f"The candidate cancelled {booking.title} ({when})"
        elif by == CancelledBy.INTERVIEWER:
            summary = (
                f"An interviewer removed {booking.title} ({when}) from their calendar, so it was "
                "cancelled"
            )
        else:
            who = notify.person_name(actor) if actor is not None else "A team member"
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
        _on_commit(organization=organization, booking=booking, kind="cancellation")
    return booking


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
            when = notify.when_short(booking.start, booking.end, booking.candidate_time_zone)
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


# ----------------------------------------------------------------------------------------------
# The public link
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicLinkResult:
    """What a submission of the public link led to: a new candidate's ``request`` (open its
    picker), or, for an address that is already a candidate's, nothing yet — a confirmation
    e-mail went to that address (``request`` is None)."""

    request: SchedulingRequest | None


def _typed_words(*, first_name: str, last_name: str, email: str, phone: str) -> str:
    name = f"{first_name} {last_name}".strip()
    return "\n".join(
        line
        for line in (
            f"Name typed: {name}",
            f"E-mail typed: {email}",
            f"Phone typed: {phone}" if phone else "",
        )
        if line
    )


def public_link_submit(
    *,
    organization,
    template: SchedulingTemplate,
    first_name: str,
    last_name: str,
    email: str,
    phone: str,
    zone: str = "",
    title: str,
) -> PublicLinkResult:
    """Someone filled in ``template``'s public link.

    A new e-mail address becomes a RecruitFlow candidate with a scheduling request (the visitor
    goes on to its picker). An address that is already a candidate's changes nothing on that
    candidate and ties nothing to them: anyone can type anyone's address. Instead that address
    gets a signed link that expires (:func:`notify.public_link_confirmation`); opening it runs
    :func:`public_link_confirm`. The candidate's timeline shows the attempt with what was typed,
    so the team sees a possible duplicate or impostor. ``title`` is the interview as the page
    names it. Raises ``ValidationError`` (per field) for bad input and :class:`SchedulingError`
    when the template cannot take bookings.
    """
    from django.conf import settings
    from django.urls import reverse

    from candidates.services import candidate_find_or_create_public
    from messaging.services import CannotSend

    from . import links, public_limits

    with transaction.atomic():
        candidate, created = candidate_find_or_create_public(
            organization=organization,
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
        )
        if created:
            request = request_create(
                organization=organization,
                template=template,
                candidate=candidate,
                source=RequestSource.PUBLIC_LINK,
                send=False,
            )
            return PublicLinkResult(request=request)
        _check_usable(
            organization=organization,
            template=template,
            candidate=candidate,
            application=None,
            send=False,
        )
    hours = settings.SCHEDULING_PUBLIC_LINK_CONFIRM_HOURS
    proof = links.confirmation_sign(template_id=template.pk, candidate_id=candidate.pk, zone=zone)
    link = settings.PUBLIC_BASE_URL + reverse(
        "booking:public_confirm", args=[template.public_token, proof]
    )
    typed = _typed_words(first_name=first_name, last_name=last_name, email=email, phone=phone)
    if not public_limits.confirmation_allowed(candidate_id=candidate.pk):
        outcome = (
            f"No confirmation e-mail sent: {public_limits.CONFIRMATIONS_PER_HOUR} went to this "
            "address in the last hour already."
        )
    else:
        try:
            notify.public_link_confirmation(
                organization=organization, candidate=candidate, title=title, link=link, hours=hours
            )
        except CannotSend as exc:
            outcome = f"No confirmation e-mail sent: {exc.reason}."
        else:
            outcome = (
                f"A confirmation e-mail went to {candidate.primary_email}; the booking is tied "
                f"to this candidate only if its link is opened within {hours} hours."
            )
    TimelineEvent.objects.create(
        organization=organization,
        candidate=candidate,
        kind=scheduling_kinds.PUBLIC_LINK_MATCH,
        summary=(
            f"Someone used the public link of “{template.name}” with this candidate's e-mail "
            "address"
        )[:500],
        detail=f"{outcome}\nNothing on the candidate was changed.\n{typed}",
        data={"template_id": template.pk, "typed_phone": phone, "typed_name": first_name},
        occurred_at=timezone.now(),
    )
    return PublicLinkResult(request=None)


def _open_public_request(*, organization, template, candidate, now) -> SchedulingRequest | None:
    """The candidate's public-link request for ``template`` that is still usable: pending and
    not expired, or booked for a time still to come."""
    requests = SchedulingRequest.objects.filter(
        organization=organization,
        template=template,
        candidate=candidate,
        source=RequestSource.PUBLIC_LINK,
    ).order_by("-created_at", "-pk")
    for request in requests[:5]:
        if request.status == RequestStatus.PENDING and request.expires_at > now:
            return request
        if request.status == RequestStatus.BOOKED:
            booking = Booking.objects.filter(organization=organization, request=request).first()
            if booking and booking.status == BookingStatus.CONFIRMED and booking.start > now:
                return request
    return None


def public_link_confirm(
    *, organization, template: SchedulingTemplate, candidate_id: int, now: datetime | None = None
) -> SchedulingRequest:
    """The candidate opened the confirmation link of a public-link submission: their scheduling
    request for ``template`` (the open one if they already have it, so opening the link twice
    makes one request). Raises :class:`SchedulingError` when the candidate is gone or the
    template cannot take bookings."""
    from candidates.models import Candidate

    now = now or timezone.now()
    candidate = Candidate.objects.filter(
        organization=organization, pk=candidate_id, deleted_at__isnull=True
    ).first()
    if candidate is not None and candidate.merged_into_id:
        candidate = Candidate.objects.filter(
            organization=organization, pk=candidate.merged_into_id, deleted_at__isnull=True
        ).first()
    if candidate is None:
        raise SchedulingError(
            f"We couldn't find your details with {_company(organization)} any more."
        )
    with transaction.atomic():
        existing = _open_public_request(
            organization=organization, template=template, candidate=candidate, now=now
        )
        if existing is not None:
            return existing
        request = request_create(
            organization=organization,
            template=template,
            candidate=candidate,
            source=RequestSource.PUBLIC_LINK,
            send=False,
            now=now,
        )
        _timeline(
            organization=organization,
            request=request,
            kind=scheduling_kinds.PUBLIC_LINK_CONFIRMED,
            summary=f"Confirmed their e-mail address on the public link of “{template.name}”",
            occurred_at=now,
        )
    return request
