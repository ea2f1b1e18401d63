# ruff: noqa: F811 (pytest fixtures imported from tests.interviews.core_helpers)
"""Bulk actions on candidates: the preview says who gets it and who is skipped and why, before
anything is written; the run goes through the send path and enrolment by hand, so opted-out
candidates never get a message; one confirm starts one action; another organization's and a
hiring manager's hidden candidates are out of reach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from bulk import checks, services
from bulk.models import BulkAction, BulkActionItem, BulkKind, BulkStatus, ItemOutcome
from candidates.models import Candidate, TimelineEvent
from journeys import services as journey_services
from journeys.models import JourneyRun
from library.models import MessageTemplate
from messaging import services as messaging_services
from messaging.email_consent import email_opt_out_lock
from messaging.models import Message, MessageStatus, OptOutSource
from recruitflow.celery import app
from recruitflow.tenancy import tenant_scope
from tests.factories import live_onsite_journey, onsite_stage_change
from tests.interviews.core_helpers import (  # noqa: F401 (fixtures)
    delivery_queued,
    make_candidate,
    monday_morning,
    org,
    outbox,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def texting(org, settings):
    """Texts go through the sandbox, as in the demo organization."""
    settings.SANDBOX_SHORTCUTS = True
    org.is_demo = True
    org.save(update_fields=["is_demo"])


@pytest.fixture
def eager(settings, django_capture_on_commit_callbacks):
    """The run queued on commit runs in process, as a worker would run it."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    return django_capture_on_commit_callbacks


@pytest.fixture
def hello(org):
    with tenant_scope(org):
        return MessageTemplate.objects.create(
            organization=org,
            name="Quick hello",
            channel="sms",
            text_body="Hi {{ candidate.first_name }}, thanks for applying to {{ job.name }}!",
        )


@pytest.fixture
def welcome(org):
    with tenant_scope(org):
        return MessageTemplate.objects.create(
            organization=org,
            name="Welcome e-mail",
            channel="email",
            subject="Your {{ job.name }} application",
            html_body="<p>Hi {{ candidate.first_name }}, welcome.</p>",
        )


@pytest.fixture
def people(make_candidate, org):
    """Ana and Ben can be texted; Cleo opted out of texts; Dev has no mobile number."""
    made = {
        "ana": make_candidate(first_name="Ana", email="ana@example.com", mobile="+447700900001"),
        "ben": make_candidate(first_name="Ben", email="ben@example.com", mobile="+447700900002"),
        "cleo": make_candidate(first_name="Cleo", email="cleo@example.com", mobile="+447700900003"),
        "dev": make_candidate(first_name="Dev", email="", mobile=""),
    }
    with tenant_scope(org):
        messaging_services.opt_out_lock(
            organization=org, phone="+447700900003", source=OptOutSource.KEYWORD
        )
    return made


def select(org, *candidates, all_matching=False, query=None):
    with tenant_scope(org):
        return checks.selection_resolve(
            organization=org,
            query=QueryDict(query or ""),
            ticked=[str(c.pk) for c in candidates],
            select_all=all_matching,
        )


def preview(org, selection, **kwargs):
    with tenant_scope(org):
        return checks.preview_build(organization=org, selection=selection, **kwargs)


def skipped(result) -> dict[str, list[str]]:
    return {group.code: group.names for group in result.skipped}


def start(org, user, selection, token="t1", run=None, **kwargs):
    """Start the action; with ``run`` (the ``eager`` fixture) its run follows the commit."""
    with tenant_scope(org):
        if run is None:
            return services.bulk_start(
                organization=org, user=user, token=token, selection=selection, **kwargs
            )
        with run(execute=True):
            return services.bulk_start(
                organization=org, user=user, token=token, selection=selection, **kwargs
            )


def texts_to(org, candidate) -> list[Message]:
    with tenant_scope(org):
        return list(Message.objects.filter(candidate=candidate).order_by("pk"))


# --- The preview ---------------------------------------------------------------------------


def test_preview_of_a_text_groups_the_skipped_by_reason_and_writes_nothing(
    org, people, hello, alice
):
    selection = select(org, all_matching=True)
    result = preview(org, selection, kind=BulkKind.SEND, template=hello)
    assert result.selected == 4
    assert result.going.count == 2
    assert result.going.names == ["Ana Rivera", "Ben Rivera"]
    assert skipped(result) == {"opted_out_sms": ["Cleo Rivera"], "no_mobile": ["Dev Rivera"]}
    assert result.waiting.count == 0 and result.can_start
    with tenant_scope(org):
        assert not Message.objects.exists() and not BulkAction.objects.exists()
        assert not TimelineEvent.objects.exists()


