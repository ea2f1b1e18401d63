"""ATS webhook processing: the job's places, applications first seen by webhook, malformed
payloads, broker outages and lost tasks (the sweep), and moves delivered out of order."""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError

from candidates.models import (
    Application,
    Department,
    Job,
    Office,
    Stage,
    StageTransition,
)
from integrations import intake
from integrations import tasks as intake_tasks
from integrations.models import WebhookDelivery
from integrations.sandbox.greenhouse import greenhouse_json
from journeys import services as journey_services
from journeys.models import JourneyRun, JourneyStep
from recruitflow.tenancy import scopes_disabled, tenant_scope
from tests.candidates.test_webhooks import (
    greenhouse_post,
    lever_delivery,
    lever_post,
    sync,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent.parent / "integrations" / "fixtures"


def recorded_stage_change() -> dict:
    """Greenhouse's documented candidate_stage_change delivery (job 3485 "Designer" in office
    54 "New York" and department 237 "Community", now in stage 71416 "Assessment")."""
    return json.loads((FIXTURES / "greenhouse_webhook_stage_change.json").read_text())


def journey_on(organization, *, stage: str, offices=(), departments=(), trigger="entered_stage"):
    """An active journey (one wait step) on entering ``stage``, activated an hour ago."""
    with tenant_scope(organization):
        journey = journey_services.journey_create(organization=organization, name=f"On {stage}")
        version = journey.current_version
        version.trigger = trigger
        version.stage_names = [stage] if stage else []
        version.office_ids = [o.pk for o in offices]
        version.department_ids = [d.pk for d in departments]
        version.save()
        JourneyStep.objects.create(
            organization=organization,
            version=version,
            position=1,
            kind="wait",
            config={"mode": "duration", "days": 1},
        )
        journey_services.journey_activate(journey=journey)
        type(journey).objects.filter(pk=journey.pk).update(
            activated_at=timezone.now() - timedelta(hours=1)
        )
        return journey


@pytest.fixture
def run_tasks_inline(monkeypatch, django_capture_on_commit_callbacks):
    """Queued processing runs through the real task body, right after the view's commit."""
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply,
        "delay",
        lambda *args: intake_tasks.webhook_delivery_apply(*args),
    )
    return django_capture_on_commit_callbacks


@pytest.fixture
def eager_matching():
    """Journeys' matching task (sent by name after commit) runs in process."""
    from recruitflow.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


# -- 11.13: the job keeps its offices and departments ----------------------------------------


def test_webhook_job_gets_its_office_and_department_so_an_office_journey_starts_when_new(
    alice, greenhouse_connection, client, run_tasks_inline, eager_matching
):
    org = alice.organization
    with tenant_scope(org):
        # The hourly reference refresh knows the office, not yet the new job.
        new_york = Office.objects.create(
            organization=org, provider="greenhouse", external_id="54", name="New York"
        )
    journey = journey_on(org, stage="Assessment", offices=[new_york])
    body = greenhouse_json(recorded_stage_change())

    with run_tasks_inline(execute=True):
        response = greenhouse_post(client, greenhouse_connection, body, event_id="evt-places")

    assert response.status_code == 200
    with tenant_scope(org):
        job = Job.objects.get(external_id="3485")
        assert job.name == "Designer" and job.status == "open"
        assert [o.name for o in job.offices.all()] == ["New York"]
        assert [(d.external_id, d.name) for d in job.departments.all()] == [("237", "Community")]
        assert Department.objects.get(external_id="237").jobs.get() == job
        assert JourneyRun.objects.filter(journey=journey).count() == 1


def test_webhook_leaves_the_hiring_team_and_department_parent_alone_when_job_is_known(
    alice, greenhouse_connection, client, run_tasks_inline
):
    from candidates.models import AtsUser

    org = alice.organization
    with tenant_scope(org):
        recruiter = AtsUser.objects.create(
            organization=org, provider="greenhouse", external_id="3128", name="Alicia"
        )
        parent = Department.objects.create(
            organization=org,
            provider="greenhouse",
            external_id="237",
            name="Community",
            parent_external_id="1",
        )
        job = Job.objects.create(
            organization=org, provider="greenhouse", external_id="3485", name="Old name"
        )
        job.recruiters.add(recruiter)

    with run_tasks_inline(execute=True):
        greenhouse_post(client, greenhouse_connection, greenhouse_json(recorded_stage_change()))

    with tenant_scope(org):
        job.refresh_from_db()
        assert job.name == "Designer"
        assert list(job.recruiters.all()) == [recruiter]
        assert list(job.departments.all()) == [parent]
        parent.refresh_from_db()
        assert parent.parent_external_id == "1"


