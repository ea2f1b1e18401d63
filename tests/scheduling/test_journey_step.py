"""The journey step "Send scheduling request": offered by the builder with the Library's
scheduling templates, described in words, refused at activation when its template is missing or
unusable, and run by the engine — the candidate who enters the stage gets the Request to
Schedule with their own link, once; booking ends the run by the "booked" exit rule. Also the
demo's scheduling template and step."""

from __future__ import annotations

import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from candidates.models import StageTransition, TimelineEvent
from journeys import editing, engine, exits, services
from journeys.models import (
    ExitRule,
    Journey,
    JourneyRun,
    JourneyStep,
    RunStatus,
    StepKind,
    StepRun,
    StepRunStatus,
)
from library.models import MessageTemplate
from recruitflow.tenancy import tenant_scope
from scheduling import services as scheduling_services
from scheduling.models import RequestSource, SchedulingRequest, SchedulingTemplate
from tests.factories import add_member, make_org_with_owner

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SCHEDULING = StepKind.SEND_SCHEDULING_REQUEST.value


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    body = response.content.decode()
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.fixture
def follow_up_email(sched_org):
    """A plain e-mail a journey may send after the scheduling step (a scheduling message's
    merge fields are filled only by the scheduling template's own messages, so a journey using
    one in a "Send e-mail" step is refused at activation)."""
    with tenant_scope(sched_org):
        return MessageTemplate.objects.create(
            organization=sched_org,
            name="Interview follow-up",
            channel="email",
            subject="Reminder: pick your interview time",
            html_body="<p>Hi {{ candidate.first_name }}, have you picked a time yet?</p>",
        )


def build_journey(organization, steps, *, exit_rules=None, activate=True, name="Onsite scheduling"):
    """A journey for candidates entering "Onsite Interview", built through the builder's
    services. ``steps``: (kind, config, message_template) triples."""
    with tenant_scope(organization):
        journey = editing.journey_start(
            organization=organization, name=name, trigger="entered_stage"
        )
        editing.journey_trigger_update(
            journey=journey,
            trigger="entered_stage",
            stage_names=["Onsite Interview"],
            exit_rules=exit_rules if exit_rules is not None else journey.current_version.exit_rules,
        )
        for kind, config, template in steps:
            editing.journey_step_add(
                journey=journey, kind=kind, config=config, message_template=template
            )
        if activate:
            services.journey_activate(journey=journey)
        journey.refresh_from_db()
        return journey


def enter_onsite(organization, candidate) -> JourneyRun:
    """The candidate's application moves to "Onsite Interview" the way the ATS mirror records
    it; the journeys engine matches it and runs the steps that are due now."""
    with tenant_scope(organization):
        application = candidate.applications.first()
        transition = StageTransition.objects.create(
            organization=organization,
            provider="greenhouse",
            application=application,
            candidate=candidate,
            job=application.job,
            to_stage=application.stage,
            from_stage_name="Phone Interview",
            to_stage_name="Onsite Interview",
            from_status="active",
            to_status="active",
            observed_at=timezone.now(),
            source="webhook",
        )
        engine.transitions_match(organization=organization, transition_ids=[transition.pk])
        run = JourneyRun.objects.get(organization=organization, candidate=candidate)
        run_due_steps(organization, run)
        run.refresh_from_db()
        return run


def run_due_steps(organization, run) -> int:
    with tenant_scope(organization):
        due = list(
            StepRun.objects.filter(
                run=run, status=StepRunStatus.PENDING, due_at__lte=timezone.now()
            ).values_list("pk", flat=True)
        )
        return engine.step_runs_execute(organization=organization, step_run_ids=due)


def timeline(organization, candidate, kind):
    with tenant_scope(organization):
        return list(
            TimelineEvent.objects.filter(
                organization=organization, candidate=candidate, kind=kind
            ).order_by("pk")
        )


def steps_of(organization, journey) -> list[JourneyStep]:
    with tenant_scope(organization):
        journey.refresh_from_db()
        return list(
            JourneyStep.objects.filter(version=journey.current_version).order_by("position")
        )


def step_runs(organization, run):
    with tenant_scope(organization):
        return list(StepRun.objects.filter(run=run).order_by("position"))


# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------


