# ruff: noqa: F811 (pytest fixtures imported from tests.interviews.core_helpers)
"""The journey step "Send video interview": the builder offers it with the Library's video
interview templates, activation refuses what can't work (no template, no questions, no
invitation, a message using a field the step can't fill — and a plain "Send e-mail" whose
template uses {{ interview_link }}), the engine sends one interview per step run, and the
"completed video interview" exit rule ends the run when the candidate finishes."""

from __future__ import annotations

import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from candidates.models import StageTransition
from interviews import links, services
from interviews.models import InterviewSource, VideoInterview, VideoTemplate
from journeys import editing, engine, exits, simulation
from journeys import services as journey_services
from journeys.models import ExitRule, JourneyRun, RunStatus, StepKind, StepRun, StepRunStatus
from library.models import MessageTemplate
from recruitflow.tenancy import tenant_scope
from tests.interviews.core_helpers import (  # noqa: F401 (fixtures)
    candidate,
    delivery_queued,
    make_candidate,
    monday_morning,
    org,
    outbox,
    timeline,
    video_messages,
    video_template,
)

pytestmark = pytest.mark.django_db

VIDEO = StepKind.SEND_VIDEO_INTERVIEW.value
HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    body = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def build_journey(organization, steps, *, exit_rules=None, activate=True, name="Sales screening"):
    """A journey for candidates entering "Onsite Interview"; ``steps``: (kind, config,
    message_template) triples."""
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
            journey_services.journey_activate(journey=journey)
        journey.refresh_from_db()
        return journey


def activation_problems(organization, journey) -> list[str]:
    with tenant_scope(organization):
        journey.refresh_from_db()
        return journey_services.activation_problems(journey.current_version)


def enter_onsite(organization, candidate) -> JourneyRun:
    """The candidate's application moves to "Onsite Interview"; the engine matches it and runs
    the steps due now."""
    with tenant_scope(organization):
        application = candidate.applications.first()
        transition = StageTransition.objects.create(
            organization=organization,
            provider="greenhouse",
            application=application,
            candidate=candidate,
            job=application.job,
            to_stage=application.stage,
            from_stage_name="Application Review",
            to_stage_name="Onsite Interview",
            from_status="active",
            to_status="active",
            observed_at=timezone.now(),
            source="webhook",
        )
        engine.transitions_match(organization=organization, transition_ids=[transition.pk])
        run = JourneyRun.objects.get(organization=organization, candidate=candidate)
        due = list(
            StepRun.objects.filter(
                run=run, status=StepRunStatus.PENDING, due_at__lte=timezone.now()
            ).values_list("pk", flat=True)
        )
        engine.step_runs_execute(organization=organization, step_run_ids=due)
        run.refresh_from_db()
        return run


def step_runs(organization, run) -> list[StepRun]:
    with tenant_scope(organization):
        return list(StepRun.objects.filter(run=run).order_by("position"))


# --- The builder and activation ------------------------------------------------------------------


def test_the_builder_offers_the_step_with_the_librarys_video_templates(
    alice, client_for, org, video_template
):
    journey = build_journey(org, [], activate=False)
    client = client_for(alice)
    builder = client.get(reverse("journeys:builder", args=[journey.pk])).content.decode()
    assert '<option value="send_video_interview">Send video interview</option>' in builder

    added = text(
        client.post(reverse("journeys:step_add", args=[journey.pk]), {"kind": VIDEO}, **HTMX)
    )
    assert "Video interview template" in added and "Sales screen" in added
    with tenant_scope(org):
        editing.journey_step_add(
            journey=journey, kind=VIDEO, config={"template_id": video_template.pk}
        )
        journey.refresh_from_db()
        step = journey.current_version.steps.order_by("position").last()
        assert simulation.step_label(step) == "Send video interview: Sales screen"


def test_activation_needs_a_template_chosen(org, video_template):
    journey = build_journey(org, [(VIDEO, {}, None)], activate=False)
    assert activation_problems(org, journey) == [
        "Step 1 (Send video interview) can't run yet: choose the video interview template it "
        "sends (Edit the step)."
    ]
    with tenant_scope(org), pytest.raises(ValidationError):
        journey_services.journey_activate(journey=journey)


def test_activation_refuses_a_template_without_questions_or_invitation(org, video_template):
    with tenant_scope(org):
        bare = VideoTemplate.objects.create(organization=org, name="Half-made")
    journey = build_journey(org, [(VIDEO, {"template_id": bare.pk}, None)], activate=False)
    assert activation_problems(org, journey) == [
        "Step 1 (Send video interview) can't run yet: the video interview template “Half-made” "
        "has no questions. Add at least one in Library → Video interview templates.",
        "Step 1 (Send video interview) can't run yet: the video interview template “Half-made” "
        "has no Video Interview Invitation message, so the candidate would never get the link. "
        "Choose an e-mail or a text message for it in Library → Video interview templates.",
    ]


def test_activation_refuses_a_deleted_template(org, video_template):
    journey = build_journey(
        org, [(VIDEO, {"template_id": video_template.pk}, None)], activate=False
    )
    pk = video_template.pk
    with tenant_scope(org):
        video_template.delete()
    assert activation_problems(org, journey) == [
        f"Step 1 (Send video interview) can't run yet: its video interview template "
        f"(#{pk}) no longer exists. Edit the step and choose another one from "
        "the Library."
    ]


