"""The availability engine: which interview slots a scheduling template can offer.

A pure function (no ORM, no I/O): the caller loads each member's busy time and booked counts,
this module answers with slots in UTC. Everything is computed on integer seconds since the
epoch over sorted, merged interval lists, so 3 required + 3 optional members with 500 busy
blocks each over 14 days takes a few milliseconds.

Rules, in the order they apply to a candidate start ``s`` of a slot ``[s, s + duration)``:

* **Guardrails** are weekly wall-clock windows in one IANA zone (e.g. Mon–Fri 09:00–17:00
  Europe/London). Each window is turned into UTC separately for every local date, so a London
  09:00–17:00 window is 08:00–16:00 UTC in summer and 09:00–17:00 UTC in winter. A slot lies
  wholly inside one window occurrence.
* **Daylight-saving change days**: a wall time that does not exist (the hour skipped in spring)
  means the moment of the change, so a window covers exactly the wall times that exist inside
  it; a wall time that happens twice (the hour repeated in autumn) means its first occurrence,
  so a window never runs past the first time the clock shows its end.
* **Interval**: starts are ``window start + k × interval`` (09:00, 09:30, … for 30 minutes),
  counted in elapsed time so every slot on a change day still lasts ``duration``.
* **Busy time** of every *required* member is widened by the buffers — a block ``[b0, b1)``
  becomes ``[b0 − buffer_after, b1 + buffer_before)``, so the interview keeps ``buffer_before``
  free before it and ``buffer_after`` after it — and a slot may not overlap it.
* **Daily limit**: a required member who already has ``daily_limit`` interviews on a local day
  (their own zone, else the guardrail zone) is busy for that whole day.
* **Minimum notice and horizon**: ``s >= now + minimum_notice`` and
  ``s + duration <= now + horizon``.
* **Optional members** never remove a slot; each slot lists the optional members who are free
  for it (same busy, buffer and daily-limit rules), for information.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "AvailabilityInputError",
    "DaySlots",
    "LocalSlot",
    "MemberCalendar",
    "Slot",
    "WeeklyWindows",
    "available_slots",
    "group_by_day",
    "local_to_utc",
    "resolve_zone",
]

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MIDNIGHT = time(0)
DAY_S = 86_400


class AvailabilityInputError(ValueError):
    """The inputs cannot describe availability; the message says what to change."""


# --------------------------------------------------------------------------------------------
# Inputs and outputs
# --------------------------------------------------------------------------------------------


def resolve_zone(name: str | tzinfo) -> ZoneInfo:
    """An IANA zone by name (a ``ZoneInfo`` passes through)."""
    if isinstance(name, ZoneInfo):
        return name
    if not isinstance(name, str) or not name.strip():
        raise AvailabilityInputError(
            f"{name!r} is not a time zone. Use an IANA name such as Europe/London."
        )
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise AvailabilityInputError(
            f"Unknown time zone {name!r}. Use an IANA name such as Europe/London or "
            "America/New_York."
        ) from None


@dataclass(frozen=True)
class WeeklyWindows:
    """Weekly availability windows in wall-clock time of ``zone``.

    ``windows`` maps a weekday (0 = Monday … 6 = Sunday) to ``(start, end)`` pairs of naive
    ``datetime.time``; an end of ``00:00`` means midnight at the end of the day. Overlapping or
    touching windows of one day are merged.
    """

    zone: str
    windows: Mapping[int, Sequence[tuple[time, time]]]
    _merged: dict[int, tuple[tuple[int, int], ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _zoneinfo: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zoneinfo", resolve_zone(self.zone))
        merged: dict[int, tuple[tuple[int, int], ...]] = {}
        for weekday, pairs in dict(self.windows).items():
            if not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise AvailabilityInputError(
                    f"Weekday {weekday!r} is not valid: use 0 (Monday) to 6 (Sunday)."
                )
            spans = []
            for pair in pairs:
                try:
                    start, end = pair
                except (TypeError, ValueError):
                    raise AvailabilityInputError(
                        f"{WEEKDAY_NAMES[weekday]}: {pair!r} is not a (start, end) pair of times."
                    ) from None
                spans.append(_window_seconds(weekday, start, end))
            merged[weekday] = tuple(_merge_pairs(sorted(spans)))
        object.__setattr__(self, "_merged", merged)

    @classmethod
    def every(
        cls, zone: str, start: time, end: time, weekdays: Iterable[int] = range(5)
    ) -> WeeklyWindows:
        """The same window on each of ``weekdays`` (default Monday to Friday)."""
        return cls(zone=zone, windows={day: [(start, end)] for day in weekdays})

    @property
    def zoneinfo(self) -> ZoneInfo:
        return self._zoneinfo

    def day_windows(self, weekday: int) -> tuple[tuple[int, int], ...]:
        """The merged windows of ``weekday`` as seconds after local midnight."""
        return self._merged.get(weekday, ())

    def occurrences(self, start_ts: int, end_ts: int) -> list[tuple[int, int]]:
        """Window occurrences (UTC epoch seconds) that overlap ``[start_ts, end_ts)``."""
        zone = self._zoneinfo
        first = datetime.fromtimestamp(start_ts, zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end_ts, zone).date() + timedelta(days=1)
        out: list[tuple[int, int]] = []
        day = first
        while day <= last:
            for begin_s, end_s in self._merged.get(day.weekday(), ()):
                begin = local_to_utc(_wall(day, begin_s), zone)
                finish = local_to_utc(_wall(day, end_s), zone)
                if finish > begin and finish > start_ts and begin < end_ts:
                    out.append((begin, finish))
            day += timedelta(days=1)
        out.sort()
        return out


@dataclass(frozen=True)
class MemberCalendar:
    """One hiring-team member's calendar as the engine needs it.

    ``busy``: ``(start, end)`` pairs of aware datetimes (or objects with ``start``/``end``).
    ``booked_per_day``: interviews already booked per local date, in ``timezone`` (the member's
    zone; None = the guardrail zone), for the daily limit.
    """

    member_id: str
    busy: Sequence = ()
    booked_per_day: Mapping[date, int] = field(default_factory=dict)
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """An offerable interview time. ``optional_free``: optional members free for it."""

    start: datetime
    end: datetime
    optional_free: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LocalSlot:
    """A slot as a viewer in another zone sees it."""

    slot: Slot
    start: datetime
    end: datetime


@dataclass(frozen=True)
class DaySlots:
    """The slots whose start falls on ``day`` in ``zone``."""

    day: date
    zone: str
    slots: tuple[LocalSlot, ...]


# --------------------------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------------------------


def _window_seconds(weekday: int, start: time, end: time) -> tuple[int, int]:
    label = WEEKDAY_NAMES[weekday]
    for value in (start, end):
        if not isinstance(value, time):
            raise AvailabilityInputError(f"{label}: {value!r} is not a time of day.")
        if value.tzinfo is not None:
            raise AvailabilityInputError(
                f"{label}: give window times without a time zone; the windows' zone applies."
            )
    begin = start.hour * 3600 + start.minute * 60 + start.second
    finish = DAY_S if end == MIDNIGHT else end.hour * 3600 + end.minute * 60 + end.second
    if finish <= begin:
        raise AvailabilityInputError(
            f"{label}: the window {start:%H:%M}–{end:%H:%M} ends before it starts. "
            "Use an end after the start (00:00 as an end means midnight)."
        )
    return begin, finish


def _merge_pairs(pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in pairs:
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _wall(day: date, seconds: int) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)


def local_to_utc(naive: datetime, zone: ZoneInfo) -> int:
    """Epoch seconds of a wall-clock time in ``zone``.

    A time that happens twice (clocks going back) means its first occurrence; a time that does
    not exist (clocks going forward) means the instant of the change.
    """
    first = naive.replace(tzinfo=zone, fold=0)
    ts = math.floor(first.timestamp())
    if datetime.fromtimestamp(ts, zone).replace(tzinfo=None) == naive.replace(microsecond=0):
        return ts
    # In the gap: fold=1 reads the wall time with the offset after the change (an instant
    # before it), fold=0 with the offset before (an instant after it). Find the change.
    low = math.floor(naive.replace(tzinfo=zone, fold=1).timestamp())
    high = ts
    if low > high:
        low, high = high, low
    before = datetime.fromtimestamp(low, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def _epoch(value: datetime, what: str) -> float:
    if not isinstance(value, datetime):
        raise AvailabilityInputError(f"{what} is {value!r}, not a datetime.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise AvailabilityInputError(
            f"{what} ({value.isoformat()}) has no time zone; pass aware datetimes (UTC is best)."
        )
    return value.timestamp()


def _seconds(value: timedelta, what: str, *, positive: bool = False) -> int:
    if not isinstance(value, timedelta):
        raise AvailabilityInputError(f"{what} must be a duration (timedelta), not {value!r}.")
    seconds = value.total_seconds()
    if seconds < 0 or (positive and seconds <= 0):
        need = "longer than zero" if positive else "zero or longer"
        raise AvailabilityInputError(f"{what} must be {need}; it is {value}.")
    return int(math.ceil(seconds))


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# --------------------------------------------------------------------------------------------
# Busy time per member
# --------------------------------------------------------------------------------------------


def _blocked(
    member: MemberCalendar,
    *,
    widen_before: int,
    widen_after: int,
    daily_limit: int | None,
    default_zone: ZoneInfo,
    lo: int,
    hi: int,
) -> tuple[list[int], list[int]]:
    """The member's blocked time in ``[lo, hi)`` as merged, sorted (starts, ends) lists."""
    if not isinstance(member, MemberCalendar):
        raise AvailabilityInputError(f"{member!r} is not a MemberCalendar.")
    spans: list[tuple[int, int]] = []
    floor, ceil = math.floor, math.ceil
    for index, block in enumerate(member.busy):
        start, end = block if isinstance(block, tuple) else (block.start, block.end)
        # The hot loop (thousands of blocks): checks that build messages run only on failure.
        try:
            if start.tzinfo is None or end.tzinfo is None:
                raise TypeError
            begin, finish = floor(start.timestamp()), ceil(end.timestamp())
        except (AttributeError, TypeError):
            what = f"busy block {index + 1} of {member.member_id}"
            _epoch(start, what)
            _epoch(end, what)
            raise
        if finish < begin:
            raise AvailabilityInputError(
                f"The busy block {index + 1} of {member.member_id} ends ({end.isoformat()}) "
                f"before it starts ({start.isoformat()})."
            )
        begin -= widen_after
        finish += widen_before
        if finish > lo and begin < hi and finish > begin:
            spans.append((begin, finish))
    if daily_limit is not None and member.booked_per_day:
        zone = resolve_zone(member.timezone) if member.timezone else default_zone
        for day, count in member.booked_per_day.items():
            if count >= daily_limit:
                begin = local_to_utc(datetime(day.year, day.month, day.day), zone)
                finish = local_to_utc(
                    datetime(day.year, day.month, day.day) + timedelta(days=1), zone
                )
                if finish > lo and begin < hi:
                    spans.append((begin, finish))
    spans.sort()
    merged = _merge_pairs(spans)
    return [s for s, _ in merged], [e for _, e in merged]