def test_builder_offers_the_step_with_the_librarys_scheduling_templates_and_reads_it_back(
    alice, client_for, scheduling_template, make_template, mallory
):
    second = make_template(name="Phone screen")
    with tenant_scope(mallory.organization):
        theirs = SchedulingTemplate.objects.create(
            organization=mallory.organization, name="Mallory's secret loop", event_title="x"
        )
    journey = build_journey(alice.organization, [], activate=False)
    client = client_for(alice)

    builder = client.get(reverse("journeys:builder", args=[journey.pk]))
    assert '<option value="send_scheduling_request">Send scheduling request</option>' in (
        builder.content.decode()
    )
    # The video interview step plugs in the same way (interviews registers it).
    assert '<option value="send_video_interview">Send video interview</option>' in (
        builder.content.decode()
    )

    added = client.post(
        reverse("journeys:step_add", args=[journey.pk]), {"kind": SCHEDULING}, **HTMX
    )
    page = text(added)
    assert "Scheduling template" in page
    assert "Choose a scheduling template… Onsite interview Phone screen" in page
    assert theirs.name not in page
    (step,) = steps_of(alice.organization, journey)

    saved = client.post(
        reverse("journeys:step_edit", args=[journey.pk, step.pk]),
        {f"step-{step.pk}-choice": second.pk},
        **HTMX,
    )
    assert "Send scheduling request: Phone screen" in text(saved)
    (step,) = steps_of(alice.organization, journey)
    assert step.config == {"template_id": second.pk}
    builder = text(client.get(reverse("journeys:builder", args=[journey.pk])))
    assert "Send scheduling request: Phone screen" in builder


def test_without_scheduling_templates_the_step_says_how_to_make_one(alice, client_for):
    journey = build_journey(alice.organization, [], activate=False)
    client = client_for(alice)

    added = client.post(
        reverse("journeys:step_add", args=[journey.pk]), {"kind": SCHEDULING}, **HTMX
    )

    page = text(added)
    assert "No scheduling templates yet" in page
    assert "Create a scheduling template in the Library" in page
    assert f'href="{reverse("scheduling_library:create")}"' in added.content.decode()


def test_a_scheduling_template_of_another_organization_cannot_be_chosen(
    alice, client_for, scheduling_template, mallory
):
    with tenant_scope(mallory.organization):
        theirs = SchedulingTemplate.objects.create(
            organization=mallory.organization, name="Theirs", event_title="x"
        )
    journey = build_journey(alice.organization, [(SCHEDULING, {}, None)], activate=False)
    (step,) = steps_of(alice.organization, journey)

    response = client_for(alice).post(
        reverse("journeys:step_edit", args=[journey.pk, step.pk]),
        {f"step-{step.pk}-choice": theirs.pk},
        **HTMX,
    )

    assert "That scheduling template is no longer in the Library: choose another one." in text(
        response
    )
    (step,) = steps_of(alice.organization, journey)
    assert step.config == {}
    # The services refuse it too (the partner API and the demo go through them).
    with tenant_scope(alice.organization), pytest.raises(ValidationError) as refused:
        editing.journey_step_configure(
            journey=journey, step=step, config={"template_id": theirs.pk}
        )
    assert refused.value.messages == [
        f"There is no scheduling template {theirs.pk} in your organization: choose one from "
        "the list (or create one in the Library)."
    ]


def test_activation_names_a_step_without_a_scheduling_template(alice, scheduling_template):
    journey = build_journey(alice.organization, [(SCHEDULING, {}, None)], activate=False)

    with tenant_scope(alice.organization), pytest.raises(ValidationError) as refused:
        services.journey_activate(journey=journey)

    assert refused.value.messages == [
        "Step 1 (Send scheduling request) can't run yet: choose the scheduling template it "
        "sends (Edit the step)."
    ]


def test_activation_names_a_deleted_scheduling_template(alice, scheduling_template):
    journey = build_journey(
        alice.organization,
        [(SCHEDULING, {"template_id": scheduling_template.pk}, None)],
        activate=False,
    )
    with tenant_scope(alice.organization):
        gone = scheduling_template.pk
        scheduling_template.delete()
        (step,) = JourneyStep.objects.filter(version=journey.current_version)
        from journeys.forms import describe_step

        assert describe_step(step) == (
            f"Send scheduling request: scheduling template #{gone} (deleted)"
        )

    with tenant_scope(alice.organization), pytest.raises(ValidationError) as refused:
        services.journey_activate(journey=journey)

    assert refused.value.messages == [
        f"Step 1 (Send scheduling request) can't run yet: its scheduling template (#{gone}) no "
        "longer exists. Edit the step and choose another one from the Library."
    ]
    journey.refresh_from_db()
    assert not journey.is_active


