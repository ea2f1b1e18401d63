"""The calendar layer of scheduling: whose time is busy, and the interview events in members'
calendars.

A member's calendar is one of:

* **a calendar service** (a connected ``CalendarConnection``): busy time is read from the
  service's free/busy, which includes the interview events we put there; booked interviews
  are written there as events keyed by ``booking.event_id``.
* **unreadable** (a connection that needs attention, or a read that failed): offering a time
  would be a guess, so the member is busy for the whole range and the problem is recorded on
  the connection (``last_error``) for the Schedule page and the template health check.
* **built-in** (no connection): busy blocks entered in RecruitFlow plus everything outside the
  member's working hours (``scheduling.models.MemberCalendar``, created on first use with the
  organization's time zone and Mon–Fri 09:00–17:00).

Every member's active interview holds (``BookedSlot``) are busy too, and count towards the
template's daily limit on the member's local date.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from integrations import calendar_service
from integrations.calendar_service import (
    CalendarConnection,
    CalendarConnectionStatus,
    CalendarNotConfigured,
    connection_provider,
)
from integrations.calendars import Attendee, CalendarEvent, ConferenceRequest, ProviderError
from integrations.connections import CallRecorder
from messaging.selectors import preferences_for

from . import availability as av
from .models import BookedSlot, Booking, BusyBlock, MemberCalendar, SchedulingTemplateMember
from .selectors import calendar_service_name
from .words import person_name

logger = logging.getLogger(__name__)

__all__ = [
    "NO_CALENDAR_PROBLEM",
    "CalendarStatus",
    "booking_events_push",
    "booking_events_remove",
    "calendar_statuses",
    "describe_working_hours",
    "engine_members",
    "push_callback_url",
    "working_windows",
]

DAY = timedelta(days=1)
DEFAULT_WORKING_HOURS = tuple(
    {"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)
)
NO_CALENDAR_PROBLEM = (
    "No calendar connected: candidates are offered times inside working hours that aren't "
    "blocked in RecruitFlow."
)
PROVIDER_NAMES = {
    "google": "Google",
    "office365": "Microsoft 365",
    "exchange": "Exchange",
    "outlook_com": "Outlook.com",
    "apple": "iCloud",
}
WEEKDAY_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EVENT_PREFIX = "rf-booking-"


# --------------------------------------------------------------------------------------------
# Names and working hours
# --------------------------------------------------------------------------------------------


def _zone_name(name: str | None, fallback: str) -> str:
    try:
        return av.resolve_zone(name or fallback).key
    except av.AvailabilityInputError:
        return av.resolve_zone(fallback).key if fallback else "UTC"


def _clock(value, label: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (TypeError, ValueError):
        raise av.AvailabilityInputError(
            f"{label}: {value!r} is not a time of day; use HH:MM such as 09:00."
        ) from None


def working_windows(rows: Iterable[dict] | None, zone: str) -> av.WeeklyWindows:
    """Working hours stored as ``[{"weekday": 0, "start": "09:00", "end": "17:00"}, …]`` as the
    engine's weekly windows in ``zone``. Raises ``AvailabilityInputError`` saying what is wrong."""
    windows: dict[int, list[tuple[time, time]]] = {}
    for row in rows or ():
        try:
            weekday = int(row["weekday"])
            start, end = row["start"], row["end"]
        except (KeyError, TypeError, ValueError):
            raise av.AvailabilityInputError(
                f"{row!r} is not a working-hours entry (weekday, start, end)."
            ) from None
        label = av.WEEKDAY_NAMES[weekday] if 0 <= weekday <= 6 else f"Day {weekday}"
        windows.setdefault(weekday, []).append((_clock(start, label), _clock(end, label)))
    return av.WeeklyWindows(zone=zone, windows=windows)


def describe_working_hours(rows: Iterable[dict] | None, zone: str) -> str:
    """ "Mon–Fri 09:00–17:00 Europe/London" (weekdays with the same hours are grouped)."""
    try:
        windows = working_windows(rows, zone)
    except av.AvailabilityInputError:
        return f"working hours that can't be read ({zone})"
    spans: list[tuple[list[int], str]] = []
    for weekday in range(7):
        pairs = windows.day_windows(weekday)
        if not pairs:
            continue
        text = " and ".join(f"{_hhmm(begin)}–{_hhmm(end)}" for begin, end in pairs)
        if spans and spans[-1][1] == text and spans[-1][0][-1] == weekday - 1:
            spans[-1][0].append(weekday)
        else:
            spans.append(([weekday], text))
    if not spans:
        return f"no working hours set ({zone})"
    parts = []
    for days, text in spans:
        if len(days) == 1:
            label = WEEKDAY_SHORT[days[0]]
        elif len(days) == 2:
            label = f"{WEEKDAY_SHORT[days[0]]}, {WEEKDAY_SHORT[days[1]]}"
        else:
            label = f"{WEEKDAY_SHORT[days[0]]}–{WEEKDAY_SHORT[days[-1]]}"
        parts.append(f"{label} {text}")
    return f"{', '.join(parts)} {zone}"