def test_a_job_described_the_same_way_is_compared_once_a_minute_and_a_new_description_at_once(
    alice, greenhouse_connection, client, run_tasks_inline, monkeypatch
):
    """A burst's webhooks name the same few jobs: once a webhook's job (with its offices and
    departments) was compared with the mirror, the same description is not read again by this
    process for a minute; a changed one (the job renamed in the ATS) is written by the next
    webhook, and after the minute the mirror is compared again (a rename the sync wrote
    meanwhile and the ATS since undid is put right)."""
    from candidates.services import webhook_events

    org = alice.organization
    clock = [1000.0]
    monkeypatch.setattr(webhook_events.time, "monotonic", lambda: clock[0])
    envelope = recorded_stage_change()
    application = envelope["payload"]["application"]

    def post(event_id: str, minute: int, job_name: str = "Designer") -> int:
        application["jobs"][0]["name"] = job_name
        application["last_activity_at"] = f"2026-03-02T09:{minute:02d}:00Z"
        with (
            CaptureQueriesContext(db_connection) as statements,
            run_tasks_inline(execute=True),  # applied as this block ends, still captured
        ):
            assert (
                greenhouse_post(
                    client, greenhouse_connection, greenhouse_json(envelope), event_id=event_id
                ).status_code
                == 200
            )
        return sum('FROM "candidates_job"' in q["sql"] for q in statements.captured_queries)

    assert post("evt-1", 1) >= 1
    with tenant_scope(org):
        job = Job.objects.get(external_id="3485")
        assert job.name == "Designer" and list(
            job.offices.values_list("external_id", flat=True)
        ) == ["54"]

    clock[0] += 30  # the same description half a minute later: the job is not read
    job_reads = post("evt-2", 2)
    with tenant_scope(org):
        Job.objects.filter(pk=job.pk).update(name="Renamed by hand")
    assert job_reads <= 1  # the writer's map of job ids, not the job's row and places

    clock[0] += 5  # renamed in the ATS: written by the next webhook at once
    post("evt-3", 3, job_name="Product Designer")
    with tenant_scope(org):
        assert Job.objects.get(pk=job.pk).name == "Product Designer"
        Job.objects.filter(pk=job.pk).update(name="Renamed by hand")

    clock[0] += webhook_events.RECENT_JOB_SECONDS + 1  # a minute on: compared again
    post("evt-4", 4, job_name="Product Designer")
    with tenant_scope(org):
        assert Job.objects.get(pk=job.pk).name == "Product Designer"
        assert StageTransition.objects.filter(application__job=job).count() >= 1


# -- 11.14: an application first seen through a webhook ---------------------------------------


def test_application_first_seen_in_a_greenhouse_stage_change_records_its_transition(
    alice, greenhouse_connection, client, run_tasks_inline, eager_matching
):
    org = alice.organization
    journey = journey_on(org, stage="Assessment")

    with run_tasks_inline(execute=True):
        greenhouse_post(
            client, greenhouse_connection, greenhouse_json(recorded_stage_change()), event_id="e1"
        )

    with tenant_scope(org):
        transition = StageTransition.objects.get()
        assert transition.application.external_id == "265277"
        assert transition.to_stage_name == "Assessment" and transition.source == "webhook"
        assert transition.is_new_application
        assert JourneyRun.objects.get(journey=journey).transition == transition


def test_application_first_seen_in_a_lever_stage_change_records_its_transition(
    alice, sandbox, lever_connection, client, run_tasks_inline
):
    opp, new_stage, body = lever_delivery(sandbox, lever_connection)

    with run_tasks_inline(execute=True):
        response = lever_post(client, lever_connection, body)

    assert response.status_code == 200
    with tenant_scope(alice.organization):
        transition = StageTransition.objects.get()
        assert transition.application.external_id == opp["id"]
        assert transition.to_stage.external_id == new_stage
        assert transition.provider_event_id == body["token"]


# -- 11.15: a signed payload of the wrong shape -----------------------------------------------


def test_signed_payload_of_the_wrong_shape_is_marked_failed_with_the_reason_and_writes_nothing(
    alice, greenhouse_connection, client, run_tasks_inline
):
    envelope = recorded_stage_change()
    envelope["payload"]["application"]["jobs"] = "nope"
    envelope["payload"]["application"]["current_stage"] = "5"

    with run_tasks_inline(execute=True):
        response = greenhouse_post(client, greenhouse_connection, greenhouse_json(envelope))

    assert response.status_code == 200  # stored: Greenhouse must not retry a body for 15 hours
    with tenant_scope(alice.organization):
        event = WebhookDelivery.objects.get()
        assert event.state == "failed" and event.next_attempt_at is None
        assert "payload.application.jobs must be a list of job objects" in event.error
        assert '(got "nope")' in event.error
        assert "payload.application.current_stage must be an object" in event.error
        assert not Job.objects.exists() and not Stage.objects.exists()
        assert not Application.objects.exists() and not StageTransition.objects.exists()