def test_activation_names_an_unusable_scheduling_template(alice, make_template):
    template = make_template(required=[], request_email=None, request_sms=None)
    journey = build_journey(
        alice.organization, [(SCHEDULING, {"template_id": template.pk}, None)], activate=False
    )

    with tenant_scope(alice.organization), pytest.raises(ValidationError) as refused:
        services.journey_activate(journey=journey)

    assert refused.value.messages == [
        "Step 1 (Send scheduling request) can't run yet: the scheduling template “Onsite "
        "interview” has no required interviewer, so it offers no times. Add at least one "
        "required member in Library → Scheduling templates.",
        "Step 1 (Send scheduling request) can't run yet: the scheduling template “Onsite "
        "interview” has no Request to Schedule message. Choose an e-mail or a text message for "
        "it in Library → Scheduling templates.",
    ]


def test_activation_through_the_builder_shows_the_reason(alice, client_for, scheduling_template):
    journey = build_journey(alice.organization, [(SCHEDULING, {}, None)], activate=False)

    response = client_for(alice).post(reverse("journeys:activate", args=[journey.pk]), follow=True)

    assert (
        "“Onsite scheduling” can't be published yet: Step 1 (Send scheduling request) can't run "
        "yet: choose the scheduling template it sends (Edit the step)."
    ) in text(response)


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


def test_candidate_entering_the_stage_gets_the_request_to_schedule_with_their_link(
    sched_org, scheduling_template, candidate, outbox, monday_morning
):
    journey = build_journey(
        sched_org, [(SCHEDULING, {"template_id": scheduling_template.pk}, None)]
    )

    run = enter_onsite(sched_org, candidate)

    with tenant_scope(sched_org):
        request = SchedulingRequest.objects.get(organization=sched_org, candidate=candidate)
        link = scheduling_services.request_link(request)
    (step_run,) = step_runs(sched_org, run)
    assert (request.source, request.step_run_id, request.template_id) == (
        RequestSource.JOURNEY,
        step_run.pk,
        scheduling_template.pk,
    )
    assert request.application_id == run.application_id is not None
    email, sms = outbox(candidate)
    assert email.subject == "Pick a time for your Onsite interview · Sales Rep"
    assert link in email.html and link in sms.body
    assert step_run.status == StepRunStatus.DONE and step_run.message_id == email.pk
    assert run.status == RunStatus.COMPLETED
    (requested,) = timeline(sched_org, candidate, "scheduling_requested")
    assert requested.summary == (
        "Request to Schedule “Onsite interview” sent by e-mail and text message"
    )
    (sent,) = timeline(sched_org, candidate, "journey_sent")
    assert sent.summary == (
        f"Journey “{journey.name}” sent the scheduling request “Onsite interview” (step 1)"
    )


def test_a_step_run_twice_sends_one_request(
    sched_org, scheduling_template, candidate, outbox, monday_morning
):
    build_journey(sched_org, [(SCHEDULING, {"template_id": scheduling_template.pk}, None)])
    run = enter_onsite(sched_org, candidate)
    (step_run,) = step_runs(sched_org, run)

    # A worker that died after sending: the step is executed again for the same step run.
    with tenant_scope(sched_org):
        StepRun.objects.filter(pk=step_run.pk).update(status=StepRunStatus.RUNNING)
        engine.execute_claimed(organization=sched_org, step_run_id=step_run.pk)
        requests = SchedulingRequest.objects.filter(organization=sched_org, candidate=candidate)
        assert requests.count() == 1
    assert len(outbox(candidate)) == 2  # one e-mail, one text


