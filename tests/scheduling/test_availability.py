"""The availability engine: properties over random calendars, and the daylight-saving weeks.

The property tests compare the engine with a deliberately slow oracle written from the rules
(minute-by-minute wall-clock scans, pairwise overlap checks), so they catch missing slots as
well as wrong ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduling.availability import (
    AvailabilityInputError,
    MemberCalendar,
    WeeklyWindows,
    available_slots,
    group_by_day,
)

MINUTE = timedelta(minutes=1)
LONDON = "Europe/London"
NEW_YORK = "America/New_York"
TOKYO = "Asia/Tokyo"

# Zones with the awkward cases: DST in either hemisphere, 30-minute DST (Lord Howe), odd
# offsets (Kathmandu +05:45, Chatham +12:45/+13:45) and none at all (Tokyo).
ZONES = [
    LONDON,
    NEW_YORK,
    TOKYO,
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
]
# 2026 clock changes of those zones (UTC), so many examples straddle one.
CHANGES = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # London forward
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # London back
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York forward
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # New York back
    datetime(2026, 4, 4, 15, tzinfo=UTC),  # Lord Howe back (30 minutes)
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),  # Lord Howe forward
    datetime(2026, 4, 4, 14, tzinfo=UTC),  # Chatham back
    datetime(2026, 9, 26, 14, tzinfo=UTC),  # Chatham forward
]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hhmm(value: datetime) -> str:
    return value.strftime("%H:%M")


def busy_at(zone: str, day: date, start: time, end: time) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return (
        datetime.combine(day, start, tz).astimezone(UTC),
        datetime.combine(day, end, tz).astimezone(UTC),
    )


# --------------------------------------------------------------------------------------------
# The oracle
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    required: list[MemberCalendar]
    optional: list[MemberCalendar]
    zone: str
    windows: dict[int, list[tuple[time, time]]]
    duration: timedelta
    interval: timedelta
    notice: timedelta
    horizon: timedelta
    before: timedelta
    after: timedelta
    daily_limit: int | None
    now: datetime

    @property
    def guardrails(self) -> WeeklyWindows:
        return WeeklyWindows(self.zone, self.windows)

    def run(self, *, optional=None):
        return available_slots(
            required=self.required,
            optional=self.optional if optional is None else optional,
            guardrails=self.guardrails,
            duration=self.duration,
            interval=self.interval,
            minimum_notice=self.notice,
            horizon=self.horizon,
            buffer_before=self.before,
            buffer_after=self.after,
            daily_limit=self.daily_limit,
            now=self.now,
        )


def wall_boundary(day: date, wall: time, zone: ZoneInfo, *, end: bool) -> datetime:
    """The first instant whose wall-clock reading in ``zone`` reaches ``wall`` on ``day``
    (``00:00`` as an end = the next midnight), found by scanning minute by minute."""
    target = datetime.combine(day, wall)
    if end and wall == time(0):
        target += timedelta(days=1)
    guess = target.replace(tzinfo=zone).astimezone(UTC)
    instant = guess - timedelta(hours=3)
    while instant.astimezone(zone).replace(tzinfo=None) < target:
        instant += MINUTE
    return instant


def window_occurrences(case: Case) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(case.zone)
    first = (case.now - timedelta(days=2)).astimezone(zone).date()
    last = (case.now + case.horizon + timedelta(days=2)).astimezone(zone).date()
    out = []
    day = first
    while day <= last:
        for start, end in case.windows.get(day.weekday(), []):
            begin = wall_boundary(day, start, zone, end=False)
            finish = wall_boundary(day, end, zone, end=True)
            if finish > begin:
                out.append((begin, finish))
        day += timedelta(days=1)
    return out


def member_free(case: Case, member: MemberCalendar, start: datetime, end: datetime) -> bool:
    for busy_start, busy_end in member.busy:
        widened_start, widened_end = busy_start - case.after, busy_end + case.before
        if widened_end > widened_start and start < widened_end and end > widened_start:
            return False
    if case.daily_limit is not None:
        zone = ZoneInfo(member.timezone or case.zone)
        for instant in (start, end - timedelta(seconds=1)):
            if member.booked_per_day.get(instant.astimezone(zone).date(), 0) >= case.daily_limit:
                return False
    return True


def oracle(case: Case) -> list[tuple[datetime, datetime]]:
    earliest = case.now + case.notice
    latest_end = case.now + case.horizon
    found = []
    for begin, finish in window_occurrences(case):
        start = begin
        while start + case.duration <= finish:
            end = start + case.duration
            if (
                start >= earliest
                and end <= latest_end
                and all(member_free(case, m, start, end) for m in case.required)
            ):
                found.append((start, end))
            start += case.interval
    return sorted(found)


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

quarter_hours = st.lists(st.integers(0, 96), min_size=0, max_size=4, unique=True).map(sorted)


@st.composite
def weekly_windows(draw) -> dict[int, list[tuple[time, time]]]:
    """Up to two windows a day on quarter hours, never touching (so none merge)."""
    windows = {}
    for weekday in range(7):
        marks = [m for m in draw(quarter_hours) if m < 96] + [96] * draw(st.booleans())
        marks = sorted(set(marks))
        pairs = []
        for begin, end in zip(marks[::2], marks[1::2], strict=False):
            start = (datetime.min + timedelta(minutes=15 * begin)).time()
            stop = time(0) if end == 96 else (datetime.min + timedelta(minutes=15 * end)).time()
            pairs.append((start, stop))
        if pairs:
            windows[weekday] = pairs
    return windows


moments = st.one_of(
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 15), timezones=st.just(UTC)
    ),
    st.tuples(st.sampled_from(CHANGES), st.integers(-4 * 24 * 60, 24 * 60)).map(
        lambda pair: pair[0] + timedelta(minutes=pair[1])
    ),
).map(lambda moment: moment.replace(microsecond=0))


@st.composite
def members(draw, now: datetime, prefix: str, count: int) -> list[MemberCalendar]:
    out = []
    for index in range(count):
        busy = []
        for _ in range(draw(st.integers(0, 25))):
            offset = draw(st.integers(-24 * 60, 16 * 24 * 60))
            length = draw(st.integers(5, 240))
            start = now + timedelta(minutes=offset)
            busy.append((start, start + timedelta(minutes=length)))
        zone = draw(st.one_of(st.none(), st.sampled_from(ZONES)))
        first_day = now.date() - timedelta(days=1)
        booked = {
            first_day + timedelta(days=day): draw(st.integers(0, 3))
            for day in draw(st.lists(st.integers(0, 17), max_size=6, unique=True))
        }
        out.append(MemberCalendar(f"{prefix}{index}", busy, booked, zone))
    return out


@st.composite
def cases(draw) -> Case:
    now = draw(moments)
    return Case(
        required=draw(members(now, "r", draw(st.integers(0, 3)))),
        optional=draw(members(now, "o", draw(st.integers(0, 3)))),
        zone=draw(st.sampled_from(ZONES)),
        windows=draw(weekly_windows()),
        duration=timedelta(minutes=5 * draw(st.integers(3, 24))),
        interval=timedelta(minutes=5 * draw(st.integers(1, 24))),
        notice=timedelta(minutes=15 * draw(st.integers(0, 4 * 48))),
        horizon=timedelta(hours=draw(st.integers(1, 14 * 24))),
        before=timedelta(minutes=5 * draw(st.integers(0, 6))),
        after=timedelta(minutes=5 * draw(st.integers(0, 6))),
        daily_limit=draw(st.one_of(st.none(), st.integers(1, 3))),
        now=now,
    )


PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@PROPERTY
@given(cases())
def test_the_engine_offers_exactly_the_slots_the_rules_allow(case):
    assert [(s.start, s.end) for s in case.run()] == oracle(case)


@PROPERTY
@given(cases())
def test_no_slot_overlaps_a_required_members_busy_time_widened_by_the_buffers(case):
    for slot in case.run():
        for member in case.required:
            for busy_start, busy_end in member.busy:
                assert not (
                    slot.start < busy_end + case.before and slot.end > busy_start - case.after
                ), (member.member_id, slot, busy_start, busy_end)


@PROPERTY
@given(cases())
def test_optional_members_never_remove_a_slot(case):
    with_optional = case.run()
    without = case.run(optional=[])
    assert [(s.start, s.end) for s in with_optional] == [(s.start, s.end) for s in without]
    for slot in with_optional:
        expected = tuple(
            m.member_id for m in case.optional if member_free(case, m, slot.start, slot.end)
        )
        assert slot.optional_free == expected


@PROPERTY
@given(cases())
def test_every_slot_lies_inside_one_guardrail_window_in_the_guardrail_zone(case):
    zone = ZoneInfo(case.zone)
    for slot in case.run():
        local_start = slot.start.astimezone(zone)
        local_end = slot.end.astimezone(zone)
        day = local_start.date()
        inside = False
        for start, end in case.windows.get(day.weekday(), []):
            window_end = datetime.combine(day, end) + timedelta(days=end == time(0))
            if (
                local_start.replace(tzinfo=None) >= datetime.combine(day, start)
                and local_end.replace(tzinfo=None) <= window_end
            ):
                inside = True
        assert inside, (slot, local_start, local_end, case.windows.get(day.weekday()))


@PROPERTY
@given(cases())
def test_slots_respect_notice_horizon_duration_and_interval_alignment(case):
    windows = window_occurrences(case)
    for slot in case.run():
        assert slot.start.tzinfo is UTC
        assert slot.end - slot.start == case.duration
        assert slot.start >= case.now + case.notice
        assert slot.end <= case.now + case.horizon
        containing = [w for w in windows if w[0] <= slot.start and slot.end <= w[1]]
        assert containing
        assert (slot.start - containing[0][0]) % case.interval == timedelta(0)


@PROPERTY
@given(cases())
def test_no_slot_falls_on_a_day_a_required_member_has_reached_the_daily_limit(case):
    if case.daily_limit is None:
        return
    for slot in case.run():
        for member in case.required:
            zone = ZoneInfo(member.timezone or case.zone)
            for instant in (slot.start, slot.end - timedelta(seconds=1)):
                booked = member.booked_per_day.get(instant.astimezone(zone).date(), 0)
                assert booked < case.daily_limit, (member.member_id, slot)


# --------------------------------------------------------------------------------------------
# Daylight saving, by hand
# --------------------------------------------------------------------------------------------


def slots_by_local_day(slots, zone: str) -> dict[date, tuple[str, str, int]]:
    """Per local day of ``zone``: first start and last end in UTC, and how many slots."""
    return {
        day.day: (hhmm(day.slots[0].slot.start), hhmm(day.slots[-1].slot.end), len(day.slots))
        for day in group_by_day(slots, zone)
    }


def nine_to_five(zone: str, *, now: datetime, days: int = 7, interval: int = 60):
    return available_slots(
        required=[MemberCalendar("interviewer")],
        guardrails=WeeklyWindows.every(zone, time(9), time(17)),
        duration=timedelta(minutes=60),
        interval=timedelta(minutes=interval),
        horizon=timedelta(days=days),
        now=now,
    )


def test_london_nine_to_five_moves_an_hour_earlier_in_utc_when_the_clocks_go_forward():
    slots = nine_to_five(LONDON, now=utc(2026, 3, 26, 6))

    by_day = slots_by_local_day(slots, LONDON)

    assert by_day[date(2026, 3, 26)] == ("09:00", "17:00", 8)  # Thursday, GMT
    assert by_day[date(2026, 3, 27)] == ("09:00", "17:00", 8)  # Friday, GMT
    assert date(2026, 3, 29) not in by_day  # Sunday: the clocks change, no window
    assert by_day[date(2026, 3, 30)] == ("08:00", "16:00", 8)  # Monday, BST
    assert by_day[date(2026, 4, 1)] == ("08:00", "16:00", 8)
    local = [s.start.astimezone(ZoneInfo(LONDON)).strftime("%a %H:%M") for s in slots]
    assert local[0] == "Thu 09:00" and "Mon 09:00" in local and "Mon 08:00" not in local


def test_london_nine_to_five_moves_an_hour_later_in_utc_when_the_clocks_go_back():
    slots = nine_to_five(LONDON, now=utc(2026, 10, 22, 6))

    by_day = slots_by_local_day(slots, LONDON)

    assert by_day[date(2026, 10, 23)] == ("08:00", "16:00", 8)  # Friday, BST
    assert by_day[date(2026, 10, 26)] == ("09:00", "17:00", 8)  # Monday, GMT
    assert by_day[date(2026, 10, 28)] == ("09:00", "17:00", 8)


def test_new_york_nine_to_five_follows_eastern_time_across_both_changes():
    spring = slots_by_local_day(nine_to_five(NEW_YORK, now=utc(2026, 3, 5, 12)), NEW_YORK)
    autumn = slots_by_local_day(nine_to_five(NEW_YORK, now=utc(2026, 10, 29, 12)), NEW_YORK)

    assert spring[date(2026, 3, 6)] == ("14:00", "22:00", 8)  # Friday, EST (UTC−5)
    assert spring[date(2026, 3, 9)] == ("13:00", "21:00", 8)  # Monday, EDT (UTC−4)
    assert autumn[date(2026, 10, 30)] == ("13:00", "21:00", 8)  # Friday, EDT
    assert autumn[date(2026, 11, 2)] == ("14:00", "22:00", 8)  # Monday, EST


def test_between_the_american_and_european_changes_new_york_is_four_hours_behind_london():
    # 8 March: New York has moved, London has not. A London 14:00–17:00 window is 14:00–17:00
    # UTC and a New York 09:00–12:00 window 13:00–16:00 UTC: a shared team sees 14:00–16:00.
    london = WeeklyWindows.every(LONDON, time(14), time(17))
    slots = available_slots(
        required=[MemberCalendar("uk")],
        guardrails=london,
        duration=timedelta(minutes=60),
        horizon=timedelta(days=2),
        now=utc(2026, 3, 10, 6),
    )
    assert [hhmm(s.start) for s in slots][:3] == ["14:00", "15:00", "16:00"]
    new_york_view = [s.start.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M") for s in slots]
    assert new_york_view[:3] == ["10:00", "11:00", "12:00"]


def night_window(zone: str, start: time, end: time, *, now: datetime, minutes: int = 30):
    return available_slots(
        required=[],
        guardrails=WeeklyWindows(zone, {6: [(start, end)]}),  # Sunday: the change day
        duration=timedelta(minutes=minutes),
        horizon=timedelta(days=3),
        now=now,
    )


def test_a_window_across_the_skipped_hour_covers_only_the_time_that_exists():
    # London, 29 March 2026: 01:00 GMT becomes 02:00 BST. 00:30–03:30 wall clock is two hours.
    slots = night_window(LONDON, time(0, 30), time(3, 30), now=utc(2026, 3, 28, 12))

    assert [hhmm(s.start) for s in slots] == ["00:30", "01:00", "01:30", "02:00"]
    local = [s.start.astimezone(ZoneInfo(LONDON)).strftime("%H:%M %Z") for s in slots]
    assert local == ["00:30 GMT", "02:00 BST", "02:30 BST", "03:00 BST"]


def test_a_window_inside_the_skipped_hour_offers_nothing_and_does_not_fail():
    assert night_window(LONDON, time(1, 15), time(1, 45), now=utc(2026, 3, 28, 12)) == []


def test_a_window_starting_in_the_skipped_hour_starts_at_the_change():
    # New York, 8 March 2026: 02:00 EST becomes 03:00 EDT (07:00 UTC).
    slots = night_window(NEW_YORK, time(2, 30), time(4), now=utc(2026, 3, 7, 12))

    assert [hhmm(s.start) for s in slots] == ["07:00", "07:30"]
    local = [s.start.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M") for s in slots]
    assert local == ["03:00", "03:30"]


def test_a_wall_time_that_happens_twice_means_its_first_occurrence():
    # London, 25 October 2026: 02:00 BST becomes 01:00 GMT, so 01:00–02:00 happens twice.
    # 01:30–03:00 runs from the first 01:30 (00:30 UTC) to 03:00 GMT: two and a half hours.
    slots = night_window(LONDON, time(1, 30), time(3), now=utc(2026, 10, 24, 12))

    assert [hhmm(s.start) for s in slots] == ["00:30", "01:00", "01:30", "02:00", "02:30"]
    local = [s.start.astimezone(ZoneInfo(LONDON)).strftime("%H:%M %Z") for s in slots]
    assert local == ["01:30 BST", "01:00 GMT", "01:30 GMT", "02:00 GMT", "02:30 GMT"]


def test_a_window_ending_in_the_repeated_hour_ends_the_first_time_the_clock_shows_it():
    slots = night_window(LONDON, time(0), time(1, 30), now=utc(2026, 10, 24, 12))

    assert [hhmm(s.start) for s in slots] == ["23:00", "23:30", "00:00"]
    assert slots[-1].end == utc(2026, 10, 25, 0, 30)  # 01:30 BST, not 01:30 GMT


def test_a_candidate_in_tokyo_sees_london_slots_grouped_by_their_own_days():
    # Monday 12 January 2026, London 13:00–17:00 GMT = 22:00–02:00 in Tokyo (UTC+9).
    slots = available_slots(
        required=[MemberCalendar("interviewer")],
        guardrails=WeeklyWindows.every(LONDON, time(13), time(17)),
        duration=timedelta(minutes=60),
        horizon=timedelta(hours=20),
        now=utc(2026, 1, 12, 8),
    )

    days = group_by_day(slots, TOKYO)

    assert [d.day for d in days] == [date(2026, 1, 12), date(2026, 1, 13)]
    assert all(d.zone == TOKYO for d in days)
    assert [s.start.strftime("%H:%M") for s in days[0].slots] == ["22:00", "23:00"]
    assert [s.start.strftime("%H:%M") for s in days[1].slots] == ["00:00", "01:00"]
    assert days[1].slots[-1].end.strftime("%Y-%m-%d %H:%M %Z") == "2026-01-13 02:00 JST"
    # The London view of the same slots is one day.
    assert [d.day for d in group_by_day(slots, LONDON)] == [date(2026, 1, 12)]


# --------------------------------------------------------------------------------------------
# Rules, by hand
# --------------------------------------------------------------------------------------------

MONDAY = date(2026, 1, 12)


def one_day(**kwargs):
    defaults = {
        "required": [MemberCalendar("ana")],
        "guardrails": WeeklyWindows.every(LONDON, time(9), time(17)),
        "duration": timedelta(minutes=45),
        "interval": timedelta(minutes=15),
        "horizon": timedelta(hours=16),
        "now": utc(2026, 1, 12, 7),
    }
    defaults.update(kwargs)
    return available_slots(**defaults)


def test_buffers_keep_free_time_around_each_busy_block():
    busy = busy_at(LONDON, MONDAY, time(10), time(11))
    slots = one_day(
        required=[MemberCalendar("ana", [busy])],
        buffer_before=timedelta(minutes=15),
        buffer_after=timedelta(minutes=15),
    )
    starts = [hhmm(s.start) for s in slots]

    assert "09:00" in starts  # ends 09:45, 15 minutes before the meeting
    assert "09:15" not in starts  # would end 10:00: no time after it
    assert "11:00" not in starts  # no time before it
    assert "11:15" in starts


def test_minimum_notice_moves_the_first_slot_to_the_next_aligned_start():
    slots = one_day(now=utc(2026, 1, 12, 10, 7), minimum_notice=timedelta(hours=2))

    assert hhmm(slots[0].start) == "12:15"


def test_a_required_member_at_the_daily_limit_has_no_slots_that_day():
    tuesday = MONDAY + timedelta(days=1)
    slots = one_day(
        required=[MemberCalendar("ana", booked_per_day={tuesday: 2})],
        horizon=timedelta(days=3),
        daily_limit=2,
    )

    days = {d.day for d in group_by_day(slots, LONDON)}
    assert days == {MONDAY, MONDAY + timedelta(days=2)}


def test_the_daily_limit_counts_days_in_the_members_own_zone():
    # Ana works from New York: her Monday runs 05:00 Monday to 05:00 Tuesday UTC, so a London
    # Tuesday 09:00 slot is her Tuesday and stays open.
    slots = one_day(
        required=[MemberCalendar("ana", booked_per_day={MONDAY: 3}, timezone=NEW_YORK)],
        horizon=timedelta(days=2),
        daily_limit=3,
    )

    assert {d.day for d in group_by_day(slots, LONDON)} == {MONDAY + timedelta(days=1)}


def test_a_busy_optional_member_is_listed_as_not_free_but_the_slot_stays():
    busy = busy_at(LONDON, MONDAY, time(9), time(12))
    slots = one_day(optional=[MemberCalendar("ben", [busy]), MemberCalendar("cy")])
    by_start = {hhmm(s.start): s for s in slots}

    assert by_start["09:00"].optional_free == ("cy",)
    assert by_start["12:00"].optional_free == ("ben", "cy")


def test_overlapping_windows_of_a_day_merge_into_one():
    guardrails = WeeklyWindows(LONDON, {0: [(time(9), time(12)), (time(11), time(14))]})
    slots = one_day(guardrails=guardrails, duration=timedelta(minutes=60), interval=None)

    assert [hhmm(s.start) for s in slots] == ["09:00", "10:00", "11:00", "12:00", "13:00"]


def test_a_midnight_end_means_the_end_of_the_day():
    guardrails = WeeklyWindows(LONDON, {0: [(time(22), time(0))]})
    slots = one_day(
        guardrails=guardrails,
        duration=timedelta(minutes=60),
        interval=None,
        horizon=timedelta(days=1),
    )

    assert [(hhmm(s.start), hhmm(s.end)) for s in slots] == [("22:00", "23:00"), ("23:00", "00:00")]


def test_nothing_is_offered_when_the_horizon_is_shorter_than_the_notice():
    assert one_day(minimum_notice=timedelta(hours=20), horizon=timedelta(hours=10)) == []


def test_busy_time_given_as_objects_with_start_and_end_is_understood():
    @dataclass
    class Busy:
        start: datetime
        end: datetime

    busy = Busy(*busy_at(LONDON, MONDAY, time(9), time(16)))
    slots = one_day(required=[MemberCalendar("ana", [busy])])

    assert [hhmm(s.start) for s in slots] == ["16:00", "16:15"]


# --------------------------------------------------------------------------------------------
# Bad input gets a clear error
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"now": datetime(2026, 1, 12, 7)}, "has no time zone; pass aware datetimes"),
        ({"duration": timedelta(0)}, "The interview duration must be longer than zero"),
        ({"interval": timedelta(minutes=-5)}, "The slot interval must be longer than zero"),
        ({"minimum_notice": 3}, "The minimum notice must be a duration"),
        ({"daily_limit": 0}, "The daily interview limit must be a whole number of 1 or more"),
        (
            {"required": [MemberCalendar("ana"), MemberCalendar("ana")]},
            "Each member may appear only once",
        ),
        (
            {"required": [MemberCalendar("ana", [(utc(2026, 1, 12, 11), utc(2026, 1, 12, 10))])]},
            "The busy block 1 of ana ends (2026-01-12T10:00:00+00:00) before it starts",
        ),
        (
            {"required": [MemberCalendar("ana", [(datetime(2026, 1, 12, 9), utc(2026, 1, 12))])]},
            "busy block 1 of ana (2026-01-12T09:00:00) has no time zone",
        ),
    ],
)
def test_bad_input_says_what_to_fix(kwargs, message):
    with pytest.raises(AvailabilityInputError) as error:
        one_day(**kwargs)

    assert message in str(error.value)


def test_unknown_time_zones_and_backwards_windows_are_explained():
    with pytest.raises(AvailabilityInputError, match="Unknown time zone 'Europe/Lodnon'"):
        WeeklyWindows.every("Europe/Lodnon", time(9), time(17))
    with pytest.raises(AvailabilityInputError, match="Monday: the window 17:00–09:00 ends before"):
        WeeklyWindows.every(LONDON, time(17), time(9))
    with pytest.raises(AvailabilityInputError, match="Weekday 7 is not valid"):
        WeeklyWindows(LONDON, {7: [(time(9), time(17))]})
    with pytest.raises(AvailabilityInputError, match="Unknown time zone 'Mars/Olympus'"):
        group_by_day([], "Mars/Olympus")