def test_a_plain_email_using_the_interview_link_is_refused_naming_field_and_step(org):
    with tenant_scope(org):
        welcome = MessageTemplate.objects.create(
            organization=org,
            name="Welcome",
            channel="email",
            subject="Welcome",
            html_body='<p>Record here: <a href="{{ interview_link }}">link</a></p>',
        )
        hello = MessageTemplate.objects.create(
            organization=org, name="Hello", channel="sms", text_body="Hi {{ candidate.first_name }}"
        )
    journey = build_journey(
        org,
        [(StepKind.SEND_SMS, None, hello), (StepKind.SEND_EMAIL, None, welcome)],
        activate=False,
    )
    assert activation_problems(org, journey) == [
        "Step 2 “Send e-mail: Welcome” uses {{ interview_link }}, which only a Send video "
        "interview step or a scheduling message fills. Remove it from the template “Welcome” "
        "or send it from a video interview template's messages (Library → Video interview "
        "templates)."
    ]


def test_a_video_message_using_the_scheduling_link_is_refused_at_activation(
    org, video_template, video_messages
):
    with tenant_scope(org):
        # Changed in the Library after the video template chose it.
        MessageTemplate.objects.filter(pk=video_messages["reminder_sms"].pk).update(
            text_body="Pick a time too: {{ scheduling_link }}"
        )
    journey = build_journey(
        org, [(VIDEO, {"template_id": video_template.pk}, None)], activate=False
    )
    assert activation_problems(org, journey) == [
        "Step 1 “Send video interview: Sales screen” uses {{ scheduling_link }}, which only a "
        "scheduling message (Send scheduling request) fills. Remove it from the template "
        "“Video Interview Reminder (text)” or send it from a scheduling template's messages "
        "(Library → Scheduling templates)."
    ]


# --- The engine ----------------------------------------------------------------------------------


def test_entering_the_stage_sends_the_video_interview_once_per_step_run(
    org, video_template, candidate, outbox
):
    journey = build_journey(org, [(VIDEO, {"template_id": video_template.pk}, None)])
    run = enter_onsite(org, candidate)
    (step_run,) = step_runs(org, run)
    with tenant_scope(org):
        interview = VideoInterview.objects.get(candidate=candidate)
    assert (interview.source, interview.step_run_id) == (InterviewSource.JOURNEY, step_run.pk)
    email, sms = outbox(candidate)
    assert links.recorder_url(interview) in email.html and links.recorder_url(interview) in sms.body
    assert step_run.status == StepRunStatus.DONE and step_run.message_id == email.pk
    (sent,) = timeline(org, candidate, "journey_sent")
    assert sent.summary == (
        f"Journey “{journey.name}” sent the video interview “Sales screen” (step 1)"
    )

    # A worker that died after sending: the step is executed again for the same step run.
    with tenant_scope(org):
        StepRun.objects.filter(pk=step_run.pk).update(status=StepRunStatus.RUNNING)
        engine.execute_claimed(organization=org, step_run_id=step_run.pk)
        assert VideoInterview.objects.filter(candidate=candidate).count() == 1
    assert len(outbox(candidate)) == 2


def test_an_unreachable_candidate_is_skipped_with_the_reason(
    org, video_template, make_candidate, outbox
):
    nowhere = make_candidate(first_name="Nia", last_name="Okoro", email="", mobile="")
    build_journey(org, [(VIDEO, {"template_id": video_template.pk}, None)])
    run = enter_onsite(org, nowhere)
    (step_run,) = step_runs(org, run)
    assert step_run.status == StepRunStatus.SKIPPED
    assert step_run.reason.startswith("The Video Interview Invitation can't reach Nia Okoro:")
    (skipped,) = timeline(org, nowhere, "journey_step_skipped")
    assert skipped.summary == (
        "Journey “Sales screening”, step 1: video interview “Sales screen” not sent"
    )
    assert outbox(nowhere) == []


def test_completing_the_interview_ends_the_run_by_its_exit_rule(
    org, video_template, candidate, video_messages
):
    build_journey(
        org,
        [
            (VIDEO, {"template_id": video_template.pk}, None),
            (StepKind.WAIT, {"mode": "duration", "days": 3, "hours": 0, "minutes": 0}, None),
            (StepKind.SEND_EMAIL, None, video_messages["completion_email"]),
        ],
        exit_rules=[ExitRule.LEFT_STAGE, ExitRule.COMPLETED_VIDEO_INTERVIEW],
    )
    run = enter_onsite(org, candidate)
    assert run.status == RunStatus.ACTIVE  # waiting three days before the follow-up

    with tenant_scope(org):
        interview = VideoInterview.objects.get(candidate=candidate)
        services.interview_start(interview=interview)
        services.interview_complete(interview=interview)
        assert exits.runs_exit_sweep(organization=org) == 1
        run.refresh_from_db()
    assert run.status == RunStatus.EXITED
    assert run.exit_rule == ExitRule.COMPLETED_VIDEO_INTERVIEW
    assert run.reason == "the candidate completed a video interview"
    (left,) = timeline(org, candidate, "journey_exited")
    assert "(exit rule: candidate completed a video interview)" in left.summary


def test_the_builder_offers_the_exit_rule(alice, client_for, org):
    journey = build_journey(org, [], activate=False)
    page = text(client_for(alice).get(reverse("journeys:builder", args=[journey.pk])))
    assert "Candidate completed a video interview" in page
