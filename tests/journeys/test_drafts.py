"""The builder's flow of cards, Draft / Publish, drag-and-drop order, samples from a real
candidate, the live Runs list and the candidate timeline's journey runs as one entry."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from candidates.models import TimelineEvent
from journeys import drafts, editing, services
from journeys.forms import CriteriaNames
from journeys.models import (
    Journey,
    JourneyRun,
    JourneyStep,
    JourneyTriggerKey,
    StepKind,
    StepRun,
    StepRunStatus,
)
from journeys.timeline_kinds import JOURNEY_COMPLETED, JOURNEY_ENTERED, JOURNEY_SENT
from journeys.wording import exit_sentence, publish_changes, trigger_sentence
from messaging.models import Conversation, Message
from messaging.timeline_kinds import MESSAGE_SENT
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member
from tests.journeys.test_builder import (
    HTMX,
    Hiring,
    add_step,
    build_onsite_journey,
    configure,
    text,
    url,
)

pytestmark = pytest.mark.django_db


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
def live(alice, client_for, hiring, journey):
    """The onsite journey (text, then e-mail), published and active."""
    build_onsite_journey(client_for(alice), journey, hiring)
    with tenant_scope(alice.organization):
        services.journey_activate(journey=journey)
        journey.refresh_from_db()
    return journey


def _refresh(journey) -> Journey:
    with tenant_scope(journey.organization):
        journey.refresh_from_db()
    return journey


def _steps(version) -> list[JourneyStep]:
    with tenant_scope(version.organization):
        return list(JourneyStep.objects.filter(version=version).order_by("position"))


def _kinds(version) -> list[str]:
    return [s.kind for s in _steps(version)]


# ---------------------------------------------------------------------------------------------
# The cards' sentences
# ---------------------------------------------------------------------------------------------


def test_the_trigger_card_reads_as_one_sentence(alice, hiring, journey):
    with tenant_scope(alice.organization):
        version = journey.current_version
        version.stage_names = ["Recruiter Phone Screen"]
        version.job_ids = [hiring.sales_rep.pk, hiring.engineer.pk]
        version.sources = ["LinkedIn"]
        version.save()
        names = CriteriaNames.for_versions(organization=alice.organization, versions=[version])
        assert trigger_sentence(version, names) == (
            "When a candidate enters Recruiter Phone Screen on Sales Rep or Backend Engineer, "
            "from LinkedIn"
        )
        version.trigger = "stale_in_stage"
        version.stale_days = 3
        version.job_ids = []
        version.office_ids = [hiring.new_york.pk]
        version.sources = []
        version.tags = ["Referral"]
        assert trigger_sentence(version, names) == (
            "When a candidate stays 3 days in Recruiter Phone Screen in office #"
            f"{hiring.new_york.pk}, tagged Referral"
        )
        version.exit_rules = ["left_stage", "replied"]
        assert exit_sentence(version) == "Stops for a candidate who left the stage or replied."
        version.exit_rules = []
        assert exit_sentence(version).startswith("No exit rules")


def test_the_builder_shows_the_trigger_steps_and_exit_rules_as_a_flow_of_cards(
    alice, client_for, live
):
    response = client_for(alice).get(url("builder", live))
    body = response.content.decode()
    page = text(response)
    assert "When a candidate enters Onsite Interview on Sales Rep" in page
    assert "Stops for a candidate who left the stage, was rejected, was hired or opted out" in page
    assert body.index('id="trigger"') < body.index('id="steps"') < body.index('id="exit-rules"')
    # Cards with steps are collapsed to their sentence; a click opens them.
    assert '<details class="card flow-card" id="trigger">' in body
    assert "data-reorderable" in body and 'class="drag-handle"' in body
    assert "#inbox" in body  # the send steps' icon
    assert "Template “Onsite invitation (text)”" in page


# ---------------------------------------------------------------------------------------------
# Draft / Publish
# ---------------------------------------------------------------------------------------------


def test_a_journey_never_published_is_edited_in_place(alice, client_for, hiring, journey):
    client = client_for(alice)
    build_onsite_journey(client, journey, hiring)
    journey = _refresh(journey)
    assert journey.draft_version_id is None
    assert _kinds(journey.current_version) == ["send_sms", "send_email"]
    page = text(client.get(url("builder", journey)))
    # Never live: the whole journey is the draft (label and Publish), with no separate draft
    # version to discard.
    assert "Draft — not live" in page and "Publish" in page
    assert "Discard draft" not in page and "Activate" not in page


def test_an_edit_of_a_live_journey_goes_to_a_draft_that_publish_makes_live(
    alice, client_for, hiring, live
):
    client = client_for(alice)
    v1 = live.current_version
    response = add_step(client, live, "wait")
    assert "Draft — not live" in text(response)
    live = _refresh(live)
    draft = live.draft_version
    assert live.current_version_id == v1.pk
    assert _kinds(v1) == ["send_sms", "send_email"]
    assert _kinds(draft) == ["send_sms", "send_email", "wait"]
    with tenant_scope(alice.organization):
        assert set(JourneyTriggerKey.objects.values_list("version_id", flat=True)) == {v1.pk}

    # The list says so too.
    listing = text(client.get(reverse("journeys:list")))
    assert (
        "Onsite invitation Enters Onsite Interview · Sales Rep Active Draft — not live" in listing
    )

    # Publish: the page says what changes, then the draft is live.
    page = text(client.get(url("publish", live)))
    assert "Adds step 3: Wait 1 day." in page
    response = client.post(url("publish", live), follow=True)
    assert "Published: “Onsite invitation” is live." in text(response)
    live = _refresh(live)
    assert live.current_version_id == draft.pk
    assert live.draft_version_id is None
    assert live.is_active
    with tenant_scope(alice.organization):
        assert set(JourneyTriggerKey.objects.values_list("version_id", flat=True)) == {draft.pk}
    assert "Draft — not live" not in text(client.get(url("builder", live)))


def test_publish_activates_a_paused_journey_and_running_candidates_keep_their_version(
    alice, client_for, hiring, live
):
    client = client_for(alice)
    _, application = hiring.candidate()
    transition = hiring.moved(application)
    with tenant_scope(alice.organization):
        run = JourneyRun.objects.create(
            organization=alice.organization,
            journey=live,
            version=live.current_version,
            transition=transition,
            application=application,
            candidate=application.candidate,
            started_at=timezone.now(),
        )
        services.journey_pause(journey=live)
    client.post(url("exit_rules", live), {"exit_rules": ["hired"]})
    live = _refresh(live)
    assert live.draft_version.exit_rules == ["hired"]
    client.post(url("publish", live))
    live = _refresh(live)
    assert live.is_active
    assert live.current_version.exit_rules == ["hired"]
    with tenant_scope(alice.organization):
        run.refresh_from_db()
        assert run.version.number == 1


def test_the_publish_page_lists_every_change_in_words(alice, client_for, hiring, live):
    client = client_for(alice)
    first, second = _steps(live.current_version)
    # The e-mail step moves above the text, the text sends another template, a wait is added,
    # the criteria and exit rules change.
    client.post(url("step_move", live, second.pk), {"direction": "up"}, **HTMX)
    with tenant_scope(alice.organization):
        other = hiring.sms.__class__.objects.create(
            organization=alice.organization,
            name="Onsite reminder (text)",
            channel="sms",
            text_body="See you soon, {{ candidate.first_name }}.",
        )
    draft = _refresh(live).draft_version
    text_copy = next(s for s in _steps(draft) if s.kind == StepKind.SEND_SMS)
    configure(client, live, text_copy, {"message_template": other.pk})
    add_step(client, live, "wait")
    client.post(
        url("trigger", live),
        {
            "name": live.name,
            "trigger": "entered_stage",
            "stage_names": ["Onsite Interview"],
            "job_ids": [hiring.sales_rep.pk, hiring.engineer.pk],
        },
    )
    client.post(url("exit_rules", live), {"exit_rules": ["left_stage", "replied"]})
    page = text(client.get(url("publish", live)))
    assert "Jobs: adds Backend Engineer." in page
    assert "New exit rule: stop when “candidate replied”." in page
    assert "Exit rule removed: no longer stops when “candidate was hired”." in page
    assert "Step 2 sends “Onsite reminder (text)” instead of “Onsite invitation (text)”." in page
    assert "Adds step 3: Wait 1 day." in page
    assert (
        "Moves “Send e-mail “Onsite details (e-mail)”” from step 2 to step 1." in page
        or "Moves “Send text message “Onsite reminder (text)”” from step 1 to step 2." in page
    )
    assert "Removes" not in page
    assert "Starts differently" not in page


def test_removed_steps_and_a_new_trigger_are_named(alice, hiring, live):
    with tenant_scope(alice.organization):
        first, second = _steps(live.current_version)
        editing.journey_step_remove(journey=live, step=second, draft=True)
        version = live.current_version
        editing.journey_trigger_update(
            journey=live,
            trigger="hired",
            exit_rules=version.exit_rules,
            draft=True,
            **{f: getattr(version, f) for f in editing.CRITERIA_FIELDS},
        )
        live.refresh_from_db()
        names = CriteriaNames.for_versions(
            organization=alice.organization, versions=[live.current_version]
        )
        words = [c.text for c in publish_changes(live.current_version, live.draft_version, names)]
    assert "Removes step 2: Send e-mail “Onsite details (e-mail)”." in words
    assert any(w.startswith("Starts differently: “When a candidate is hired") for w in words)


def test_a_draft_that_cannot_run_is_not_published_and_the_page_says_why(alice, client_for, live):
    client = client_for(alice)
    add_step(client, live, "send_sms")  # no template chosen
    page = text(client.get(url("publish", live)))
    assert "Fix these first" in page
    assert "Step 3 (Send text message) has no message template" in page
    response = client.post(url("publish", live), follow=True)
    assert "The draft can't be published yet" in text(response)
    live = _refresh(live)
    assert live.draft_version_id is not None
    assert _kinds(live.current_version) == ["send_sms", "send_email"]


def test_discarding_the_draft_leaves_the_live_version_as_it_was(alice, client_for, live):
    client = client_for(alice)
    v1 = live.current_version
    add_step(client, live, "wait")
    draft_id = _refresh(live).draft_version_id
    response = client.post(url("discard_draft", live), follow=True)
    assert "Draft discarded" in text(response)
    live = _refresh(live)
    assert live.draft_version_id is None
    assert live.current_version_id == v1.pk
    with tenant_scope(alice.organization):
        assert not live.versions.filter(pk=draft_id).exists()
    response = client.post(url("discard_draft", live), follow=True)
    assert "There is no draft to discard" in text(response)


def test_publish_without_a_draft_sends_back_to_the_builder(alice, client_for, live):
    response = client_for(alice).get(url("publish", live), follow=True)
    assert "There is no draft to publish" in text(response)
    with pytest.raises(ValidationError, match="no draft"), tenant_scope(alice.organization):
        drafts.journey_publish(journey=live)


def test_a_viewer_can_not_publish_or_reorder(alice, client_for, live):
    with tenant_scope(alice.organization):
        viewer = add_member(organization=alice.organization, email="vic@acme.test", role="viewer")
    client = client_for(viewer)
    assert client.post(url("publish", live)).status_code == 403
    assert client.post(url("steps_reorder", live), {"order": "1"}).status_code == 403


# ---------------------------------------------------------------------------------------------
# Drag and drop order
# ---------------------------------------------------------------------------------------------


def _reorder(client, journey, ids):
    return client.post(
        url("steps_reorder", journey),
        {"order": ",".join(str(i) for i in ids)},
        HTTP_X_REQUESTED_WITH="fetch",
    )


def test_dragging_a_step_saves_the_new_order_in_the_draft(alice, client_for, live):
    client = client_for(alice)
    first, second = _steps(live.current_version)
    response = _reorder(client, live, [second.pk, first.pk])
    assert response.status_code == 200
    assert 'id="steps"' in response.content.decode()
    assert "Draft — not live" in text(response)
    live = _refresh(live)
    assert _kinds(live.draft_version) == ["send_email", "send_sms"]
    assert _kinds(live.current_version) == ["send_sms", "send_email"]


def test_an_order_that_strands_steps_after_exit_is_refused_with_the_reason(
    alice, client_for, hiring, journey
):
    client = client_for(alice)
    build_onsite_journey(client, journey, hiring)
    add_step(client, journey, "exit")
    steps = _steps(_refresh(journey).current_version)
    exit_step = steps[-1]
    response = _reorder(client, journey, [exit_step.pk, *(s.pk for s in steps[:-1])])
    assert response.status_code == 409
    assert "“Exit the journey” must stay the last step" in text(response)
    assert "Drag it back to the end" in text(response)
    assert _kinds(_refresh(journey).current_version) == ["send_sms", "send_email", "exit"]


def test_a_stale_order_is_refused_and_nothing_moves(alice, client_for, live):
    client = client_for(alice)
    first, second = _steps(live.current_version)
    response = _reorder(client, live, [second.pk])
    assert response.status_code == 409
    assert "The steps changed meanwhile" in text(response)
    response = _reorder(client, live, ["x"])  # not numbers at all
    assert response.status_code == 409
    assert _refresh(live).draft_version_id is None


def test_a_new_step_goes_before_a_closing_exit_step(alice, client_for, journey):
    client = client_for(alice)
    add_step(client, journey, "exit")
    add_step(client, journey, "wait")
    assert _kinds(_refresh(journey).current_version) == ["wait", "exit"]


# ---------------------------------------------------------------------------------------------
# Samples from a real candidate
# ---------------------------------------------------------------------------------------------


def test_step_samples_use_a_candidate_who_matches_the_trigger(alice, client_for, hiring, live):
    client = client_for(alice)
    page = text(client.get(url("builder", live)))
    assert "No candidate in your ATS matches the trigger right now" in page
    hiring.candidate("Zed", "Elsewhere", job=hiring.engineer)  # another job: no match
    hiring.candidate("Priya", "Natarajan")  # Sales Rep, Onsite Interview
    page = text(client.get(url("builder", live)))
    assert "Samples use Priya Natarajan's data (Sales Rep (at Onsite Interview))" in page
    assert "Hi Priya, see you onsite for Sales Rep!" in page


# ---------------------------------------------------------------------------------------------
# Runs, live
# ---------------------------------------------------------------------------------------------


def _run(alice, hiring, journey, first="Sam"):
    _, application = hiring.candidate(first)
    transition = hiring.moved(application)
    with tenant_scope(alice.organization):
        return JourneyRun.objects.create(
            organization=alice.organization,
            journey=journey,
            version=journey.current_version,
            transition=transition,
            application=application,
            candidate=application.candidate,
            started_at=timezone.now(),
        )


def test_the_runs_page_refreshes_its_list_from_a_fragment(alice, client_for, hiring, live):
    client = client_for(alice)
    page = client.get(url("runs", live)).content.decode()
    assert f'data-live-url="{url("runs_live", live)}?page=1"' in page
    assert "js/live.js" in page
    fragment = client.get(url("runs_live", live))
    assert "No runs yet" in text(fragment)
    assert "<html" not in fragment.content.decode()
    _run(alice, hiring, live, "Nadia")
    fragment = text(client.get(url("runs_live", live) + "?status=active"))
    assert "Nadia Okafor" in fragment
    assert "In progress 1" in fragment


def test_runs_fragment_query_count_does_not_grow_with_runs(alice, client_for, hiring, live):
    client = client_for(alice)
    _run(alice, hiring, live, "One")
    client.get(url("runs_live", live))
    with CaptureQueriesContext(connection) as small:
        client.get(url("runs_live", live))
    for name in ("Two", "Three", "Four"):
        _run(alice, hiring, live, name)
    with CaptureQueriesContext(connection) as large:
        client.get(url("runs_live", live))
    assert len(large.captured_queries) == len(small.captured_queries)


def test_builder_query_count_does_not_grow_with_steps(alice, client_for, live):
    client = client_for(alice)
    client.get(url("builder", live))
    with CaptureQueriesContext(connection) as small:
        client.get(url("builder", live))
    for _ in range(4):
        add_step(client, live, "wait")
    client.post(url("discard_draft", live))  # compare the same version, with more steps
    with tenant_scope(alice.organization):
        for _ in range(4):
            editing.journey_step_add(journey=live, kind="wait")
    with CaptureQueriesContext(connection) as large:
        client.get(url("builder", live))
    assert len(large.captured_queries) == len(small.captured_queries)


# ---------------------------------------------------------------------------------------------
# The candidate timeline: a run is one entry
# ---------------------------------------------------------------------------------------------


def _run_events(alice, run):
    """What a run writes: entered, a text sent by its first step (messaging's event), the
    step's own event, finished."""
    organization = alice.organization
    with tenant_scope(organization):
        conversation = Conversation.objects.create(
            organization=organization, candidate=run.candidate
        )
        message = Message.objects.create(
            organization=organization,
            conversation=conversation,
            candidate=run.candidate,
            channel="sms",
            direction="outbound",
            to_address="+447700900123",
            body="Hi",
        )
        step = JourneyStep.objects.filter(version=run.version).order_by("position").first()
        StepRun.objects.create(
            organization=organization,
            run=run,
            step=step,
            position=1,
            status=StepRunStatus.DONE,
            due_at=timezone.now(),
            message=message,
        )
        data = {"journey_id": run.journey_id, "journey": run.journey.name, "run_id": run.pk}
        for kind, summary, extra in [
            (JOURNEY_ENTERED, "Entered journey “Onsite invitation”", data),
            (MESSAGE_SENT, "Text sent to +447700900123", {"message_id": message.pk}),
            (JOURNEY_SENT, "Journey “Onsite invitation”, step 1: text sent", data),
            (JOURNEY_COMPLETED, "Finished journey “Onsite invitation”", data),
        ]:
            TimelineEvent.objects.create(
                organization=organization,
                candidate=run.candidate,
                kind=kind,
                summary=summary,
                data=extra,
                occurred_at=timezone.now(),
            )


def test_the_candidate_timeline_shows_a_run_as_one_entry_that_expands(
    alice, client_for, hiring, live
):
    run = _run(alice, hiring, live, "Tomas")
    _run_events(alice, run)
    with tenant_scope(alice.organization):
        TimelineEvent.objects.create(
            organization=alice.organization,
            candidate=run.candidate,
            kind="replied",
            summary="Candidate replied: thanks!",
            data={},
            occurred_at=timezone.now(),
        )
    client = client_for(alice)
    response = client.get(reverse("candidates:detail", args=[run.candidate_id]))
    body = response.content.decode()
    assert body.count('class="timeline-entry timeline-run') == 1
    assert body.count('<details class="timeline-group"') == 1
    assert "4 events" in body
    assert "Finished a journey: Finished journey “Onsite invitation”" in text(response)
    # The reply is not part of the run: its own entry.
    assert 'data-kind="replied"' in body
    assert f'data-live-url="{reverse("candidates:timeline", args=[run.candidate_id])}"' in body

    fragment = client.get(reverse("candidates:timeline", args=[run.candidate_id]))
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert "4 events" in text(fragment)


def test_an_outsider_can_not_read_the_timeline_fragment(alice, mallory, client_for, hiring, live):
    run = _run(alice, hiring, live, "Ines")
    response = client_for(mallory).get(reverse("candidates:timeline", args=[run.candidate_id]))
    assert response.status_code == 404
