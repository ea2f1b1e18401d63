"""ATS webhooks applied in batches: one apply task claims its own delivery and the
organization's other received deliveries of the same vendor that no other task holds, applies
each with its own outcome, and announces their stage changes to Journeys together."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from candidates.models import Application, Candidate, StageTransition
from candidates.sync import writer as writer_module
from integrations import intake
from integrations import tasks as intake_tasks
from integrations.models import WebhookDelivery
from integrations.sandbox.greenhouse import greenhouse_json
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).parent.parent / "integrations" / "fixtures"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def stage_change(number: int, *, stage: tuple[int, str], minute: int = 0) -> bytes:
    """Greenhouse's documented stage change, for application ``number`` of its own candidate
    (job 3485 "Designer", office 54, department 237), now in ``stage``."""
    envelope = json.loads((FIXTURE / "greenhouse_webhook_stage_change.json").read_text())
    application = envelope["payload"]["application"]
    application["id"] = 500_000 + number
    application["candidate"]["id"] = 600_000 + number
    application["current_stage"] = {"id": stage[0], "name": stage[1], "interviews": []}
    application["last_activity_at"] = (START + timedelta(minutes=minute)).isoformat()
    return greenhouse_json(envelope)


SCREEN = (71415, "Phone screen")
ASSESSMENT = (71416, "Assessment")


@pytest.fixture
def queued(monkeypatch):
    """The apply tasks the intake queues (no worker here), as (organization id, delivery id)."""
    sent: list[tuple] = []
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply, "delay", lambda *args: sent.append(args)
    )
    return sent


@pytest.fixture
def announced(monkeypatch):
    """The transition ids of each ``journeys.match_transitions`` task the mirror sends."""
    sent: list[list[int]] = []

    def send(name, args):
        assert name == "journeys.match_transitions"
        sent.append(sorted(args[1]))

    monkeypatch.setattr(writer_module, "send_task_by_name", send)
    return sent


def store(connection, body: bytes, event_id: str) -> WebhookDelivery:
    delivery, _ = intake.store(
        organization=connection.organization,
        provider="greenhouse",
        kind="candidate_stage_change",
        event_id=event_id,
        raw_body=body,
    )
    return delivery


def store_moves(connection, capture, numbers, *, stage, prefix: str, minute: int = 0) -> None:
    with capture(execute=True):
        for number in numbers:
            store(
                connection, stage_change(number, stage=stage, minute=minute), f"{prefix}-{number}"
            )


def run(queued: list[tuple]) -> list[str | None]:
    states = []
    while queued:
        states.append(intake_tasks.webhook_delivery_apply(*queued.pop(0)))
    return states


def deliver(connection, capture, queued: list[tuple], *moves: tuple[bytes, str]) -> None:
    """Store each (body, vendor event id) as one burst, then run the apply tasks it queued."""
    with capture(execute=True):
        for body, event_id in moves:
            store(connection, body, event_id)
    with capture(execute=True):
        run(queued)


def states(org) -> dict[str, str]:
    with tenant_scope(org):
        return dict(WebhookDelivery.objects.values_list("event_id", "state"))


def queries_to_apply(org, connection, capture, queued, numbers: range, prefix: str) -> int:
    """Queries the apply tasks of stage changes of the applications ``numbers`` cost, every
    candidate already in the mirror at the phone screen (the job, its office and department,
    and both stages known)."""
    store_moves(connection, capture, numbers, stage=SCREEN, prefix=f"{prefix}-screen")
    store_moves(connection, capture, [numbers.stop], stage=ASSESSMENT, prefix=f"{prefix}-known")
    run(queued)
    store_moves(connection, capture, numbers, stage=ASSESSMENT, prefix=prefix, minute=5)
    with CaptureQueriesContext(db_connection) as ctx, capture(execute=True):
        run(queued)
    with tenant_scope(org):
        moved = StageTransition.objects.filter(from_stage_name="Phone screen")
        assert moved.filter(provider_event_id__startswith=f"{prefix}-").count() == len(numbers)
    return len(ctx)


def shared_cache() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


@pytest.mark.skipif(not shared_cache(), reason="needs the cache the web and workers share (Redis)")
def test_a_burst_publishes_one_task_which_applies_it_and_announces_it_to_journeys_in_one_task(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, announced
):
    org = alice.organization
    store_moves(greenhouse_connection, django_capture_on_commit_callbacks, range(5),
                stage=ASSESSMENT, prefix="burst")  # fmt: skip
    # The first delivery's task waits in the queue: the other four publish none of their own.
    assert len(queued) == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert run(queued) == ["processed"]

    assert set(states(org).values()) == {"processed"}
    with tenant_scope(org):
        moves = StageTransition.objects.filter(to_stage_name="Assessment")
        assert announced == [sorted(moves.values_list("pk", flat=True))] and moves.count() == 5
    # Once that task has started, the next delivery publishes a task again.
    store_moves(greenhouse_connection, django_capture_on_commit_callbacks, [5],
                stage=ASSESSMENT, prefix="after")  # fmt: skip
    assert len(queued) == 1 and run(queued) == ["processed"]


@pytest.mark.skipif(not shared_cache(), reason="needs the cache the web and workers share (Redis)")
def test_deliveries_stored_while_a_task_waits_are_applied_by_it_even_when_its_own_was_not_its_to_apply(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, announced
):
    org = alice.organization
    store_moves(greenhouse_connection, django_capture_on_commit_callbacks, [1],
                stage=ASSESSMENT, prefix="first")  # fmt: skip
    (waiting,) = queued
    # Another call applies the first delivery meanwhile (a sweep, a second worker).
    intake.apply(delivery_id=waiting[1], organization=org)
    store_moves(greenhouse_connection, django_capture_on_commit_callbacks, [2, 3],
                stage=ASSESSMENT, prefix="meanwhile")  # fmt: skip
    assert len(queued) == 1  # still the waiting one

    with django_capture_on_commit_callbacks(execute=True):
        assert run(queued) == ["processed"]
    assert set(states(org).values()) == {"processed"}


@pytest.mark.skipif(not shared_cache(), reason="needs the cache the web and workers share (Redis)")
def test_a_full_batch_queues_a_task_for_the_rest(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, announced
):
    org = alice.organization
    store_moves(greenhouse_connection, django_capture_on_commit_callbacks,
                range(intake.APPLY_BATCH + 3), stage=ASSESSMENT, prefix="many")  # fmt: skip
    assert len(queued) == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert run(queued) == ["processed", "processed"]  # the first task, then the rest's
    assert set(states(org).values()) == {"processed"}
    assert [len(batch) for batch in announced] == [intake.APPLY_BATCH, 3]


def test_a_broker_that_refuses_leaves_no_mark_behind(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, monkeypatch
):
    sent: list[tuple] = []

    def refuse_once(*args):
        sent.append(args)
        if len(sent) == 1:
            raise ConnectionError("broker down")

    monkeypatch.setattr(intake_tasks.webhook_delivery_apply, "delay", refuse_once)
    store_moves(greenhouse_connection, django_capture_on_commit_callbacks, [1, 2],
                stage=ASSESSMENT, prefix="refused")  # fmt: skip
    # The first one's task was refused (the sweep will queue it): the second publishes its own.
    assert len(sent) == 2


def test_a_cache_that_fails_makes_each_delivery_publish_its_own_task(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, monkeypatch
):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(intake.cache, "add", down)
    store_moves(greenhouse_connection, django_capture_on_commit_callbacks, [1, 2],
                stage=ASSESSMENT, prefix="cache-down")  # fmt: skip
    assert len(queued) == 2  # the vendor still got its 200: nothing raised after the commit


def test_with_a_cache_private_to_each_process_every_delivery_publishes_its_task(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, announced, settings
):
    """A cache the workers don't share (``make run``'s default) cannot say a task is waiting:
    each delivery publishes its own, and a task whose delivery a batch already applied reads
    two rows and stops."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    org = alice.organization
    store_moves(greenhouse_connection, django_capture_on_commit_callbacks, range(5),
                stage=ASSESSMENT, prefix="private")  # fmt: skip
    first, *rest = queued[:]
    assert len(rest) == 4
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert run([first]) == ["processed"]
    with CaptureQueriesContext(db_connection) as late:
        assert run(rest) == ["processed"] * 4

    assert set(states(org).values()) == {"processed"}
    assert len(announced) == 1
    assert len(late) == 4 * 2  # each late task reads its organization and its delivery