def _merge_lists(lists: Sequence[tuple[list[int], list[int]]]) -> tuple[list[int], list[int]]:
    if len(lists) == 1:
        return lists[0]
    pairs = sorted(pair for starts, ends in lists for pair in zip(starts, ends, strict=True))
    merged = _merge_pairs(pairs)
    return [s for s, _ in merged], [e for _, e in merged]


def _overlaps(starts: list[int], ends: list[int], begin: int, finish: int) -> bool:
    index = bisect.bisect_right(ends, begin)
    return index < len(starts) and starts[index] < finish


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------


def available_slots(
    *,
    required: Sequence[MemberCalendar],
    optional: Sequence[MemberCalendar] = (),
    guardrails: WeeklyWindows,
    duration: timedelta,
    interval: timedelta | None = None,
    minimum_notice: timedelta = timedelta(0),
    horizon: timedelta,
    buffer_before: timedelta = timedelta(0),
    buffer_after: timedelta = timedelta(0),
    daily_limit: int | None = None,
    now: datetime,
) -> list[Slot]:
    """Every slot the template can offer, earliest first (see the module docstring)."""
    if not isinstance(guardrails, WeeklyWindows):
        raise AvailabilityInputError("guardrails must be WeeklyWindows (windows in a time zone).")
    length = _seconds(duration, "The interview duration", positive=True)
    step = _seconds(
        interval if interval is not None else duration, "The slot interval", positive=True
    )
    notice = _seconds(minimum_notice, "The minimum notice")
    reach = _seconds(horizon, "The booking horizon", positive=True)
    before = _seconds(buffer_before, "The buffer before")
    after = _seconds(buffer_after, "The buffer after")
    if daily_limit is not None and (not isinstance(daily_limit, int) or daily_limit < 1):
        raise AvailabilityInputError(
            f"The daily interview limit must be a whole number of 1 or more, not {daily_limit!r} "
            "(leave it empty for no limit)."
        )
    now_ts = _epoch(now, "now")
    earliest = math.ceil(now_ts + notice)
    latest_end = math.floor(now_ts + reach)
    if latest_end - earliest < length:
        return []

    zone = guardrails.zoneinfo
    lo, hi = earliest - DAY_S, latest_end + DAY_S
    member_ids = [m.member_id for m in (*required, *optional)]
    if len(set(member_ids)) != len(member_ids):
        raise AvailabilityInputError("Each member may appear only once (required or optional).")

    def blocked(member: MemberCalendar) -> tuple[list[int], list[int]]:
        return _blocked(
            member,
            widen_before=before,
            widen_after=after,
            daily_limit=daily_limit,
            default_zone=zone,
            lo=lo,
            hi=hi,
        )

    if required:
        starts, ends = _merge_lists([blocked(member) for member in required])
    else:
        starts, ends = [], []
    optional_blocked = [(member.member_id, *blocked(member)) for member in optional]

    found: list[int] = []
    pointer = 0
    for window_start, window_end in guardrails.occurrences(earliest, latest_end):
        while pointer < len(starts) and ends[pointer] <= window_start:
            pointer += 1
        for free_start, free_end in _uncovered(window_start, window_end, starts, ends, pointer):
            low, high = max(free_start, earliest), min(free_end, latest_end)
            # The first start on the window's grid at or after ``low``.
            begin = window_start + -(-(low - window_start) // step) * step
            while begin + length <= high:
                found.append(begin)
                begin += step

    if any(later <= earlier for earlier, later in zip(found, found[1:], strict=False)):
        found = sorted(set(found))  # overlapping occurrences (a zone changing at midnight)
    slots = []
    for begin in found:
        finish = begin + length
        free = tuple(
            member_id
            for member_id, o_starts, o_ends in optional_blocked
            if not _overlaps(o_starts, o_ends, begin, finish)
        )
        slots.append(Slot(_utc(begin), _utc(finish), free))
    return slots


def _uncovered(
    begin: int, end: int, starts: list[int], ends: list[int], first: int
) -> Iterator[tuple[int, int]]:
    """The parts of ``[begin, end)`` not covered by the merged blocks from index ``first``."""
    cursor = begin
    index = first
    while index < len(starts) and starts[index] < end:
        if starts[index] > cursor:
            yield cursor, starts[index]
        cursor = max(cursor, ends[index])
        index += 1
    if cursor < end:
        yield cursor, end


def group_by_day(slots: Iterable[Slot], zone: str | ZoneInfo) -> list[DaySlots]:
    """Slots grouped by the viewer's local date (by start), dates ascending, times ascending."""
    viewer = resolve_zone(zone)
    days: dict[date, list[LocalSlot]] = {}
    for slot in sorted(slots, key=lambda s: s.start):
        start = slot.start.astimezone(viewer)
        days.setdefault(start.date(), []).append(
            LocalSlot(slot, start, slot.end.astimezone(viewer))
        )
    return [DaySlots(day, viewer.key, tuple(items)) for day, items in sorted(days.items())]
