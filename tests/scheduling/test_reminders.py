"""The reminders sweep with time travel: the Reminder to Schedule once after the delay, the
Day Before Interview Reminder once in the 24 hours before, links expiring unbooked — as the
candidate's outbox and the timeline show them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from candidates.models import TimelineEvent
from recruitflow.tenancy import tenant_scope
from scheduling import reminders, services
from scheduling.models import CancelledBy, RequestStatus
from tests.scheduling.conftest import LONDON, MONDAY

pytestmark = pytest.mark.django_db

WEDNESDAY_10 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
THURSDAY_15 = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)


def sweep(org) -> int:
    with tenant_scope(org):
        return reminders.reminders_send_due(organization=org)


def subjects(outbox, candidate):
    return [m.subject for m in outbox(candidate, channel="email")]


def kinds(org, candidate, kind):
    with tenant_scope(org):
        return list(
            TimelineEvent.objects.filter(candidate=candidate, kind=kind).values_list(
                "summary", flat=True
            )
        )


def test_reminder_to_schedule_goes_once_after_the_delay(
    sched_org, candidate, make_request, outbox, time_machine, monday_morning
):
    request = make_request()  # the template's delay is 48 hours

    time_machine.move_to(MONDAY + timedelta(hours=47, minutes=59))
    assert sweep(sched_org) == 0
    assert len(outbox(candidate)) == 2  # only the Request to Schedule

    time_machine.move_to(MONDAY + timedelta(hours=48))
    assert sweep(sched_org) == 1
    reminder_email, reminder_text = outbox(candidate)[2:]
    assert reminder_email.subject == "Reminder: pick a time for your Onsite interview · Sales Rep"
    assert services.request_link(request) in reminder_text.body
    assert kinds(sched_org, candidate, "scheduling_reminder_sent") == [
        "Reminder to Schedule “Onsite interview” sent by e-mail and text message"
    ]

    time_machine.move_to(MONDAY + timedelta(hours=60))
    assert sweep(sched_org) == 0
    assert len(outbox(candidate)) == 4
    with tenant_scope(sched_org):
        request.refresh_from_db()
    assert request.reminder_sent_at == MONDAY + timedelta(hours=48)


def test_no_reminder_to_schedule_once_booked(
    sched_org, candidate, make_request, outbox, time_machine, monday_morning
):
    request = make_request()
    with tenant_scope(sched_org):
        services.booking_book(
            organization=sched_org, request=request, start=THURSDAY_15, time_zone=LONDON
        )

    time_machine.move_to(MONDAY + timedelta(hours=49))
    sweep(sched_org)

    assert not [s for s in subjects(outbox, candidate) if s.startswith("Reminder")]


def test_day_before_reminder_goes_once_in_the_last_24_hours(
    sched_org, candidate, make_request, outbox, time_machine, monday_morning
):
    request = make_request()
    with tenant_scope(sched_org):
        booking = services.booking_book(
            organization=sched_org, request=request, start=WEDNESDAY_10, time_zone=LONDON
        )

    time_machine.move_to(WEDNESDAY_10 - timedelta(hours=24, minutes=1))
    assert sweep(sched_org) == 0
    assert "Tomorrow: Onsite interview · Sales Rep" not in subjects(outbox, candidate)

    time_machine.move_to(WEDNESDAY_10 - timedelta(hours=24))
    assert sweep(sched_org) == 1
    day_before = outbox(candidate, channel="email")[-1]
    assert day_before.subject == "Tomorrow: Onsite interview · Sales Rep"
    assert "Wednesday 4 March 2026, 10:00–10:45 (Europe/London)" in day_before.html
    assert outbox(candidate, channel="sms")[-1].body == (
        "Reminder: Onsite interview · Sales Rep Wednesday 4 March 2026, 10:00–10:45 (Europe/London)"
    )
    (summary,) = kinds(sched_org, candidate, "interview_reminder_sent")
    assert summary.startswith("Day Before Interview Reminder for Onsite interview · Sales Rep")

    time_machine.move_to(WEDNESDAY_10 - timedelta(hours=2))
    assert sweep(sched_org) == 0
    assert subjects(outbox, candidate).count("Tomorrow: Onsite interview · Sales Rep") == 1
    with tenant_scope(sched_org):
        booking.refresh_from_db()
    assert booking.day_before_sent_at == WEDNESDAY_10 - timedelta(hours=24)


def test_a_rescheduled_interview_gets_its_own_day_before_reminder(
    sched_org, candidate, make_request, outbox, time_machine, monday_morning
):
    request = make_request()
    with tenant_scope(sched_org):
        booking = services.booking_book(
            organization=sched_org, request=request, start=WEDNESDAY_10, time_zone=LONDON
        )
    time_machine.move_to(WEDNESDAY_10 - timedelta(hours=20))  # Tuesday 14:00
    assert sweep(sched_org) == 1

    with tenant_scope(sched_org):
        services.booking_reschedule(
            organization=sched_org, booking=booking, start=THURSDAY_15, time_zone=LONDON
        )
    assert sweep(sched_org) == 0  # Thursday 15:00 is more than 24 hours away
    time_machine.move_to(THURSDAY_15 - timedelta(hours=23))
    assert sweep(sched_org) == 1

    reminders = [m for m in outbox(candidate, channel="email") if m.subject.startswith("Tomorrow")]
    assert len(reminders) == 2
    assert "Thursday 5 March 2026, 15:00–15:45 (Europe/London)" in reminders[-1].html


def test_a_cancelled_interview_gets_no_day_before_reminder(
    sched_org, candidate, make_request, outbox, time_machine, monday_morning
):
    with tenant_scope(sched_org):
        booking = services.booking_book(
            organization=sched_org, request=make_request(), start=WEDNESDAY_10, time_zone=LONDON
        )
        services.booking_cancel(organization=sched_org, booking=booking, by=CancelledBy.CANDIDATE)

    time_machine.move_to(WEDNESDAY_10 - timedelta(hours=12))
    assert sweep(sched_org) == 0
    assert not [s for s in subjects(outbox, candidate) if s.startswith("Tomorrow")]


def test_an_unbooked_link_expires_and_is_not_reminded_after(
    sched_org, candidate, make_template, make_request, outbox, time_machine, monday_morning
):
    template = make_template(name="Slow reminder", reminder_delay_hours=24 * 20)
    request = make_request(template=template)

    time_machine.move_to(MONDAY + timedelta(days=14))
    sweep(sched_org)

    with tenant_scope(sched_org):
        request.refresh_from_db()
    assert request.status == RequestStatus.EXPIRED
    assert kinds(sched_org, candidate, "scheduling_request_expired") == [
        "Scheduling link for “Slow reminder” expired unbooked"
    ]
    time_machine.move_to(MONDAY + timedelta(days=21))
    assert sweep(sched_org) == 0
    assert len(outbox(candidate)) == 2


def test_a_template_without_a_reminder_message_sends_none(
    sched_org, candidate, make_template, make_request, outbox, time_machine, monday_morning
):
    template = make_template(name="No reminder", reminder_email=None, reminder_sms=None)
    make_request(template=template)

    time_machine.move_to(MONDAY + timedelta(days=3))
    assert sweep(sched_org) == 0
    assert len(outbox(candidate)) == 2


def test_the_beat_task_fans_out_to_organizations_with_work(
    sched_org, candidate, make_request, outbox, time_machine, monday_morning
):
    from recruitflow.celery import app
    from scheduling import tasks

    make_request()
    time_machine.move_to(MONDAY + timedelta(hours=49))
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    try:
        assert tasks.send_reminders() == 1
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous

    assert [m.subject for m in outbox(candidate, channel="email")][-1].startswith("Reminder:")


def test_the_sweep_runs_every_minute_on_beat(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="scheduling.send_reminders")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (60, "seconds")
