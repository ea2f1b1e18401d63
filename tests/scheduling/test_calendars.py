"""The calendar layer with built-in calendars: busy time, working hours, holds, statuses and the
.ics subscription feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from icalendar import Calendar

from accounts.models import Membership
from integrations.cronofy.models import CalendarConnection, CalendarConnectionStatus
from recruitflow.tenancy import tenant_scope
from scheduling import calendars, services
from scheduling.models import (
    BusyBlock,
    MemberCalendar,
)
from tests.factories import add_member
from tests.scheduling.helpers import booked as book

from .conftest import LONDON, MONDAY

pytestmark = pytest.mark.django_db

TUESDAY = MONDAY + timedelta(days=1)  # Tuesday 3 March 2026 09:00 London (= UTC)
WEDNESDAY = MONDAY + timedelta(days=2)


def at(day: datetime, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return day.replace(hour=hours, minute=minutes)


def starts_on(slots, day: datetime) -> list[str]:
    """The slot starts on ``day`` as London wall times (GMT in March = UTC)."""
    return [f"{s.start:%H:%M}" for s in slots if s.start.date() == day.date()]


# --------------------------------------------------------------------------------------------
# Busy time and working hours
# --------------------------------------------------------------------------------------------


def test_a_busy_block_of_a_required_interviewer_removes_the_times_it_overlaps(
    scoped, scheduling_template, interviewers, monday_morning
):
    morgan = interviewers[0]
    free = services.template_slots(organization=scoped, template=scheduling_template)
    BusyBlock.objects.create(
        organization=scoped,
        user=morgan,
        title="Pipeline review",
        start=at(TUESDAY, "10:00"),
        end=at(TUESDAY, "11:00"),
    )

    slots = services.template_slots(organization=scoped, template=scheduling_template)

    assert {"09:30", "10:00", "10:30"} <= set(starts_on(free, TUESDAY))
    tuesday = starts_on(slots, TUESDAY)
    assert tuesday[:3] == ["09:00", "11:00", "11:30"]
    assert not {"09:30", "10:00", "10:30"} & set(tuesday)
    # Other days are untouched.
    assert starts_on(slots, WEDNESDAY) == starts_on(free, WEDNESDAY)


def test_times_outside_an_interviewers_working_hours_are_not_offered(
    scoped, scheduling_template, interviewers, monday_morning
):
    sam = interviewers[1]
    MemberCalendar.objects.filter(user=sam).update(
        working_hours=[
            {"weekday": 1, "start": "13:00", "end": "17:00"},  # Tuesday afternoons only
            {"weekday": 2, "start": "09:00", "end": "12:00"},
        ]
    )

    slots = services.template_slots(organization=scoped, template=scheduling_template)

    assert starts_on(slots, TUESDAY)[0] == "13:00"
    assert starts_on(slots, TUESDAY)[-1] == "16:00"  # 16:00–16:45; 16:30 would end at 17:15
    assert starts_on(slots, WEDNESDAY) == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert starts_on(slots, WEDNESDAY + timedelta(days=1)) == []  # Thursday: no hours


def test_buffers_keep_time_around_meetings_but_not_before_the_working_day_starts(
    scoped, make_template, interviewers, monday_morning
):
    template = make_template(buffer_before_minutes=15, buffer_after_minutes=15)
    BusyBlock.objects.create(
        organization=scoped,
        user=interviewers[0],
        start=at(TUESDAY, "12:00"),
        end=at(TUESDAY, "13:00"),
    )

    tuesday = starts_on(services.template_slots(organization=scoped, template=template), TUESDAY)

    assert tuesday[0] == "09:00"  # the day's start needs no buffer
    assert tuesday[-1] == "16:00"  # ends 16:45, inside the working day
    # 11:00–11:45 leaves 15 minutes before the 12:00 meeting; 11:30 would not.
    assert "11:00" in tuesday and "11:30" not in tuesday
    # After the meeting ends at 13:00, 15 minutes of buffer: 13:00 is not offered, 13:30 is.
    assert "13:00" not in tuesday and "13:30" in tuesday


def test_a_member_in_another_zone_is_offered_inside_their_own_working_hours(
    scoped, make_template, interviewers, monday_morning
):
    morgan = interviewers[0]
    MemberCalendar.objects.filter(user=morgan).update(time_zone="America/New_York")
    template = make_template(required=[morgan])

    tuesday = starts_on(services.template_slots(organization=scoped, template=template), TUESDAY)

    # 09:00 in New York is 14:00 in London; the template's window ends 17:00 London.
    assert tuesday == ["14:00", "14:30", "15:00", "15:30", "16:00"]


def test_a_new_member_gets_a_built_in_calendar_in_the_organizations_zone(
    scoped, make_template, monday_morning
):
    newcomer = add_member(organization=scoped, email="riley@acme.test").user
    template = make_template(required=[newcomer])

    required, optional = calendars.engine_members(
        organization=scoped,
        template=template,
        start=MONDAY,
        end=MONDAY + timedelta(days=7),
    )

    calendar = MemberCalendar.objects.get(user=newcomer)
    assert (calendar.time_zone, calendar.working_hours[0]) == (
        LONDON,
        {"weekday": 0, "start": "09:00", "end": "17:00"},
    )
    assert [m.member_id for m in required] == [str(newcomer.pk)] and optional == []
    assert required[0].timezone == LONDON
    slots = services.template_slots(organization=scoped, template=template)
    assert starts_on(slots, TUESDAY)[0] == "09:00" and starts_on(slots, TUESDAY)[-1] == "16:00"


def test_interviews_already_booked_are_busy_and_count_towards_the_daily_limit(
    scoped, make_template, interviewers, candidate, monday_morning
):
    morgan, sam = interviewers
    template = make_template(daily_limit=2)
    book(scoped, template, candidate, [morgan], at(TUESDAY, "10:00"))

    slots = services.template_slots(organization=scoped, template=template)
    assert "10:00" not in starts_on(slots, TUESDAY) and "09:00" in starts_on(slots, TUESDAY)

    book(scoped, template, candidate, [morgan], at(TUESDAY, "14:00"))
    slots = services.template_slots(organization=scoped, template=template)
    assert starts_on(slots, TUESDAY) == []  # Morgan has had two interviews that day
    assert starts_on(slots, WEDNESDAY)[0] == "09:00"


def test_moving_a_booking_is_not_blocked_by_its_own_hold(
    scoped, scheduling_template, interviewers, candidate, monday_morning
):
    booking = book(scoped, scheduling_template, candidate, interviewers, at(TUESDAY, "10:00"))
    window = {"start": MONDAY, "end": MONDAY + timedelta(days=3)}

    others, _ = calendars.engine_members(
        organization=scoped, template=scheduling_template, **window
    )
    itself, _ = calendars.engine_members(
        organization=scoped, template=scheduling_template, exclude_booking=booking, **window
    )

    hold = (booking.start, booking.end)
    assert all(hold in member.busy for member in others)
    assert all(hold not in member.busy for member in itself)
    assert others[0].booked_per_day == {TUESDAY.date(): 1}
    assert itself[0].booked_per_day == {}


def test_optional_members_are_returned_apart_and_never_block(
    scoped, make_template, interviewers, monday_morning
):
    morgan, sam = interviewers
    template = make_template(required=[morgan], optional=[sam])
    BusyBlock.objects.create(
        organization=scoped, user=sam, start=at(TUESDAY, "09:00"), end=at(TUESDAY, "17:00")
    )

    required, optional = calendars.engine_members(
        organization=scoped, template=template, start=MONDAY, end=MONDAY + timedelta(days=3)
    )
    slots = services.template_slots(organization=scoped, template=template)

    assert [m.member_id for m in required] == [str(morgan.pk)]
    assert [m.member_id for m in optional] == [str(sam.pk)]
    tuesday = [s for s in slots if s.start.date() == TUESDAY.date()]
    assert tuesday and all(s.optional_free == () for s in tuesday)
    wednesday = [s for s in slots if s.start.date() == WEDNESDAY.date()]
    assert all(s.optional_free == (str(sam.pk),) for s in wednesday)


def test_reading_the_team_calendars_takes_a_fixed_number_of_queries(
    scoped, make_template, candidate, django_assert_max_num_queries, monday_morning
):
    team = [add_member(organization=scoped, email=f"panel{n}@acme.test").user for n in range(6)]
    template = make_template(required=team[:3], optional=team[3:])
    calendars.engine_members(  # first use creates the built-in calendars
        organization=scoped, template=template, start=MONDAY, end=MONDAY + timedelta(days=14)
    )
    for number, user in enumerate(team):
        for day in range(10):
            start = MONDAY + timedelta(days=day, hours=number % 7)
            BusyBlock.objects.create(
                organization=scoped, user=user, start=start, end=start + timedelta(minutes=30)
            )
    book(scoped, template, candidate, team[:3], at(TUESDAY, "15:00"))

    with django_assert_max_num_queries(5):
        required, optional = calendars.engine_members(
            organization=scoped,
            template=template,
            start=MONDAY,
            end=MONDAY + timedelta(days=14),
        )

    assert len(required) == 3 and len(optional) == 3
    assert all(len(m.busy) > 10 for m in required + optional)


def test_unreadable_working_hours_block_the_member_instead_of_guessing(
    scoped, scheduling_template, interviewers, monday_morning
):
    MemberCalendar.objects.filter(user=interviewers[0]).update(
        working_hours=[{"weekday": 1, "start": "nine", "end": "17:00"}]
    )

    assert services.template_slots(organization=scoped, template=scheduling_template) == []


# --------------------------------------------------------------------------------------------
# What the team sees
# --------------------------------------------------------------------------------------------


def test_a_member_without_a_connected_calendar_is_on_the_built_in_calendar(scoped, interviewers):
    morgan, sam = interviewers
    MemberCalendar.objects.filter(user=sam).update(
        working_hours=[{"weekday": day, "start": "08:30", "end": "16:00"} for day in range(4)]
        + [{"weekday": 4, "start": "08:30", "end": "12:00"}]
    )

    statuses = calendars.calendar_statuses(organization=scoped, users=[morgan, sam])

    assert statuses[morgan.pk] == calendars.CalendarStatus(
        kind="builtin",
        connected=False,
        label="Built-in calendar (working hours Mon–Fri 09:00–17:00 Europe/London)",
        problem=(
            "No calendar connected: candidates are offered times inside working hours that "
            "aren't blocked in RecruitFlow."
        ),
    )
    assert statuses[sam.pk].label == (
        "Built-in calendar (working hours Mon–Thu 08:30–16:00, Fri 08:30–12:00 Europe/London)"
    )


def test_statuses_name_the_connected_calendar_and_what_is_wrong_with_a_broken_one(
    scoped, interviewers
):
    morgan, sam = interviewers
    CalendarConnection.objects.create(
        organization=scoped,
        user=morgan,
        email="morgan@acme-mail.test",
        provider_name="google",
        status=CalendarConnectionStatus.CONNECTED,
        tzid=LONDON,
    )
    CalendarConnection.objects.create(
        organization=scoped,
        user=sam,
        email="sam@acme-mail.test",
        provider_name="office365",
        status=CalendarConnectionStatus.ERROR,
        last_error="Cronofy no longer accepts the calendar connection of sam@acme-mail.test.",
    )

    statuses = calendars.calendar_statuses(organization=scoped, users=interviewers)

    assert statuses[morgan.pk] == calendars.CalendarStatus(
        kind="cronofy",
        connected=True,
        label="Google calendar morgan@acme-mail.test (Cronofy)",
        problem="",
    )
    assert statuses[sam.pk].kind == "cronofy" and not statuses[sam.pk].connected
    assert statuses[sam.pk].label == "Microsoft 365 calendar sam@acme-mail.test (Cronofy)"
    assert statuses[sam.pk].problem.startswith(
        "Sam Patel's calendar can't be read: Cronofy no longer accepts"
    )
    # Statuses only read: nothing was created for a member seen the first time.
    newcomer = add_member(organization=scoped, email="riley@acme.test").user
    assert calendars.calendar_statuses(organization=scoped, users=[newcomer])[
        newcomer.pk
    ].label.startswith("Built-in calendar (working hours Mon–Fri 09:00–17:00 Europe/London)")
    assert not MemberCalendar.objects.filter(user=newcomer).exists()


def test_a_member_with_a_broken_connection_is_offered_no_times(
    scoped, scheduling_template, interviewers, monday_morning
):
    CalendarConnection.objects.create(
        organization=scoped,
        user=interviewers[0],
        email="morgan@acme-mail.test",
        status=CalendarConnectionStatus.ERROR,
        last_error="Morgan needs to connect their calendar again.",
    )

    assert services.template_slots(organization=scoped, template=scheduling_template) == []


def test_the_push_callback_url_is_public_and_names_the_organization_by_its_token(scoped, settings):
    from messaging.selectors import preferences_for

    settings.PUBLIC_BASE_URL = "https://app.recruitflow.example"
    token = preferences_for(organization=scoped).endpoint_token

    assert calendars.push_callback_url(scoped) == (
        f"https://app.recruitflow.example/webhooks/cronofy/{token}/"
    )
    assert calendars.enterprise_connect_callback_url(scoped) == (
        f"https://app.recruitflow.example/webhooks/cronofy/{token}/authorization/"
    )


# --------------------------------------------------------------------------------------------
# The .ics subscription feed
# --------------------------------------------------------------------------------------------


def test_the_feed_lists_the_members_interviews_and_busy_time(
    client, sched_org, scheduling_template, interviewers, candidate
):
    morgan, sam = interviewers
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=2)
    with tenant_scope(sched_org):
        mine = book(sched_org, scheduling_template, candidate, [morgan], start)
        book(sched_org, scheduling_template, candidate, [sam], start + timedelta(hours=2))
        BusyBlock.objects.create(
            organization=sched_org,
            user=morgan,
            title="Dentist",
            start=start + timedelta(days=1),
            end=start + timedelta(days=1, hours=1),
        )
        token = MemberCalendar.objects.get(user=morgan).feed_token

    # The link carries the token signed; the bare token from the database is not a link.
    assert client.get(f"/calendar/{token}.ics").status_code == 404
    response = client.get(reverse("calendar_feed:feed", args=[token]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    feed = Calendar.from_ical(response.content)
    events = {str(e["uid"]): e for e in feed.walk("VEVENT")}
    assert mine.ics_uid in events
    assert events[mine.ics_uid].decoded("dtstart") == start
    assert "Dentist" in {str(e["summary"]) for e in events.values()}
    assert len(events) == 2  # Sam's interview is not in Morgan's feed


def test_an_unknown_feed_token_or_a_member_who_left_gets_not_found(client, sched_org, interviewers):
    morgan = interviewers[0]
    with tenant_scope(sched_org):
        token = MemberCalendar.objects.get(user=morgan).feed_token

    assert client.get("/calendar/not-a-real-token.ics").status_code == 404
    assert client.post(reverse("calendar_feed:feed", args=[token])).status_code == 405
    with tenant_scope(sched_org):
        Membership.objects.filter(user=morgan).delete()
    # The link carries the token signed; the bare token from the database is not a link.
    assert client.get(f"/calendar/{token}.ics").status_code == 404
    response = client.get(reverse("calendar_feed:feed", args=[token]))
    assert response.status_code == 404
    assert b"Acme" not in response.content