def test_preview_of_an_email_names_no_address_and_opted_out_of_email(org, people, welcome):
    with tenant_scope(org):
        email_opt_out_lock(organization=org, email="ben@example.com", source="manual")
    result = preview(org, select(org, all_matching=True), kind=BulkKind.SEND, template=welcome)
    assert skipped(result) == {"opted_out_email": ["Ben Rivera"], "no_email": ["Dev Rivera"]}
    assert result.going.names == ["Ana Rivera", "Cleo Rivera"]


def test_quiet_hours_wait_and_the_preview_says_until_when_in_the_organizations_zone(
    org, people, hello, time_machine
):
    # Monday 2 March 2026, 23:00 in London: after the default texting window.
    time_machine.move_to("2026-03-02T23:00:00+00:00", tick=False)
    result = preview(
        org, select(org, people["ana"], people["ben"]), kind=BulkKind.SEND, template=hello
    )
    assert result.going.count == 2 and result.waiting.count == 2
    assert result.waiting_until.startswith("Tue 3 Mar 2026 ")
    assert result.waiting_until.endswith("(Europe/London)")


def test_a_template_only_another_sender_fills_cannot_start(org, people, alice):
    with tenant_scope(org):
        link = MessageTemplate.objects.create(
            organization=org,
            name="Pick a time",
            channel="sms",
            text_body="Pick a time: {{ scheduling_link }}",
        )
    selection = select(org, all_matching=True)
    result = preview(org, selection, kind=BulkKind.SEND, template=link)
    assert "“Pick a time” uses {{ scheduling_link }}" in result.problem
    assert not result.can_start
    with pytest.raises(services.BulkRefused, match="can't be sent by hand"):
        start(org, alice.user, selection, kind=BulkKind.SEND, template=link)


def test_too_many_or_none_selected_says_what_to_do(org, people, monkeypatch):
    monkeypatch.setattr(checks, "MAX_CANDIDATES", 3)
    with pytest.raises(checks.SelectionError, match="More than 3 candidates match: narrow"):
        select(org, all_matching=True)
    with pytest.raises(checks.SelectionError, match="Tick the candidates to act on"):
        select(org)
    with pytest.raises(checks.SelectionError, match="No candidates match this filter"):
        select(org, all_matching=True, query="q=nobody-by-this-name")


def test_select_all_follows_the_lists_filter(org, people):
    selection = select(org, all_matching=True, query="q=Ana")
    assert selection.candidate_ids == [people["ana"].pk]
    assert selection.filters == {"q": "Ana"}


# --- Running a send ------------------------------------------------------------------------


def test_sending_a_template_reaches_the_reachable_and_never_the_opted_out(
    org, people, hello, alice, eager
):
    action = start(
        org,
        alice.user,
        select(org, all_matching=True),
        run=eager,
        kind=BulkKind.SEND,
        template=hello,
    )
    with tenant_scope(org):
        action.refresh_from_db()
        progress = services.bulk_progress(action)
        summary = services.bulk_summary(action)
    assert action.status == BulkStatus.DONE and action.finished_at is not None
    assert (progress.total, progress.done, progress.skipped, progress.failed) == (4, 2, 2, 0)
    [to_ana] = texts_to(org, people["ana"])
    assert to_ana.body == "Hi Ana, thanks for applying to Sales Rep!"
    assert to_ana.sent_by == alice.user and to_ana.status == MessageStatus.QUEUED
    assert texts_to(org, people["cleo"]) == [] and texts_to(org, people["dev"]) == []
    groups = {(g.outcome, g.detail): [c.first_name for c in g.candidates] for g in summary}
    assert groups == {
        (ItemOutcome.DONE, "Queued"): ["Ana", "Ben"],
        (ItemOutcome.SKIPPED, "Opted out of texts"): ["Cleo"],
        (ItemOutcome.SKIPPED, "No mobile number"): ["Dev"],
    }