def test_unsigned_garbage_is_still_refused_before_anything_is_stored(
    alice, greenhouse_connection, client
):
    response = greenhouse_post(client, greenhouse_connection, b'{"payload": {}}')

    assert response.status_code == 400 and b"no action" in response.content
    with tenant_scope(alice.organization):
        assert not WebhookDelivery.objects.exists()


# -- 19.3 and 19.2: broker outage, lost tasks, the sweep --------------------------------------


def refuse_broker(monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(intake_tasks.webhook_delivery_apply, "delay", down)


def process_inline(monkeypatch):
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply,
        "delay",
        lambda *args: intake_tasks.webhook_delivery_apply(*args),
    )


@pytest.mark.django_db(transaction=True)
def test_broker_outage_answers_200_and_the_sweep_processes_the_event_later(
    alice, sandbox, greenhouse_connection, client, monkeypatch
):
    from tests.candidates.test_webhooks import stage_change_body

    sync(alice.organization)
    _, to_stage, body = stage_change_body(sandbox)
    refuse_broker(monkeypatch)

    first = greenhouse_post(client, greenhouse_connection, body, event_id="evt-outage")
    retry = greenhouse_post(client, greenhouse_connection, body, event_id="evt-outage")
    too_early = intake.sweep()
    process_inline(monkeypatch)
    queued = intake.sweep(now=timezone.now() + timedelta(minutes=3))

    assert first.status_code == retry.status_code == 200
    assert too_early == 0 and queued == 1
    with tenant_scope(alice.organization):
        event = WebhookDelivery.objects.get()
        assert event.state == "processed" and event.next_attempt_at is None
        transition = StageTransition.objects.get()
        assert transition.to_stage.external_id == str(to_stage)


def test_sweep_requeues_an_event_a_dead_worker_left_received_once_even_when_run_twice(
    alice, sandbox, greenhouse_connection, client, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.candidates.test_webhooks import stage_change_body

    sync(alice.organization)
    _, _, body = stage_change_body(sandbox)
    monkeypatch.setattr(intake_tasks.webhook_delivery_apply, "delay", lambda *args: None)  # lost
    with django_capture_on_commit_callbacks(execute=True):
        greenhouse_post(client, greenhouse_connection, body)
    queued: list[tuple] = []
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply, "delay", lambda *args: queued.append(args)
    )
    later = timezone.now() + timedelta(minutes=3)

    first = intake.sweep(now=later)
    second = intake.sweep(now=later)
    for args in queued * 2:  # even a duplicated message processes it once
        intake_tasks.webhook_delivery_apply(*args)

    assert (first, second) == (1, 0)
    with tenant_scope(alice.organization):
        assert WebhookDelivery.objects.get().state == "processed"
        assert StageTransition.objects.count() == 1


def test_transient_provider_failure_is_retried_by_the_sweep_when_lever_is_back(
    alice, sandbox, lever_connection, client, monkeypatch, django_capture_on_commit_callbacks
):
    _, new_stage, body = lever_delivery(sandbox, lever_connection)
    sandbox.lever.inject_fault("/", status=503, count=1000)
    monkeypatch.setattr("integrations.http.time.sleep", lambda seconds: None, raising=False)
    process_inline(monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):
        lever_post(client, lever_connection, body)
    with tenant_scope(alice.organization):
        failed = WebhookDelivery.objects.get()
    sandbox.lever.faults.clear()  # Lever is back
    queued = intake.sweep(now=failed.next_attempt_at)

    assert failed.state == "failed" and failed.next_attempt_at is not None
    assert "503" in failed.error or "unavailable" in failed.error.lower()
    assert queued == 1
    with tenant_scope(alice.organization):
        assert WebhookDelivery.objects.get().state == "processed"
        assert StageTransition.objects.get().to_stage.external_id == new_stage


