"""The match task of a webhook's stage change runs the new run's first step itself (one hop
less between the stage change and the candidate's text); a poll's page of many transitions
shares its first steps out to ``journeys.run_steps`` tasks instead."""

from __future__ import annotations

import pytest

from journeys import tasks
from journeys.models import StepRun, StepRunStatus
from messaging.models import Message, MessageStatus
from recruitflow.tenancy import tenant_scope

# Texts are queued, not held for quiet hours, whatever hour the suite runs at.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("weekday_morning")]


@pytest.fixture
def queued(monkeypatch, django_capture_on_commit_callbacks):
    """The ``journeys.run_steps`` tasks queued (after commit), not run."""
    sent: list[list[int]] = []
    monkeypatch.setattr(tasks.run_steps, "delay", lambda org_id, ids: sent.append(list(ids)))
    return sent


def test_a_single_stage_change_gets_its_text_queued_by_the_match_task_itself(
    ats, make_journey, sms_template, texting, queued, django_capture_on_commit_callbacks
):
    make_journey(steps=[("send_sms", sms_template)])
    transition = ats.move(ats.apply(ats.candidate(mobile="+447700900123")), "Onsite Interview")

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.match_transitions(ats.organization.pk, [transition.pk]) == 1

    assert queued == []
    with tenant_scope(ats.organization):
        (message,) = Message.objects.all()
        assert message.to_address == "+447700900123"
        assert message.status == MessageStatus.QUEUED  # handed to the outbox, delivery queued
        assert set(StepRun.objects.values_list("status", flat=True)) == {StepRunStatus.DONE}
    # The same task again (a redelivered message) starts and sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.match_transitions(ats.organization.pk, [transition.pk]) == 0
    with tenant_scope(ats.organization):
        assert Message.objects.count() == 1


def test_a_page_of_many_stage_changes_shares_its_first_steps_out_to_run_steps_tasks(
    ats, make_journey, sms_template, texting, queued, django_capture_on_commit_callbacks
):
    make_journey(steps=[("send_sms", sms_template)])
    many = tasks.INLINE_FIRST_STEPS + 5
    transitions = [
        ats.move(ats.apply(ats.candidate(mobile=f"+4477009{i:05d}")), "Onsite Interview")
        for i in range(many)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.match_transitions(ats.organization.pk, [t.pk for t in transitions]) == many

    with tenant_scope(ats.organization):
        pending = set(StepRun.objects.values_list("pk", flat=True))
        assert Message.objects.count() == 0  # nothing sent by the match task
        assert set(StepRun.objects.values_list("status", flat=True)) == {StepRunStatus.PENDING}
    assert {pk for chunk in queued for pk in chunk} == pending
