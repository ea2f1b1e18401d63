"""One slot, one booking: candidates racing for the same interviewers end with exactly one
booking; the others are told the time was just taken and nothing of theirs changes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from recruitflow.tenancy import tenant_scope
from scheduling import rules, services
from scheduling.models import BookedSlot, Booking, RequestStatus, SchedulingRequest
from tests.scheduling.conftest import LONDON

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
POSTGRES_ONLY = (
    "Concurrent bookings need a database with row locks and concurrent writers: run with "
    "DATABASE_URL=postgres://… (SQLite serializes every write, so there is no race to test)."
)


def book(org, request, start):
    with tenant_scope(org):
        return services.booking_book(
            organization=org, request=request, start=start, time_zone=LONDON
        )


def race(org, attempts: list[tuple[SchedulingRequest, datetime]]) -> list[str]:
    """Book every (request, start) at the same moment, each on its own database connection."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = [""] * len(attempts)

    def attempt(index: int, request, start) -> None:
        try:
            barrier.wait(timeout=10)
            book(org, request, start)
            outcomes[index] = "booked"
        except rules.SlotTaken as exc:
            outcomes[index] = f"taken: {exc}"
        except Exception as exc:  # reported by the assertion below, with its type
            outcomes[index] = f"error: {exc!r}"
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=attempt, args=(i, request, start))
        for i, (request, start) in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def state(org):
    with tenant_scope(org):
        return (
            Booking.objects.count(),
            BookedSlot.objects.filter(active=True).count(),
            sorted(SchedulingRequest.objects.values_list("status", flat=True)),
        )


# ------------------------------------------------------------------------------------------
# Sequential (every database)
# ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_second_candidate_for_a_slot_is_told_it_was_just_taken(
    sched_org, make_candidate, make_request, monday_morning
):
    first = make_request(candidate=make_candidate(email="first@example.com"))
    second = make_request(candidate=make_candidate(email="second@example.com"))
    book(sched_org, first, TUESDAY_10)

    with pytest.raises(rules.SlotTaken, match="Someone has just booked that time"):
        book(sched_org, second, TUESDAY_10)

    assert state(sched_org) == (1, 2, [RequestStatus.BOOKED, RequestStatus.PENDING])


@pytest.mark.django_db
def test_an_overlapping_time_with_the_same_interviewers_is_taken_too(
    sched_org, make_candidate, make_request, monday_morning
):
    first = make_request(candidate=make_candidate(email="first@example.com"))
    second = make_request(candidate=make_candidate(email="second@example.com"))
    book(sched_org, first, TUESDAY_10)

    with pytest.raises(rules.SlotTaken):
        book(sched_org, second, TUESDAY_10 + timedelta(minutes=30))

    assert state(sched_org)[0] == 1


@pytest.mark.django_db
def test_the_database_settles_a_slot_both_saw_free(
    sched_org, make_candidate, make_request, monkeypatch, monday_morning
):
    """The slower booking computed its slots before the faster one committed: the unique hold
    refuses it and its request is left as it was."""
    first = make_request(candidate=make_candidate(email="first@example.com"))
    second = make_request(candidate=make_candidate(email="second@example.com"))
    with tenant_scope(sched_org):
        stale = services.slots_for_request(organization=sched_org, request=second)
    book(sched_org, first, TUESDAY_10)
    monkeypatch.setattr(services, "offered_slots", lambda **kwargs: stale)

    with pytest.raises(rules.SlotTaken, match="Someone has just booked that time"):
        book(sched_org, second, TUESDAY_10)

    assert state(sched_org) == (1, 2, [RequestStatus.BOOKED, RequestStatus.PENDING])


# ------------------------------------------------------------------------------------------
# Concurrent (Postgres)
# ------------------------------------------------------------------------------------------


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(POSTGRES_ONLY)


@pytest.mark.django_db(transaction=True)
def test_two_candidates_booking_the_same_slot_at_once_get_one_booking(
    postgres_only, sched_org, make_candidate, make_request, monday_morning
):
    requests = [
        make_request(candidate=make_candidate(email=f"racer{i}@example.com")) for i in range(2)
    ]

    outcomes = race(sched_org, [(request, TUESDAY_10) for request in requests])

    assert sorted(outcomes) == [
        "booked",
        "taken: Someone has just booked that time. Please pick another one.",
    ]
    assert state(sched_org) == (1, 2, [RequestStatus.BOOKED, RequestStatus.PENDING])


@pytest.mark.django_db(transaction=True)
def test_many_candidates_racing_for_overlapping_times_never_double_book_an_interviewer(
    postgres_only, sched_org, make_candidate, make_request, monday_morning
):
    requests = [
        make_request(candidate=make_candidate(email=f"racer{i}@example.com")) for i in range(6)
    ]
    # 10:00, 10:30 and 11:00 overlap pairwise with 45-minute interviews; two racers each.
    starts = [TUESDAY_10 + timedelta(minutes=30 * (i % 3)) for i in range(6)]

    outcomes = race(sched_org, list(zip(requests, starts, strict=True)))

    assert not [o for o in outcomes if o.startswith("error")], outcomes
    with tenant_scope(sched_org):
        holds = list(BookedSlot.objects.filter(active=True).order_by("user_id", "start"))
    by_member: dict[int, list[BookedSlot]] = {}
    for hold in holds:
        by_member.setdefault(hold.user_id, []).append(hold)
    for member_holds in by_member.values():
        for earlier, later in zip(member_holds, member_holds[1:], strict=False):
            assert earlier.end <= later.start, "an interviewer was booked twice at once"
    booked = outcomes.count("booked")
    assert booked in (1, 2)  # 10:00 + 11:00 can both win; 10:30 excludes both
    assert state(sched_org)[0] == booked
