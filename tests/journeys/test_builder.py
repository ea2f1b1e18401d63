"""The Journeys pages through the Django test client: the list, the one-page builder with its
htmx step editing, activation, simulation and dry run, and the runs list."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from candidates.models import (
    Application,
    Candidate,
    Department,
    Job,
    Office,
    Stage,
    StageTransition,
)
from journeys import services
from journeys.models import (
    Journey,
    JourneyRun,
    JourneyStep,
    JourneyVersion,
    RunStatus,
    StepKind,
    StepRun,
    StepRunStatus,
)
from library.models import MessageTemplate
from messaging.models import Message
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


class Hiring:
    """A small ATS mirror (Sales Rep and Backend Engineer, their stages) and two Library
    templates, for one organization."""

    def __init__(self, organization):
        self.org = organization
        self.n = 0
        key = {"organization": organization, "provider": "greenhouse"}
        self.key = key
        with tenant_scope(organization):
            self.new_york = Office.objects.create(**key, external_id="o1", name="New York")
            self.sales = Department.objects.create(**key, external_id="d1", name="Sales")
            self.sales_rep = Job.objects.create(**key, external_id="j1", name="Sales Rep")
            self.sales_rep.offices.add(self.new_york)
            self.sales_rep.departments.add(self.sales)
            self.engineer = Job.objects.create(**key, external_id="j2", name="Backend Engineer")
            self.stages = {}
            for job in (self.sales_rep, self.engineer):
                for position, name in enumerate(
                    ["Application Review", "Recruiter Phone Screen", "Onsite Interview"]
                ):
                    self.stages[(job.pk, name)] = Stage.objects.create(
                        **key,
                        external_id=f"{job.external_id}-{position}",
                        job=job,
                        name=name,
                        position=position,
                    )
            self.sms = MessageTemplate.objects.create(
                organization=organization,
                name="Onsite invitation (text)",
                channel="sms",
                text_body="Hi {{ candidate.first_name }}, see you onsite for {{ job.name }}!",
            )
            self.email = MessageTemplate.objects.create(
                organization=organization,
                name="Onsite details (e-mail)",
                channel="email",
                subject="Your onsite for {{ job.name }}",
                html_body="<p>Hi {{ candidate.first_name }}, here is your onsite plan.</p>",
                text_body="Hi {{ candidate.first_name }}, here is your onsite plan.",
            )

    def candidate(self, first="Sam", last="Okafor", *, job=None, stage="Onsite Interview", **kw):
        self.n += 1
        job = job or self.sales_rep
        with tenant_scope(self.org):
            candidate = Candidate.objects.create(
                **self.key,
                external_id=f"c{self.n}",
                first_name=first,
                last_name=last,
                primary_email=kw.pop("email", f"{first.lower()}@example.com"),
                mobile_phone=kw.pop("mobile", "+447700900123"),
            )
            application = Application.objects.create(
                **self.key,
                external_id=f"a{self.n}",
                candidate=candidate,
                job=job,
                stage=self.stages[(job.pk, stage)],
                stage_name=stage,
                last_activity_at=timezone.now(),
            )
        return candidate, application

    def moved(self, application, *, to="Onsite Interview", ago=timedelta(days=2)):
        """A stage change of ``application`` observed ``ago``."""
        with tenant_scope(self.org):
            return StageTransition.objects.create(
                organization=self.org,
                provider="greenhouse",
                application=application,
                candidate=application.candidate,
                job=application.job,
                from_stage_name="Recruiter Phone Screen",
                to_stage=self.stages[(application.job_id, to)],
                to_stage_name=to,
                from_status="active",
                to_status="active",
                observed_at=timezone.now() - ago,
                source="poll",
            )


@pytest.fixture
def hiring(alice):
    return Hiring(alice.organization)


@pytest.fixture
def journey(alice, hiring):
    with tenant_scope(alice.organization):
        return services.journey_create(
            organization=alice.organization, name="Onsite invitation", user=alice.user
        )


@pytest.fixture
def viewer(alice):
    membership = add_member(
        organization=alice.organization, email="vic@acme.test", role=Role.VIEWER
    )
    from tests.conftest import Persona

    return Persona(membership.user, alice.organization, membership)


def text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    body = response.content.decode()
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def url(name, journey, *args):
    return reverse(f"journeys:{name}", args=[journey.pk, *args])


def steps_of(journey) -> list[JourneyStep]:
    with tenant_scope(journey.organization):
        journey.refresh_from_db()
        return list(
            JourneyStep.objects.filter(version=journey.current_version).order_by("position")
        )


def set_onsite_trigger(client, journey, hiring, **extra):
    data = {
        "name": journey.name,
        "trigger": "entered_stage",
        "stage_names": ["Onsite Interview"],
        "job_ids": [hiring.sales_rep.pk],
        **extra,
    }
    return client.post(url("trigger", journey), data)


def add_step(client, journey, kind, **extra):
    return client.post(url("step_add", journey), {"kind": kind, **extra}, **HTMX)


def configure(client, journey, step, data, *, htmx=True):
    prefixed = {f"step-{step.pk}-{name}": value for name, value in data.items()}
    return client.post(url("step_edit", journey, step.pk), prefixed, **(HTMX if htmx else {}))


def build_onsite_journey(client, journey, hiring):
    """Trigger Onsite Interview × Sales Rep; text, wait a day, e-mail."""
    set_onsite_trigger(client, journey, hiring)
    add_step(client, journey, "send_sms")
    configure(client, journey, steps_of(journey)[0], {"message_template": hiring.sms.pk})
    add_step(client, journey, "send_email")
    configure(client, journey, steps_of(journey)[1], {"message_template": hiring.email.pk})


# ---------------------------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------------------------


def test_empty_list_explains_journeys_and_sends_to_the_library_first_when_it_is_empty(
    alice, client_for
):
    response = client_for(alice).get(reverse("journeys:list"))
    page = text(response)
    assert "No journeys yet" in page
    assert "texts or emails the candidate" in page
    assert "Create a message template in the Library first" in page
    assert reverse("library:template_create") in response.content.decode()
    assert reverse("journeys:new") in response.content.decode()


def test_empty_list_does_not_mention_the_library_once_it_has_templates(alice, client_for, hiring):
    page = text(client_for(alice).get(reverse("journeys:list")))
    assert "No journeys yet" in page
    assert "Create a message template" not in page


def test_recruiter_creates_a_journey_and_lands_on_its_builder(alice, client_for, hiring):
    client = client_for(alice)
    response = client.post(
        reverse("journeys:new"), {"name": "  Onsite   invitation ", "trigger": "entered_stage"}
    )
    with tenant_scope(alice.organization):
        journey = Journey.objects.get()
    assert journey.name == "Onsite invitation"
    assert response.url == url("builder", journey)
    page = text(client.get(response.url))
    assert "Onsite invitation" in page
    assert "Version 1" in page
    assert "Draft — not live" in page
    assert "Paused" not in page and "Activate" not in page
    assert "No steps yet" in page


def test_a_new_journey_says_what_starts_it(alice, client_for, hiring):
    client = client_for(alice)
    response = client.post(reverse("journeys:new"), {"name": "Nudge", "trigger": "stale_in_stage"})
    assert "Enter how many days in the stage make a candidate stale." in text(response)
    response = client.post(
        reverse("journeys:new"), {"name": "Nudge", "trigger": "stale_in_stage", "stale_days": "5"}
    )
    page = text(client.get(response.url))
    assert "Stays 5 days in any stage" in page
    with tenant_scope(alice.organization):
        version = Journey.objects.get().current_version
        assert (version.trigger, version.stale_days, version.number) == ("stale_in_stage", 5, 1)
    assert client.post(reverse("journeys:new"), {"name": "No trigger"}).status_code == 200
    with tenant_scope(alice.organization):
        assert Journey.objects.count() == 1


def test_a_second_journey_with_the_same_name_is_refused_and_the_name_is_kept(
    alice, client_for, journey
):
    response = client_for(alice).post(
        reverse("journeys:new"), {"name": "onsite INVITATION", "trigger": "hired"}
    )
    assert response.status_code == 200
    page = text(response)
    assert "Another journey is already called" in page
    assert 'value="onsite INVITATION"' in response.content.decode()
    assert re.search(r'value="hired"[^>]*checked', response.content.decode())
    with tenant_scope(alice.organization):
        assert Journey.objects.count() == 1


def test_list_shows_the_trigger_in_words_status_counts_and_last_fired(
    alice, client_for, hiring, journey
):
    client = client_for(alice)
    build_onsite_journey(client, journey, hiring)
    _, application = hiring.candidate()
    transition = hiring.moved(application)
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        started = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
        JourneyRun.objects.create(
            organization=alice.organization,
            journey=journey,
            version=journey.current_version,
            transition=transition,
            application=application,
            candidate=application.candidate,
            status=RunStatus.COMPLETED,
            started_at=started,
        )
    response = client.get(reverse("journeys:list"))
    row = text(response)
    assert "Onsite invitation" in row
    assert "Enters Onsite Interview · Sales Rep" in row
    assert "Mar 4, 2025 10:30 UTC" in row
    assert re.search(r"Draft — not live Publish 0 1 Mar 4", row)


def test_list_query_count_does_not_grow_with_the_number_of_journeys(alice, client_for, hiring):
    client = client_for(alice)

    def grow(start, count):
        with tenant_scope(alice.organization):
            for n in range(start, start + count):
                journey = services.journey_create(organization=alice.organization, name=f"J{n}")
                version = journey.current_version
                version.stage_names = ["Onsite Interview"]
                version.job_ids = [hiring.sales_rep.pk]
                version.office_ids = [hiring.new_york.pk]
                version.department_ids = [hiring.sales.pk]
                version.save()

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("journeys:list"))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    grow(0, 2)
    client.get(reverse("journeys:list"))
    small = count()
    grow(2, 15)
    assert count() == small
    assert text(client.get(reverse("journeys:list"))).count("Sales Rep · New York · Sales") == 17


# ---------------------------------------------------------------------------------------------
# Trigger and criteria
# ---------------------------------------------------------------------------------------------


def test_trigger_and_criteria_are_saved_and_read_back(alice, client_for, hiring, journey):
    client = client_for(alice)
    response = set_onsite_trigger(
        client,
        journey,
        hiring,
        name="Onsite invitation · Sales",
        office_ids=[hiring.new_york.pk],
        statuses=["active"],
    )
    assert response.status_code == 302
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        version = journey.current_version
    assert journey.name == "Onsite invitation · Sales"
    assert version.stage_names == ["Onsite Interview"]
    assert version.job_ids == [hiring.sales_rep.pk]
    assert version.office_ids == [hiring.new_york.pk]
    assert version.statuses == ["active"]
    builder = client.get(url("builder", journey))
    page = text(builder)
    assert "Trigger and criteria saved." in page
    assert "Enters Onsite Interview · Sales Rep · New York · status Active" in page
    body = builder.content.decode()
    # The pickers offer synced values (one "Onsite Interview" for both jobs) and keep the choice.
    assert body.count('value="Onsite Interview"') == 1
    assert re.search(r'value="Onsite Interview"[^>]*checked', body)
    assert re.search(rf'name="job_ids" value="{hiring.sales_rep.pk}"[^>]*checked', body)
    assert "Backend Engineer" in body


def test_stale_trigger_needs_a_number_of_days_and_nothing_typed_is_lost(
    alice, client_for, hiring, journey
):
    client = client_for(alice)
    response = client.post(
        url("trigger", journey),
        {
            "name": "Nudge stale candidates",
            "trigger": "stale_in_stage",
            "stage_names": ["Onsite Interview"],
        },
    )
    assert response.status_code == 200
    page = text(response)
    assert "Enter how many days in the stage make a candidate stale." in page
    body = response.content.decode()
    assert 'value="Nudge stale candidates"' in body
    assert re.search(r'value="Onsite Interview"[^>]*checked', body)
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        assert journey.name == "Onsite invitation"
        assert journey.current_version.trigger == "entered_stage"


def test_exit_rules_are_saved(alice, client_for, journey):
    client = client_for(alice)
    response = client.post(url("exit_rules", journey), {"exit_rules": ["rejected", "replied"]})
    assert response.status_code == 302
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        assert journey.current_version.exit_rules == ["rejected", "replied"]
    body = client.get(url("builder", journey)).content.decode()
    assert re.search(r'value="replied"[^>]*checked', body)
    assert not re.search(r'value="hired"[^>]*checked', body)


# ---------------------------------------------------------------------------------------------
# Steps, in place with htmx
# ---------------------------------------------------------------------------------------------


def test_adding_a_text_step_opens_its_template_picker_in_place(alice, client_for, hiring, journey):
    response = add_step(client_for(alice), journey, "send_sms")
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#steps"
    body = response.content.decode()
    assert body.startswith('<section class="card flow-steps" id="steps">')
    assert "<html" not in body
    (step,) = steps_of(journey)
    assert step.kind == StepKind.SEND_SMS
    assert step.message_template is None
    assert f'name="step-{step.pk}-message_template"' in body
    # Only text templates are offered for a text step, with a preview link into the Library.
    assert "Onsite invitation (text)" in body
    assert "Onsite details (e-mail)" not in body
    assert "Preview the template" in body
    # The version header is updated out of band.
    assert 'id="journey-version" class="journey-version" hx-swap-oob="true"' in body


def test_configuring_a_step_shows_its_summary_and_a_sample_of_the_message(
    alice, client_for, hiring, journey
):
    client = client_for(alice)
    add_step(client, journey, "send_sms")
    (step,) = steps_of(journey)
    response = configure(client, journey, step, {"message_template": hiring.sms.pk})
    assert response.status_code == 200
    page = text(response)
    assert "Send text message “Onsite invitation (text)”" in page
    assert "Sample: Hi Jordan, see you onsite for Sales Rep!" in page
    assert steps_of(journey)[0].message_template_id == hiring.sms.pk


def test_a_send_step_refuses_a_template_of_the_other_channel(alice, client_for, hiring, journey):
    client = client_for(alice)
    add_step(client, journey, "send_sms")
    (step,) = steps_of(journey)
    response = configure(client, journey, step, {"message_template": hiring.email.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert steps_of(journey)[0].message_template_id is None


def test_wait_step_is_configured_and_a_zero_wait_is_refused_with_the_reason(
    alice, client_for, journey
):
    client = client_for(alice)
    add_step(client, journey, "wait")
    (step,) = steps_of(journey)
    assert step.config == {"mode": "duration", "days": 1, "hours": 0, "minutes": 0}
    response = configure(
        client, journey, step, {"mode": "duration", "days": 0, "hours": 0, "minutes": 0}
    )
    page = text(response)
    assert "A wait needs a length: enter at least one minute (or remove the step)." in page
    # The form stays open with what was typed; the step keeps its setting.
    assert f'id="step-{step.pk}"' in response.content.decode()
    assert steps_of(journey)[0].config["days"] == 1

    response = configure(
        client,
        journey,
        step,
        {"mode": "until", "weekdays": ["0", "2"], "time": "09:30"},
    )
    assert "Wait until Monday or Wednesday at 09:30, candidate's local time" in text(response)
    assert steps_of(journey)[0].config == {"mode": "until", "weekdays": [0, 2], "time": "09:30"}


def test_condition_step_reads_as_a_sentence(alice, client_for, journey):
    client = client_for(alice)
    add_step(client, journey, "condition")
    (step,) = steps_of(journey)
    response = configure(client, journey, step, {"check": "replied", "expect": "no"})
    assert "Continue only if not: has replied" in text(response)
    assert steps_of(journey)[0].config == {"check": "replied", "expect": False}


def test_steps_are_reordered_and_removed_in_place(alice, client_for, hiring, journey):
    client = client_for(alice)
    for kind in ("send_sms", "wait", "send_email"):
        add_step(client, journey, kind)
    sms, wait, email = steps_of(journey)
    response = client.post(url("step_move", journey, email.pk), {"direction": "up"}, **HTMX)
    assert response.status_code == 200
    assert [s.kind for s in steps_of(journey)] == ["send_sms", "send_email", "wait"]
    page = text(response)
    assert page.index("Send e-mail") < page.index("Wait 1 day")

    client.post(url("step_move", journey, sms.pk), {"direction": "up"}, **HTMX)  # already first
    assert [s.kind for s in steps_of(journey)] == ["send_sms", "send_email", "wait"]

    response = client.post(url("step_remove", journey, sms.pk), **HTMX)
    assert [(s.position, s.kind) for s in steps_of(journey)] == [(1, "send_email"), (2, "wait")]
    assert 'data-kind="send_sms"' not in response.content.decode()


def test_every_step_action_works_without_javascript(alice, client_for, hiring, journey):
    client = client_for(alice)
    response = client.post(url("step_add", journey), {"kind": "send_sms"})
    (step,) = steps_of(journey)
    assert response.status_code == 302
    assert response.url == url("builder", journey) + f"?edit={step.pk}#step-{step.pk}"
    page = client.get(response.url).content.decode()
    assert f'name="step-{step.pk}-message_template"' in page  # the step opens for editing
    response = configure(client, journey, step, {"message_template": hiring.sms.pk}, htmx=False)
    assert response.status_code == 302
    assert "Onsite invitation (text)" in text(client.get(response.url))
    client.post(url("step_remove", journey, step.pk))
    assert steps_of(journey) == []


def test_activation_refusal_says_what_to_fix(alice, client_for, hiring, journey):
    client = client_for(alice)
    add_step(client, journey, "send_sms")
    page = text(client.get(url("publish", journey)))
    assert "Publish the journey" in page and "Fix these first" in page
    assert 'id="publish-form"' not in page
    response = client.post(url("publish", journey), follow=True)
    page = text(response)
    assert "The journey can't be published yet" in page
    assert (
        "Step 1 (Send text message) has no message template: choose one from the Library." in page
    )
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        assert not journey.is_active


def test_publish_pause_and_resume_from_the_builder_and_the_list(alice, client_for, hiring, journey):
    client = client_for(alice)
    build_onsite_journey(client, journey, hiring)
    builder = text(client.get(url("builder", journey)))
    assert "Draft — not live" in builder and "Publish" in builder and "Activate" not in builder
    page = text(client.get(url("publish", journey)))
    # A first publish lists what the journey will do, in the words of the diff.
    assert "What the journey will do" in page
    assert "Adds step 1: Send text message “Onsite invitation (text)”" in page
    page = text(client.post(url("publish", journey), follow=True))
    assert "Published: “Onsite invitation” is live." in page
    assert (
        "Your edits go to a draft, and nothing changes for candidates until you publish it; "
        "0 candidates in progress keep the version they started with." in page
    )
    response = client.post(url("pause", journey), {"back": "list"})
    assert response.url == reverse("journeys:list")
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        assert not journey.is_active
    row = text(client.get(reverse("journeys:list")))
    assert "Paused Resume" in row and "Draft — not live" not in row
    page = text(client.post(url("activate", journey), {"back": "list"}, follow=True))
    assert "“Onsite invitation” is resumed and live" in page
    assert "Active Pause" in page


def test_editing_a_published_journey_goes_to_a_draft_and_the_live_version_keeps_running(
    alice, client_for, hiring, journey
):
    client = client_for(alice)
    build_onsite_journey(client, journey, hiring)
    client.post(url("activate", journey))
    _, application = hiring.candidate()
    transition = hiring.moved(application)
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        v1 = journey.current_version
        run = JourneyRun.objects.create(
            organization=alice.organization,
            journey=journey,
            version=v1,
            transition=transition,
            application=application,
            candidate=application.candidate,
            started_at=timezone.now(),
        )
        first = JourneyStep.objects.get(version=v1, position=1)
        StepRun.objects.create(
            organization=alice.organization,
            run=run,
            step=first,
            position=1,
            status=StepRunStatus.DONE,
            due_at=timezone.now(),
        )
    page = text(client.get(url("builder", journey)))
    assert "Version 1" in page
    assert "Draft — not live" not in page
    assert "1 candidate in progress keeps the version they started with." in page

    response = add_step(client, journey, "wait")
    assert 'hx-swap-oob="true"' in response.content.decode()
    assert "Draft — not live" in text(response)
    assert "You are editing version 2, a draft; version 1 keeps running" in text(response)
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        assert journey.current_version_id == v1.pk  # still live
        assert journey.draft_version.number == 2
        assert journey.is_active
        assert [s.kind for s in JourneyStep.objects.filter(version=v1).order_by("position")] == [
            "send_sms",
            "send_email",
        ]
        assert set(journey.versions.get(pk=v1.pk).keys.values_list("stage_key", flat=True)) == {
            "onsite interview"
        }
        run.refresh_from_db()
        assert run.version_id == v1.pk
    assert [s.kind for s in steps_of(journey)] == ["send_sms", "send_email"]  # the live steps

    # A second edit stays on the same draft.
    with tenant_scope(alice.organization):
        draft_steps = list(JourneyStep.objects.filter(version=journey.draft_version))
    client.post(url("step_move", journey, draft_steps[2].pk), {"direction": "up"}, **HTMX)
    with tenant_scope(alice.organization):
        assert JourneyVersion.objects.filter(journey=journey).count() == 2
    page = text(client.get(url("builder", journey)))
    assert "Draft — not live" in page
    assert "1 candidate in progress keeps the version they started with" in page


def test_saving_an_unchanged_trigger_starts_no_new_version(alice, client_for, hiring, journey):
    client = client_for(alice)
    build_onsite_journey(client, journey, hiring)
    _, application = hiring.candidate()
    transition = hiring.moved(application)
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        JourneyRun.objects.create(
            organization=alice.organization,
            journey=journey,
            version=journey.current_version,
            transition=transition,
            candidate=application.candidate,
            started_at=timezone.now(),
        )
    set_onsite_trigger(client, journey, hiring)
    with tenant_scope(alice.organization):
        assert JourneyVersion.objects.filter(journey=journey).count() == 1
    set_onsite_trigger(
        client, journey, hiring, stage_names=["Onsite Interview", "Recruiter Phone Screen"]
    )
    with tenant_scope(alice.organization):
        assert JourneyVersion.objects.filter(journey=journey).count() == 2


# ---------------------------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------------------------


def test_viewer_reads_the_builder_but_every_write_is_refused(
    alice, viewer, client_for, hiring, journey
):
    build_onsite_journey(client_for(alice), journey, hiring)
    step = steps_of(journey)[0]
    client = client_for(viewer)
    response = client.get(url("builder", journey))
    assert response.status_code == 200
    page = text(response)
    assert "Your role can view this journey but not change it." in page
    assert "Send text message “Onsite invitation (text)”" in page
    body = response.content.decode()
    assert 'id="add-step"' not in body
    assert "Save trigger" not in body
    assert "Publish" not in page and "Resume" not in page

    writes = [
        (url("trigger", journey), {"name": "Hijacked", "trigger": "hired"}),
        (url("exit_rules", journey), {"exit_rules": []}),
        (url("activate", journey), {}),
        (url("pause", journey), {}),
        (url("delete", journey), {}),
        (url("step_add", journey), {"kind": "exit"}),
        (url("step_edit", journey, step.pk), {f"step-{step.pk}-message_template": ""}),
        (url("step_move", journey, step.pk), {"direction": "down"}),
        (url("step_remove", journey, step.pk), {}),
        (reverse("journeys:new"), {"name": "Viewer's journey"}),
    ]
    for target, data in writes:
        assert client.post(target, data, **HTMX).status_code == 403, target
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        assert journey.name == "Onsite invitation"
        assert Journey.objects.count() == 1
    assert len(steps_of(journey)) == 2


def test_another_organizations_journey_is_not_found(alice, mallory, client_for, hiring, journey):
    build_onsite_journey(client_for(alice), journey, hiring)
    step = steps_of(journey)[0]
    client = client_for(mallory)
    for name, args in [
        ("builder", []),
        ("simulate", []),
        ("dry_run", []),
        ("runs", []),
        ("step", [step.pk]),
        ("step_edit", [step.pk]),
    ]:
        assert client.get(url(name, journey, *args), **HTMX).status_code == 404, name
    for name, args in [
        ("trigger", []),
        ("activate", []),
        ("step_add", []),
        ("step_remove", [step.pk]),
    ]:
        assert client.post(url(name, journey, *args), {"kind": "exit"}).status_code == 404, name
    assert len(steps_of(journey)) == 2
    assert "Onsite invitation" not in text(client.get(reverse("journeys:list")))


def test_a_journey_that_never_ran_can_be_deleted_one_with_runs_cannot(
    alice, client_for, hiring, journey
):
    client = client_for(alice)
    other = client.post(reverse("journeys:new"), {"name": "Scratch", "trigger": "hired"})
    assert other.status_code == 302
    with tenant_scope(alice.organization):
        scratch = Journey.objects.get(name="Scratch")
    response = client.post(url("delete", scratch), follow=True)
    assert "“Scratch” deleted." in text(response)

    build_onsite_journey(client, journey, hiring)
    _, application = hiring.candidate()
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        JourneyRun.objects.create(
            organization=alice.organization,
            journey=journey,
            version=journey.current_version,
            transition=hiring.moved(application),
            candidate=application.candidate,
            started_at=timezone.now(),
        )
    response = client.post(url("delete", journey), follow=True)
    assert "Pause it instead" in text(response)
    with tenant_scope(alice.organization):
        assert Journey.objects.filter(pk=journey.pk).exists()


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------


def test_runs_list_filters_by_status_with_counts_and_links_each_candidate(
    alice, client_for, hiring, journey
):
    client = client_for(alice)
    build_onsite_journey(client, journey, hiring)
    people = [hiring.candidate("Ada", "Lovelace"), hiring.candidate("Grace", "Hopper")]
    with tenant_scope(alice.organization):
        journey.refresh_from_db()
        version = journey.current_version
        steps = list(JourneyStep.objects.filter(version=version).order_by("position"))
        runs = []
        for (candidate, application), status, reason in zip(
            people,
            [RunStatus.ACTIVE, RunStatus.EXITED],
            ["", "Candidate was rejected"],
            strict=True,
        ):
            run = JourneyRun.objects.create(
                organization=alice.organization,
                journey=journey,
                version=version,
                transition=hiring.moved(application),
                application=application,
                candidate=candidate,
                status=status,
                reason=reason,
                started_at=timezone.now() - timedelta(hours=1),
            )
            StepRun.objects.create(
                organization=alice.organization,
                run=run,
                step=steps[0],
                position=1,
                status=StepRunStatus.DONE,
                due_at=timezone.now(),
            )
            StepRun.objects.create(
                organization=alice.organization,
                run=run,
                step=steps[1],
                position=2,
                status=StepRunStatus.PENDING
                if status == RunStatus.ACTIVE
                else StepRunStatus.CANCELED,
                due_at=timezone.now() + timedelta(days=1),
            )
            runs.append(run)

    page = text(client.get(url("runs", journey)))
    assert "All 2 In progress 1 Completed 0 Exited 1" in page
    assert "Ada Lovelace" in page and "Grace Hopper" in page
    response = client.get(url("runs", journey) + "?status=exited")
    page = text(response)
    assert "Grace Hopper" in page and "Ada Lovelace" not in page
    assert "Candidate was rejected" in page
    ada = text(client.get(url("runs", journey) + "?status=active"))
    assert "2. Send e-mail “Onsite details (e-mail)” Waiting · due" in ada
    assert (
        reverse("candidates:detail", args=[people[0][0].pk])
        in client.get(url("runs", journey) + "?status=active").content.decode()
    )

    detail = text(client.get(url("run", journey, runs[1].pk)))
    assert "Grace Hopper" in detail
    assert "1. Send text message “Onsite invitation (text)” Done" in detail
    assert "2. Send e-mail “Onsite details (e-mail)” Canceled" in detail
    assert client_for(alice).get(url("run", journey, 999999)).status_code == 404


# ---------------------------------------------------------------------------------------------
# Simulation and dry run
# ---------------------------------------------------------------------------------------------


def test_simulate_lists_who_would_have_entered_and_who_was_skipped_and_sends_nothing(
    alice, client_for, hiring, journey
):
    client = client_for(alice)
    build_onsite_journey(client, journey, hiring)
    _, ada = hiring.candidate("Ada", "Lovelace")
    hiring.moved(ada, ago=timedelta(days=2))
    _, grace = hiring.candidate("Grace", "Hopper", mobile="", email="")
    hiring.moved(grace, ago=timedelta(days=5))
    _, linus = hiring.candidate("Linus", "Torvalds", job=hiring.engineer)
    hiring.moved(linus, ago=timedelta(days=1))  # another job: does not match the criteria
    _, old = hiring.candidate("Olga", "Old")
    hiring.moved(old, ago=timedelta(days=45))  # before the period
    with tenant_scope(alice.organization):
        messages_before = Message.objects.count()

    response = client.get(url("simulate", journey) + "?days=30")
    assert response.status_code == 200
    page = text(response)
    assert "Nothing is sent" in page
    assert "Ada Lovelace" in page
    assert "Grace Hopper" in page
    assert "Linus Torvalds" not in page
    assert "Olga Old" not in page
    assert re.search(
        r"2 would have entered 2 messages would have gone out 1 would have received", page
    )
    assert "Receives nothing: No mobile number; No email address" in page
    assert "Send text message “Onsite invitation (text)”: sent" in page
    assert "UTC" in page  # times say their zone
    assert 'class="entries-chart"' in response.content.decode()

    longer = text(client.get(url("simulate", journey) + "?days=60"))
    assert "Olga Old" in longer
    with tenant_scope(alice.organization):
        assert Message.objects.count() == messages_before
        assert JourneyRun.objects.count() == 0


def test_simulate_explains_a_bad_number_of_days(alice, client_for, journey):
    page = text(client_for(alice).get(url("simulate", journey) + "?days=many"))
    assert "Enter a whole number." in page
    page = text(client_for(alice).get(url("simulate", journey) + "?days=0"))
    assert "Ensure this value is greater than or equal to 1." in page


def test_dry_run_finds_a_candidate_and_renders_every_message_with_their_data(
    alice, mallory, client_for, hiring, journey
):
    client = client_for(alice)
    build_onsite_journey(client, journey, hiring)
    ada, _ = hiring.candidate("Ada", "Lovelace")
    response = client.get(url("dry_run", journey) + "?q=lovelace")
    assert "Ada Lovelace" in text(response)
    assert f"candidate={ada.pk}" in response.content.decode()

    page = text(client.get(url("dry_run", journey) + f"?candidate={ada.pk}"))
    assert "Nothing is sent" in page
    assert "1. Send text message “Onsite invitation (text)”" in page
    assert "To +447700900123" in page
    assert "Hi Ada, see you onsite for Sales Rep!" in page
    assert "Subject: Your onsite for Sales Rep" in page
    assert "To ada@example.com" in page

    theirs = Hiring(mallory.organization).candidate("Eve", "Spy")[0]
    page = text(client.get(url("dry_run", journey) + f"?candidate={theirs.pk}"))
    assert "That candidate isn't in your organization." in page
    assert "Eve" not in page


# ---------------------------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------------------------


def test_demo_gets_the_seeds_example_journey_paused_once_the_job_is_synced(alice, client_for):
    from journeys.demo import DEMO_JOURNEY_NAME, demo_onsite_journey
    from library.demo import demo_message_templates

    organization = alice.organization
    demo_message_templates(organization=organization)
    assert demo_onsite_journey(organization=organization) is None  # nothing synced yet
    hiring = Hiring(organization)
    journey = demo_onsite_journey(organization=organization)
    assert journey is not None
    assert demo_onsite_journey(organization=organization) is None  # once only
    page = text(client_for(alice).get(reverse("journeys:list")))
    assert f"{DEMO_JOURNEY_NAME} Enters Onsite Interview · Sales Rep Draft — not live" in page
    steps = steps_of(journey)
    assert [(s.kind, s.message_template.name) for s in steps] == [
        ("send_sms", "Onsite interview invitation (text)"),
        ("send_email", "Onsite interview invitation"),
    ]
    with tenant_scope(organization):
        journey.refresh_from_db()
        assert not journey.is_active
        assert journey.current_version.job_ids == [hiring.sales_rep.pk]
        # Complete: the demo user can activate it as it is.
        services.journey_activate(journey=journey)