def test_a_batch_of_stage_changes_costs_the_same_few_queries_however_many_it_holds(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, announced
):
    """A batch of stage changes is applied together: it claims its deliveries and reads the
    connection and the maps, then the applications' advisory locks, the stale check, the
    candidates (erased? then one upsert), the applications (lock, one upsert), one insert of
    the transitions, one update of the deliveries' states, and the new transitions' ids for
    Journeys: 19 statements for 3 stage changes or 6. The job with its places (seven
    statements) is compared once a minute per process while the webhooks describe it the same
    way. One delivery at a time, each cost ten statements: 39 for 3, 69 for 6; before batches,
    30 per delivery."""
    org, capture = alice.organization, django_capture_on_commit_callbacks
    three = queries_to_apply(org, greenhouse_connection, capture, queued, range(3), "three")
    six = queries_to_apply(org, greenhouse_connection, capture, queued, range(10, 16), "six")

    late = 0 if shared_cache() else 2  # a private cache: each delivery's own task comes too
    lock = 1 if db_connection.vendor == "postgresql" else 0  # SQLite serializes writers itself
    assert three == 18 + lock + 2 * late + 7  # the job compared with the mirror
    assert six == 18 + lock + 5 * late  # the same job, compared a moment ago
    assert len(announced) == 2  # one match task per batch