def _hhmm(seconds: int) -> str:
    if seconds >= 86_400:
        return "24:00"
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _default_zone(organization) -> str:
    return _zone_name(getattr(organization, "time_zone", "") or "UTC", "UTC")


# --------------------------------------------------------------------------------------------
# Which calendar each member uses
# --------------------------------------------------------------------------------------------

SERVICE, UNREADABLE, BUILTIN = calendar_service.IDENTIFIER, "unreadable", "builtin"


@dataclass
class _Source:
    user: object
    kind: str
    zone: str
    connection: CalendarConnection | None = None
    calendar: MemberCalendar | None = None
    problem: str = ""


def _connections(organization, user_ids: Sequence[int]) -> dict[int, CalendarConnection]:
    rows = CalendarConnection.objects.filter(organization=organization, user_id__in=user_ids)
    return {row.user_id: row for row in rows}


def _sources(organization, users: Sequence, *, create: bool) -> dict[int, _Source]:
    """Each user's calendar: 2 queries, plus one insert for members seen the first time."""
    ids = [user.pk for user in users]
    connections = _connections(organization, ids)
    calendars = {
        row.user_id: row
        for row in MemberCalendar.objects.filter(organization=organization, user_id__in=ids)
    }
    zone = _default_zone(organization)
    missing = [
        MemberCalendar(
            organization=organization,
            user=user,
            time_zone=zone,
            working_hours=[dict(row) for row in DEFAULT_WORKING_HOURS],
        )
        for user in users
        if user.pk not in calendars
    ]
    if missing:
        if create:
            MemberCalendar.objects.bulk_create(missing, ignore_conflicts=True)
        calendars.update({row.user_id: row for row in missing})
    out = {}
    for user in users:
        connection = connections.get(user.pk)
        calendar = calendars[user.pk]
        if connection is not None and connection.status == CalendarConnectionStatus.CONNECTED:
            out[user.pk] = _Source(
                user, SERVICE, _zone_name(connection.tzid, zone), connection, calendar
            )
        elif connection is not None and connection.status == CalendarConnectionStatus.ERROR:
            out[user.pk] = _Source(
                user,
                UNREADABLE,
                _zone_name(connection.tzid, zone),
                connection,
                calendar,
                problem=connection.last_error or "the calendar connection needs attention",
            )
        else:
            out[user.pk] = _Source(
                user, BUILTIN, _zone_name(calendar.time_zone, zone), connection, calendar
            )
    return out


# --------------------------------------------------------------------------------------------
# Busy time for the availability engine
# --------------------------------------------------------------------------------------------


def _off_hours(
    windows: av.WeeklyWindows, lo: datetime, hi: datetime, *, before: int, after: int
) -> list[tuple[datetime, datetime]]:
    """The time in ``[lo, hi)`` outside the working windows, as busy blocks.

    The engine widens every busy block by the buffers (a block ``[b0, b1)`` keeps
    ``buffer_after`` free after the member's previous commitment and ``buffer_before`` before
    the next). Working hours are not commitments: an interview may start when the working day
    starts and end when it ends, so each block is narrowed by the buffers first and the engine's
    widening restores it exactly. A gap too short to narrow stays as it is (safe: it only blocks
    a little more)."""
    lo_ts, hi_ts = int(lo.timestamp()), int(hi.timestamp())
    merged: list[list[int]] = []
    for begin, end in windows.occurrences(lo_ts, hi_ts):
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    gaps, cursor = [], lo_ts
    for begin, end in merged:
        if begin > cursor:
            gaps.append((cursor, begin))
        cursor = max(cursor, end)
    if cursor < hi_ts:
        gaps.append((cursor, hi_ts))
    blocks = []
    for begin, end in gaps:
        if end - begin > before + after:
            begin, end = begin + after, end - before
        blocks.append((datetime.fromtimestamp(begin, UTC), datetime.fromtimestamp(end, UTC)))
    return blocks


