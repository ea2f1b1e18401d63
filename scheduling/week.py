"""The Schedule page's week view: a server-rendered grid, days as columns and quarter hours as
rows, in one named zone. Interviews that overlap on a day sit side by side in lanes; cancelled
ones stay, with who cancelled them and when.

The grid is an HTML table (``rowspan`` places an interview by its start and end, a day's
``colspan`` gives its lanes), so it needs no script and no inline style (the CSP allows
neither).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import Booking, BookingStatus, CancelledBy
from .words import person_name

SLOT_MINUTES = 15
SLOTS_PER_HOUR = 60 // SLOT_MINUTES
# The hours always shown; an interview outside them widens the grid to include it.
FIRST_HOUR, LAST_HOUR = 8, 18
WEEK_PARAMETER_HELP = "Use a date written YYYY-MM-DD, such as ?view=week&week=2026-12-07."


class WeekInputError(ValueError):
    """The ``week`` parameter is not a date."""


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_week(value: str | None, *, today: date) -> date:
    """The Monday of the week ``value`` (any date of it, ``YYYY-MM-DD``) falls in; this week's
    when ``value`` is empty."""
    value = (value or "").strip()
    if not value:
        return monday_of(today)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise WeekInputError(
            f"“{value[:40]}” is not a date, so this week is shown. {WEEK_PARAMETER_HELP}"
        ) from None
    return monday_of(day)


def week_bounds(monday: date, zone: str) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 in ``zone`` (aware datetimes)."""
    tz = ZoneInfo(zone)
    return (
        datetime.combine(monday, time(), tzinfo=tz),
        datetime.combine(monday + timedelta(days=7), time(), tzinfo=tz),
    )


def cancelled_words(booking: Booking, zone: str) -> str:
    """Who cancelled and when: "Cancelled by the candidate", "Cancelled by Alex Kim", "Cancelled
    in Morgan Lee's calendar", "Cancelled when the candidate's data was erased", each followed by
    the time in ``zone``."""
    user = booking.cancelled_by_user
    if booking.cancelled_by == CancelledBy.CANDIDATE:
        who = "Cancelled by the candidate"
    elif booking.cancelled_by == CancelledBy.ERASURE:
        who = "Cancelled when the candidate's data was erased"
    elif booking.cancelled_by == CancelledBy.INTERVIEWER:
        who = (
            f"Cancelled in {person_name(user)}'s calendar"
            if user is not None
            else "Cancelled in an interviewer's calendar"
        )
    else:
        who = (
            f"Cancelled by {person_name(user)}"
            if user is not None
            else "Cancelled by a team member"
        )
    if booking.cancelled_at is None:
        return who
    moment = booking.cancelled_at.astimezone(ZoneInfo(zone))
    return f"{who} on {moment:%a %-d %b at %H:%M} ({zone})"


@dataclass
class Entry:
    """One interview's part in one day's column (an interview past midnight has two)."""

    booking: Booking
    day: date  # the column it is drawn in
    start: datetime  # the whole interview, in the grid's zone
    end: datetime
    first_slot: int
    slots: int
    interviewers: list[str]
    cancelled_text: str = ""
    lane: int = 0
    continues_from_previous_day: bool = False
    continues_next_day: bool = False

    @property
    def cancelled(self) -> bool:
        return self.booking.status == BookingStatus.CANCELLED


@dataclass
class Day:
    date: date
    is_today: bool
    entries: list[Entry] = field(default_factory=list)
    lanes: int = 1


@dataclass
class Cell:
    kind: str  # "hour" (a row heading), "entry", "empty"
    rowspan: int = 1
    entry: Entry | None = None
    label: str = ""
    day_start: bool = False  # the first lane of a day: drawn with the day's left border
    today: bool = False