def test_a_failing_delivery_is_retried_alone_and_the_rest_of_its_batch_is_applied(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, announced,
    monkeypatch, caplog,
):  # fmt: skip
    """Applying the batch together fails (on the first delivery's application), so each
    delivery is applied alone: the first writes the new job, its office and department, then
    fails; its savepoint takes them back, and the next deliveries write them again."""
    from candidates.services import webhook_events

    org = alice.organization
    lock = webhook_events._lock_applications

    def flaky(writer, external_ids):
        if "500000" in external_ids:
            raise RuntimeError("the database went away")
        lock(writer, external_ids)

    monkeypatch.setattr(webhook_events, "_lock_applications", flaky)
    store_moves(greenhouse_connection, django_capture_on_commit_callbacks, range(3),
                stage=ASSESSMENT, prefix="flaky")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        run(queued)

    assert states(org) == {"flaky-0": "failed", "flaky-1": "processed", "flaky-2": "processed"}
    assert "Applying 3 greenhouse webhook deliveries together failed; applying each alone" in (
        caplog.text
    )
    with tenant_scope(org):
        failed = WebhookDelivery.objects.get(event_id="flaky-0")
        applied = StageTransition.objects.order_by("provider_event_id")
        assert [t.provider_event_id for t in applied] == ["flaky-1", "flaky-2"]
        assert [o.name for o in applied[0].job.offices.all()] == ["New York"]
    assert failed.attempts == 1 and failed.next_attempt_at is not None
    assert "RuntimeError: the database went away" in failed.error
    assert announced == [sorted(t.pk for t in applied)]

    monkeypatch.setattr(webhook_events, "_lock_applications", lock)
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply, "delay", lambda *args: queued.append(args)
    )
    assert intake.sweep(now=failed.next_attempt_at) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert run(queued) == ["processed"]
    with tenant_scope(org):
        assert StageTransition.objects.filter(provider_event_id="flaky-0").count() == 1


