"""The .ics files: the invitation the candidate's calendar app reads (REQUEST), its update on a
reschedule (same UID, higher SEQUENCE), the cancellation (CANCEL) and a member's feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from recruitflow.tenancy import tenant_scope
from scheduling import ics, services
from scheduling.models import BusyBlock, CancelledBy, MemberCalendar
from tests.scheduling.conftest import LONDON, WORKING_WEEK

pytestmark = pytest.mark.django_db

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
WEDNESDAY_14 = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def parse(text: str):
    calendar = Calendar.from_ical(text)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def attendees(event) -> dict[str, dict]:
    values = event.get("attendee")
    values = values if isinstance(values, list) else [values]
    return {str(value).removeprefix("mailto:"): dict(value.params) for value in values}


@pytest.fixture
def booking(sched_org, make_request, monday_morning):
    request = make_request()
    with tenant_scope(sched_org):
        return services.booking_book(
            organization=sched_org, request=request, start=TUESDAY_10, time_zone=LONDON
        )


def invitation(sched_org, booking, method="REQUEST"):
    with tenant_scope(sched_org):
        booking.refresh_from_db()
        return ics.booking_ics(booking, method=method, organization=sched_org)


def test_the_invitation_is_a_request_with_organizer_attendees_and_links(
    sched_org, booking, candidate, settings
):
    calendar, event = parse(invitation(sched_org, booking))

    assert str(calendar["method"]) == "REQUEST"
    assert str(calendar["version"]) == "2.0" and "RecruitFlow" in str(calendar["prodid"])
    assert str(event["uid"]) == booking.ics_uid
    assert int(event["sequence"]) == 0
    assert event.decoded("dtstart") == TUESDAY_10
    assert event.decoded("dtend") == TUESDAY_10 + timedelta(minutes=45)
    assert str(event["summary"]) == "Onsite interview · Sales Rep"
    assert str(event["status"]) == "CONFIRMED"
    organizer = event["organizer"]
    assert str(organizer) == "mailto:no-reply@recruitflow.local"
    assert organizer.params["CN"] == "Acme Talent"
    people = attendees(event)
    assert people["morgan.lee@acme.test"]["ROLE"] == "REQ-PARTICIPANT"
    assert people["morgan.lee@acme.test"]["CN"] == "Morgan Lee"
    assert people["sam.patel@acme.test"]["ROLE"] == "REQ-PARTICIPANT"
    assert people["jordan@example.com"]["RSVP"] == "TRUE"
    assert people["jordan@example.com"]["CN"] == "Jordan Rivera"
    description = str(event["description"])
    assert "https://meet.example.com/onsite" in description
    assert "/reschedule/" in description and "/cancel/" in description
    assert str(event["url"]) == "https://meet.example.com/onsite"


def test_an_optional_member_is_an_optional_participant(
    sched_org, alice, candidate, make_template, make_request, monday_morning
):
    with tenant_scope(sched_org):
        MemberCalendar.objects.create(
            organization=sched_org, user=alice.user, time_zone=LONDON, working_hours=WORKING_WEEK
        )
    template = make_template(name="Panel", optional=[alice.user])
    with tenant_scope(sched_org):
        booking = services.booking_book(
            organization=sched_org,
            request=make_request(template=template),
            start=TUESDAY_10,
            time_zone=LONDON,
        )

    _, event = parse(invitation(sched_org, booking))

    assert attendees(event)["alice@acme.test"]["ROLE"] == "OPT-PARTICIPANT"


def test_the_organizer_is_the_organizations_sending_address(sched_org, booking):
    from integrations.sendgrid.models import SendGridSettings

    with tenant_scope(sched_org):
        SendGridSettings.objects.create(
            organization=sched_org, api_key="SG.key", from_email="talent@acme.test"
        )

    _, event = parse(invitation(sched_org, booking))

    assert str(event["organizer"]) == "mailto:talent@acme.test"


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence(sched_org, booking):
    with tenant_scope(sched_org):
        services.booking_reschedule(
            organization=sched_org, booking=booking, start=WEDNESDAY_14, time_zone=LONDON
        )

    calendar, event = parse(invitation(sched_org, booking))

    assert str(calendar["method"]) == "REQUEST"
    assert str(event["uid"]) == booking.ics_uid
    assert int(event["sequence"]) == 1
    assert event.decoded("dtstart") == WEDNESDAY_14


def test_a_cancellation_is_a_cancel_of_the_same_event(sched_org, booking):
    with tenant_scope(sched_org):
        services.booking_reschedule(
            organization=sched_org, booking=booking, start=WEDNESDAY_14, time_zone=LONDON
        )
        services.booking_cancel(organization=sched_org, booking=booking, by=CancelledBy.CANDIDATE)

    calendar, event = parse(invitation(sched_org, booking, method="CANCEL"))

    assert str(calendar["method"]) == "CANCEL"
    assert str(event["uid"]) == booking.ics_uid
    assert int(event["sequence"]) == 2
    assert str(event["status"]) == "CANCELLED"
    assert "jordan@example.com" in attendees(event)
    assert "/reschedule/" not in str(event["description"])


def test_an_unknown_method_is_refused(sched_org, booking):
    with pytest.raises(ValueError, match="use REQUEST or CANCEL"):
        invitation(sched_org, booking, method="PUBLISH")


def test_the_feed_lists_a_members_interviews_and_busy_time(
    sched_org, booking, interviewers, monday_morning
):
    from scheduling import selectors

    morgan = interviewers[0]
    with tenant_scope(sched_org):
        BusyBlock.objects.create(
            organization=sched_org,
            user=morgan,
            title="Dentist",
            start=WEDNESDAY_14,
            end=WEDNESDAY_14 + timedelta(hours=1),
        )
        text = ics.feed_ics(
            organization=sched_org,
            user=morgan,
            bookings=selectors.feed_bookings(organization=sched_org, user=morgan),
            busy_blocks=selectors.feed_busy_blocks(organization=sched_org, user=morgan),
        )

    calendar = Calendar.from_ical(text)
    assert str(calendar["method"]) == "PUBLISH"
    assert str(calendar["x-wr-calname"]) == "Interviews of Morgan Lee (Acme Talent)"
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    interview = events["Onsite interview · Sales Rep"]
    assert str(interview["uid"]) == booking.ics_uid
    assert "Candidate: Jordan Rivera" in str(interview["description"])
    assert "/cancel/" not in str(interview["description"])
    assert events["Dentist"].decoded("dtstart") == WEDNESDAY_14


def test_the_feed_drops_cancelled_interviews(sched_org, booking, interviewers, monday_morning):
    from scheduling import selectors

    with tenant_scope(sched_org):
        services.booking_cancel(organization=sched_org, booking=booking, by=CancelledBy.RECRUITER)
        assert selectors.feed_bookings(organization=sched_org, user=interviewers[0]) == []
