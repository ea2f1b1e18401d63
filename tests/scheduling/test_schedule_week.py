"""The Schedule page's week view: interviews placed by day and time in the organization's zone,
overlapping ones side by side, cancelled ones kept and struck through with who cancelled them,
week navigation remembered in the URL, and the same visibility as the list."""

from __future__ import annotations

import html as html_text
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from candidates.models import Candidate
from recruitflow.tenancy import tenant_scope
from scheduling import services, week
from scheduling.models import Booking, CancelledBy, SchedulingTemplate, SchedulingTemplateMember
from tests.scheduling.helpers import booked
from tests.test_hiring_manager_visibility import hiring  # noqa: F401 (fixture)

SCHEDULE = reverse("scheduling:schedule")
NEW_YORK = "America/New_York"
# The week of Monday 11 January 2027 (EST, UTC−5), in the future so interviews can be cancelled.
MONDAY = date(2027, 1, 11)
WEEK_URL = f"{SCHEDULE}?view=week&week=2027-01-13"


@pytest.fixture
def org(alice):
    organization = alice.organization
    organization.time_zone = NEW_YORK
    organization.save(update_fields=["time_zone"])
    return organization


@pytest.fixture
def onsite(org, alice, bob):
    bob.user.first_name, bob.user.last_name = "Bob", "Reyes"
    bob.user.save(update_fields=["first_name", "last_name"])
    with tenant_scope(org):
        template = SchedulingTemplate.objects.create(
            organization=org, name="Onsite loop", event_title="Onsite interview"
        )
        for user in (alice.user, bob.user):
            SchedulingTemplateMember.objects.create(organization=org, template=template, user=user)
    return template


def candidate(org, first: str, last: str) -> Candidate:
    with tenant_scope(org):
        return Candidate.objects.create(
            organization=org,
            provider="greenhouse",
            external_id=f"{first}-{last}",
            first_name=first,
            last_name=last,
            primary_email=f"{first.lower()}@example.com",
        )


def interview(org, template, person, start, *, users, title="Onsite interview", minutes=45):
    return booked(org, template, person, users, start, minutes=minutes, title=title)


def entry(html: str, booking: Booking) -> str:
    """The grid cell of ``booking`` (its first day), tags stripped, spaces collapsed."""
    match = re.search(rf'<td[^>]*data-booking="{booking.pk}"[^>]*>(.*?)</td>', html, re.S)
    assert match, f"booking {booking.pk} is not in the week grid"
    text = html_text.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))
    return re.sub(r"\s+", " ", text).strip()


def cell_tag(html: str, booking: Booking) -> str:
    match = re.search(rf'<td[^>]*data-booking="{booking.pk}"[^>]*>', html)
    assert match, f"booking {booking.pk} is not in the week grid"
    return match.group(0)


def test_an_interview_sits_in_its_day_and_hour_in_the_organizations_zone(
    client_for, alice, bob, org, onsite
):
    sam = candidate(org, "Sam", "Okafor")
    # Wednesday 13 January 15:00 UTC is 10:00 in New York.
    booking = interview(
        org, onsite, sam, datetime(2027, 1, 13, 15, 0, tzinfo=UTC), users=[alice.user, bob.user]
    )

    html = client_for(alice).get(WEEK_URL).content.decode()

    tag = cell_tag(html, booking)
    assert 'data-day="2027-01-13"' in tag and 'data-start="10:00"' in tag
    assert 'rowspan="3"' in tag  # 45 minutes = three quarter-hour rows
    text = entry(html, booking)
    assert "10:00–10:45" in text and "Sam Okafor" in text and "Bob Reyes" in text
    assert "Week of Mon 11 Jan – Sun 17 Jan 2027" in html
    assert "Times in America/New_York (the organization's time zone)" in html
    assert 'aria-current="page">Week</a>' in html


def test_overlapping_interviews_are_side_by_side(client_for, alice, bob, org, onsite):
    sam, ada = candidate(org, "Sam", "Okafor"), candidate(org, "Ada", "Lovelace")
    first = interview(
        org, onsite, sam, datetime(2027, 1, 12, 15, 0, tzinfo=UTC), users=[alice.user]
    )
    second = interview(
        org, onsite, ada, datetime(2027, 1, 12, 15, 30, tzinfo=UTC), users=[bob.user]
    )

    html = client_for(alice).get(WEEK_URL).content.decode()

    tuesday = re.search(r'<th[^>]*data-day="2027-01-12"[^>]*>', html).group(0)
    wednesday = re.search(r'<th[^>]*data-day="2027-01-13"[^>]*>', html).group(0)
    assert 'colspan="2"' in tuesday and 'colspan="1"' in wednesday
    assert "10:00–10:45" in entry(html, first) and "10:30–11:15" in entry(html, second)
    assert "2 interviews" in html


