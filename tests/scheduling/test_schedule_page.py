"""The Schedule page: upcoming interviews in the organization's zone, requests waiting for the
candidate, the team's calendars, cancelling an interview, and the interviews-per-day chart."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from candidates.models import Candidate, TimelineEvent
from integrations.cronofy.models import CalendarConnection, CalendarConnectionStatus
from recruitflow.tenancy import tenant_scope
from scheduling import services
from scheduling.models import (
    BookedSlot,
    Booking,
    BookingStatus,
    CancelledBy,
    RequestSource,
    RequestStatus,
    SchedulingRequest,
    SchedulingTemplate,
    SchedulingTemplateMember,
)
from tests.factories import add_member
from tests.scheduling.helpers import booked

SCHEDULE = reverse("scheduling:schedule")
EMPTY_ADVICE = (
    "Create a scheduling template in the Library and add a Send scheduling request step to a "
    "journey"
)


@pytest.fixture
def org(alice):
    organization = alice.organization
    organization.time_zone = "America/New_York"
    organization.save(update_fields=["time_zone"])
    return organization


@pytest.fixture
def onsite(org, alice, bob):
    with tenant_scope(org):
        template = SchedulingTemplate.objects.create(
            organization=org,
            name="Onsite loop",
            event_title="Onsite interview",
            time_zone="Europe/London",
            duration_minutes=45,
        )
        for user in (alice.user, bob.user):
            SchedulingTemplateMember.objects.create(organization=org, template=template, user=user)
    return template


@pytest.fixture
def sam(org):
    with tenant_scope(org):
        return Candidate.objects.create(
            organization=org,
            provider="greenhouse",
            external_id="sam-1",
            first_name="Sam",
            last_name="Okafor",
            primary_email="sam@example.com",
        )


def make_booking(org, template, candidate, start, *, attendees, minutes=45) -> Booking:
    return booked(
        org,
        template,
        candidate,
        attendees,
        start,
        minutes=minutes,
        title=template.event_title,
        candidate_time_zone="Europe/Lisbon",
    )


def make_pending(org, template, candidate, **fields) -> SchedulingRequest:
    with tenant_scope(org):
        return SchedulingRequest.objects.create(
            organization=org,
            template=template,
            candidate=candidate,
            source=RequestSource.JOURNEY,
            expires_at=timezone.now() + timedelta(days=10),
            **fields,
        )


def row(html: str, element_id: str) -> str:
    match = re.search(rf'<tr id="{element_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row {element_id} on the page"
    return re.sub(r"\s+", " ", match.group(1))


# --------------------------------------------------------------------------------------------
# What the page shows
# --------------------------------------------------------------------------------------------


def test_an_upcoming_interview_is_shown_in_the_organizations_zone_with_the_zone_named(
    client_for, alice, bob, org, onsite, sam
):
    # 15:00 UTC on a January day is 10:00 in New York (EST).
    booking = make_booking(
        org, onsite, sam, datetime(2031, 1, 15, 15, 0, tzinfo=UTC), attendees=[alice.user, bob.user]
    )

    html = client_for(alice).get(SCHEDULE).content.decode()

    entry = row(html, f"booking-{booking.pk}")
    assert "Wed 15 Jan" in entry
    assert "10:00–10:45 (America/New_York)" in entry
    assert "candidate in Europe/Lisbon" in entry
    assert f'href="/candidates/{sam.pk}/"' in entry and "Sam Okafor" in entry
    assert "Onsite interview" in entry and "Onsite loop" in entry
    assert "Alice, Pat" in entry  # both interviewers, by name
    assert "Confirmed" in entry
    assert "times in America/New_York" in html


def test_a_request_still_waiting_for_the_candidate_is_listed_with_its_link(
    client_for, alice, org, onsite, sam
):
    request = make_pending(org, onsite, sam)
    reminded = make_pending(org, onsite, sam, reminder_sent_at=timezone.now())

    html = client_for(alice).get(SCHEDULE).content.decode()

    waiting = row(html, f"request-{request.pk}")
    assert "Sam Okafor" in waiting and "Onsite loop" in waiting
    assert "Not yet" in waiting and "(America/New_York)" in waiting
    assert services.request_link(request) in waiting and "Copy link" in waiting
    assert "Sent " in row(html, f"request-{reminded.pk}")
    assert EMPTY_ADVICE not in html


def test_every_members_calendar_is_shown_with_a_connect_button_for_myself(
    client_for, alice, bob, org, onsite
):
    with tenant_scope(org):
        CalendarConnection.objects.create(
            organization=org,
            user=bob.user,
            email="bob@acme.test",
            calendar_name="Bob's calendar",
            provider_name="google",
            calendar_id="cal_bob",
            access_token="a",
            refresh_token="r",
            status=CalendarConnectionStatus.CONNECTED,
        )
        from integrations.cronofy.models import CronofySettings

        CronofySettings.objects.create(organization=org, client_id="cid", client_secret="secret")

    html = client_for(alice).get(SCHEDULE).content.decode()

    mine = row(html, f"member-{alice.user.pk}")
    theirs = row(html, f"member-{bob.user.pk}")
    assert "(you)" in mine and "Built-in calendar" in mine
    assert "Connect my calendar" in mine
    assert "Connected" in theirs and "Connect my calendar" not in theirs


def test_without_anything_scheduled_the_page_says_how_to_start(client_for, alice):
    html = client_for(alice).get(SCHEDULE).content.decode()

    assert EMPTY_ADVICE in html
    assert "No interviews booked in the next 14 days." in html
    assert "Everyone uses the built-in calendar" in html


def test_the_chart_counts_interviews_per_day_for_the_next_two_weeks(
    client_for, alice, org, onsite, sam
):
    tomorrow_noon = (timezone.now() + timedelta(days=1)).replace(hour=17, minute=0, second=0)
    make_booking(org, onsite, sam, tomorrow_noon, attendees=[alice.user])
    make_booking(org, onsite, sam, tomorrow_noon + timedelta(hours=1), attendees=[alice.user])

    html = client_for(alice).get(SCHEDULE).content.decode()

    counts = re.findall(r'data-count="(\d+)"', html)
    assert len(counts) == 14
    assert sum(map(int, counts)) == 2 and max(map(int, counts)) == 2
    assert "2 interviews (most on one day: 2)" in html
    assert "style=" not in html  # the CSP allows no inline styles


# --------------------------------------------------------------------------------------------
# Cancelling from the page
# --------------------------------------------------------------------------------------------


def test_a_recruiter_cancels_an_interview_and_it_leaves_the_page(
    client_for, alice, bob, org, onsite, sam
):
    booking = make_booking(
        org, onsite, sam, timezone.now() + timedelta(days=3), attendees=[alice.user]
    )

    client = client_for(bob)
    response = client.post(
        reverse("scheduling:booking_cancel", args=[booking.pk]),
        {f"b{booking.pk}-reason": "The interviewer is ill"},
        follow=True,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Cancelled “Onsite interview” with Sam Okafor" in html
    assert "(America/New_York)" in html
    assert f'id="booking-{booking.pk}"' not in html
    with tenant_scope(org):
        booking.refresh_from_db()
        request = SchedulingRequest.objects.get(pk=booking.request_id)
        event = TimelineEvent.objects.get(candidate=sam, kind="booking_cancelled")
        holds = list(BookedSlot.objects.filter(booking=booking).values_list("active", flat=True))
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancelled_by == CancelledBy.RECRUITER
    assert booking.cancel_reason == "The interviewer is ill"
    assert request.status == RequestStatus.CANCELLED
    assert holds == [False]
    assert "The interviewer is ill" in event.detail


def test_cancelling_an_interview_that_already_started_says_why_and_keeps_it(
    client_for, alice, org, onsite, sam
):
    booking = make_booking(
        org, onsite, sam, timezone.now() - timedelta(minutes=10), attendees=[alice.user]
    )

    response = client_for(alice).post(
        reverse("scheduling:booking_cancel", args=[booking.pk]), follow=True
    )

    assert "The interview was not cancelled" in response.content.decode()
    with tenant_scope(org):
        booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_another_organizations_interview_cannot_be_cancelled(
    client_for, alice, mallory, org, onsite, sam
):
    booking = make_booking(
        org, onsite, sam, timezone.now() + timedelta(days=3), attendees=[alice.user]
    )

    response = client_for(mallory).post(reverse("scheduling:booking_cancel", args=[booking.pk]))

    assert response.status_code == 404
    with tenant_scope(org):
        booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert "Sam Okafor" not in client_for(mallory).get(SCHEDULE).content.decode()


def test_a_viewer_sees_the_schedule_but_cannot_cancel(client, alice, org, onsite, sam):
    viewer = add_member(organization=org, email="vic@acme.test", role=Role.VIEWER)
    booking = make_booking(
        org, onsite, sam, timezone.now() + timedelta(days=3), attendees=[alice.user]
    )
    client.force_login(viewer.user)

    page = client.get(SCHEDULE).content.decode()
    response = client.post(reverse("scheduling:booking_cancel", args=[booking.pk]))

    assert "Sam Okafor" in page and "Cancel interview" not in page
    assert response.status_code == 403
    with tenant_scope(org):
        booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_the_schedule_needs_a_signed_in_member(client):
    response = client.get(SCHEDULE)

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