def test_a_candidate_who_opts_out_after_the_preview_is_still_not_texted(org, people, hello, alice):
    selection = select(org, people["ana"], people["ben"])
    assert preview(org, selection, kind=BulkKind.SEND, template=hello).going.count == 2
    action = start(org, alice.user, selection, kind=BulkKind.SEND, template=hello)
    with tenant_scope(org):
        messaging_services.opt_out_lock(
            organization=org, phone="+447700900002", source=OptOutSource.KEYWORD
        )
        services.bulk_run(organization=org, action_id=action.pk)
        ben = BulkActionItem.objects.get(action=action, candidate=people["ben"])
    assert (ben.outcome, ben.detail) == (ItemOutcome.SKIPPED, "Opted out of texts")
    assert texts_to(org, people["ben"]) == []


def test_texts_held_for_quiet_hours_say_until_when(org, people, hello, alice, time_machine):
    time_machine.move_to("2026-03-02T23:00:00+00:00", tick=False)
    action = start(org, alice.user, select(org, people["ana"]), kind=BulkKind.SEND, template=hello)
    with tenant_scope(org):
        services.bulk_run(organization=org, action_id=action.pk)
        item = BulkActionItem.objects.get(action=action)
    assert item.outcome == ItemOutcome.DONE
    assert item.detail.startswith("Held for quiet hours until Tue 3 Mar 2026 ")
    assert texts_to(org, people["ana"])[0].status == MessageStatus.HELD


def test_the_same_confirm_twice_starts_one_action_and_sends_once(org, people, hello, alice, eager):
    selection = select(org, people["ana"])
    first = start(
        org, alice.user, selection, token="same", run=eager, kind=BulkKind.SEND, template=hello
    )
    again = start(
        org, alice.user, selection, token="same", run=eager, kind=BulkKind.SEND, template=hello
    )
    assert again.pk == first.pk
    with tenant_scope(org):
        assert BulkAction.objects.count() == 1
        # A second run of the same action (a redelivered task) does nothing.
        assert services.bulk_run(organization=org, action_id=first.pk) is None
    assert len(texts_to(org, people["ana"])) == 1


# --- Enrolling in a journey ----------------------------------------------------------------


@pytest.fixture
def journey(org):
    return live_onsite_journey(org)


def test_enrolling_adds_each_with_the_reason_on_their_timeline_and_skips_the_rest(
    org, people, journey, alice, eager
):
    for name in ("ana", "ben"):
        onsite_stage_change(org, people[name])
    selection = select(org, people["ana"], people["ben"], people["dev"])
    result = preview(org, selection, kind=BulkKind.ENROL, journey=journey)
    assert result.going.names == ["Ana Rivera", "Ben Rivera"]
    assert skipped(result) == {"no_stage_change": ["Dev Rivera"]}

    action = start(
        org,
        alice.user,
        selection,
        run=eager,
        kind=BulkKind.ENROL,
        journey=journey,
        reason="Spring event",
    )
    name = alice.user.get_full_name() or alice.user.email
    with tenant_scope(org):
        assert JourneyRun.objects.filter(journey=journey).count() == 2
        summaries = set(
            TimelineEvent.objects.filter(candidate=people["ana"]).values_list("summary", flat=True)
        )
        items = {i.candidate.first_name: i for i in BulkActionItem.objects.filter(action=action)}
    assert f"Added to journey “Onsite follow-up” by {name}: Spring event" in summaries
    assert items["Ana"].outcome == ItemOutcome.DONE and items["Ana"].run_id
    assert (items["Dev"].outcome, items["Dev"].detail) == (
        ItemOutcome.SKIPPED,
        "No stage change received from the ATS yet",
    )

    # Already in it: the preview says so, and a second action adds no one twice.
    again = preview(org, selection, kind=BulkKind.ENROL, journey=journey)
    assert skipped(again)["already_enrolled"] == ["Ana Rivera", "Ben Rivera"]


def test_an_inactive_journey_skips_everyone(org, people, journey, alice):
    with tenant_scope(org):
        journey_services.journey_pause(journey=journey)
        journey.refresh_from_db()
    result = preview(org, select(org, all_matching=True), kind=BulkKind.ENROL, journey=journey)
    assert result.going.count == 0 and not result.can_start
    assert skipped(result) == {
        "journey_inactive": ["Ana Rivera", "Ben Rivera", "Cleo Rivera", "Dev Rivera"]
    }