@dataclass
class Week:
    monday: date
    zone: str
    days: list[Day]
    rows: list[list[Cell]]
    first_hour: int
    last_hour: int
    count: int
    cancelled_count: int

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def previous_monday(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next_monday(self) -> date:
        return self.monday + timedelta(days=7)


def _minutes(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute + (1 if moment.second or moment.microsecond else 0)


def _pieces(booking: Booking, tz: ZoneInfo, monday: date):
    """``(day index, start minute, end minute, continues before, continues after)`` of the
    interview's local time on each day of the week it touches."""
    start, end = booking.start.astimezone(tz), booking.end.astimezone(tz)
    day = start.date()
    while day <= end.date():
        index = (day - monday).days
        begins = _minutes(start) if day == start.date() else 0
        ends = _minutes(end) if day == end.date() else 24 * 60
        if 0 <= index < 7 and ends > begins:
            yield index, begins, ends, day != start.date(), day != end.date()
        day += timedelta(days=1)


def _assign_lanes(entries: list[Entry]) -> int:
    """Put overlapping entries side by side; returns the lanes the day needs."""
    lane_ends: list[int] = []
    for entry in sorted(entries, key=lambda e: (e.first_slot, -e.slots, e.booking.pk)):
        for lane, busy_until in enumerate(lane_ends):
            if busy_until <= entry.first_slot:
                entry.lane = lane
                lane_ends[lane] = entry.first_slot + entry.slots
                break
        else:
            entry.lane = len(lane_ends)
            lane_ends.append(entry.first_slot + entry.slots)
    return max(1, len(lane_ends))


def build_week(*, bookings: list[Booking], monday: date, zone: str, today: date) -> Week:
    """The grid of ``bookings`` (each with ``attendees`` set) for the week starting ``monday``."""
    tz = ZoneInfo(zone)
    days = [
        Day(date=monday + timedelta(days=n), is_today=monday + timedelta(days=n) == today)
        for n in range(7)
    ]
    pieces = []
    for booking in bookings:
        for index, begins, ends, before, after in _pieces(booking, tz, monday):
            pieces.append((booking, index, begins, ends, before, after))
    first_hour = min([FIRST_HOUR] + [begins // 60 for _, _, begins, _, _, _ in pieces])
    last_hour = max([LAST_HOUR] + [-(-ends // 60) for _, _, _, ends, _, _ in pieces])
    origin = first_hour * 60
    for booking, index, begins, ends, before, after in pieces:
        first_slot = (begins - origin) // SLOT_MINUTES
        last_slot = -(-(ends - origin) // SLOT_MINUTES)
        days[index].entries.append(
            Entry(
                booking=booking,
                day=days[index].date,
                start=booking.start.astimezone(tz),
                end=booking.end.astimezone(tz),
                first_slot=first_slot,
                slots=max(1, last_slot - first_slot),
                interviewers=[person_name(user) for user in getattr(booking, "attendees", [])],
                cancelled_text=(
                    cancelled_words(booking, zone)
                    if booking.status == BookingStatus.CANCELLED
                    else ""
                ),
                continues_from_previous_day=before,
                continues_next_day=after,
            )
        )
    for day in days:
        day.lanes = _assign_lanes(day.entries)
    slot_count = (last_hour - first_hour) * SLOTS_PER_HOUR
    rows = _rows(days, slot_count, first_hour)
    counted = {booking.pk: booking for booking, *_ in pieces}
    return Week(
        monday=monday,
        zone=zone,
        days=days,
        rows=rows,
        first_hour=first_hour,
        last_hour=last_hour,
        count=len(counted),
        cancelled_count=sum(
            1 for booking in counted.values() if booking.status == BookingStatus.CANCELLED
        ),
    )


def _rows(days: list[Day], slot_count: int, first_hour: int) -> list[list[Cell]]:
    starts: dict[tuple[int, int, int], Entry] = {}
    covered: set[tuple[int, int, int]] = set()
    for index, day in enumerate(days):
        for entry in day.entries:
            starts[(index, entry.lane, entry.first_slot)] = entry
            for slot in range(entry.first_slot + 1, entry.first_slot + entry.slots):
                covered.add((index, entry.lane, slot))
    rows = []
    for slot in range(slot_count):
        cells = []
        if slot % SLOTS_PER_HOUR == 0:
            hour = first_hour + slot // SLOTS_PER_HOUR
            cells.append(Cell(kind="hour", rowspan=SLOTS_PER_HOUR, label=f"{hour % 24:02d}:00"))
        for index, day in enumerate(days):
            for lane in range(day.lanes):
                key = (index, lane, slot)
                if key in covered:
                    continue
                starting = starts.get(key)
                cells.append(
                    Cell(
                        kind="entry" if starting else "empty",
                        rowspan=starting.slots if starting else 1,
                        entry=starting,
                        day_start=lane == 0,
                        today=day.is_today,
                    )
                )
        rows.append(cells)
    return rows