def test_cancelled_interviews_stay_struck_through_with_who_cancelled(
    client_for, alice, bob, org, onsite
):
    people = [candidate(org, name, "Test") for name in ("Cara", "Rex", "Ivy")]
    by_candidate, by_recruiter, in_calendar = (
        interview(
            org, onsite, person, datetime(2027, 1, 14, 14 + n, 0, tzinfo=UTC), users=[bob.user]
        )
        for n, person in enumerate(people)
    )
    client = client_for(alice)
    with tenant_scope(org):
        services.booking_cancel(organization=org, booking=by_candidate, by=CancelledBy.CANDIDATE)
        services.booking_cancel(
            organization=org, booking=in_calendar, by=CancelledBy.INTERVIEWER, actor=bob.user
        )
    cancelled = client.post(
        reverse("scheduling:booking_cancel", args=[by_recruiter.pk]),
        {f"b{by_recruiter.pk}-reason": "Role filled"},
    )
    assert cancelled.status_code == 302
    with tenant_scope(org):
        Booking.objects.filter(pk__in=[by_candidate.pk, by_recruiter.pk, in_calendar.pk]).update(
            cancelled_at=datetime(2027, 1, 4, 17, 5, tzinfo=UTC)  # 12:05 EST
        )

    html = client.get(WEEK_URL).content.decode()

    when = "on Mon 4 Jan at 12:05 (America/New_York)"
    assert f"Cancelled by the candidate {when}" in entry(html, by_candidate)
    assert f"Cancelled by Alice {when}" in entry(html, by_recruiter)
    assert f"Cancelled in Bob Reyes's calendar {when}" in entry(html, in_calendar)
    for booking in (by_candidate, by_recruiter, in_calendar):
        assert "cancelled" in cell_tag(html, booking)
        cell = re.search(rf'data-booking="{booking.pk}".*?</td>', html, re.S).group(0)
        assert "<s " in cell and "Onsite interview</s>" in cell
    assert "3 interviews, 3 of them cancelled" in html
    with tenant_scope(org):
        by_recruiter.refresh_from_db()
    assert by_recruiter.cancelled_by_user == alice.user


def test_previous_next_and_today_links_keep_the_week_in_the_url(client_for, alice, org, onsite):
    html = client_for(alice).get(WEEK_URL).content.decode()

    assert f'href="{SCHEDULE}?view=week&amp;week=2027-01-04">← Previous week' in html
    assert f'href="{SCHEDULE}?view=week&amp;week=2027-01-18">Next week →' in html
    today = week.monday_of(datetime.now(UTC).astimezone(ZoneInfo(NEW_YORK)).date())
    assert f'href="{SCHEDULE}?view=week&amp;week={today:%Y-%m-%d}">Today' in html
    # The switch back to the list and the week view of the same week.
    assert f'href="{SCHEDULE}" class="">List</a>' in html


def test_a_week_parameter_that_is_not_a_date_says_how_to_write_it(client_for, alice, org):
    response = client_for(alice).get(f"{SCHEDULE}?view=week&week=next-tuesday")

    html = response.content.decode()
    assert response.status_code == 200
    assert "“next-tuesday” is not a date, so this week is shown." in html
    assert "?view=week&amp;week=2026-12-07" in html  # the example in the message


def test_an_empty_week_says_so_and_how_to_send_a_scheduling_request(client_for, alice, org):
    html = client_for(alice).get(WEEK_URL).content.decode()

    assert "No interviews this week." in html
    assert "choose <em>Send scheduling request</em>" in html
    assert 'href="/candidates/"' in html
    assert "week-grid" not in html


def test_an_interview_past_midnight_is_drawn_on_both_days(client_for, alice, org, onsite):
    sam = candidate(org, "Sam", "Night")
    # Friday 23:30 to Saturday 00:30 in New York.
    booking = interview(
        org, onsite, sam, datetime(2027, 1, 16, 4, 30, tzinfo=UTC), users=[alice.user], minutes=60
    )

    html = client_for(alice).get(WEEK_URL).content.decode()

    assert f'id="week-{booking.pk}-20270115"' in html and f'id="week-{booking.pk}-20270116"' in html
    assert "00:00" in html and "23:00" in html  # the grid widened to the whole night


def test_the_list_is_still_the_default_view(client_for, alice, org, onsite):
    html = client_for(alice).get(SCHEDULE).content.decode()

    assert 'id="upcoming"' in html and 'id="week"' not in html
    assert 'aria-current="page">List</a>' in html


@pytest.mark.django_db
def test_a_hiring_manager_sees_only_their_jobs_interviews_in_the_week(hiring, client_for):  # noqa: F811
    ann, ben = hiring["ann"].booking, hiring["ben"].booking
    url = f"{SCHEDULE}?view=week&week={ann.start:%Y-%m-%d}"

    html = client_for(hiring["hannah"]).get(url).content.decode()

    assert f'data-booking="{ann.pk}"' in html
    assert f'data-booking="{ben.pk}"' not in html and "Ben Backend" not in html


def test_week_grid_lanes_never_put_two_interviews_in_one_cell():
    """Quarter-hour rounding: 10:00–10:40 and 10:40–11:00 share the 10:30 row, so they need two
    lanes; 10:00–10:45 and 10:45–11:30 do not."""

    class FakeBooking:
        def __init__(self, pk, start, minutes):
            self.pk, self.start = pk, start
            self.end = start + timedelta(minutes=minutes)
            self.status, self.attendees = "confirmed", []

    ten = datetime(2027, 1, 11, 10, 0, tzinfo=UTC)
    touching = [FakeBooking(1, ten, 45), FakeBooking(2, ten + timedelta(minutes=45), 45)]
    rounded = [FakeBooking(3, ten, 40), FakeBooking(4, ten + timedelta(minutes=40), 20)]

    assert build(touching).days[0].lanes == 1
    assert build(rounded).days[0].lanes == 2


def build(bookings):
    return week.build_week(bookings=bookings, monday=MONDAY, zone="UTC", today=MONDAY)