def test_enrolling_needs_a_reason(org, people, journey, alice):
    with pytest.raises(services.BulkRefused, match="Say why you are adding them by hand"):
        start(org, alice.user, select(org, people["ana"]), kind=BulkKind.ENROL, journey=journey)


# --- Who can be reached --------------------------------------------------------------------


def test_another_organizations_candidates_are_never_selected(org, people, mallory, hello):
    with tenant_scope(mallory.organization):
        outsider = Candidate.objects.create(
            organization=mallory.organization,
            provider="greenhouse",
            external_id="m1",
            first_name="Mo",
            last_name="Other",
            mobile_phone="+447700900099",
        )
    selection = select(org, people["ana"], outsider)
    assert selection.candidate_ids == [people["ana"].pk] and selection.unseen == 1
    result = preview(org, selection, kind=BulkKind.SEND, template=hello)
    assert skipped(result) == {"not_visible": []}
    assert [g.count for g in result.skipped] == [1]


def test_a_hiring_managers_scope_keeps_their_hidden_candidates_out(org, people, hello):
    visible = Candidate.unscoped.filter(pk=people["ana"].pk).values("pk")
    with tenant_scope(org, visible_candidates=visible):
        everyone = checks.selection_resolve(
            organization=org, query=QueryDict(""), ticked=[], select_all=True
        )
        ticked = checks.selection_resolve(
            organization=org,
            query=QueryDict(""),
            ticked=[str(people["ana"].pk), str(people["ben"].pk)],
            select_all=False,
        )
    assert everyone.candidate_ids == [people["ana"].pk]
    assert ticked.candidate_ids == [people["ana"].pk] and ticked.unseen == 1


# --- A run whose worker stopped --------------------------------------------------------------


def _age(org, action, minutes):
    """Make the action and its candidates' last progress ``minutes`` old."""
    then = timezone.now() - timedelta(minutes=minutes)
    with tenant_scope(org):
        BulkAction.objects.filter(pk=action.pk).update(created_at=then)
        BulkActionItem.objects.filter(action=action).update(updated_at=then)


def test_a_run_whose_worker_was_killed_is_finished_by_the_sweep_without_a_second_text(
    org, people, hello, alice, eager
):
    selection = select(org, people["ana"], people["ben"])
    # Confirmed, then a worker claimed it and was killed right after texting Ana, before it
    # wrote her outcome down.
    action = start(org, alice.user, selection, kind=BulkKind.SEND, template=hello)
    with tenant_scope(org):
        BulkAction.objects.filter(pk=action.pk).update(status=BulkStatus.RUNNING)
        item = BulkActionItem.objects.get(action=action, candidate=people["ana"])
        services._send_one(action, item, organization=org, zone="UTC")
    _age(org, action, minutes=3)
    assert len(texts_to(org, people["ana"])) == 1

    with eager(execute=True):
        assert services.bulk_resume_stalled() == 1

    with tenant_scope(org):
        action.refresh_from_db()
        progress = services.bulk_progress(action)
    assert action.status == BulkStatus.DONE
    assert (progress.total, progress.done) == (2, 2)
    assert len(texts_to(org, people["ana"])) == 1  # the same message, not a second one
    assert len(texts_to(org, people["ben"])) == 1
    assert services.bulk_resume_stalled() == 0  # finished: nothing more to resume


def test_the_sweep_leaves_a_run_that_is_making_progress_and_requeues_a_lost_task(
    org, people, hello, alice, eager
):
    selection = select(org, people["ana"], people["ben"])
    busy = start(org, alice.user, selection, token="busy", kind=BulkKind.SEND, template=hello)
    with tenant_scope(org):
        BulkAction.objects.filter(pk=busy.pk).update(status=BulkStatus.RUNNING)
    _age(org, busy, minutes=3)
    with tenant_scope(org):  # a candidate done a moment ago: the run is alive
        BulkActionItem.objects.filter(action=busy, candidate=people["ana"]).update(
            updated_at=timezone.now()
        )
    # Queued while the broker was down: its task never reached a worker.
    lost = start(org, alice.user, selection, token="lost", kind=BulkKind.SEND, template=hello)
    _age(org, lost, minutes=3)

    with eager(execute=True):
        assert services.bulk_resume_stalled() == 1

    with tenant_scope(org):
        busy.refresh_from_db()
        lost.refresh_from_db()
    assert busy.status == BulkStatus.RUNNING
    assert lost.status == BulkStatus.DONE