def _record_read_problem(source: _Source, exc: Exception) -> None:
    connection = source.connection
    reason = str(exc) or type(exc).__name__
    logger.warning(
        "Calendar of user %s (connection %s) can't be read: %s",
        source.user.pk,
        connection.pk if connection else None,
        reason,
    )
    source.kind, source.problem = UNREADABLE, reason
    if connection is None:
        return
    changes = {"last_error": reason}
    if isinstance(exc, ProviderError) and exc.permanent:
        changes["status"] = CalendarConnectionStatus.ERROR
    CalendarConnection.objects.filter(pk=connection.pk).update(**changes)
    for field_name, value in changes.items():
        setattr(connection, field_name, value)


def _service_busy(
    organization, source: _Source, lo: datetime, hi: datetime, recorder: CallRecorder
) -> list[tuple[datetime, datetime]] | None:
    """The member's busy time in the calendar service, or None (and the problem recorded)
    when unreadable."""
    connection = source.connection
    try:
        provider, account = connection_provider(connection, recorder=recorder)
        blocks = provider.free_busy(account, lo, hi)
    except (ProviderError, CalendarNotConfigured) as exc:
        _record_read_problem(source, exc)
        return None
    if connection.last_error:
        CalendarConnection.objects.filter(pk=connection.pk).update(last_error="")
        connection.last_error = ""
    return [(block.start, block.end) for block in blocks]


def _without_one(
    blocks: list[tuple[datetime, datetime]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """``blocks`` less one block exactly ``[start, end)`` (a booking's own event, which
    the calendar service reports as busy, must not block moving that booking)."""
    for index, (begin, finish) in enumerate(blocks):
        if begin == start and finish == end:
            return blocks[:index] + blocks[index + 1 :]
    return blocks


def engine_members(
    *,
    organization,
    template,
    start: datetime,
    end: datetime,
    exclude_booking: Booking | None = None,
) -> tuple[list[av.MemberCalendar], list[av.MemberCalendar]]:
    """``(required, optional)`` members of ``template`` as the availability engine's calendars
    over ``[start, end)``; ``member_id`` is ``str(user.pk)``. Holds of ``exclude_booking`` (the
    booking being moved) are not busy time. Never raises for a calendar service problem: that
    member is busy throughout and the problem is recorded on their connection."""
    members = list(
        SchedulingTemplateMember.objects.filter(organization=organization, template=template)
        .select_related("user")
        .order_by("-required", "id")
    )
    if not members:
        return [], []
    users = [member.user for member in members]
    sources = _sources(organization, users, create=True)
    ids = [user.pk for user in users]

    holds = BookedSlot.objects.filter(
        organization=organization,
        user_id__in=ids,
        active=True,
        start__lt=end + DAY,
        end__gt=start - DAY,
    )
    if exclude_booking is not None:
        holds = holds.exclude(booking_id=exclude_booking.pk)
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    per_day: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    zones = {pk: ZoneInfo(source.zone) for pk, source in sources.items()}
    for user_id, hold_start, hold_end in holds.values_list("user_id", "start", "end"):
        busy[user_id].append((hold_start, hold_end))
        per_day[user_id][hold_start.astimezone(zones[user_id]).date()] += 1

    builtin_ids = [pk for pk, source in sources.items() if source.kind == BUILTIN]
    if builtin_ids:
        blocks = BusyBlock.objects.filter(
            organization=organization, user_id__in=builtin_ids, start__lt=end, end__gt=start
        ).values_list("user_id", "start", "end")
        for user_id, block_start, block_end in blocks:
            busy[user_id].append((block_start, block_end))

    before = int(template.buffer_before_minutes) * 60
    after = int(template.buffer_after_minutes) * 60
    recorder = CallRecorder(organization=organization, provider=calendar_service.IDENTIFIER)
    try:
        for pk, source in sources.items():
            if source.kind == SERVICE:
                remote = _service_busy(organization, source, start, end, recorder)
                if remote is not None:
                    if exclude_booking is not None:
                        remote = _without_one(remote, exclude_booking.start, exclude_booking.end)
                    busy[pk].extend(remote)
            elif source.kind == BUILTIN:
                try:
                    windows = working_windows(source.calendar.working_hours, source.zone)
                except av.AvailabilityInputError as exc:
                    logger.warning("Working hours of user %s can't be read: %s", pk, exc)
                    source.kind, source.problem = UNREADABLE, str(exc)
                else:
                    busy[pk].extend(
                        _off_hours(windows, start - DAY, end + DAY, before=before, after=after)
                    )
            if source.kind == UNREADABLE:
                busy[pk] = [(start - DAY, end + DAY)]
    finally:
        if recorder.pending:
            recorder.flush()

    required, optional = [], []
    for member in members:
        pk = member.user.pk
        calendar = av.MemberCalendar(
            member_id=str(pk),
            busy=busy[pk],
            booked_per_day=dict(per_day[pk]),
            timezone=sources[pk].zone,
        )
        (required if member.required else optional).append(calendar)
    return required, optional


# --------------------------------------------------------------------------------------------
# What the team sees about each member's calendar
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarStatus:
    """How a member's availability is known. ``kind``: the calendar service's identifier
    (``integrations.calendar_service.IDENTIFIER``) or "builtin"."""

    kind: str
    connected: bool
    label: str
    problem: str = ""

    @property
    def uses_service(self) -> bool:
        """True when availability comes from a connected calendar service (which may need
        attention), False for the built-in calendar."""
        return self.kind == SERVICE


def _service_label(connection: CalendarConnection) -> str:
    service = PROVIDER_NAMES.get(connection.provider_name, connection.provider_name.title())
    who = connection.email or connection.calendar_name or connection.profile_name
    prefix = f"{service} calendar" if service else "Calendar"
    return f"{prefix} {who} ({calendar_service_name()})".replace("  ", " ")


def calendar_statuses(*, organization, users: Iterable) -> dict[int, CalendarStatus]:
    """Each user's calendar as the team sees it (read only: creates nothing)."""
    users = list(users)
    if not users:
        return {}
    out = {}
    for pk, source in _sources(organization, users, create=False).items():
        name = person_name(source.user)
        connection = source.connection
        if source.kind == SERVICE:
            problem = (
                f"{name}'s calendar can't be read: {connection.last_error}"
                if connection.last_error
                else ""
            )
            out[pk] = CalendarStatus(SERVICE, True, _service_label(connection), problem)
        elif source.kind == UNREADABLE:
            out[pk] = CalendarStatus(
                SERVICE,
                False,
                _service_label(connection),
                f"{name}'s calendar can't be read: {source.problem} No times are offered "
                f"with {name} until the calendar is connected again.",
            )
        else:
            hours = describe_working_hours(source.calendar.working_hours, source.zone)
            label = f"Built-in calendar (working hours {hours})"
            if connection is not None and connection.status == CalendarConnectionStatus.PENDING:
                problem = (
                    f"The calendar {connection.email} is waiting for authorization. Until then "
                    "candidates are offered times inside working hours that aren't blocked in "
                    "RecruitFlow."
                )
            else:
                problem = NO_CALENDAR_PROBLEM
            out[pk] = CalendarStatus(BUILTIN, False, label, problem)
    return out


# --------------------------------------------------------------------------------------------
# Interview events in members' calendars
# --------------------------------------------------------------------------------------------


def push_callback_url(organization) -> str:
    """Where the calendar service sends change notifications for this organization's calendars."""
    token = preferences_for(organization=organization).endpoint_token
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
        f"scheduling_webhooks:{calendar_service.IDENTIFIER}", args=[token]
    )


def enterprise_connect_callback_url(organization) -> str:
    """Where the calendar service posts the result of connecting a teammate's calendar by e-mail
    (``connection_request_enterprise_connect(callback_url=...)``)."""
    token = preferences_for(organization=organization).endpoint_token
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
        f"scheduling_webhooks:{calendar_service.IDENTIFIER}-authorization", args=[token]
    )


