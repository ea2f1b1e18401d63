"""The engine end to end with a real Celery worker: a candidate moved in the sandbox Greenhouse
reaches the sandbox phone and the e-mail outbox within seconds; time travel runs the waits; a
move out of the stage cancels the rest; a duplicate webhook and the poll add nothing; a step
whose worker was killed is never sent twice."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from candidates import services as candidate_services
from candidates.models import Application, StageTransition, TimelineEvent
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.greenhouse import greenhouse_json, greenhouse_signature
from integrations.sandbox.server import SandboxServer
from integrations.twilio.models import TwilioSettings
from integrations.twilio.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, SANDBOX_SERVICE_SID
from journeys import services
from journeys.models import JourneyRun, RunStatus, StepRun, StepRunStatus
from messaging.models import Message, MessageStatus, MessagingPreferences
from recruitflow.tenancy import tenant_scope
from tests.journeys.conftest import add_steps

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WITHIN_SECONDS = 15
TWO_DAYS = {"mode": "duration", "days": 2, "hours": 0, "minutes": 0}
THREE_DAYS = {"mode": "duration", "days": 3, "hours": 0, "minutes": 0}


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=40, webhook_retry_scale=0) as server:
        yield server


@pytest.fixture
def org(alice, sandbox, settings):
    """Alice's organization on the sandbox Greenhouse and Twilio, texting at any hour (the
    candidates of the sandbox live in many time zones)."""
    organization = alice.organization
    sandbox.greenhouse.reset()
    sandbox.twilio.reset()
    sandbox.twilio.configure(
        sent_delay=0.01, delivery_delay=0.02, inbound_url="http://127.0.0.1:9/in"
    )
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    settings.MESSAGING_PROVIDER_MAX_ATTEMPTS = 1
    with tenant_scope(organization):
        GreenhouseConnection.objects.create(
            organization=organization,
            base_url=f"{sandbox.url}/greenhouse",
            api_version="v1",
            api_key="sandbox-harvest-key",
            status=ConnectionStatus.CONNECTED,
        )
        TwilioSettings.objects.create(
            organization=organization,
            account_sid=SANDBOX_ACCOUNT_SID,
            auth_token=SANDBOX_AUTH_TOKEN,
            messaging_service_sid=SANDBOX_SERVICE_SID,
            base_url=f"{sandbox.url}/twilio",
        )
        MessagingPreferences.objects.update_or_create(
            organization=organization,
            defaults={"sms_window_start": clock(0, 0), "sms_window_end": clock(23, 59)},
        )
        run = candidate_services.sync_request(organization=organization, enqueue=False)
        assert candidate_services.sync_execute(sync_run=run).status == "succeeded"
    return organization


@pytest.fixture
def worker():
    from celery.contrib.testing.worker import start_worker

    from recruitflow.celery import app

    app.control.purge()  # nothing left over from other tests' on-commit sends
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield app


def wait_for(condition, what: str, timeout: float = WITHIN_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} seconds")


def post_webhook(client, org, body: bytes, event_id: str | None = None):
    with tenant_scope(org):
        connection = GreenhouseConnection.objects.get()
    return client.post(
        reverse("webhooks:greenhouse", args=[connection.endpoint_token]),
        data=body,
        content_type="application/json",
        headers={
            "Greenhouse-Event-ID": event_id or str(uuid.uuid4()),
            "Signature": greenhouse_signature(connection.webhook_secret, body),
        },
    )


def move_in_sandbox(sandbox, app_id: int, stage_name: str) -> bytes:
    """Move the application in the sandbox Greenhouse; the webhook body Greenhouse sends."""
    gh = sandbox.greenhouse
    app = gh.co.applications[app_id]
    stage = gh.co.stage_by_name(app["job_id"], stage_name)
    gh.move_application(app_id, stage["id"])
    return greenhouse_json(
        {
            "action": "candidate_stage_change",
            "payload": {"application": gh.webhook_application(app)},
        }
    )


def reachable_application(org, sandbox):
    """An active sandbox application whose candidate has a mobile number and an e-mail address
    in the mirror, and two other stages of its job to move through."""
    with tenant_scope(org):
        rows = (
            Application.objects.filter(status="active", stage__isnull=False, deleted_at=None)
            .exclude(candidate__mobile_phone="")
            .exclude(candidate__primary_email="")
            .select_related("candidate", "job")
            .order_by("external_id")
        )
        for application in rows:
            app = sandbox.greenhouse.co.applications[int(application.external_id)]
            stages = [
                sandbox.greenhouse.co.stages[s]["name"]
                for s in sandbox.greenhouse.co.job(app["job_id"])["stage_ids"]
                if s != app["stage_id"]
            ]
            if len(stages) >= 2:
                return application, stages[0], stages[1]
    raise AssertionError("the sandbox company has no reachable candidate")


def make_journey(org, job, stage_name, steps):
    with tenant_scope(org):
        text = services_template(org, "Onsite text", "sms",
                                 text_body="Hi {{ candidate.first_name }}, see you at {{ stage.name }}.")  # fmt: skip
        email = services_template(org, "Onsite e-mail", "email",
                                  subject="{{ job.name }}: {{ stage.name }}",
                                  html_body="<p>Hi {{ candidate.first_name }}</p>")  # fmt: skip
        reminder = services_template(org, "Reminder", "sms", text_body="Reminder: {{ stage.name }}")
        journey = services.journey_create(organization=org, name="Onsite invitation")
        version = journey.current_version
        version.stage_names = [stage_name]
        version.job_ids = [job.pk]
        version.save()
        templates = {"text": text, "email": email, "reminder": reminder}
        add_steps(version, [(k, templates[a] if isinstance(a, str) else a) for k, a in steps])
        services.journey_activate(journey=journey)
        return journey


def services_template(org, name, channel, **fields):
    from library.models import MessageTemplate

    return MessageTemplate.objects.create(organization=org, name=name, channel=channel, **fields)


def texts_to(sandbox, phone):
    return [m["body"] for m in sandbox.twilio.conversation(phone) if m["direction"] != "inbound"]


def test_candidate_moved_in_the_sandbox_ats_gets_the_text_and_email_then_the_rest_on_time(
    org, sandbox, client, worker, time_machine
):
    application, onsite, offer = reachable_application(org, sandbox)
    candidate = application.candidate
    make_journey(org, application.job, onsite, steps=[
        ("send_sms", "text"), ("send_email", "email"), ("wait", TWO_DAYS),
        ("send_sms", "reminder"), ("wait", THREE_DAYS), ("send_email", "email"),
    ])  # fmt: skip
    body = move_in_sandbox(sandbox, int(application.external_id), onsite)

    started = time.monotonic()
    response = post_webhook(client, org, body, event_id="evt-onsite")
    wait_for(lambda: texts_to(sandbox, candidate.mobile_phone), "the first text")
    wait_for(lambda: mail.outbox, "the first e-mail")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed < WITHIN_SECONDS
    assert texts_to(sandbox, candidate.mobile_phone) == [
        f"Hi {candidate.first_name}, see you at {onsite}."
    ]
    assert mail.outbox[0].subject == f"{application.job.name}: {onsite}"

    # The same delivery again, a re-delivery under a new id, and the poll: still one run.
    assert post_webhook(client, org, body, event_id="evt-onsite").status_code == 200
    assert post_webhook(client, org, body).status_code == 200
    with tenant_scope(org):
        poll = candidate_services.sync_request(organization=org, enqueue=False)
        poll = candidate_services.sync_execute(sync_run=poll)
    time.sleep(2)
    with tenant_scope(org):
        assert StageTransition.objects.count() == 1 and poll.counts["transitions"] == 0
        (run,) = JourneyRun.objects.all()
        assert Message.objects.count() == 2

    # Two days later the dispatcher sends the reminder.
    time_machine.move_to(timezone.now() + timedelta(days=2, minutes=1), tick=True)
    worker.send_task("journeys.dispatch_due").get(timeout=WITHIN_SECONDS)
    wait_for(lambda: len(texts_to(sandbox, candidate.mobile_phone)) == 2, "the reminder")
    assert texts_to(sandbox, candidate.mobile_phone)[1] == f"Reminder: {onsite}"

    # Moved out of the stage: the last e-mail is canceled at once, with the reason.
    body = move_in_sandbox(sandbox, int(application.external_id), offer)
    assert post_webhook(client, org, body).status_code == 200
    with tenant_scope(org):
        wait_for(
            lambda: JourneyRun.objects.filter(pk=run.pk, status=RunStatus.EXITED).exists(),
            "the exit",
        )
        run.refresh_from_db()
        canceled = StepRun.objects.get(run=run, position=5)
        exited = TimelineEvent.objects.get(candidate=candidate, kind="journey_exited")
    assert run.reason == f"moved from {onsite} to {offer}"
    assert canceled.status == StepRunStatus.CANCELED
    assert exited.summary == (
        f"Left journey “Onsite invitation”: moved from {onsite} to {offer} "
        "(exit rule: candidate left the stage)"
    )
    time_machine.move_to(timezone.now() + timedelta(days=3, minutes=1), tick=True)
    worker.send_task("journeys.dispatch_due").get(timeout=WITHIN_SECONDS)
    assert len(mail.outbox) == 1
    with tenant_scope(org):
        assert Message.objects.count() == 3


def test_step_whose_worker_was_killed_mid_send_runs_again_and_the_text_goes_out_once(
    org, sandbox, worker, time_machine
):
    application, onsite, _ = reachable_application(org, sandbox)
    journey = make_journey(org, application.job, onsite, steps=[("send_sms", "text")])
    with tenant_scope(org):
        application.stage = application.job.stages.get(name=onsite)
        application.stage_name = onsite
        application.save(update_fields=["stage", "stage_name"])
        transition = StageTransition.objects.create(
            organization=org, provider="greenhouse", application=application,
            candidate=application.candidate, job=application.job,
            to_stage_name=onsite, from_stage_name="Application Review", to_status="active",
            observed_at=timezone.now(), source="webhook",
        )  # fmt: skip
        run = JourneyRun.objects.create(
            organization=org, journey=journey, version=journey.current_version,
            transition=transition, application=application, candidate=application.candidate,
            started_at=timezone.now(),
        )  # fmt: skip
        # What a killed worker leaves: the step claimed, its outbox row handed to the provider
        # call that never returned (Twilio never received it).
        step_run = StepRun.objects.create(
            organization=org, run=run, step=journey.current_version.steps.get(), position=1,
            status=StepRunStatus.RUNNING, due_at=timezone.now(), started_at=timezone.now(),
        )  # fmt: skip
        Message.objects.create(
            organization=org, candidate=application.candidate, channel="sms",
            direction="outbound", to_address=application.candidate.mobile_phone, body="Hi",
            status=MessageStatus.SENDING, status_updated_at=timezone.now(), source="journey",
            idempotency_key=f"journey-step:{step_run.pk}",
        )  # fmt: skip

    time_machine.move_to(datetime.now(UTC) + timedelta(minutes=10), tick=True)
    for _ in range(3):  # beat: the dispatcher and the delivery recovery sweep, a few times
        worker.send_task("journeys.dispatch_due").get(timeout=WITHIN_SECONDS)
        worker.send_task("messaging.tasks.delivery_recover").get(timeout=WITHIN_SECONDS)
        sandbox.twilio.wait_idle(5)

    def settled():
        with tenant_scope(org):
            return Message.objects.get().status in (MessageStatus.SENT, MessageStatus.DELIVERED)

    wait_for(settled, "the recovered text was sent")
    with tenant_scope(org):
        step_run.refresh_from_db()
        assert step_run.status == StepRunStatus.DONE
        assert Message.objects.count() == 1  # the re-run step found its message by its key
        assert Message.objects.get().status in (MessageStatus.SENT, MessageStatus.DELIVERED)
    # Twilio was asked first, had nothing, and got the text exactly once.
    assert len(texts_to(sandbox, application.candidate.mobile_phone)) == 1
