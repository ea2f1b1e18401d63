"""First steps run in batches: one claim, the reads of the batch (its rows, its journeys' next
steps, what its sends check) and one record of the steps that go on, then each step's own
work — what a burst of stage changes costs per candidate."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.messaging import InboundSMS
from journeys import engine, execution
from journeys.dispatcher import step_runs_recover
from journeys.models import ExitRule, JourneyRun, RunStatus, StepRun
from journeys.registry import send_key
from messaging import selectors as messaging_selectors
from messaging import services as messaging
from messaging.models import Direction, Message, MessageStatus, OptOutSource
from recruitflow.tenancy import tenant_scope

# Inside the texting window wherever the suite runs: a held text would add its timeline entry.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("weekday_morning")]
# The statement counts pinned by these tests are Postgres's (the database CI and production
# use); SQLite takes other paths (no advisory locks, steps recorded one by one).
POSTGRES_COUNTS = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="query counts pinned for Postgres"
)
TWO_DAYS = {"mode": "duration", "days": 2}
# Every exit rule, those that read the opt-out ledger and the timeline included.
EVERY_RULE = list(ExitRule.values)

# Per first step (a text handed to the outbox, the step recorded, the run completed).
MAX_QUERIES_PER_FIRST_STEP = 3
# What one more first step adds to a batch that goes on to a wait: its message, inserted with
# its conversation touched in one statement (its exit rules' state and its merge values are
# read for the whole batch).
QUERIES_PER_STEP_IN_A_BATCH = 1


def _first_steps(ats, django_capture_on_commit_callbacks, n: int, offset: int) -> list[int]:
    applications = [
        ats.apply(ats.candidate(first_name=f"C{offset + i}", mobile=f"+4477009{offset + i:05d}"))
        for i in range(n)
    ]
    transitions = [ats.move(a, "Onsite Interview") for a in applications]
    with django_capture_on_commit_callbacks(), tenant_scope(ats.organization):
        result = engine.transitions_match(
            organization=ats.organization, transition_ids=[t.pk for t in transitions]
        )
    assert len(result.first_steps) == n
    return result.first_steps


# Each step's own savepoint (SAVEPOINT and RELEASE): its send opens none of its own.
SAVEPOINT_STATEMENTS_PER_STEP = 2


def _execute_counted(ats, ids, django_capture_on_commit_callbacks) -> tuple[int, int]:
    """Run the steps ``ids``: (queries, savepoint statements) they cost."""
    with (
        CaptureQueriesContext(connection) as ctx,
        django_capture_on_commit_callbacks(),
        tenant_scope(ats.organization),
    ):
        assert engine.step_runs_execute(organization=ats.organization, step_run_ids=ids) == len(ids)
    savepoints = [q for q in ctx.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    return len(ctx.captured_queries) - len(savepoints), len(savepoints)


def _execute(ats, ids, django_capture_on_commit_callbacks) -> int:
    return _execute_counted(ats, ids, django_capture_on_commit_callbacks)[0]


@POSTGRES_COUNTS
def test_a_batch_of_first_steps_costs_a_fixed_number_of_queries_per_step_and_sends_each_once(
    ats, make_journey, sms_template, texting, django_capture_on_commit_callbacks
):
    make_journey(steps=[("send_sms", sms_template)])
    _execute(
        ats,
        _first_steps(ats, django_capture_on_commit_callbacks, 2, 0),
        django_capture_on_commit_callbacks,
    )  # fmt: skip  (settings resolved once)
    few = _first_steps(ats, django_capture_on_commit_callbacks, 5, 100)
    many = _first_steps(ats, django_capture_on_commit_callbacks, 20, 200)

    few_queries, few_savepoints = _execute_counted(ats, few, django_capture_on_commit_callbacks)
    many_queries, many_savepoints = _execute_counted(ats, many, django_capture_on_commit_callbacks)

    assert many_queries / 20 <= MAX_QUERIES_PER_FIRST_STEP, (few_queries, many_queries)
    assert many_savepoints - few_savepoints == 15 * SAVEPOINT_STATEMENTS_PER_STEP
    # The batch's claim and reads are shared: 15 more steps cost less than 15 × a lone step.
    assert many_queries - few_queries < 15 * (few_queries / 5)
    with tenant_scope(ats.organization):
        assert set(StepRun.objects.filter(pk__in=few + many).values_list("status", flat=True)) == {
            "done"
        }
        assert Message.objects.filter(status=MessageStatus.QUEUED).count() == 27
        # A second run of the same ids (a duplicated task) claims nothing and sends nothing.
        assert engine.step_runs_execute(organization=ats.organization, step_run_ids=many) == 0
        assert Message.objects.count() == 27


def _few_then_full(ats, capture) -> tuple[list[int], list[int], int, int]:
    """After a warm-up batch (the settings resolved once): a batch of 5 first steps and a full
    one, their step run ids and the queries each batch cost."""
    with tenant_scope(ats.organization):
        # As for any organization that sent before: its messaging preferences exist (created
        # on first use, which renews its send context once).
        messaging_selectors.preferences_for(organization=ats.organization)
    _execute(ats, _first_steps(ats, capture, 2, 0), capture)
    few = _first_steps(ats, capture, 5, 100)
    full = _first_steps(ats, capture, engine.EXECUTE_BATCH, 200)
    return few, full, _execute(ats, few, capture), _execute(ats, full, capture)


@POSTGRES_COUNTS
def test_each_first_step_of_a_batch_adds_the_same_few_queries_and_the_runs_go_on_to_wait(
    ats, make_journey, sms_template, texting, django_capture_on_commit_callbacks
):
    make_journey(steps=[("send_sms", sms_template), ("wait", TWO_DAYS)], exit_rules=EVERY_RULE)
    few, full, few_queries, full_queries = _few_then_full(ats, django_capture_on_commit_callbacks)

    added = engine.EXECUTE_BATCH - 5
    assert full_queries - few_queries == added * QUERIES_PER_STEP_IN_A_BATCH, (
        few_queries,
        full_queries,
    )
    with tenant_scope(ats.organization):
        steps = StepRun.objects.filter(run__step_runs__pk__in=few + full)
        assert set(steps.filter(position=1).values_list("status", flat=True)) == {"done"}
        waiting = steps.filter(position=2, status="pending")
        assert waiting.count() == len(few + full)
        assert Message.objects.filter(status=MessageStatus.QUEUED).count() == 2 + len(few + full)


@POSTGRES_COUNTS
def test_a_batch_of_first_steps_that_send_nothing_is_recorded_together_at_no_cost_per_step(
    ats, make_journey, django_capture_on_commit_callbacks
):
    make_journey(steps=[("condition", {"check": "has_mobile"}), ("wait", TWO_DAYS)])
    few, full, few_queries, full_queries = _few_then_full(ats, django_capture_on_commit_callbacks)

    assert full_queries == few_queries
    with tenant_scope(ats.organization):
        steps = StepRun.objects.filter(run__step_runs__pk__in=few + full)
        assert set(steps.filter(position=1).values_list("reason", flat=True)) == {
            "Has a mobile number: yes."
        }
        assert steps.filter(position=2, status="pending").count() == len(few + full)


def test_in_a_batch_those_who_opted_out_or_replied_since_their_run_started_leave_it_untexted(
    ats, make_journey, sms_template, texting, django_capture_on_commit_callbacks
):
    make_journey(steps=[("send_sms", sms_template), ("wait", TWO_DAYS)], exit_rules=EVERY_RULE)
    ids = _first_steps(ats, django_capture_on_commit_callbacks, 4, 0)
    with tenant_scope(ats.organization):
        steps = StepRun.objects.filter(pk__in=ids).select_related("run__candidate").order_by("pk")
        runs = [s.run for s in steps]
        opted_out, replied, *texted = runs
        messaging.opt_out_lock(
            organization=ats.organization,
            phone=opted_out.candidate.mobile_phone,
            source=OptOutSource.KEYWORD,
            keyword="STOP",
        )
        messaging.inbound_sms_receive(
            organization=ats.organization,
            inbound=InboundSMS(
                from_e164=replied.candidate.mobile_phone,
                to_e164="+15005550006",
                body="Sounds good, thanks!",
                provider_message_id="SMin-reply",
                received_at=datetime.now(UTC),
                raw={},
            ),
        )

    _execute(ats, ids, django_capture_on_commit_callbacks)

    with tenant_scope(ats.organization):
        ended = {r.pk: r for r in JourneyRun.objects.all()}
        assert (ended[opted_out.pk].status, ended[opted_out.pk].reason) == (
            RunStatus.EXITED,
            f"{opted_out.candidate.mobile_phone} opted out of texts",
        )
        assert (ended[replied.pk].status, ended[replied.pk].reason) == (
            RunStatus.EXITED,
            "the candidate replied",
        )
        assert {ended[r.pk].status for r in texted} == {RunStatus.ACTIVE}
        outbound = Message.objects.filter(direction=Direction.OUTBOUND)
        assert sorted(outbound.values_list("to_address", flat=True)) == sorted(
            r.candidate.mobile_phone for r in texted
        )


def test_a_text_sent_under_a_steps_key_meanwhile_rolls_the_step_back_and_its_retry_sends_nothing(
    ats, make_journey, sms_template, texting, django_capture_on_commit_callbacks, monkeypatch
):
    """A prepared send opens no savepoint of its own: the key's unique constraint, met by a
    message someone else queued after the batch read the keys, rolls back the step's savepoint.
    The step stays running for the recovery sweep, whose retry finds that message: one text."""
    make_journey(steps=[("send_sms", sms_template), ("wait", TWO_DAYS)])
    ids = _first_steps(ats, django_capture_on_commit_callbacks, 3, 0)
    raced = ids[1]
    prepared = execution.messages_prepared

    @contextmanager
    def sent_meanwhile(*, organization, candidates, idempotency_keys=()):
        with prepared(
            organization=organization, candidates=candidates, idempotency_keys=idempotency_keys
        ):
            step_run = StepRun.objects.select_related("run__candidate").get(pk=raced)
            messaging.message_send(
                organization=organization,
                candidate=step_run.run.candidate,
                channel="sms",
                body="Queued by another worker",
                source="journey",
                idempotency_key=send_key(raced),
            )
            yield

    monkeypatch.setattr(execution, "messages_prepared", sent_meanwhile)
    _execute(ats, ids, django_capture_on_commit_callbacks)
    monkeypatch.setattr(execution, "messages_prepared", prepared)

    with tenant_scope(ats.organization):
        statuses = dict(StepRun.objects.filter(pk__in=ids).values_list("pk", "status"))
        assert statuses == {ids[0]: "done", raced: "running", ids[2]: "done"}
        assert Message.objects.filter(idempotency_key=send_key(raced)).count() == 1
        later = timezone.now() + engine.step_timeout() + timedelta(minutes=1)
        assert step_runs_recover(organization=ats.organization, now=later) == 1
    _execute(ats, [raced], django_capture_on_commit_callbacks)

    with tenant_scope(ats.organization):
        assert StepRun.objects.get(pk=raced).status == "done"
        (message,) = Message.objects.filter(idempotency_key=send_key(raced))
        assert message.body == "Queued by another worker"
        assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 3
