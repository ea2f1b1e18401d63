"""What every scheduling write shares: the errors, the times a template offers (guardrails and
the members' calendars), member locks and holds, timeline entries, and the calendar events and
messages that follow a booking change after the commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from candidates.models import TimelineEvent
from candidates.services import candidate_time_zone_set
from recruitflow.tenancy import tenant_scope
from scheduling import timeline_kinds as scheduling_kinds

from . import availability as av
from . import calendars, conferencing, notify, words
from .models import (
    BookedSlot,
    Booking,
    ConferenceStatus,
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
    return words.request_link(request)


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


def company_name(organization) -> str:
    return organization.name


def closed_message(request: SchedulingRequest, organization) -> str:
    company = company_name(organization)
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


def offered_slots(
    *,
    organization,
    template: SchedulingTemplate,
    now: datetime,
    until: datetime,
    exclude_booking: Booking | None = None,
) -> list[av.Slot]:
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


def to_utc(start: datetime) -> datetime:
    if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise InvalidSlot("Pick one of the times shown (the time given has no time zone).")
    return start.astimezone(UTC)


def checked_zone(time_zone: str) -> str:
    try:
        return av.resolve_zone(time_zone).key
    except av.AvailabilityInputError as exc:
        raise SchedulingError(str(exc)) from None


def lock_members(template: SchedulingTemplate) -> None:
    """Serialize bookings that share a member (see the module docstring)."""
    ids = sorted(template.members.values_list("user_id", flat=True))
    list(get_user_model().objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def pick_slot(slots: list[av.Slot], start: datetime) -> av.Slot | None:
    for slot in slots:
        if slot.start == start:
            return slot
    return None


def refuse_slot(
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


def place_holds(
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


def remember_time_zone(*, organization, candidate, time_zone: str) -> None:
    """The zone the candidate chose on the booking page becomes their zone, unless a team
    member set one."""
    if candidate.time_zone == time_zone:
        return
    if candidate.time_zone and (candidate.time_zone_source or "").startswith("set by"):
        return
    candidate_time_zone_set(organization=organization, candidate=candidate, time_zone=time_zone)


def _after_change(*, organization, booking_id: int, kind: str) -> None:
    """After the commit: calendar events, then the candidate's message. Problems go on the
    timeline; nothing here can undo the booking."""
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
                problems = conferencing.booking_calendar_push(
                    organization=organization, booking=booking
                )
        except Exception as exc:  # a calendar bug must not stop the candidate's message
            logger.exception("Calendar update for booking %s failed", booking_id)
            problems = [f"The interviewers' calendars couldn't be updated: {exc}"]
            booking.refresh_from_db(fields=["conference_status", "video_link"])
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
        if kind != "cancellation" and booking.conference_status == ConferenceStatus.PENDING:
            # The invitation waits for the conference's join URL (or its fallback).
            conferencing.conference_wait_queue(organization=organization, booking=booking)
            return
        notify.notify(organization=organization, kind=kind, request=request, booking=booking)


def after_commit(*, organization, booking: Booking, kind: str) -> None:
    booking_id = booking.pk
    transaction.on_commit(
        lambda: _after_change(organization=organization, booking_id=booking_id, kind=kind)
    )
