"""Moving the stored webhooks into the one intake keeps every row: the ATS deliveries of
candidates.WebhookEvent and the messaging callbacks of messaging.ProviderWebhookEvent become
integrations.WebhookDelivery rows with their bodies, ids and outcomes, the ones still to apply
are the intake sweep's, and the old tables and the candidates sweep's beat entry are gone. Runs
the real migrations backwards to before the move, writes rows the old way, and forwards again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from integrations.models import WebhookDelivery
from recruitflow.tenancy import scopes_disabled

# Back far enough that the beat entries these migrations change are written again on the way
# forward (a test that flushed the database before this one removed them).
BEFORE_THE_MOVE = [
    ("integrations", "0002_webhook_delivery"),
    ("candidates", "0007_sync_run_deferred_resume_at"),
    ("messaging", "0006_message_provider_checked_at"),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before_the_move():
    """The schema as it was before the intake; the latest schema again afterwards, whatever the
    test did."""
    try:
        yield _migrate(BEFORE_THE_MOVE)
    finally:
        _migrate(_latest())


@pytest.mark.django_db(transaction=True)
def test_every_stored_webhook_survives_the_move_into_the_intake(before_the_move):
    old = before_the_move
    tables = connection.introspection.table_names()
    assert "candidates_webhookevent" in tables and "messaging_providerwebhookevent" in tables
    assert PeriodicTask.objects.filter(task="candidates.tasks.webhook_events_sweep").exists()
    acme = old.get_model("accounts", "Organization").objects.create(
        name="Acme", slug="acme-intake-migration"
    )
    now = timezone.now().replace(microsecond=0)
    earlier = now - timedelta(hours=1)
    ats = old.get_model("candidates", "WebhookEvent")
    ats.objects.create(
        organization=acme,
        provider="greenhouse",
        event_id="evt-applied",
        action="candidate_stage_change",
        raw_body='{"action": "candidate_stage_change"}',
        received_at=earlier,
        processed_at=earlier,
        state="processed",
    )
    ats.objects.create(
        organization=acme,
        provider="lever",
        event_id="tok-waiting",
        action="candidateStageChange",
        raw_body='{"event": "candidateStageChange"}',
        received_at=earlier,
        state="failed",
        error="Lever is unavailable (503).",
        attempts=2,
        next_attempt_at=now,
    )
    callbacks = old.get_model("messaging", "ProviderWebhookEvent")
    callbacks.objects.create(
        organization=acme,
        provider="twilio",
        kind="status",
        dedupe_key="status:SM1:delivered",
        url="https://rf.example/webhooks/twilio/t/status/",
        headers={"X-Twilio-Signature": "sig"},
        raw_body="MessageSid=SM1&MessageStatus=delivered",
        received_at=earlier,
        processed_at=earlier,
        attempts=1,
    )
    callbacks.objects.create(
        organization=acme,
        provider="textus",
        kind="delivery",
        dedupe_key="d-unapplied",
        url="https://rf.example/webhooks/textus/t/",
        raw_body='{"id": "d-unapplied"}',
        received_at=earlier,
    )
    callbacks.objects.create(
        organization=acme,
        provider="sendgrid",
        kind="events",
        dedupe_key="sha256:retrying",
        url="https://rf.example/webhooks/sendgrid/t/events/",
        raw_body="[]",
        received_at=earlier,
        attempts=3,
        error="record 1 of 1: OperationalError: server closed the connection",
    )
    callbacks.objects.create(
        organization=acme,
        provider="sendgrid",
        kind="events",
        dedupe_key="sha256:unreadable",
        url="https://rf.example/webhooks/sendgrid/t/events/",
        raw_body="not json",
        received_at=earlier,
        error="The body is not JSON.",
    )

    _migrate(_latest())

    tables = connection.introspection.table_names()
    assert "candidates_webhookevent" not in tables
    assert "messaging_providerwebhookevent" not in tables
    assert not PeriodicTask.objects.filter(task="candidates.tasks.webhook_events_sweep").exists()
    sweep = PeriodicTask.objects.get(task="integrations.tasks.webhook_deliveries_sweep")
    assert sweep.enabled and sweep.interval.every == 30
    assert PeriodicTask.objects.get(task="messaging.tasks.delivery_recover").name == (
        "Recover stuck messages"
    )
    with scopes_disabled():
        rows = {
            row.event_id: row for row in WebhookDelivery.objects.filter(organization_id=acme.pk)
        }
    assert set(rows) == {
        "evt-applied",
        "tok-waiting",
        "status:SM1:delivered",
        "d-unapplied",
        "sha256:retrying",
        "sha256:unreadable",
    }
    applied = rows["evt-applied"]
    assert (applied.provider, applied.kind, applied.state) == (
        "greenhouse",
        "candidate_stage_change",
        "processed",
    )
    assert applied.raw_body == '{"action": "candidate_stage_change"}'
    assert applied.received_at == earlier and applied.processed_at == earlier
    waiting = rows["tok-waiting"]
    assert (waiting.state, waiting.attempts, waiting.next_attempt_at) == ("failed", 2, now)
    assert waiting.error == "Lever is unavailable (503)."
    status = rows["status:SM1:delivered"]
    assert (status.provider, status.kind, status.state) == ("twilio", "status", "processed")
    assert status.url == "https://rf.example/webhooks/twilio/t/status/"
    assert status.headers == {"X-Twilio-Signature": "sig"}
    assert status.raw_body == "MessageSid=SM1&MessageStatus=delivered"
    unapplied = rows["d-unapplied"]
    assert unapplied.state == "received" and unapplied.next_attempt_at is not None
    retrying = rows["sha256:retrying"]
    assert retrying.state == "failed" and retrying.next_attempt_at is not None
    assert retrying.attempts == 3 and "server closed the connection" in retrying.error
    unreadable = rows["sha256:unreadable"]
    assert unreadable.state == "failed" and unreadable.next_attempt_at is None
    assert unreadable.error == "The body is not JSON."
