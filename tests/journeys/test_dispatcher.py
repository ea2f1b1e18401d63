"""The dispatcher: waits, quiet hours, skips, exits on replies and opt-outs, lost workers and
what the providers report back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from candidates.models import TimelineEvent
from integrations.messaging import InboundSMS, classify_keyword
from integrations.twilio.webhooks import parse_webhook
from journeys import dispatcher, engine, execution, tasks
from journeys.models import JourneyRun, MatchCursor, RunStatus, StepRun, StepRunStatus
from messaging import services as messaging
from messaging.models import Message, MessageStatus, OptOutSource
from recruitflow.tenancy import tenant_scope
from tests.journeys.conftest import LONDON_MOBILE, NEW_YORK_MOBILE, texts_to

pytestmark = pytest.mark.django_db

TWO_DAYS = {"mode": "duration", "days": 2, "hours": 0, "minutes": 0}
ONE_HOUR = {"mode": "duration", "days": 0, "hours": 1, "minutes": 0}
WEDNESDAY_10_NEW_YORK = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _new_york_morning(time_machine):
    time_machine.move_to(WEDNESDAY_10_NEW_YORK, tick=True)


@pytest.fixture
def enter(ats, eager_tasks):
    """Move an application into Onsite Interview and match it (first steps run after commit)."""

    def go(application):
        transition = ats.move(application, "Onsite Interview")
        with eager_tasks(), tenant_scope(ats.organization):
            engine.transitions_match(organization=ats.organization, transition_ids=[transition.pk])
        with tenant_scope(ats.organization):
            return JourneyRun.objects.get(transition=transition)

    return go


@pytest.fixture
def dispatch(eager_tasks):
    def go():
        with eager_tasks():
            return tasks.dispatch_due()

    return go


def step_runs(org, run):
    with tenant_scope(org):
        return {s.position: s for s in StepRun.objects.filter(run=run)}


def events(org, candidate, kind):
    with tenant_scope(org):
        return list(TimelineEvent.objects.filter(candidate=candidate, kind=kind).order_by("pk"))


def fresh(org, row):
    with tenant_scope(org):
        row.refresh_from_db()
    return row


# --------------------------------------------------------------------------------------------
# Waits and sends
# --------------------------------------------------------------------------------------------


def test_a_wait_of_two_days_sends_the_next_step_when_the_dispatcher_finds_it_due(
    ats, make_journey, sms_template, email_template, texting, enter, dispatch, time_machine
):
    make_journey(steps=[("send_sms", sms_template), ("wait", TWO_DAYS),
                        ("send_email", email_template)])  # fmt: skip
    run = enter(ats.apply(ats.candidate()))
    wait = step_runs(ats.organization, run)[2]
    assert wait.due_at == WEDNESDAY_10_NEW_YORK + timedelta(days=2) or (
        abs(wait.due_at - (WEDNESDAY_10_NEW_YORK + timedelta(days=2))) < timedelta(seconds=5)
    )

    time_machine.shift(timedelta(days=1, hours=23))
    dispatch()
    assert mail.outbox == []

    time_machine.shift(timedelta(hours=1, minutes=1))
    dispatch()

    assert [m.subject for m in mail.outbox] == ["Your Sales Rep interview"]
    assert fresh(ats.organization, run).status == RunStatus.COMPLETED
    steps = step_runs(ats.organization, run)
    assert [steps[p].status for p in (1, 2, 3)] == ["done", "done", "done"]
    texting.twilio.wait_idle(2)
    assert len(texts_to(texting, NEW_YORK_MOBILE)) == 1


def test_wait_until_a_weekday_and_time_uses_the_candidates_time_zone(
    ats, make_journey, email_template, enter
):
    make_journey(steps=[("send_email", email_template),
                        ("wait", {"mode": "until", "weekdays": [0], "time": "09:00"}),
                        ("send_email", email_template)])  # fmt: skip
    london = enter(ats.apply(ats.candidate(mobile=LONDON_MOBILE)))
    new_york = enter(ats.apply(ats.candidate(mobile=NEW_YORK_MOBILE, email="ny@example.com")))

    # Monday 20 January, 09:00 in London (UTC+0) and in New York (UTC-5).
    assert step_runs(ats.organization, london)[2].due_at == datetime(2025, 1, 20, 9, tzinfo=UTC)
    assert step_runs(ats.organization, new_york)[2].due_at == datetime(2025, 1, 20, 14, tzinfo=UTC)


def test_opted_out_candidate_gets_no_text_with_the_reason_but_still_gets_the_email(
    ats, make_journey, sms_template, email_template, texting, enter
):
    make_journey(steps=[("send_sms", sms_template), ("send_email", email_template)])
    candidate = ats.candidate()
    with tenant_scope(ats.organization):
        messaging.opt_out_lock(
            organization=ats.organization, phone=NEW_YORK_MOBILE, source=OptOutSource.KEYWORD,
            keyword="STOP",
        )  # fmt: skip

    run = enter(ats.apply(candidate))

    steps = step_runs(ats.organization, run)
    assert steps[1].status == StepRunStatus.SKIPPED
    assert steps[1].reason.startswith(f"{NEW_YORK_MOBILE} opted out on 2025-01-15 by texting STOP")
    assert steps[2].status == StepRunStatus.DONE
    assert [m.subject for m in mail.outbox] == ["Your Sales Rep interview"]
    (skipped,) = events(ats.organization, candidate, "message_skipped")
    assert skipped.summary.startswith(f"Text not sent: {NEW_YORK_MOBILE} opted out")
    assert fresh(ats.organization, run).status == RunStatus.COMPLETED
    assert texts_to(texting, NEW_YORK_MOBILE) == []


def test_candidate_without_a_mobile_number_is_skipped_with_that_reason(
    ats, make_journey, sms_template, enter
):
    make_journey(steps=[("send_sms", sms_template)])

    run = enter(ats.apply(ats.candidate(mobile="")))

    assert step_runs(ats.organization, run)[1].reason == "No mobile number"
    with tenant_scope(ats.organization):
        assert not Message.objects.exists()


def test_quiet_hours_hold_the_text_and_the_next_step_counts_from_when_it_goes_out(
    ats, make_journey, sms_template, email_template, texting, enter, time_machine
):
    time_machine.move_to(datetime(2025, 1, 15, 8, 0, tzinfo=UTC), tick=True)  # 03:00 New York
    make_journey(steps=[("send_sms", sms_template), ("wait", ONE_HOUR),
                        ("send_email", email_template)])  # fmt: skip

    run = enter(ats.apply(ats.candidate()))

    steps = step_runs(ats.organization, run)
    opening = datetime(2025, 1, 15, 13, 0, tzinfo=UTC)  # 08:00 New York
    assert steps[1].status == StepRunStatus.HELD and steps[1].held_until == opening
    assert steps[2].due_at == opening + timedelta(hours=1)
    (held,) = events(ats.organization, run.candidate, "message_held")
    assert held.summary == "Text held until Wed 15 Jan 08:00 (America/New_York): quiet hours"
    assert events(ats.organization, run.candidate, "journey_sent") == []
    assert texts_to(texting, NEW_YORK_MOBILE) == []


def test_held_step_is_done_once_its_text_goes_out(
    ats, make_journey, sms_template, texting, enter, dispatch, eager_tasks, time_machine
):
    time_machine.move_to(datetime(2025, 1, 15, 8, 0, tzinfo=UTC), tick=True)
    make_journey(steps=[("send_sms", sms_template)])
    run = enter(ats.apply(ats.candidate()))

    time_machine.move_to(datetime(2025, 1, 15, 13, 1, tzinfo=UTC), tick=True)
    with eager_tasks():
        messaging.messages_release_held()
    dispatch()

    step = step_runs(ats.organization, run)[1]
    assert step.status == StepRunStatus.DONE and step.reason == "The held text went out."
    assert fresh(ats.organization, run).status == RunStatus.COMPLETED
    texting.twilio.wait_idle(2)
    assert texts_to(texting, NEW_YORK_MOBILE) == ["Hi Sam, see you at the Onsite Interview!"]


def test_rejection_while_a_text_is_held_withdraws_it_from_the_outbox(
    ats, make_journey, sms_template, texting, enter, eager_tasks, time_machine
):
    time_machine.move_to(datetime(2025, 1, 15, 8, 0, tzinfo=UTC), tick=True)
    make_journey(steps=[("send_sms", sms_template)])
    application = ats.apply(ats.candidate())
    run = enter(application)

    rejected = ats.move(application, status="rejected")
    with eager_tasks(), tenant_scope(ats.organization):
        engine.transitions_match(organization=ats.organization, transition_ids=[rejected.pk])
    time_machine.move_to(datetime(2025, 1, 15, 13, 1, tzinfo=UTC), tick=True)
    with eager_tasks():
        messaging.messages_release_held()

    with tenant_scope(ats.organization):
        message = Message.objects.get()
    assert message.status == MessageStatus.CANCELED
    assert step_runs(ats.organization, run)[1].status == StepRunStatus.CANCELED
    (exited,) = events(ats.organization, run.candidate, "journey_exited")
    assert exited.detail == "1 pending step canceled. A message held for quiet hours was withdrawn."
    assert texts_to(texting, NEW_YORK_MOBILE) == []


def test_provider_refusal_marks_the_step_failed_with_the_providers_reason(
    ats, make_journey, sms_template, texting, enter, dispatch
):
    make_journey(steps=[("send_sms", sms_template)])
    landline = "+12125550006"  # the sandbox carrier reports 30006
    run = enter(ats.apply(ats.candidate(mobile=landline)))
    assert texting.twilio.wait_idle(5)

    for entry in [c for c in texting.twilio.callbacks if c["kind"] == "status"]:
        (update,) = parse_webhook(entry["params"], url=entry["url"])
        with tenant_scope(ats.organization):
            messaging.message_status_apply(organization=ats.organization, update=update)
    dispatch()
    dispatch()

    step = step_runs(ats.organization, run)[1]
    assert step.status == StepRunStatus.FAILED
    assert step.reason.startswith("The text was not delivered: ")
    (failed,) = events(ats.organization, run.candidate, "journey_step_failed")
    assert failed.summary.startswith("Journey “Onsite invitation”, step 1: text not delivered — ")
    assert failed.data["error_code"] == "30006"


# --------------------------------------------------------------------------------------------
# Conditions and exits
# --------------------------------------------------------------------------------------------


def test_condition_not_met_ends_the_run_with_the_reason(
    ats, make_journey, sms_template, email_template, enter
):
    make_journey(steps=[("send_email", email_template),
                        ("condition", {"check": "replied", "expect": True}),
                        ("send_sms", sms_template)])  # fmt: skip

    run = enter(ats.apply(ats.candidate()))

    run = fresh(ats.organization, run)
    assert (run.status, run.exit_rule) == (RunStatus.EXITED, "condition")
    assert run.reason == "Condition not met: “Has replied” is no."
    (exited,) = events(ats.organization, run.candidate, "journey_exited")
    assert exited.summary == (
        "Left journey “Onsite invitation”: Condition not met: “Has replied” is no."
    )
    assert 3 not in step_runs(ats.organization, run)


def test_exit_step_ends_the_run_before_later_steps(ats, make_journey, email_template, enter):
    make_journey(steps=[("exit", None), ("send_email", email_template)])

    run = fresh(ats.organization, enter(ats.apply(ats.candidate())))

    assert (run.status, run.reason) == (RunStatus.COMPLETED, "Reached the Exit step.")
    assert mail.outbox == []


def _reply(org, body="Sounds good, thanks!"):
    with tenant_scope(org):
        return messaging.inbound_sms_receive(
            organization=org,
            inbound=InboundSMS(
                from_e164=NEW_YORK_MOBILE,
                to_e164="+15005550006",
                body=body,
                provider_message_id=f"SMin{body[:4]}",
                received_at=datetime.now(UTC),
                opt_out_keyword=classify_keyword(body),
                raw={},
            ),
        )


def test_reply_ends_the_run_at_once_through_the_dispatcher_sweep(
    ats, make_journey, sms_template, texting, enter, dispatch
):
    make_journey(steps=[("send_sms", sms_template), ("wait", TWO_DAYS), ("send_sms", sms_template)],
                 exit_rules=["left_stage", "replied"])  # fmt: skip
    run = enter(ats.apply(ats.candidate()))

    _reply(ats.organization)
    dispatch()  # nothing is due: only the sweep can end the run

    run = fresh(ats.organization, run)
    assert (run.status, run.exit_rule, run.reason) == ("exited", "replied", "the candidate replied")
    assert step_runs(ats.organization, run)[2].status == StepRunStatus.CANCELED
    (exited,) = events(ats.organization, run.candidate, "journey_exited")
    assert exited.summary == (
        "Left journey “Onsite invitation”: the candidate replied (exit rule: candidate replied)"
    )


def test_reply_the_sweep_missed_is_caught_before_the_next_step_is_sent(
    ats, make_journey, sms_template, texting, enter, dispatch, time_machine
):
    make_journey(steps=[("send_sms", sms_template), ("wait", TWO_DAYS), ("send_sms", sms_template)],
                 exit_rules=["replied"])  # fmt: skip
    run = enter(ats.apply(ats.candidate()))
    _reply(ats.organization)
    with tenant_scope(ats.organization):  # as if the sweep had read past it
        MatchCursor.objects.update(last_event_id=10**9)

    time_machine.shift(timedelta(days=2, minutes=1))
    dispatch()

    run = fresh(ats.organization, run)
    assert (run.status, run.exit_rule) == ("exited", "replied")
    assert step_runs(ats.organization, run)[2].status == StepRunStatus.CANCELED
    texting.twilio.wait_idle(2)
    assert len(texts_to(texting, NEW_YORK_MOBILE)) == 1


def test_reply_before_the_run_started_does_not_end_it(
    ats, make_journey, sms_template, texting, enter, dispatch
):
    make_journey(steps=[("wait", TWO_DAYS), ("send_sms", sms_template)], exit_rules=["replied"])
    candidate = ats.candidate()
    _reply(ats.organization)

    run = enter(ats.apply(candidate))
    dispatch()

    assert fresh(ats.organization, run).status == RunStatus.ACTIVE


def test_texting_stop_mid_journey_ends_the_run_as_opted_out(
    ats, make_journey, sms_template, email_template, texting, enter, dispatch
):
    make_journey(steps=[("send_sms", sms_template), ("wait", TWO_DAYS),
                        ("send_email", email_template)])  # fmt: skip
    run = enter(ats.apply(ats.candidate()))

    _reply(ats.organization, body="STOP")
    dispatch()

    run = fresh(ats.organization, run)
    assert (run.status, run.exit_rule) == ("exited", "opted_out")
    assert run.reason == f"{NEW_YORK_MOBILE} opted out of texts"


# --------------------------------------------------------------------------------------------
# Lost workers
# --------------------------------------------------------------------------------------------


class WorkerKilled(BaseException):
    """The worker process died (SIGKILL, OOM, deploy) at this point."""


def test_killed_worker_runs_the_send_step_again_which_finds_its_message_and_sends_nothing_twice(
    ats,
    make_journey,
    sms_template,
    texting,
    enter,
    dispatch,
    time_machine,
    monkeypatch,
    eager_tasks,
):
    make_journey(steps=[("wait", ONE_HOUR), ("send_sms", sms_template), ("send_sms", sms_template)])
    run = enter(ats.apply(ats.candidate()))
    time_machine.shift(timedelta(hours=1, minutes=1))
    record = execution._record_together

    def killed_after_the_send(organization, items):
        if any(step_run.position == 2 for step_run, *_ in items):
            raise WorkerKilled  # the outbox row is committed; recording it never happens
        return record(organization, items)

    monkeypatch.setattr(execution, "_record_together", killed_after_the_send)
    with pytest.raises(WorkerKilled):
        tasks.dispatch_due()
    monkeypatch.undo()
    with tenant_scope(ats.organization):  # its delivery task died mid-call too
        Message.objects.update(status=MessageStatus.SENDING)
        send = StepRun.objects.get(run=run, position=2)
        first = Message.objects.get()

    dispatch()  # within the step timeout: left alone
    assert fresh(ats.organization, send).status == StepRunStatus.RUNNING
    time_machine.shift(timedelta(minutes=3))
    dispatch()
    with tenant_scope(ats.organization):  # a duplicate task for the same step
        engine.step_runs_execute(organization=ats.organization, step_run_ids=[send.pk])
    dispatch()

    send = fresh(ats.organization, send)
    assert send.status == StepRunStatus.DONE and send.message_id == first.pk
    assert send.attempts == 2
    run = fresh(ats.organization, run)
    assert run.status == RunStatus.COMPLETED  # step 3 went out as well
    assert events(ats.organization, run.candidate, "journey_step_unknown") == []
    with tenant_scope(ats.organization):
        assert Message.objects.filter(idempotency_key=f"journey-step:{send.pk}").count() == 1
        assert Message.objects.count() == 2
    # Step 2's delivery task died before calling Twilio: only step 3's text is there.
    assert len(texts_to(texting, NEW_YORK_MOBILE)) == 1

    # The delivery sweep asks Twilio about the text left "sending": Twilio never got it, so it
    # goes out now, once.
    from messaging.recovery import delivery_recover

    time_machine.shift(timedelta(minutes=6))
    with eager_tasks(), tenant_scope(ats.organization):
        assert delivery_recover().sending_settled == 1
    first = fresh(ats.organization, first)
    assert first.status == MessageStatus.SENT and first.provider_message_id
    assert len(texts_to(texting, NEW_YORK_MOBILE)) == 2
    with eager_tasks(), tenant_scope(ats.organization):
        delivery_recover()
    assert len(texts_to(texting, NEW_YORK_MOBILE)) == 2


def test_send_step_that_keeps_losing_its_worker_ends_unknown_after_its_attempts(
    ats, make_journey, sms_template, texting, enter, dispatch, time_machine
):
    make_journey(steps=[("wait", ONE_HOUR), ("send_sms", sms_template), ("send_sms", sms_template)])
    run = enter(ats.apply(ats.candidate()))
    time_machine.shift(timedelta(hours=1, minutes=1))
    with tenant_scope(ats.organization):
        StepRun.objects.filter(run=run, position=1).update(status=StepRunStatus.DONE)
        send = StepRun.objects.create(
            organization=ats.organization, run=run, step=run.version.steps.get(position=2),
            position=2, status=StepRunStatus.RUNNING, due_at=run.started_at,
            started_at=run.started_at, attempts=engine.MAX_STEP_ATTEMPTS,
        )  # fmt: skip

    time_machine.shift(timedelta(minutes=3))
    dispatch()

    send = fresh(ats.organization, send)
    assert send.status == StepRunStatus.UNKNOWN
    assert "no message reached the outbox" in send.reason
    assert fresh(ats.organization, run).status == RunStatus.FAILED
    assert texts_to(texting, NEW_YORK_MOBILE) == []


def test_worker_lost_before_the_outbox_runs_the_send_again_and_the_text_goes_out_once(
    ats, make_journey, sms_template, texting, enter, dispatch, time_machine
):
    make_journey(steps=[("wait", ONE_HOUR), ("send_sms", sms_template)])
    run = enter(ats.apply(ats.candidate()))
    time_machine.shift(timedelta(hours=1, minutes=1))
    with tenant_scope(ats.organization):
        StepRun.objects.filter(run=run, position=1).update(status=StepRunStatus.DONE)
        send = StepRun.objects.create(
            organization=ats.organization, run=run, step=run.version.steps.get(position=2),
            position=2, status=StepRunStatus.RUNNING, due_at=run.started_at,
            started_at=run.started_at, attempts=1,
        )  # fmt: skip

    time_machine.shift(timedelta(minutes=3))
    dispatch()
    dispatch()

    send = fresh(ats.organization, send)
    assert send.status == StepRunStatus.DONE
    assert fresh(ats.organization, run).status == RunStatus.COMPLETED
    (sent,) = events(ats.organization, run.candidate, "journey_sent")
    assert sent.data["message_id"] == send.message_id
    with tenant_scope(ats.organization):
        assert Message.objects.count() == 1
    assert len(texts_to(texting, NEW_YORK_MOBILE)) == 1


def _stopped_unknown(ats, run, position):
    """What recovery did to a step that kept losing its worker after its text left: the step
    unknown with its message, the message unknown, the run stopped."""
    with tenant_scope(ats.organization):
        step = StepRun.objects.get(run=run, position=position)
        message = Message.objects.get(idempotency_key=f"journey-step:{step.pk}")
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.UNKNOWN, provider_message_id="", sent_at=None
        )
        StepRun.objects.filter(pk=step.pk).update(
            status=StepRunStatus.UNKNOWN, message=message, reason="outcome unknown"
        )
        StepRun.objects.filter(run=run, position__gt=position).delete()
        JourneyRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            reason=dispatcher.unknown_stop_reason(position),
            finished_at=datetime.now(UTC),
        )
    return step, message


def test_unknown_step_follows_its_message_when_twilio_confirms_it_and_the_run_goes_on(
    ats, make_journey, sms_template, texting, enter, dispatch, time_machine
):
    make_journey(
        steps=[
            ("wait", ONE_HOUR),
            ("send_sms", sms_template),
            ("wait", ONE_HOUR),
            ("send_sms", sms_template),
        ]
    )
    run = enter(ats.apply(ats.candidate()))
    time_machine.shift(timedelta(hours=1, minutes=1))
    dispatch()
    texting.twilio.wait_idle(2)
    step, message = _stopped_unknown(ats, run, 2)
    assert len(texts_to(texting, NEW_YORK_MOBILE)) == 1

    with tenant_scope(ats.organization):  # the reconcile asks Twilio: it has the text
        outcome = messaging.message_reconcile(organization=ats.organization, message_id=message.pk)
    assert outcome.outcome == messaging.DeliveryOutcome.SENT
    dispatch()
    dispatch()

    step = fresh(ats.organization, step)
    assert step.status == StepRunStatus.DONE
    assert "went out" in step.reason and "unknown" not in step.reason
    settled = [e for e in events(ats.organization, run.candidate, "journey_sent") if e.data.get(
        "settled")]  # fmt: skip
    assert len(settled) == 1 and "confirmed by the provider" in settled[0].summary
    assert fresh(ats.organization, run).status == RunStatus.ACTIVE  # it goes on
    time_machine.shift(timedelta(hours=1, minutes=1))
    dispatch()
    dispatch()
    run = fresh(ats.organization, run)
    assert run.status == RunStatus.COMPLETED  # steps 3 and 4 ran after all
    # Twilio's own records: step 2's text once, step 4's once.
    assert len(texts_to(texting, NEW_YORK_MOBILE)) == 2


def test_unknown_step_follows_its_message_that_reconcile_resent_and_says_it_was_sent_once(
    ats, make_journey, sms_template, texting, enter, dispatch, time_machine, eager_tasks
):
    make_journey(steps=[("wait", ONE_HOUR), ("send_sms", sms_template)])
    run = enter(ats.apply(ats.candidate()))
    time_machine.shift(timedelta(hours=1, minutes=1))
    dispatch()
    texting.twilio.wait_idle(2)
    texting.twilio.reset()  # Twilio never got it
    texting.twilio.configure(sent_delay=0.01, delivery_delay=0.02)
    step, message = _stopped_unknown(ats, run, 2)

    with eager_tasks(), tenant_scope(ats.organization):
        outcome = messaging.message_reconcile(organization=ats.organization, message_id=message.pk)
    assert outcome.outcome == messaging.DeliveryOutcome.REQUEUED
    dispatch()

    step = fresh(ats.organization, step)
    assert step.status == StepRunStatus.DONE
    assert fresh(ats.organization, run).status == RunStatus.COMPLETED
    assert len(texts_to(texting, NEW_YORK_MOBILE)) == 1


def test_wait_step_whose_worker_died_is_simply_run_again(
    ats, make_journey, email_template, enter, dispatch, time_machine
):
    make_journey(steps=[("wait", ONE_HOUR), ("send_email", email_template)])
    run = enter(ats.apply(ats.candidate()))
    time_machine.shift(timedelta(hours=1, minutes=1))
    claimed = dispatcher.step_runs_claim_due()  # a dispatcher claimed it and died
    assert [pk for _, pk in claimed] == [step_runs(ats.organization, run)[1].pk]

    time_machine.shift(timedelta(minutes=3))
    dispatch()
    dispatch()

    assert [m.subject for m in mail.outbox] == ["Your Sales Rep interview"]
    assert fresh(ats.organization, run).status == RunStatus.COMPLETED


def test_claiming_due_steps_takes_each_row_once(
    ats, make_journey, email_template, enter, time_machine
):
    make_journey(steps=[("wait", ONE_HOUR), ("send_email", email_template)])
    for n in range(5):
        enter(ats.apply(ats.candidate(first_name=f"C{n}")))
    time_machine.shift(timedelta(hours=2))

    first = dispatcher.step_runs_claim_due(limit=3)
    second = dispatcher.step_runs_claim_due(limit=3)
    third = dispatcher.step_runs_claim_due(limit=3)

    assert (len(first), len(second), third) == (3, 2, [])
    assert not {pk for _, pk in first} & {pk for _, pk in second}
    with tenant_scope(ats.organization):
        assert set(StepRun.objects.values_list("status", flat=True)) == {StepRunStatus.RUNNING}


def test_template_broken_after_activation_stops_the_run_with_the_reason_on_the_timeline(
    ats, make_journey, sms_template, email_template, enter
):
    make_journey(steps=[("send_email", email_template), ("send_sms", sms_template)])
    with tenant_scope(ats.organization):  # edited behind the Library's back
        type(email_template).objects.filter(pk=email_template.pk).update(
            subject="Hi {{ candidate.nickname }"
        )

    run = fresh(ats.organization, enter(ats.apply(ats.candidate())))

    assert run.status == RunStatus.FAILED
    (failed,) = events(ats.organization, run.candidate, "journey_step_failed")
    assert failed.summary == "Journey “Onsite invitation”, step 1: e-mail not sent"
    assert failed.detail.startswith("The template “Onsite invite (e-mail)” can't be rendered (")
    assert "fix it in the Library" in failed.detail
    with tenant_scope(ats.organization):
        assert not Message.objects.exists()