def test_sweep_gives_up_with_the_last_error_after_its_attempts(alice, greenhouse_connection):
    org = alice.organization
    past = timezone.now() - timedelta(minutes=1)
    with tenant_scope(org):
        event = WebhookDelivery.objects.create(
            organization=org,
            provider="greenhouse",
            event_id="evt-hopeless",
            kind="candidate_stage_change",
            raw_body="{}",
            received_at=past,
            state="failed",
            error="Greenhouse is unavailable.",
            attempts=intake.MAX_ATTEMPTS,
            next_attempt_at=past,
        )

    assert intake.sweep() == 0
    with tenant_scope(org):
        event.refresh_from_db()
    assert event.state == "failed" and event.next_attempt_at is None
    assert event.error == (
        f"Gave up after {intake.MAX_ATTEMPTS} attempts. Greenhouse is unavailable."
    )


def test_one_sweep_for_every_vendor_is_in_the_beat_schedule_every_30_seconds(db):
    from django_celery_beat.models import PeriodicTask

    from recruitflow.celery import app

    entry = PeriodicTask.objects.get(task="integrations.tasks.webhook_deliveries_sweep")
    assert entry.enabled and entry.interval.every == 30 and entry.interval.period == "seconds"
    assert not PeriodicTask.objects.filter(task="candidates.tasks.webhook_events_sweep").exists()
    app.loader.import_default_modules()
    assert "integrations.tasks.webhook_deliveries_sweep" in app.tasks


# -- 19.7: moves delivered out of order --------------------------------------------------------


def two_moves(sandbox, *, base: float, gap: float = 1.0):
    """Move an active application twice (``gap`` seconds apart); the bodies Greenhouse sends."""
    gh, co = sandbox.greenhouse, sandbox.greenhouse.co
    app = min((a for a in co.applications.values() if a["status"] == "active"),
              key=lambda a: a["id"])  # fmt: skip
    start = app["stage_id"]
    first, second = [s for s in co.job(app["job_id"])["stage_ids"] if s != start][:2]
    bodies = []
    for offset, stage in enumerate((first, second)):
        gh.move_application(app["id"], stage, at=base + gap * offset)
        bodies.append(
            greenhouse_json(
                {
                    "action": "candidate_stage_change",
                    "payload": {"application": gh.webhook_application(app)},
                }
            )
        )
    return app, (start, first, second), bodies


def app_candidate_name(sandbox, app) -> str:
    return sandbox.greenhouse.co.candidates[app["candidate_id"]]["first_name"]


def stage_names(sandbox, ids):
    return [sandbox.greenhouse.co.stages[i]["name"] for i in ids]


def test_older_move_arriving_second_records_the_intermediate_stage_at_its_own_time(
    alice, sandbox, greenhouse_connection, client, run_tasks_inline, eager_matching
):
    org = alice.organization
    sync(org)
    base = time.time() - 120
    app, stages, (older, newer) = two_moves(sandbox, base=base)
    start, middle, last = stage_names(sandbox, stages)
    journey = journey_on(org, stage=middle)

    with run_tasks_inline(execute=True):
        greenhouse_post(client, greenhouse_connection, newer, event_id="evt-newer")
    stale_copy = json.loads(older)
    stale_copy["payload"]["application"]["candidate"]["first_name"] = "Name before the edit"
    with run_tasks_inline(execute=True):
        greenhouse_post(
            client, greenhouse_connection, greenhouse_json(stale_copy), event_id="evt-older"
        )

    with tenant_scope(org):
        application = Application.objects.get(external_id=str(app["id"]))
        history = [
            (t.from_stage_name, t.to_stage_name, t.provider_event_id)
            for t in StageTransition.objects.filter(application=application).order_by("observed_at")
        ]
        intermediate = StageTransition.objects.get(provider_event_id="evt-older")
        assert application.stage_name == last  # never moved backwards
        assert application.candidate.first_name == app_candidate_name(sandbox, app)
        assert history == [(start, middle, "evt-older"), (middle, last, "evt-newer")]
        assert abs(intermediate.observed_at.timestamp() - base) < 0.01
        assert JourneyRun.objects.get(journey=journey).transition == intermediate
        assert all(e.state == "processed" for e in WebhookDelivery.objects.all())


