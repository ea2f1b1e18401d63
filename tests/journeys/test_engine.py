"""Matching stage transitions to journeys, starting runs, exit rules on ATS changes, versions,
activation and pausing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from candidates.models import TimelineEvent
from journeys import dispatcher, engine, services, tasks
from journeys.models import (
    JourneyRun,
    JourneyStep,
    JourneyTriggerKey,
    RunStatus,
    StepRun,
    StepRunStatus,
)
from messaging.models import Message
from recruitflow.tenancy import tenant_scope
from tests.journeys.conftest import NEW_YORK_MOBILE, texts_to

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("weekday_morning")]

TWO_DAYS = {"mode": "duration", "days": 2, "hours": 0, "minutes": 0}


def match(org, *transitions):
    with tenant_scope(org):
        return engine.transitions_match(
            organization=org, transition_ids=[t.pk for t in transitions]
        )


def runs(org, **filters):
    with tenant_scope(org):
        return list(JourneyRun.objects.filter(**filters).order_by("pk"))


def timeline(org, candidate, kind=None):
    with tenant_scope(org):
        events = TimelineEvent.objects.filter(candidate=candidate).order_by("occurred_at", "pk")
        if kind:
            events = events.filter(kind=kind)
        return list(events)


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


def test_onsite_journey_for_sales_rep_starts_only_for_sales_rep_candidates_entering_onsite(
    ats, make_journey, sms_template
):
    journey = make_journey(steps=[("send_sms", sms_template)])
    sales = ats.apply(ats.candidate(first_name="Ada"), "Sales Rep")
    other_job = ats.apply(ats.candidate(first_name="Bo"), "Account Executive")
    other_stage = ats.apply(ats.candidate(first_name="Cy"), "Sales Rep", "Application Review")

    result = match(
        ats.organization,
        ats.move(sales, "Onsite Interview"),
        ats.move(other_job, "Onsite Interview"),
        ats.move(other_stage, "Phone Interview"),
    )

    started = runs(ats.organization)
    assert result.runs_created == 1
    assert [(r.journey_id, r.application_id) for r in started] == [(journey.pk, sales.pk)]
    (entered,) = timeline(ats.organization, sales.candidate, "journey_entered")
    assert entered.summary == (
        "Entered journey “Onsite invitation”: moved to Onsite Interview (Sales Rep)"
    )
    assert timeline(ats.organization, other_job.candidate, "journey_entered") == []


def test_stage_names_match_whatever_the_case_and_spacing_the_ats_uses(
    ats, make_journey, sms_template
):
    make_journey(steps=[("send_sms", sms_template)], stage_names=["  onsite   INTERVIEW "])
    application = ats.apply(ats.candidate())

    result = match(ats.organization, ats.move(application, "Onsite Interview"))

    assert result.runs_created == 1


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"offices": ["New York"]}, True),
        ({"offices": ["London"]}, False),
        ({"departments": ["Sales"]}, True),
        ({"departments": ["Engineering"]}, False),
        ({"tags": ["Referral"]}, True),
        ({"tags": ["Veteran"]}, False),
        ({"sources": ["linkedin"]}, True),
        ({"sources": ["Indeed"]}, False),
        ({"statuses": ["active"]}, True),
        ({"statuses": ["rejected"]}, False),
    ],
)
def test_criteria_office_department_tags_source_and_status_decide_who_enters(
    ats, make_journey, sms_template, criteria, expected
):
    make_journey(steps=[("send_sms", sms_template)], jobs=(), **criteria)
    application = ats.apply(ats.candidate(tags=["referral", "Senior"]), source="LinkedIn")

    result = match(ats.organization, ats.move(application, "Onsite Interview"))

    assert (result.runs_created == 1) is expected


def test_application_created_rejected_and_hired_triggers_fire_on_their_changes(
    ats, make_journey, sms_template
):
    created = make_journey("Welcome", steps=[("send_sms", sms_template)],
                           trigger="application_created", stage_names=(), jobs=())  # fmt: skip
    rejected = make_journey("Sorry", steps=[("send_sms", sms_template)],
                            trigger="rejected", stage_names=(), jobs=())  # fmt: skip
    hired = make_journey("Congrats", steps=[("send_sms", sms_template)],
                         trigger="hired", stage_names=(), jobs=())  # fmt: skip
    applicant, applied = ats.apply(ats.candidate(first_name="New"), new=True)
    loser = ats.apply(ats.candidate(first_name="Lou"))
    winner = ats.apply(ats.candidate(first_name="Win"))

    match(
        ats.organization,
        applied,
        ats.move(loser, status="rejected"),
        ats.move(winner, status="hired"),
    )

    started = {(r.journey_id, r.application_id) for r in runs(ats.organization)}
    assert started == {
        (created.pk, applicant.pk),
        (rejected.pk, loser.pk),
        (hired.pk, winner.pk),
    }
    (why,) = timeline(ats.organization, loser.candidate, "journey_entered")
    assert why.summary == "Entered journey “Sorry”: rejected (Sales Rep)"


def test_paused_and_never_activated_journeys_start_no_runs(ats, make_journey, sms_template):
    paused = make_journey("Paused", steps=[("send_sms", sms_template)])
    make_journey("Draft", steps=[("send_sms", sms_template)], active=False)
    with tenant_scope(ats.organization):
        services.journey_pause(journey=paused)
    application = ats.apply(ats.candidate())

    result = match(ats.organization, ats.move(application, "Onsite Interview"))

    assert result.runs_created == 0
    with tenant_scope(ats.organization):
        assert not JourneyTriggerKey.objects.exists()


def test_200_journeys_are_matched_through_the_index_with_a_constant_number_of_queries(
    ats, make_journey, sms_template
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stages = ["Application Review", "Phone Interview", "Onsite Interview", "Offer"]
    jobs = ["Sales Rep", "Account Executive", "Backend Engineer"]
    expected = set()
    for n in range(200):
        stage, job = stages[n % 4], jobs[n % 3]
        journey = make_journey(f"Journey {n}", steps=[("send_sms", sms_template)],
                               stage_names=[stage], jobs=[job])  # fmt: skip
        if (stage, job) == ("Onsite Interview", "Sales Rep"):
            expected.add(journey.pk)

    def match_many(n: int) -> tuple[int, int]:
        applications = [ats.apply(ats.candidate(first_name=f"C{i}")) for i in range(n)]
        transitions = [ats.move(a, "Onsite Interview") for a in applications]
        with CaptureQueriesContext(connection) as queries:
            result = match(ats.organization, *transitions)
        return result.runs_created, len(queries)

    (few_runs, few_queries), (many_runs, many_queries) = match_many(5), match_many(40)

    assert len(expected) == 17
    assert (few_runs, many_runs) == (17 * 5, 17 * 40)
    # A handful of queries per batch, whatever the number of journeys (SQLite alone splits
    # big inserts into several statements): far fewer than one per transition or per run.
    assert few_queries <= 25 and many_queries < 40
    assert {r.journey_id for r in runs(ats.organization)} == expected


# --------------------------------------------------------------------------------------------
# Runs and their first step
# --------------------------------------------------------------------------------------------


def test_same_transition_matched_twice_starts_one_run_and_sends_one_text(
    ats, make_journey, sms_template, texting, eager_tasks
):
    make_journey(steps=[("send_sms", sms_template)])
    application = ats.apply(ats.candidate())
    transition = ats.move(application, "Onsite Interview", event_id="evt-1")

    with eager_tasks():
        first = match(ats.organization, transition)  # the webhook's match task
    with eager_tasks():
        again = match(ats.organization, transition)  # the safety sweep, a retried task
    with eager_tasks(), tenant_scope(ats.organization):
        dispatcher.transitions_match_pending(organization=ats.organization)

    assert (first.runs_created, again.runs_created) == (1, 0)
    assert len(runs(ats.organization)) == 1
    assert len(timeline(ats.organization, application.candidate, "journey_entered")) == 1
    with tenant_scope(ats.organization):
        assert Message.objects.count() == 1
    texting.twilio.wait_idle(2)
    assert texts_to(texting, NEW_YORK_MOBILE) == ["Hi Sam, see you at the Onsite Interview!"]


def test_first_step_is_sent_right_after_commit_not_at_the_next_sweep(
    ats, make_journey, sms_template, email_template, texting, eager_tasks
):
    make_journey(steps=[("send_sms", sms_template), ("send_email", email_template)])
    application = ats.apply(ats.candidate())
    transition = ats.move(application, "Onsite Interview")

    with eager_tasks() as callbacks:
        match(ats.organization, transition)
        with tenant_scope(ats.organization):
            assert not Message.objects.exists()  # nothing before the match commits

    assert callbacks, "the first step is queued on commit"
    with tenant_scope(ats.organization):
        step_runs = list(StepRun.objects.order_by("position"))
        messages = list(Message.objects.order_by("pk"))
    assert [(s.position, s.status) for s in step_runs] == [(1, "done"), (2, "done")]
    assert [m.channel for m in messages] == ["sms", "email"]
    assert step_runs[0].message_id == messages[0].pk
    assert [m.status for m in messages] == ["sent", "sent"]
    texting.twilio.wait_idle(2)
    assert texts_to(texting, NEW_YORK_MOBILE) == ["Hi Sam, see you at the Onsite Interview!"]
    (email,) = mail.outbox
    assert email.subject == "Your Sales Rep interview" and email.to == [
        "Sam Okafor <sam@example.com>"
    ]
    sent = timeline(ats.organization, application.candidate, "journey_sent")
    assert [e.summary for e in sent] == [
        "Journey “Onsite invitation” sent the text “Onsite invite (text)” (step 1)",
        "Journey “Onsite invitation” sent the e-mail “Onsite invite (e-mail)” (step 2)",
    ]
    assert sent[0].data["message_id"] == messages[0].pk


def test_run_completes_after_its_last_step_and_says_so_on_the_timeline(
    ats, make_journey, email_template, eager_tasks
):
    make_journey(steps=[("send_email", email_template)])
    application = ats.apply(ats.candidate())

    with eager_tasks():
        match(ats.organization, ats.move(application, "Onsite Interview"))

    (run,) = runs(ats.organization)
    assert run.status == RunStatus.COMPLETED and run.finished_at is not None
    assert [
        e.summary for e in timeline(ats.organization, application.candidate, "journey_completed")
    ] == ["Finished journey “Onsite invitation”"]


# --------------------------------------------------------------------------------------------
# Exit rules on ATS changes
# --------------------------------------------------------------------------------------------


def test_moving_out_of_the_stage_cancels_pending_steps_with_the_reason_on_the_timeline(
    ats, make_journey, sms_template, email_template, texting, eager_tasks
):
    make_journey(steps=[("send_sms", sms_template), ("wait", TWO_DAYS),
                        ("send_email", email_template)])  # fmt: skip
    application = ats.apply(ats.candidate())
    with eager_tasks():
        match(ats.organization, ats.move(application, "Onsite Interview"))

    with eager_tasks():
        result = match(ats.organization, ats.move(application, "Offer"))

    (run,) = runs(ats.organization)
    assert result.runs_exited == 1
    assert run.status == RunStatus.EXITED and run.exit_rule == "left_stage"
    assert run.reason == "moved from Onsite Interview to Offer"
    with tenant_scope(ats.organization):
        wait = StepRun.objects.get(position=2)
    assert wait.status == StepRunStatus.CANCELED
    assert wait.reason == "Canceled: moved from Onsite Interview to Offer (exit rule)."
    (exited,) = timeline(ats.organization, application.candidate, "journey_exited")
    assert exited.summary == (
        "Left journey “Onsite invitation”: moved from Onsite Interview to Offer "
        "(exit rule: candidate left the stage)"
    )
    assert exited.detail == "1 pending step canceled."
    with tenant_scope(ats.organization):
        assert Message.objects.count() == 1  # the e-mail never goes


def test_rejection_ends_the_run_even_when_the_stage_stays_and_other_journeys_start(
    ats, make_journey, sms_template, eager_tasks
):
    make_journey(steps=[("wait", TWO_DAYS), ("send_sms", sms_template)])
    sorry = make_journey("Sorry", steps=[("wait", TWO_DAYS)], trigger="rejected",
                         stage_names=(), jobs=())  # fmt: skip
    application = ats.apply(ats.candidate())
    with eager_tasks():
        match(ats.organization, ats.move(application, "Onsite Interview"))

    with eager_tasks():
        match(ats.organization, ats.move(application, status="rejected"))

    onsite, rejected = runs(ats.organization)
    assert (onsite.status, onsite.exit_rule, onsite.reason) == (
        "exited",
        "rejected",
        "rejected for Sales Rep",
    )
    assert rejected.journey_id == sorry.pk and rejected.status == RunStatus.ACTIVE


def test_exit_rules_not_chosen_for_the_journey_leave_the_run_going(
    ats, make_journey, sms_template, eager_tasks
):
    make_journey(steps=[("wait", TWO_DAYS), ("send_sms", sms_template)], exit_rules=["hired"])
    application = ats.apply(ats.candidate())
    with eager_tasks():
        match(ats.organization, ats.move(application, "Onsite Interview"))

    with eager_tasks():
        match(ats.organization, ats.move(application, "Offer"))

    (run,) = runs(ats.organization)
    assert run.status == RunStatus.ACTIVE


# --------------------------------------------------------------------------------------------
# Versions, activation, pausing
# --------------------------------------------------------------------------------------------


def test_editing_an_active_journey_makes_a_new_version_and_running_runs_keep_theirs(
    ats, make_journey, sms_template, email_template, texting, eager_tasks
):
    journey = make_journey(steps=[("wait", TWO_DAYS), ("send_sms", sms_template)])
    first = ats.apply(ats.candidate(first_name="Early"))
    with eager_tasks():
        match(ats.organization, ats.move(first, "Onsite Interview"))

    with tenant_scope(ats.organization):
        version = services.journey_version_for_edit(journey=journey)
        JourneyStep.objects.filter(version=version, position=2).update(
            kind="send_email", message_template=email_template
        )
        journey.refresh_from_db()
    late = ats.apply(ats.candidate(first_name="Late", email="late@example.com"))
    with eager_tasks():
        match(ats.organization, ats.move(late, "Onsite Interview"))

    early_run, late_run = runs(ats.organization)
    assert journey.current_version_id == version.pk and version.number == 2
    assert early_run.version.number == 1 and late_run.version.number == 2
    with tenant_scope(ats.organization):
        keys = list(JourneyTriggerKey.objects.values_list("version_id", "stage_key"))
    assert keys == [(version.pk, "onsite interview")]

    with eager_tasks(), tenant_scope(ats.organization):
        StepRun.objects.filter(position=1).update(due_at=datetime(2025, 1, 1, tzinfo=UTC))
        tasks.dispatch_due()

    with tenant_scope(ats.organization):
        sent = dict(Message.objects.values_list("candidate__first_name", "channel"))
    assert sent == {"Early": "sms", "Late": "email"}


def test_editing_a_version_without_runs_changes_it_in_place(ats, make_journey, sms_template):
    journey = make_journey(steps=[("send_sms", sms_template)])

    with tenant_scope(ats.organization):
        version = services.journey_version_for_edit(journey=journey)

    assert version.pk == journey.current_version_id and version.number == 1


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ([], "The journey has no steps yet: add at least one step."),
        ([("send_sms", None)], "Step 1 (Send text message) has no message template"),
        (
            [("send_sms", "email")],
            "Step 1 (Send text message) sends a text message, but “Onsite "
            "invite (e-mail)” is an e-mail template: choose a text "
            "message template.",
        ),  # fmt: skip
        (
            [("send_scheduling_request", {"template_id": 1})],
            "Step 1 (Send scheduling request) can't run yet",
        ),  # fmt: skip
        ([("wait", {"mode": "duration", "days": 0})], "Step 1 (Wait): the wait has no length"),
    ],
)
def test_activation_is_refused_with_what_to_fix(ats, make_journey, email_template, steps, problem):
    steps = [(kind, email_template if arg == "email" else arg) for kind, arg in steps]
    journey = make_journey(steps=steps, active=False)

    with tenant_scope(ats.organization), pytest.raises(ValidationError) as refused:
        services.journey_activate(journey=journey)

    assert any(message.startswith(problem) for message in refused.value.messages), (
        refused.value.messages
    )
    journey.refresh_from_db()
    assert journey.is_active is False


def test_activation_is_refused_when_a_template_no_longer_validates(ats, make_journey, sms_template):
    journey = make_journey(steps=[("send_sms", sms_template)], active=False)
    with tenant_scope(ats.organization):
        sms_template.text_body = "Hi {{ candidate.nickname }}"
        sms_template.save()

    with tenant_scope(ats.organization), pytest.raises(ValidationError) as refused:
        services.journey_activate(journey=journey)

    (message,) = refused.value.messages
    assert message.startswith(
        "Step 1 (Send text message): the template “Onsite invite (text)” no longer works — "
        "Text message, line 1: unknown merge field {{ candidate.nickname }}"
    )


def test_stale_trigger_without_days_cannot_be_activated(ats, make_journey, sms_template):
    journey = make_journey(steps=[("send_sms", sms_template)], trigger="stale_in_stage",
                           active=False)  # fmt: skip

    with tenant_scope(ats.organization), pytest.raises(ValidationError) as refused:
        services.journey_activate(journey=journey)

    assert "needs a number of days" in refused.value.messages[0]


def test_new_journey_needs_a_unique_name(ats):
    with tenant_scope(ats.organization):
        services.journey_create(organization=ats.organization, name="Onsite invitation")
        with pytest.raises(ValidationError) as refused:
            services.journey_create(organization=ats.organization, name="onsite  INVITATION")

    assert refused.value.message_dict["name"] == [
        "Another journey is already called “onsite INVITATION”. Choose another name."
    ]


def test_pausing_holds_pending_steps_and_activating_again_sends_them(
    ats, make_journey, sms_template, texting, eager_tasks, time_machine
):
    journey = make_journey(steps=[("wait", TWO_DAYS), ("send_sms", sms_template)])
    application = ats.apply(ats.candidate())
    with eager_tasks():
        match(ats.organization, ats.move(application, "Onsite Interview"))
    with tenant_scope(ats.organization):
        services.journey_pause(journey=journey)
    time_machine.shift(timedelta(days=3))

    with eager_tasks():
        tasks.dispatch_due()
    with tenant_scope(ats.organization):
        held = StepRun.objects.get(position=1).status
        sent_while_paused = Message.objects.count()
        services.journey_activate(journey=journey)
    with eager_tasks():
        tasks.dispatch_due()

    assert (held, sent_while_paused) == (StepRunStatus.PENDING, 0)
    with tenant_scope(ats.organization):
        assert Message.objects.count() == 1
    assert "receive nothing more until you resume it" in services.PAUSE_EXPLANATION


def test_candidate_who_left_the_stage_while_paused_exits_on_resume_instead_of_a_late_text(
    ats, make_journey, sms_template, eager_tasks, time_machine
):
    journey = make_journey(steps=[("wait", TWO_DAYS), ("send_sms", sms_template)])
    application = ats.apply(ats.candidate())
    with eager_tasks():
        match(ats.organization, ats.move(application, "Onsite Interview"))
    with tenant_scope(ats.organization):
        services.journey_pause(journey=journey)
        # The ATS moved them while the transition was never matched (e.g. a lost task).
        application.stage_name = "Offer"
        application.stage = ats.stages[("Sales Rep", "Offer")]
        application.save()
    time_machine.shift(timedelta(days=3))

    with tenant_scope(ats.organization):
        services.journey_activate(journey=journey)
    with eager_tasks():
        tasks.dispatch_due()

    (run,) = runs(ats.organization)
    assert run.status == RunStatus.EXITED
    assert run.reason == "moved from Onsite Interview to Offer"
    with tenant_scope(ats.organization):
        assert not Message.objects.exists()


# --------------------------------------------------------------------------------------------
# Stale in stage
# --------------------------------------------------------------------------------------------


def test_stale_in_stage_starts_once_per_stage_entry_after_n_days(
    ats, make_journey, email_template, eager_tasks, time_machine
):
    make_journey("Still waiting", steps=[("send_email", email_template)],
                 trigger="stale_in_stage", stale_days=5, stage_names=["Phone Interview"])  # fmt: skip
    stuck = ats.apply(ats.candidate(first_name="Stuck"), stage="Application Review")
    moving = ats.apply(ats.candidate(first_name="Moving"), stage="Application Review")
    with eager_tasks():
        match(ats.organization, ats.move(stuck, "Phone Interview"),
              ats.move(moving, "Phone Interview"))  # fmt: skip
    time_machine.shift(timedelta(days=2))
    ats.move(moving, "Onsite Interview")

    with eager_tasks(), tenant_scope(ats.organization):
        too_early = dispatcher.stale_runs_start(organization=ats.organization).runs_created
    time_machine.shift(timedelta(days=4))
    with eager_tasks():
        tasks.start_stale_runs()
        tasks.start_stale_runs()

    (run,) = runs(ats.organization)
    assert too_early == 0
    assert run.application_id == stuck.pk and run.status == RunStatus.COMPLETED
    (entered,) = timeline(ats.organization, stuck.candidate, "journey_entered")
    assert entered.summary == (
        "Entered journey “Still waiting”: in Phone Interview (Sales Rep) for 5 days"
    )
    assert len(mail.outbox) == 1


def test_an_organization_whose_journeys_ran_can_still_be_deleted_whole(
    ats, make_journey, sms_template, texting, eager_tasks
):
    from recruitflow.tenancy import scopes_disabled

    make_journey(steps=[("send_sms", sms_template), ("wait", TWO_DAYS)])
    application = ats.apply(ats.candidate())
    with eager_tasks():
        match(ats.organization, ats.move(application, "Onsite Interview"))
    assert len(runs(ats.organization)) == 1

    with scopes_disabled():
        ats.organization.delete()
        assert not JourneyRun.objects.exists() and not StepRun.objects.exists()


def test_transition_whose_match_task_was_lost_is_matched_by_the_sweep(
    ats, make_journey, email_template, eager_tasks
):
    make_journey(steps=[("send_email", email_template)])
    application = ats.apply(ats.candidate())
    ats.move(application, "Onsite Interview")  # its on-commit match task never arrived

    with eager_tasks():
        started = tasks.match_sweep()
    with eager_tasks():
        again = tasks.match_sweep()

    assert (started, again) == (1, 0)
    assert [m.subject for m in mail.outbox] == ["Your Sales Rep interview"]


def test_changes_from_before_the_journey_was_activated_never_start_it(
    ats, make_journey, email_template, eager_tasks, time_machine
):
    application = ats.apply(ats.candidate())
    earlier = ats.move(application, "Onsite Interview")
    time_machine.shift(timedelta(minutes=5))
    make_journey(steps=[("send_email", email_template)])

    with eager_tasks():
        result = match(ats.organization, earlier)
        tasks.match_sweep()

    assert result.runs_created == 0 and runs(ats.organization) == []


@pytest.mark.parametrize("event_id", ["", "evt-42"])
def test_the_ats_mirror_hands_its_new_transitions_to_journeys_after_commit_by_task_name(
    ats, monkeypatch, django_capture_on_commit_callbacks, event_id
):
    from celery import current_app
    from django.db import transaction

    from candidates.sync.writer import MirrorWriter
    from integrations.base import ExtApplication

    application = ats.apply(ats.candidate())
    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args: sent.append((name, args)))
    stage = ats.stages[("Sales Rep", "Onsite Interview")]
    incoming = ExtApplication(
        external_id=application.external_id,
        candidate_external_id=application.candidate.external_id,
        job_external_id=application.job.external_id,
        stage_external_id=stage.external_id,
        stage_name="Onsite Interview",
        status="active",
    )

    with (
        django_capture_on_commit_callbacks(execute=True),
        tenant_scope(ats.organization),
        transaction.atomic(),
    ):
        writer = MirrorWriter(organization=ats.organization, provider="greenhouse")
        writer.apply_applications(
            [incoming],
            candidate_ids={application.candidate.external_id: application.candidate_id},
            source="webhook" if event_id else "poll",
            observed_at=datetime(2025, 1, 15, 15, 0, tzinfo=UTC),
            record_new=True,
            provider_event_id=event_id,
        )
        assert sent == []  # nothing leaves before the mirror's transaction commits

    with tenant_scope(ats.organization):
        (transition,) = application.transitions.all()
    assert sent == [("journeys.match_transitions", [ats.organization.pk, [transition.pk]])]