@pytest.mark.skipif(
    db_connection.vendor != "postgresql", reason="row locks need Postgres (DATABASE_URL)"
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_apply_one_delivery_twice(
    alice, greenhouse_connection, queued, announced, monkeypatch
):
    from candidates.services import webhook_events

    org = alice.organization
    count = 40
    for number in range(count):
        store(greenhouse_connection, stage_change(number, stage=ASSESSMENT), f"race-{number}")
    applied: list[str] = []
    apply_event, apply_changes = webhook_events._apply_event, webhook_events._apply_changes

    def counted(writer, event, *, stored, **kwargs):
        applied.append(stored.event_id)
        return apply_event(writer, event, stored=stored, **kwargs)

    def counted_together(writer, changes):
        done = apply_changes(writer, changes)
        applied.extend(
            c.context.delivery.event_id for c in changes if c.context.delivery.pk in done
        )
        return done

    monkeypatch.setattr(webhook_events, "_apply_event", counted)
    monkeypatch.setattr(webhook_events, "_apply_changes", counted_together)
    tasks = queued[:]
    barrier = threading.Barrier(2)

    def worker(mine):
        barrier.wait()
        try:
            for args in mine:
                intake_tasks.webhook_delivery_apply(*args)
        finally:
            from django.db import connection

            connection.close()

    # The two workers take the queue from both ends, as two workers of a burst would.
    threads = [
        threading.Thread(target=worker, args=(tasks,)),
        threading.Thread(target=worker, args=(tasks[::-1],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(applied) == sorted(f"race-{n}" for n in range(count))
    assert set(states(org).values()) == {"processed"}
    with tenant_scope(org):
        assert StageTransition.objects.count() == count
        assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}
        recorded = sorted(StageTransition.objects.values_list("pk", flat=True))
    assert sorted(pk for ids in announced for pk in ids) == recorded


def test_a_burst_of_posts_notes_when_the_connection_last_heard_without_writing_it_each_time(
    alice, greenhouse_connection, client, time_machine
):
    """The onboarding checklist's "last heard" is at most 10 s old; the POSTs in between store
    the delivery by one statement (the connection kept from the first POST), and wait on no
    row lock."""
    from tests.candidates.test_webhooks import greenhouse_post

    def post(number: int) -> int:
        body = stage_change(number, stage=SCREEN)
        return greenhouse_post(client, greenhouse_connection, body, event_id=f"post-{number}")

    time_machine.move_to(START, tick=False)
    post(1)
    time_machine.shift(timedelta(seconds=9))
    with CaptureQueriesContext(db_connection) as ctx:
        answer = post(2)
    statements = [q["sql"].split()[0] for q in ctx]  # the next request clears the log
    greenhouse_connection.refresh_from_db()
    heard_during_burst = greenhouse_connection.last_webhook_at
    time_machine.shift(timedelta(seconds=2))
    post(3)
    greenhouse_connection.refresh_from_db()

    assert answer.status_code == 200, answer.content
    assert statements == ["SAVEPOINT", "INSERT", "RELEASE"]
    assert heard_during_burst == START
    assert greenhouse_connection.last_webhook_at == START + timedelta(seconds=11)


@pytest.fixture
def together(monkeypatch):
    """The event ids of the deliveries each batch applied together."""
    from candidates.services import webhook_events

    batches: list[list[str]] = []
    apply_changes = webhook_events._apply_changes

    def spy(writer, changes):
        done = apply_changes(writer, changes)
        batches.append(
            sorted(c.context.delivery.event_id for c in changes if c.context.delivery.pk in done)
        )
        return done

    monkeypatch.setattr(webhook_events, "_apply_changes", spy)
    return batches


def history(org, number: int) -> list[tuple[str, str, str]]:
    """Application ``number``'s transitions: (from stage, to stage, vendor event id)."""
    with tenant_scope(org):
        rows = StageTransition.objects.filter(application__external_id=str(500_000 + number))
        return list(
            rows.order_by("observed_at", "pk").values_list(
                "from_stage_name", "to_stage_name", "provider_event_id"
            )
        )


def test_two_moves_of_one_application_in_a_batch_are_applied_in_order_and_the_rest_together(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, announced, together
):
    org = alice.organization
    deliver(greenhouse_connection, django_capture_on_commit_callbacks, queued,
            (stage_change(1, stage=SCREEN), "one-screen"),
            (stage_change(2, stage=SCREEN), "two-screen"),
            (stage_change(1, stage=ASSESSMENT, minute=5), "one-assess"),
            (stage_change(3, stage=SCREEN), "three-screen"))  # fmt: skip

    assert set(states(org).values()) == {"processed"}
    assert together == [["three-screen", "two-screen"]]
    assert history(org, 1) == [
        ("", "Phone screen", "one-screen"),
        ("Phone screen", "Assessment", "one-assess"),
    ]
    assert history(org, 2) == [("", "Phone screen", "two-screen")]
    with tenant_scope(org):
        recorded = sorted(StageTransition.objects.values_list("pk", flat=True))
    assert sorted(pk for batch in announced for pk in batch) == recorded


def test_a_move_older_than_the_mirror_in_a_batch_is_recorded_at_its_own_time(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, announced, together
):
    """The newer move of application 1 was applied first; its older move, delivered late in a
    batch, leaves the application (and the candidate's details) where the newer one put them
    and is recorded at its own time, before the newer one; the batch's other moves are
    applied together."""
    org, capture = alice.organization, django_capture_on_commit_callbacks
    newer = json.loads(stage_change(1, stage=ASSESSMENT, minute=10))
    newer["payload"]["application"]["candidate"]["first_name"] = "Newer"
    older = json.loads(stage_change(1, stage=SCREEN, minute=5))
    older["payload"]["application"]["candidate"]["first_name"] = "Older"
    deliver(greenhouse_connection, capture, queued, (greenhouse_json(newer), "one-newer"))
    deliver(greenhouse_connection, capture, queued,
            (greenhouse_json(older), "one-older"),
            (stage_change(2, stage=SCREEN), "two"),
            (stage_change(3, stage=SCREEN), "three"))  # fmt: skip

    assert set(states(org).values()) == {"processed"}
    assert together == [["three", "two"]]
    assert history(org, 1) == [
        ("", "Phone screen", "one-older"),
        ("Phone screen", "Assessment", "one-newer"),
    ]
    with tenant_scope(org):
        application = Application.objects.select_related("candidate").get(external_id="500001")
        late = StageTransition.objects.get(provider_event_id="one-older")
    assert application.stage_name == "Assessment" and application.candidate.first_name == "Newer"
    assert late.observed_at == START + timedelta(minutes=5)


def test_a_batch_does_not_write_back_the_details_of_a_candidate_an_admin_erased(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, announced, together
):
    from candidates.erasure import ERASED, erase_candidate

    org, capture = alice.organization, django_capture_on_commit_callbacks
    store_moves(greenhouse_connection, capture, range(3), stage=SCREEN, prefix="screen")
    with capture(execute=True):
        run(queued)
    with tenant_scope(org):
        candidate = Candidate.objects.get(external_id="600001")
        erase_candidate(organization=org, candidate=candidate, requested_by=alice.user)
    store_moves(
        greenhouse_connection, capture, range(3), stage=ASSESSMENT, prefix="assess", minute=5
    )
    with capture(execute=True):
        run(queued)

    assert together[-1] == ["assess-0", "assess-1", "assess-2"]
    assert history(org, 1)[-1] == ("Phone screen", "Assessment", "assess-1")
    with tenant_scope(org):
        candidate.refresh_from_db()
        others = set(
            Candidate.objects.exclude(pk=candidate.pk).values_list("first_name", flat=True)
        )
    assert (candidate.first_name, candidate.primary_email) == (ERASED, "")
    assert ERASED not in others and "" not in others


def test_a_batch_holding_another_kind_of_event_is_applied_one_delivery_at_a_time_in_order(
    alice, greenhouse_connection, django_capture_on_commit_callbacks, queued, announced, together
):
    """A candidate deleted between two moves: the moves before it are applied before it, the
    move after it after it, as they were delivered."""
    org, capture = alice.organization, django_capture_on_commit_callbacks
    deleted = {"action": "delete_candidate", "payload": {"person": {"id": 600_002}}}
    with capture(execute=True):
        store(greenhouse_connection, stage_change(1, stage=SCREEN), "one")
        store(greenhouse_connection, stage_change(2, stage=SCREEN), "two")
        intake.store(organization=org, provider="greenhouse", kind="delete_candidate",
                     event_id="gone", raw_body=greenhouse_json(deleted))  # fmt: skip
        store(greenhouse_connection, stage_change(3, stage=SCREEN), "three")
    with capture(execute=True):
        run(queued)

    assert set(states(org).values()) == {"processed"}
    assert together == []
    with tenant_scope(org):
        gone = Candidate.objects.get(external_id="600002")
        kept = Candidate.objects.filter(deleted_at__isnull=True).values_list(
            "external_id", flat=True
        )
    assert gone.deleted_at is not None and sorted(kept) == ["600001", "600003"]