@pytest.mark.skipif(
    db_connection.vendor != "postgresql", reason="row locks need Postgres (DATABASE_URL)"
)
@pytest.mark.django_db(transaction=True)
def test_two_moves_posted_at_once_in_random_order_both_record_their_transition(
    alice, sandbox, greenhouse_connection, monkeypatch
):
    org = alice.organization
    sync(org)
    process_inline(monkeypatch)
    rounds = 10
    for round_ in range(rounds):
        # The moves happen now, 50 ms apart (Greenhouse stamps activity to the millisecond).
        app, stages, bodies = two_moves(sandbox, base=time.time(), gap=0.05)
        _, middle, last = stage_names(sandbox, stages)
        ids = [f"r{round_}-older", f"r{round_}-newer"]
        order = [0, 1]
        random.shuffle(order)
        barrier = threading.Barrier(2)
        answers: list[int] = []

        def post(i, barrier=barrier, answers=answers, bodies=bodies, ids=ids):
            barrier.wait()
            try:
                answers.append(
                    greenhouse_post(
                        Client(), greenhouse_connection, bodies[i], event_id=ids[i]
                    ).status_code
                )
            finally:
                from django.db import connection

                connection.close()

        threads = [threading.Thread(target=post, args=(i,)) for i in order]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        time.sleep(0.1)  # the next round's moves come after this round's

        assert answers == [200, 200]
        with tenant_scope(org):
            application = Application.objects.get(external_id=str(app["id"]))
            reached = set(
                StageTransition.objects.filter(provider_event_id__in=ids).values_list(
                    "to_stage_name", flat=True
                )
            )
            assert application.stage_name == last, f"round {round_} order {order}"
            assert reached == {middle, last}, f"round {round_} order {order}"
    with scopes_disabled():
        assert not WebhookDelivery.objects.exclude(state="processed").exists()


def test_two_lever_moves_delivered_in_reverse_order_both_record_their_transition(
    alice, sandbox, lever_connection, client, run_tasks_inline
):
    """Lever's candidateStageChange says where the opportunity went and when: the older move,
    delivered second, records the intermediate stage at its own time instead of being lost."""
    from integrations.sandbox.lever import lever_signature

    org = alice.organization
    sync(org)
    lever = sandbox.lever
    opp = next(o for o in lever.opps.values() if not o["archiveReason"] and
               o["confidentiality"] == "non-confidential")  # fmt: skip
    start = opp["stage"]
    middle, last = [s["id"] for s in lever.stages if s["id"] != start][:2]
    base_ms = int((time.time() - 60) * 1000)
    bodies = []
    for offset, (before, after) in enumerate(((start, middle), (middle, last))):
        lever.change_stage(opp["id"], after, at=base_ms / 1000 + offset)
        triggered, token = base_ms + 1000 * offset, f"move-{offset}-{opp['id']}"
        bodies.append(
            {
                "id": f"evt-{offset}",
                "event": "candidateStageChange",
                "triggeredAt": triggered,
                "token": token,
                "signature": lever_signature(lever_connection.signature_token, token, triggered),
                "data": {
                    "opportunityId": opp["id"],
                    "candidateId": opp["id"],
                    "contactId": opp["contact"],
                    "fromStageId": before,
                    "toStageId": after,
                },
            }  # fmt: skip
        )

    for body in reversed(bodies):
        with run_tasks_inline(execute=True):
            assert lever_post(client, lever_connection, body).status_code == 200

    with tenant_scope(org):
        application = Application.objects.get(external_id=opp["id"])
        history = [
            (t.from_stage.external_id, t.to_stage.external_id, t.provider_event_id)
            for t in StageTransition.objects.filter(application=application).order_by("observed_at")
        ]
        older = StageTransition.objects.get(provider_event_id=bodies[0]["token"])
        assert application.stage.external_id == last  # never moved backwards
        assert history == [
            (start, middle, bodies[0]["token"]),
            (middle, last, bodies[1]["token"]),
        ]
        assert abs(older.observed_at.timestamp() - base_ms / 1000) < 0.01
        assert all(e.state == "processed" for e in WebhookDelivery.objects.all())


def test_staff_reprocess_applies_an_event_the_sweep_gave_up_on(
    alice, sandbox, greenhouse_connection, run_tasks_inline
):
    from tests.candidates.test_webhooks import stage_change_body

    org = alice.organization
    sync(org)
    _, to_stage, body = stage_change_body(sandbox)
    with tenant_scope(org):
        event = WebhookDelivery.objects.create(
            organization=org,
            provider="greenhouse",
            event_id="evt-given-up",
            kind="candidate_stage_change",
            raw_body=body.decode() if isinstance(body, bytes) else body,
            received_at=timezone.now(),
            state="failed",
            error="Gave up after 8 attempts. Greenhouse is unavailable.",
            attempts=intake.MAX_ATTEMPTS,
            next_attempt_at=None,
        )

    with run_tasks_inline(execute=True):
        assert intake.reprocess(delivery_ids=[event.pk]) == 1

    with tenant_scope(org):
        event.refresh_from_db()
        transition = StageTransition.objects.get(provider_event_id="evt-given-up")
    assert event.state == "processed" and event.error == "" and event.attempts == 1
    assert transition.to_stage.external_id == str(to_stage)