def test_an_unreachable_candidate_is_skipped_with_the_reason_and_the_journey_goes_on(
    sched_org, scheduling_template, make_candidate, outbox, monday_morning, follow_up_email
):
    nowhere = make_candidate(first_name="Nia", last_name="Okoro", email="", mobile="")
    build_journey(
        sched_org,
        [
            (SCHEDULING, {"template_id": scheduling_template.pk}, None),
            (StepKind.SEND_EMAIL, None, follow_up_email),
        ],
    )

    run = enter_onsite(sched_org, nowhere)

    scheduling_step, email_step = step_runs(sched_org, run)
    assert scheduling_step.status == StepRunStatus.SKIPPED
    assert scheduling_step.reason.startswith("The Request to Schedule can't reach Nia Okoro:")
    (skipped,) = timeline(sched_org, nowhere, "journey_step_skipped")
    assert skipped.summary == (
        "Journey “Onsite scheduling”, step 1: scheduling request “Onsite interview” not sent"
    )
    assert "Add their contact details in the ATS" in skipped.detail
    assert email_step.status == StepRunStatus.SKIPPED  # the journey went on to step 2
    with tenant_scope(sched_org):
        assert not SchedulingRequest.objects.filter(candidate=nowhere).exists()


def test_a_template_deleted_after_activation_stops_the_run_with_the_reason(
    sched_org, make_template, candidate, outbox, monday_morning
):
    template = make_template(name="Short-lived")
    build_journey(sched_org, [(SCHEDULING, {"template_id": template.pk}, None)])
    with tenant_scope(sched_org):
        template.delete()

    run = enter_onsite(sched_org, candidate)

    (step_run,) = step_runs(sched_org, run)
    assert step_run.status == StepRunStatus.FAILED
    assert run.status == RunStatus.FAILED
    assert step_run.reason == (
        "Step 1's scheduling template no longer exists, so nothing was sent. Choose another "
        "one in the journey's builder."
    )
    (failed,) = timeline(sched_org, candidate, "journey_step_failed")
    assert failed.summary == "Journey “Onsite scheduling”, step 1: scheduling request not sent"
    assert outbox(candidate) == []


def test_booking_ends_the_run_by_the_booked_exit_rule(
    sched_org, scheduling_template, candidate, outbox, monday_morning, follow_up_email
):
    build_journey(
        sched_org,
        [
            (SCHEDULING, {"template_id": scheduling_template.pk}, None),
            (StepKind.WAIT, {"mode": "duration", "days": 2, "hours": 0, "minutes": 0}, None),
            (StepKind.SEND_EMAIL, None, follow_up_email),
        ],
        exit_rules=[ExitRule.LEFT_STAGE, ExitRule.BOOKED],
    )
    run = enter_onsite(sched_org, candidate)
    assert run.status == RunStatus.ACTIVE  # waiting two days before the follow-up

    with tenant_scope(sched_org):
        request = SchedulingRequest.objects.get(candidate=candidate)
        first = scheduling_services.slots_for_request(organization=sched_org, request=request)[0]
        scheduling_services.booking_book(
            organization=sched_org, request=request, start=first.start, time_zone="Europe/London"
        )
        exits.runs_exit_sweep(organization=sched_org)
        run.refresh_from_db()

    assert run.status == RunStatus.EXITED
    assert run.exit_rule == ExitRule.BOOKED
    (left,) = timeline(sched_org, candidate, "journey_exited")
    assert left.summary == (
        "Left journey “Onsite scheduling”: the candidate booked an interview "
        "(exit rule: candidate booked an interview)"
    )
    scheduling_step, wait_step = step_runs(sched_org, run)
    assert scheduling_step.status == StepRunStatus.DONE
    assert wait_step.status == StepRunStatus.CANCELED  # the follow-up e-mail never comes
    assert not any(m.subject.startswith("Reminder") for m in outbox(candidate))


def test_the_runs_page_shows_the_step_in_words(
    alice, client_for, sched_org, scheduling_template, candidate, monday_morning
):
    journey = build_journey(
        sched_org, [(SCHEDULING, {"template_id": scheduling_template.pk}, None)]
    )
    run = enter_onsite(sched_org, candidate)

    page = text(client_for(alice).get(reverse("journeys:run", args=[journey.pk, run.pk])))

    assert "Send scheduling request: Onsite interview" in page


# ---------------------------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------------------------