def _event(
    booking: Booking, attendees: list, tzid: str, conference: ConferenceRequest | None = None
) -> CalendarEvent:
    candidate = booking.candidate
    lines = []
    description = (booking.template.description or "").strip()
    if description:
        lines += [description, ""]
    lines.append(f"Candidate: {candidate.full_name}")
    if candidate.primary_email:
        lines.append(f"E-mail: {candidate.primary_email}")
    if getattr(candidate, "mobile_phone", ""):
        lines.append(f"Phone: {candidate.mobile_phone}")
    lines.append(
        "Profile in RecruitFlow: "
        + settings.PUBLIC_BASE_URL.rstrip("/")
        + reverse("candidates:detail", args=[candidate.pk])
    )
    if booking.video_link:
        lines.append(f"Join the video meeting: {booking.video_link}")
    if booking.location:
        lines.append(f"Where: {booking.location}")
    # The candidate is not an attendee here: their invitation is our own e-mail with the .ics
    # (one invitation, in our brand), not one from every interviewer's calendar service.
    invitees = [Attendee(email=user.email, name=person_name(user)) for user in attendees]
    return CalendarEvent(
        event_id=booking.event_id,
        start=booking.start,
        end=booking.end,
        summary=booking.title,
        description="\n".join(lines)[:4000],
        location=booking.location or booking.video_link,
        url=booking.video_link,
        attendees=tuple(invitees),
        tzid=tzid or "Etc/UTC",
        conference=conference,
    )


