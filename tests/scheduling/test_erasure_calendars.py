"""Deleting a candidate's personal data removes their interview events (which carry their name,
e-mail and phone) from the members' connected calendars, over HTTP against the sandbox Cronofy;
a calendar that can't be reached is reported to the admin, not hidden."""

from __future__ import annotations

import pytest

from candidates.erasure import ERASED, erase_candidate
from integrations.cronofy.models import CalendarConnection, CalendarConnectionStatus
from recruitflow.tenancy import tenant_scope
from scheduling import calendars
from scheduling.models import Booking, BookingStatus
from tests.scheduling import test_cronofy_push as push

ANA, BEN = push.ANA, push.BEN
# The sandbox Cronofy and a member's connection through it, as the push tests make them.
sandbox, _fresh_cronofy = push.sandbox, push._fresh_cronofy
cronofy_settings, connect = push.cronofy_settings, push.connect


def _ours(sandbox, email: str, booking: Booking) -> list[dict]:
    return [e for e in push.live_events(sandbox, email) if e["event_id"] == booking.event_id]


@pytest.mark.django_db
def test_the_candidates_interview_events_leave_connected_calendars_and_a_refusal_is_reported(
    sched_org, alice, scheduling_template, interviewers, candidate, connect, sandbox
):
    morgan, sam = interviewers
    connect(morgan, ANA)
    unreachable = connect(sam, BEN)
    booking = push.book(
        sched_org, scheduling_template, candidate, interviewers, push.in_three_days(10)
    )
    with tenant_scope(sched_org):
        assert calendars.booking_events_push(organization=sched_org, booking=booking) == []
    assert "Jordan Rivera" in _ours(sandbox, ANA, booking)[0]["description"]
    with tenant_scope(sched_org):
        CalendarConnection.objects.filter(pk=unreachable.pk).update(
            status=CalendarConnectionStatus.ERROR, last_error="Cronofy refused the token."
        )

        record = erase_candidate(
            organization=sched_org, candidate=candidate, requested_by=alice.user
        )
        booking.refresh_from_db()

    assert _ours(sandbox, ANA, booking) == []
    assert record.counts["calendar_events_removed"] == 0  # not every calendar could be reached
    assert record.problems == [
        "Couldn't remove the interview from Sam Patel's calendar: the calendar connection needs "
        "attention (Cronofy refused the token.)."
    ]
    assert (booking.title, booking.status) == (ERASED, BookingStatus.CANCELLED)