def test_demo_gets_the_scheduling_template_and_the_journey_step_once(db):
    from candidates.models import Job
    from journeys.demo import DEMO_JOURNEY_NAME, demo_onsite_journey
    from library.demo import demo_message_templates
    from scheduling.demo import (
        DEMO_SCHEDULING_TEMPLATE,
        demo_scheduling_step,
        demo_scheduling_template,
    )

    organization, owner, _ = make_org_with_owner(name="Acme Robotics", email="dana@acme.test")
    organization.time_zone = "America/New_York"
    organization.save(update_fields=["time_zone"])
    teammate = add_member(organization=organization, email="lee@acme.test").user
    demo_message_templates(organization=organization)
    assert demo_scheduling_step(organization=organization, log=lambda line: None) is None
    with tenant_scope(organization):
        Job.objects.create(
            organization=organization, provider="greenhouse", external_id="j1", name="Sales Rep"
        )
    demo_onsite_journey(organization=organization)

    lines: list[str] = []
    step = demo_scheduling_step(organization=organization, log=lines.append)
    again = demo_scheduling_step(organization=organization, log=lines.append)

    assert again is None
    assert lines == [
        f"Step “Send scheduling request: {DEMO_SCHEDULING_TEMPLATE}” added to "
        f"“{DEMO_JOURNEY_NAME}”."
    ]
    template = demo_scheduling_template(organization=organization)
    with tenant_scope(organization):
        assert SchedulingTemplate.objects.filter(organization=organization).count() == 1
        assert template.time_zone == "America/New_York"
        assert template.public_link_enabled
        assert template.windows == [
            {"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)
        ]
        assert sorted(m.user_id for m in template.members.filter(required=True)) == sorted(
            [owner.pk, teammate.pk]
        )
        assert (template.request_email.name, template.request_sms.name) == (
            "Request to Schedule",
            "Request to Schedule (text)",
        )
        assert (template.cancellation_email.name, template.day_before_sms.name) == (
            "Cancellation Notification",
            "Day Before Interview Reminder (text)",
        )
        journey = Journey.objects.get(organization=organization, name=DEMO_JOURNEY_NAME)
        steps = list(
            JourneyStep.objects.filter(version=journey.current_version).order_by("position")
        )
        from journeys.forms import describe_step

        assert [describe_step(s) for s in steps] == [
            "Send text message “Onsite interview invitation (text)”",
            "Send e-mail “Onsite interview invitation”",
            "Send scheduling request: Onsite interview · Sales Rep",
        ]
        assert step.position == 3
        # Complete: the demo user can activate the journey as it is.
        services.journey_activate(journey=journey)


def test_demo_scheduling_messages_render_for_a_booked_interview(db):
    from library import templating
    from scheduling.demo import DEMO_MESSAGES, demo_scheduling_messages

    organization, _, _ = make_org_with_owner(name="Acme Robotics", email="dana@acme.test")
    messages = demo_scheduling_messages(organization=organization)
    assert len(messages) == len(DEMO_MESSAGES) == 10
    with tenant_scope(organization):
        context = templating.sample_context(organization)
        for (kind, channel), template in messages.items():
            rendered = templating.render(template, context)
            assert "Jordan" in rendered.text, (kind, channel)
            if kind in ("request", "reminder"):
                assert context["scheduling_link"] in rendered.text
            else:
                assert context["interview"]["when"] in rendered.text
            if channel == "sms":
                assert rendered.sms.segments <= 3, (kind, rendered.text)


def test_partners_add_the_step_through_the_journeys_api(
    alice, mallory, client, scheduling_template
):
    from accounts import services as account_services

    with tenant_scope(alice.organization):
        _, raw = account_services.api_key_create(actor=alice.membership, name="ATS", scope="write")
    with tenant_scope(mallory.organization):
        theirs = SchedulingTemplate.objects.create(
            organization=mallory.organization, name="Mallory's loop", event_title="Loop"
        )
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def create(template_id, name):
        body = {
            "name": name,
            "trigger": {"kind": "entered_stage", "stage_names": ["Onsite Interview"]},
            "steps": [{"kind": SCHEDULING, "config": {"template_id": template_id}}],
        }
        return client.post(
            "/api/v1/journeys/", data=body, content_type="application/json", **headers
        )

    created = create(scheduling_template.pk, "Scheduling by API")
    assert created.status_code == 201, created.content
    assert created.json()["steps"] == [
        {
            "position": 1,
            "kind": SCHEDULING,
            "message_template_id": None,
            "config": {"template_id": scheduling_template.pk},
        }
    ]
    refused = create(theirs.pk, "Someone else's template")
    assert refused.status_code in (400, 404)
    assert "scheduling template" in refused.content.decode().lower()
    with tenant_scope(alice.organization):
        assert not Journey.objects.filter(name="Someone else's template").exists()
