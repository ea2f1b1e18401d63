"""Scheduling requests, slots, booking, rescheduling and cancelling, as the candidate and the
recruiter notice them: the outbox, the timeline, the holds on the interviewers' time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from candidates.models import Candidate, TimelineEvent
from recruitflow.tenancy import tenant_scope
from scheduling import services
from scheduling.models import (
    BookedSlot,
    Booking,
    BookingStatus,
    BusyBlock,
    CancelledBy,
    RequestStatus,
    SchedulingRequest,
)
from tests.scheduling.conftest import LONDON, MONDAY, NEW_YORK

pytestmark = pytest.mark.django_db

# Tuesday 3 March 2026 in London (GMT = UTC).
TUESDAY_9 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
WEDNESDAY_14 = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def timeline(org, candidate, kind):
    with tenant_scope(org):
        return list(
            TimelineEvent.objects.filter(candidate=candidate, kind=kind).order_by(
                "occurred_at", "id"
            )
        )


def slots(org, request):
    with tenant_scope(org):
        request.refresh_from_db()
        return [
            slot.start for slot in services.slots_for_request(organization=org, request=request)
        ]


def book(org, request, start, zone=LONDON):
    with tenant_scope(org):
        return services.booking_book(organization=org, request=request, start=start, time_zone=zone)


# ------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------


def test_request_sends_request_to_schedule_by_email_and_text_with_the_link(
    sched_org, candidate, make_request, outbox, monday_morning
):
    request = make_request()

    link = services.request_link(request)
    assert link.startswith("http") and "/s/" in link
    email, text = outbox(candidate)
    assert email.channel == "email" and text.channel == "sms"
    assert email.subject == "Pick a time for your Onsite interview · Sales Rep"
    assert link in email.html and "Morgan Lee and Sam Patel" in email.html
    assert "45 minutes" in email.html
    assert text.body == f"Hi Jordan, pick a time for your Onsite interview · Sales Rep: {link}"
    (event,) = timeline(sched_org, candidate, "scheduling_requested")
    assert event.summary == (
        "Request to Schedule “Onsite interview” sent by e-mail and text message"
    )
    assert link in event.detail
    assert request.status == RequestStatus.PENDING
    assert request.expires_at == MONDAY + timedelta(days=14)


def test_request_for_the_same_journey_step_run_is_made_once(
    sched_org, candidate, make_request, outbox, monday_morning
):
    first = make_request(source="journey", step_run_id=77)
    second = make_request(source="journey", step_run_id=77)

    assert first.pk == second.pk
    assert len(outbox(candidate)) == 2
    assert len(timeline(sched_org, candidate, "scheduling_requested")) == 1


def test_request_is_refused_when_the_template_has_no_required_interviewer(
    sched_org, make_template, make_request, candidate, outbox, monday_morning
):
    template = make_template(name="Nobody", required=[])

    with pytest.raises(services.SchedulingError, match="has no required interviewer"):
        make_request(template=template)
    assert outbox(candidate) == []
    with tenant_scope(sched_org):
        assert not SchedulingRequest.objects.exists()


def test_request_is_refused_without_a_request_to_schedule_message(
    sched_org, make_template, make_request, candidate, monday_morning
):
    template = make_template(name="Silent", request_email=None, request_sms=None)

    with pytest.raises(services.SchedulingError, match="no Request to Schedule message"):
        make_request(template=template)


def test_request_is_refused_when_the_candidate_cannot_be_reached(
    sched_org, make_candidate, make_request, monday_morning
):
    nobody = make_candidate(email="", mobile="")

    with pytest.raises(services.SchedulingError) as caught:
        make_request(candidate=nobody)
    message = str(caught.value)
    assert "no e-mail address" in message and "no mobile number" in message
    assert "Add their contact details" in message


def test_a_channel_that_cannot_go_out_does_not_stop_the_other(
    sched_org, make_candidate, make_request, outbox, monday_morning
):
    email_only = make_candidate(mobile="")

    make_request(candidate=email_only)

    assert [m.channel for m in outbox(email_only)] == ["email"]
    (skipped,) = timeline(sched_org, email_only, "message_skipped")
    assert "No mobile number" in skipped.summary
    (event,) = timeline(sched_org, email_only, "scheduling_requested")
    assert event.summary.endswith("sent by e-mail")
    assert "text message not sent: No mobile number" in event.detail


def test_a_short_horizon_still_gives_the_link_a_week(
    sched_org, make_template, make_request, monday_morning
):
    template = make_template(name="Quick", horizon_days=3)

    request = make_request(template=template)

    assert request.expires_at == MONDAY + timedelta(days=7)


def test_public_link_request_sends_nothing(
    sched_org, candidate, make_request, outbox, monday_morning
):
    request = make_request(source="public_link", send=False)

    assert outbox(candidate) == []
    (event,) = timeline(sched_org, candidate, "scheduling_requested")
    assert event.summary == "Scheduling link created for “Onsite interview”"
    assert services.request_link(request) in event.detail


# ------------------------------------------------------------------------------------------
# Slots
# ------------------------------------------------------------------------------------------


def test_slots_respect_the_minimum_notice_and_the_working_week(
    sched_org, make_request, monday_morning
):
    request = make_request()

    offered = slots(sched_org, request)

    # 24 hours' notice from Monday 09:00: Tuesday 09:00 is the first time; 45 minutes every
    # 30 minutes from 09:00 to 16:00 is 15 a day; no weekend.
    assert offered[0] == TUESDAY_9
    tuesday = [s for s in offered if s.date() == TUESDAY_9.date()]
    assert len(tuesday) == 15 and tuesday[-1] == datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
    assert not [s for s in offered if s.weekday() >= 5]
    # The link's 14 days end on Monday 16 March 09:00.
    assert offered[-1] < MONDAY + timedelta(days=14)


def test_a_busy_block_removes_the_slots_it_overlaps(
    sched_org, interviewers, make_request, monday_morning
):
    request = make_request()
    with tenant_scope(sched_org):
        BusyBlock.objects.create(
            organization=sched_org,
            user=interviewers[0],
            title="Pipeline review",
            start=TUESDAY_10,
            end=TUESDAY_10 + timedelta(hours=1),
        )

    offered = set(slots(sched_org, request))

    assert TUESDAY_9 in offered  # 09:00–09:45 ends before 10:00
    for minutes in (30, 60, 90):  # 09:30, 10:00, 10:30 overlap 10:00–11:00
        assert TUESDAY_9 + timedelta(minutes=minutes) not in offered
    assert TUESDAY_9 + timedelta(hours=2) in offered  # 11:00


def test_buffers_keep_time_free_around_busy_time(
    sched_org, interviewers, make_template, make_request, monday_morning
):
    template = make_template(name="Buffered", buffer_before_minutes=15, buffer_after_minutes=15)
    request = make_request(template=template)
    with tenant_scope(sched_org):
        BusyBlock.objects.create(
            organization=sched_org,
            user=interviewers[1],
            start=TUESDAY_10,
            end=TUESDAY_10 + timedelta(hours=1),
        )

    offered = set(slots(sched_org, request))

    # 09:00–09:45 leaves 15 minutes before 10:00; 11:00 has no 15 minutes after the block.
    assert TUESDAY_9 in offered
    assert TUESDAY_10 + timedelta(hours=1) not in offered
    assert TUESDAY_10 + timedelta(hours=1, minutes=30) in offered


def test_the_daily_limit_closes_a_day_once_reached(
    sched_org, make_template, make_request, make_candidate, monday_morning
):
    template = make_template(name="One a day", daily_limit=1)
    first = make_request(template=template)
    book(sched_org, first, TUESDAY_9)
    second = make_request(template=template, candidate=make_candidate(email="ana@example.com"))

    offered = slots(sched_org, second)

    assert not [s for s in offered if s.date() == TUESDAY_9.date()]
    assert datetime(2026, 3, 4, 9, 0, tzinfo=UTC) in offered


def test_template_slots_count_the_next_days(sched_org, scheduling_template, monday_morning):
    with tenant_scope(sched_org):
        offered = services.template_slots(
            organization=sched_org, template=scheduling_template, days=7
        )

    # Tuesday to Friday (Monday is inside the 24 hours' notice), then Monday 9 March until 09:00.
    assert len(offered) == 4 * 15


# ------------------------------------------------------------------------------------------
# Booking
# ------------------------------------------------------------------------------------------


def test_booking_holds_the_time_and_sends_the_invitation_with_the_ics(
    sched_org, candidate, interviewers, make_request, outbox, run_after_commit, monday_morning
):
    request = make_request()

    with run_after_commit():
        booking = book(sched_org, request, TUESDAY_10)

    request.refresh_from_db()
    assert request.status == RequestStatus.BOOKED
    assert booking.start == TUESDAY_10 and booking.end == TUESDAY_10 + timedelta(minutes=45)
    assert booking.title == "Onsite interview · Sales Rep"
    assert sorted(booking.attendee_ids) == sorted(u.pk for u in interviewers)
    with tenant_scope(sched_org):
        holds = BookedSlot.objects.filter(booking=booking, active=True)
        assert sorted(h.user_id for h in holds) == sorted(u.pk for u in interviewers)
    (event,) = timeline(sched_org, candidate, "booked")
    assert event.summary == (
        "Booked Onsite interview · Sales Rep for Tue 3 Mar 10:00–10:45 (Europe/London)"
    )
    assert "Morgan Lee and Sam Patel" in event.detail
    invitation_email, invitation_text = outbox(candidate)[2:]
    assert invitation_email.subject == (
        "Confirmed: Onsite interview · Sales Rep, Tuesday 3 March 2026, 10:00–10:45 (Europe/London)"
    )
    (attachment,) = invitation_email.attachments
    assert attachment["filename"] == "invite.ics"
    assert attachment["mimetype"] == "text/calendar; method=REQUEST"
    assert "METHOD:REQUEST" in attachment["content"]
    assert "/reschedule/" in invitation_text.body
    # The booked time is no longer offered to anyone.
    other = make_request(candidate=candidate)
    assert TUESDAY_10 not in slots(sched_org, other)


def test_times_are_shown_in_the_zone_the_candidate_chose(
    sched_org, candidate, make_request, outbox, run_after_commit, monday_morning
):
    request = make_request()

    with run_after_commit():
        book(sched_org, request, WEDNESDAY_14, zone=NEW_YORK)

    invitation = outbox(candidate, channel="email")[-1]
    assert "Wednesday 4 March 2026, 09:00–09:45 (America/New_York)" in invitation.subject
    with tenant_scope(sched_org):
        candidate.refresh_from_db()
    assert candidate.time_zone == NEW_YORK
    (event,) = timeline(sched_org, candidate, "booked")
    assert "(America/New_York)" in event.summary
    assert "Your time: Wed 4 Mar 14:00–14:45 (Europe/London)" in event.detail


def test_a_time_zone_set_by_a_team_member_is_kept(
    sched_org, alice, candidate, make_request, monday_morning
):
    from candidates.services import candidate_time_zone_set

    with tenant_scope(sched_org):
        candidate_time_zone_set(
            organization=sched_org, candidate=candidate, time_zone="Europe/Lisbon", actor=alice.user
        )
    request = make_request()

    book(sched_org, request, TUESDAY_10, zone=NEW_YORK)

    with tenant_scope(sched_org):
        assert Candidate.objects.get(pk=candidate.pk).time_zone == "Europe/Lisbon"


def test_a_time_that_is_not_offered_cannot_be_booked(sched_org, make_request, monday_morning):
    request = make_request()

    with pytest.raises(services.InvalidSlot, match="pick one of the times shown"):
        book(sched_org, request, datetime(2026, 3, 7, 10, 0, tzinfo=UTC))  # a Saturday
    with pytest.raises(services.InvalidSlot):
        book(sched_org, request, TUESDAY_9 + timedelta(minutes=10))  # off the 30-minute grid
    with pytest.raises(services.InvalidSlot):
        book(sched_org, request, MONDAY + timedelta(hours=3))  # inside the 24 hours' notice
    with pytest.raises(services.SchedulingError, match="Unknown time zone"):
        book(sched_org, request, TUESDAY_9, zone="Mars/Olympus")
    with tenant_scope(sched_org):
        assert not Booking.objects.exists()
        request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_a_booked_request_cannot_book_again(sched_org, make_request, monday_morning):
    request = make_request()
    book(sched_org, request, TUESDAY_9)

    with pytest.raises(services.RequestClosed, match="already booked"):
        book(sched_org, request, TUESDAY_10)


def test_an_expired_link_cannot_book(sched_org, make_request, time_machine, monday_morning):
    request = make_request()
    time_machine.move_to(MONDAY + timedelta(days=14, minutes=1))

    with pytest.raises(services.RequestClosed, match="expired. Ask Acme Talent for a new one"):
        book(sched_org, request, MONDAY + timedelta(days=15))
    assert slots(sched_org, request) == []


def test_an_optional_member_is_invited_only_when_free(
    sched_org, candidate, interviewers, alice, make_template, make_request, monday_morning
):
    from scheduling.models import MemberCalendar
    from tests.scheduling.conftest import WORKING_WEEK

    with tenant_scope(sched_org):
        MemberCalendar.objects.create(
            organization=sched_org, user=alice.user, time_zone=LONDON, working_hours=WORKING_WEEK
        )
        BusyBlock.objects.create(
            organization=sched_org, user=alice.user, start=TUESDAY_9, end=TUESDAY_10
        )
    template = make_template(name="Panel", optional=[alice.user])

    busy_time = book(sched_org, make_request(template=template), TUESDAY_9)
    free_time = book(sched_org, make_request(template=template), TUESDAY_10 + timedelta(hours=1))

    assert alice.user.pk not in busy_time.attendee_ids
    assert alice.user.pk in free_time.attendee_ids


# ------------------------------------------------------------------------------------------
# Rescheduling and cancelling
# ------------------------------------------------------------------------------------------


def test_rescheduling_moves_the_same_booking_and_frees_the_old_time(
    sched_org, candidate, make_request, outbox, run_after_commit, monday_morning
):
    request = make_request()
    booking = book(sched_org, request, TUESDAY_10)

    with run_after_commit(), tenant_scope(sched_org):
        moved = services.booking_reschedule(
            organization=sched_org, booking=booking, start=WEDNESDAY_14, time_zone=LONDON
        )

    assert moved.pk == booking.pk and moved.ics_uid == booking.ics_uid
    assert moved.start == WEDNESDAY_14 and moved.sequence == 1 and moved.reschedule_count == 1
    with tenant_scope(sched_org):
        active = BookedSlot.objects.filter(booking=booking, active=True)
        assert {h.start for h in active} == {WEDNESDAY_14}
    (event,) = timeline(sched_org, candidate, "rescheduled")
    assert event.summary == (
        "Rescheduled Onsite interview · Sales Rep from Tue 3 Mar 10:00–10:45 (Europe/London) to "
        "Wed 4 Mar 14:00–14:45 (Europe/London)"
    )
    invitation = outbox(candidate, channel="email")[-1]
    assert "Wednesday 4 March 2026, 14:00–14:45" in invitation.subject
    assert "SEQUENCE:1" in invitation.attachments[0]["content"]
    # The candidate's own picker offers the old time again, not the new one twice.
    offered = slots(sched_org, request)
    assert TUESDAY_10 in offered and WEDNESDAY_14 in offered
    other = make_request(candidate=candidate)
    assert TUESDAY_10 in slots(sched_org, other) and WEDNESDAY_14 not in slots(sched_org, other)


def test_a_cancelled_or_started_interview_cannot_be_moved(
    sched_org, make_request, time_machine, monday_morning
):
    booking = book(sched_org, make_request(), TUESDAY_10)
    time_machine.move_to(TUESDAY_10 + timedelta(minutes=5))
    with tenant_scope(sched_org), pytest.raises(services.RequestClosed, match="already started"):
        services.booking_reschedule(
            organization=sched_org, booking=booking, start=WEDNESDAY_14, time_zone=LONDON
        )

    time_machine.move_to(MONDAY)
    with tenant_scope(sched_org):
        services.booking_cancel(organization=sched_org, booking=booking, by=CancelledBy.CANDIDATE)
        with pytest.raises(services.RequestClosed, match="was cancelled"):
            services.booking_reschedule(
                organization=sched_org, booking=booking, start=WEDNESDAY_14, time_zone=LONDON
            )


def test_the_candidate_cancelling_frees_the_time_and_gets_the_cancellation(
    sched_org, candidate, make_request, outbox, run_after_commit, monday_morning
):
    request = make_request()
    booking = book(sched_org, request, TUESDAY_10)

    with run_after_commit(), tenant_scope(sched_org):
        services.booking_cancel(
            organization=sched_org,
            booking=booking,
            by=CancelledBy.CANDIDATE,
            reason="I accepted another offer",
        )

    with tenant_scope(sched_org):
        booking.refresh_from_db()
        request.refresh_from_db()
        assert not BookedSlot.objects.filter(booking=booking, active=True).exists()
    assert booking.status == BookingStatus.CANCELLED and booking.sequence == 1
    assert request.status == RequestStatus.CANCELLED
    (event,) = timeline(sched_org, candidate, "booking_cancelled")
    assert event.summary == (
        "The candidate cancelled Onsite interview · Sales Rep (Tue 3 Mar 10:00–10:45 "
        "(Europe/London))"
    )
    assert event.detail == "Reason: I accepted another offer"
    email = outbox(candidate, channel="email")[-1]
    assert email.subject == "Cancelled: Onsite interview · Sales Rep"
    (attachment,) = email.attachments
    assert attachment["mimetype"] == "text/calendar; method=CANCEL"
    assert "METHOD:CANCEL" in attachment["content"]
    sms = outbox(candidate, channel="sms")[-1]
    assert sms.body.startswith("Your Onsite interview · Sales Rep on Tuesday 3 March 2026")
    other = make_request(candidate=candidate)
    assert TUESDAY_10 in slots(sched_org, other)
    with tenant_scope(sched_org), pytest.raises(services.RequestClosed, match="already cancelled"):
        services.booking_cancel(organization=sched_org, booking=booking, by=CancelledBy.CANDIDATE)


def test_cancellations_say_who_cancelled(
    sched_org, alice, make_candidate, make_request, monday_morning
):
    by_recruiter = book(
        sched_org, make_request(candidate=make_candidate(email="a@x.test")), TUESDAY_9
    )
    by_interviewer = book(
        sched_org, make_request(candidate=make_candidate(email="b@x.test")), TUESDAY_10
    )

    with tenant_scope(sched_org):
        services.booking_cancel(
            organization=sched_org,
            booking=by_recruiter,
            by=CancelledBy.RECRUITER,
            reason="Role filled",
            actor=alice.user,
        )
        services.booking_cancel(
            organization=sched_org,
            booking=by_interviewer,
            by=CancelledBy.INTERVIEWER,
            reason="Morgan Lee deleted the interview from their calendar",
        )
        summaries = list(
            TimelineEvent.objects.filter(kind="booking_cancelled")
            .order_by("id")
            .values_list("summary", flat=True)
        )

    assert summaries[0].startswith("Alice cancelled Onsite interview")
    assert summaries[1].startswith("An interviewer removed Onsite interview")
    assert summaries[1].endswith("from their calendar, so it was cancelled")