def _attendees(booking: Booking) -> list:
    ids = [int(pk) for pk in booking.attendee_ids or []]
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=ids)}
    return [users[pk] for pk in ids if pk in users]


def _former_attendees(booking: Booking, current: Sequence[int]) -> list:
    """Members who held a seat at this booking before (a reschedule) but don't now."""
    held = set(
        BookedSlot.objects.filter(organization_id=booking.organization_id, booking=booking)
        .exclude(user_id__in=current)
        .values_list("user_id", flat=True)
    )
    return list(get_user_model().objects.filter(pk__in=held)) if held else []


def _write(
    organization, users: Sequence, action, failure: str, failed: list[int] | None = None
) -> list[str]:
    """Run ``action(provider, account, connection)`` for each user with a connected calendar;
    return the problems as sentences. ``failure``: "Couldn't add the interview to {name}'s
    calendar"."""
    problems: list[str] = []
    if not users:
        return problems
    connections = _connections(organization, [user.pk for user in users])
    recorder = CallRecorder(organization=organization, provider=calendar_service.IDENTIFIER)
    try:
        for user in users:
            connection = connections.get(user.pk)
            if connection is None or connection.status in (
                CalendarConnectionStatus.PENDING,
                CalendarConnectionStatus.DISCONNECTED,
            ):
                continue  # built-in calendar: the booking's holds are the event
            name = person_name(user)
            if connection.status == CalendarConnectionStatus.ERROR:
                if failed is not None:
                    failed.append(user.pk)
                problems.append(
                    f"{failure.format(name=name)}: the calendar connection needs attention "
                    f"({connection.last_error or 'connect the calendar again'})."
                )
                continue
            try:
                provider, account = connection_provider(connection, recorder=recorder)
                action(provider, account, connection)
            except (ProviderError, CalendarNotConfigured) as exc:
                logger.warning("%s (user %s): %s", failure.format(name="a member"), user.pk, exc)
                problems.append(f"{failure.format(name=name)}: {exc}")
                if failed is not None:
                    failed.append(user.pk)
    finally:
        if recorder.pending:
            recorder.flush()
    return problems


def booking_events_push(
    *,
    organization,
    booking: Booking,
    conference_for: Callable[[int], ConferenceRequest | None] | None = None,
    failed: list[int] | None = None,
) -> list[str]:
    """Create or update the interview event (keyed by ``booking.event_id``) in the calendar of
    every attendee with a connected calendar, and remove it from members who are no longer
    invited. ``conference_for(user_id)`` says what each attendee's event asks of conferencing
    (``scheduling.conferencing``); ``failed`` collects the ids of attendees whose event could not
    be written. Returns the problems as sentences; never raises for a calendar service error."""
    attendees = _attendees(booking)

    def upsert(provider, account, connection):
        conference = conference_for(connection.user_id) if conference_for else None
        provider.upsert_event(account, _event(booking, attendees, connection.tzid, conference))

    def delete(provider, account, connection):
        provider.delete_event(account, booking.event_id)

    problems = _write(
        organization,
        attendees,
        upsert,
        "Couldn't add the interview to {name}'s calendar",
        failed,
    )
    former = _former_attendees(booking, [user.pk for user in attendees])
    problems += _write(
        organization, former, delete, "Couldn't remove the interview from {name}'s calendar"
    )
    return problems


def booking_events_remove(*, organization, booking: Booking) -> list[str]:
    """Delete the interview event from every attendee's connected calendar (already gone is
    fine). Returns the problems as sentences; never raises for a calendar service error."""
    attendees = _attendees(booking)
    attendees += _former_attendees(booking, [user.pk for user in attendees])

    def delete(provider, account, connection):
        provider.delete_event(account, booking.event_id)

    return _write(
        organization, attendees, delete, "Couldn't remove the interview from {name}'s calendar"
    )


def connection_profile_disconnected(*, organization, channel_id: str) -> bool:
    """The calendar service lost access to the calendar account: the connection needs attention."""
    updated = CalendarConnection.objects.filter(
        organization=organization,
        channel_id=channel_id,
        status=CalendarConnectionStatus.CONNECTED,
    ).update(
        status=CalendarConnectionStatus.ERROR,
        last_error=(
            f"The calendar service disconnected the account from {calendar_service_name()}. "
            "Connect the calendar again in Schedule → My calendar."
        ),
    )
    return bool(updated)
