"""Inbound Greenhouse and Lever webhooks: verified, stored once, processed into transitions."""

from __future__ import annotations

import json
import secrets
import time
import uuid

import pytest
from django.urls import reverse

from candidates import services
from candidates.models import Application, Candidate, StageTransition, SyncRun
from integrations import tasks as intake_tasks
from integrations.models import WebhookDelivery
from integrations.sandbox.greenhouse import greenhouse_json, greenhouse_signature
from integrations.sandbox.lever import lever_signature
from recruitflow.tenancy import scopes_disabled, tenant_scope

pytestmark = pytest.mark.django_db


def sync(org) -> SyncRun:
    with tenant_scope(org):
        run = services.sync_request(organization=org, enqueue=False)
        return services.sync_execute(sync_run=run)


@pytest.fixture
def run_tasks_inline(monkeypatch, django_capture_on_commit_callbacks):
    """Queued processing runs through the real task body, right after the view's commit."""
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply,
        "delay",
        lambda *args: intake_tasks.webhook_delivery_apply(*args),
    )
    return django_capture_on_commit_callbacks


def greenhouse_post(client, connection, body: bytes, *, event_id=None, signature=None):
    headers = {"Greenhouse-Event-ID": event_id or str(uuid.uuid4())}
    signature = (
        greenhouse_signature(connection.webhook_secret, body) if signature is None else signature
    )
    if signature:
        headers["Signature"] = signature
    return client.post(
        reverse("webhooks:greenhouse", args=[connection.endpoint_token]),
        data=body,
        content_type="application/json",
        headers=headers,
    )


def stage_change_body(sandbox, action="candidate_stage_change"):
    """Move an active application in the sandbox; the body Greenhouse would send for it."""
    co = sandbox.greenhouse.co
    app = min((a for a in co.applications.values() if a["status"] == "active"),
              key=lambda a: a["id"])  # fmt: skip
    to_stage = next(s for s in co.job(app["job_id"])["stage_ids"] if s != app["stage_id"])
    sandbox.greenhouse.move_application(app["id"], to_stage)
    payload = {
        "action": action,
        "payload": {"application": sandbox.greenhouse.webhook_application(app)},
    }
    return app, to_stage, greenhouse_json(payload)


def test_signed_stage_change_creates_a_webhook_transition_and_poll_adds_none_when_delivered(
    alice, sandbox, greenhouse_connection, client, run_tasks_inline
):
    sync(alice.organization)
    app, to_stage, body = stage_change_body(sandbox)

    with run_tasks_inline(execute=True):
        response = greenhouse_post(client, greenhouse_connection, body, event_id="evt-1")
    poll = sync(alice.organization)

    assert response.status_code == 200
    with tenant_scope(alice.organization):
        transition = StageTransition.objects.get()
        event = WebhookDelivery.objects.get()
    assert transition.source == "webhook" and transition.provider_event_id == "evt-1"
    assert transition.to_stage.external_id == str(to_stage)
    assert event.state == "processed" and event.kind == "candidate_stage_change"
    assert poll.status == "succeeded" and poll.counts["transitions"] == 0
    greenhouse_connection.refresh_from_db()
    assert greenhouse_connection.last_webhook_at is not None


def test_forged_signature_is_refused_and_nothing_is_stored_when_secret_is_wrong(
    alice, sandbox, greenhouse_connection, client
):
    _, _, body = stage_change_body(sandbox)
    forged = greenhouse_signature("not-the-secret", body)

    forged_response = greenhouse_post(client, greenhouse_connection, body, signature=forged)
    missing_response = greenhouse_post(client, greenhouse_connection, body, signature="")

    assert forged_response.status_code == missing_response.status_code == 403
    with tenant_scope(alice.organization):
        assert not WebhookDelivery.objects.exists()
        assert not StageTransition.objects.exists()
    greenhouse_connection.refresh_from_db()
    assert greenhouse_connection.last_webhook_at is None


def test_replayed_event_id_is_stored_and_processed_once_when_delivered_twice(
    alice, sandbox, greenhouse_connection, client, run_tasks_inline
):
    sync(alice.organization)
    _, _, body = stage_change_body(sandbox)

    with run_tasks_inline(execute=True):
        first = greenhouse_post(client, greenhouse_connection, body, event_id="evt-7")
    with run_tasks_inline(execute=True) as callbacks:
        second = greenhouse_post(client, greenhouse_connection, body, event_id="evt-7")

    assert first.status_code == second.status_code == 200
    assert callbacks == []  # nothing queued for the replay
    with tenant_scope(alice.organization):
        assert WebhookDelivery.objects.count() == 1
        assert StageTransition.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_replay_is_answered_and_stores_nothing_new(
    alice, greenhouse_connection, client, monkeypatch
):
    """As the web process runs it (no transaction around the request): the delivery is one
    INSERT committed by itself, and a replay's refused INSERT leaves the connection usable."""
    queued: list = []
    monkeypatch.setattr(
        intake_tasks.webhook_delivery_apply, "delay", lambda *args: queued.append(args)
    )
    body = greenhouse_json({"action": "candidate_stage_change", "payload": {"application": {}}})

    first = greenhouse_post(client, greenhouse_connection, body, event_id="evt-own")
    second = greenhouse_post(client, greenhouse_connection, body, event_id="evt-own")
    third = greenhouse_post(client, greenhouse_connection, body, event_id="evt-next")

    assert first.status_code == second.status_code == third.status_code == 200
    with tenant_scope(alice.organization):
        stored = list(WebhookDelivery.objects.order_by("pk").values_list("event_id", flat=True))
    assert stored == ["evt-own", "evt-next"]
    assert len(queued) <= 2  # the replay queued nothing (a task waiting may take the next)


def test_ping_is_answered_and_marked_ignored_when_greenhouse_saves_the_hook(
    alice, greenhouse_connection, client, run_tasks_inline
):
    body = greenhouse_json({"action": "ping", "payload": {"web_hook_id": 1}})

    with run_tasks_inline(execute=True) as callbacks:
        response = greenhouse_post(client, greenhouse_connection, body)

    assert response.status_code == 200 and callbacks == []
    with tenant_scope(alice.organization):
        assert WebhookDelivery.objects.get().state == "ignored"


def test_sandbox_greenhouse_enables_the_hook_when_its_ping_gets_200(
    alice, sandbox, greenhouse_connection, live_server
):
    url = live_server.url + reverse(
        "webhooks:greenhouse", args=[greenhouse_connection.endpoint_token]
    )

    saved = sandbox.greenhouse.configure_webhook(url, greenhouse_connection.webhook_secret)
    forged = sandbox.greenhouse.configure_webhook(url, "wrong-secret")

    assert saved["enabled"] is True and saved["ping"]["http_status"] == 200
    assert forged["enabled"] is False and forged["ping"]["http_status"] == 403


def test_unknown_endpoint_token_is_not_found_when_posted(client, db):
    response = client.post(
        reverse("webhooks:greenhouse", args=["no-such-token"]),
        data=b"{}",
        content_type="application/json",
    )

    assert response.status_code == 404
    with scopes_disabled():
        assert not WebhookDelivery.objects.exists()


def test_merge_repoints_applications_to_the_surviving_candidate_when_greenhouse_merges(
    alice, sandbox, greenhouse_connection, client, run_tasks_inline
):
    sync(alice.organization)
    co = sandbox.greenhouse.co
    loser, winner = sorted(co.candidates)[:2]
    body = greenhouse_json(
        {"action": "merge_candidate",
         "payload": {"person": {"id": loser, "first_name": "A", "last_name": "B",
                                "new_candidate_id": winner}}}
    )  # fmt: skip

    with run_tasks_inline(execute=True):
        response = greenhouse_post(client, greenhouse_connection, body)

    assert response.status_code == 200
    with tenant_scope(alice.organization):
        merged = Candidate.objects.get(external_id=str(loser))
        survivor = Candidate.objects.get(external_id=str(winner))
        assert merged.merged_into_id == survivor.pk
        assert not Application.objects.filter(candidate=merged).exists()
        expected = len(co.candidates[loser]["application_ids"]) + len(
            co.candidates[winner]["application_ids"]
        )
        assert Application.objects.filter(candidate=survivor).count() == expected


def test_deleted_candidate_is_marked_deleted_when_greenhouse_deletes_it(
    alice, sandbox, greenhouse_connection, client, run_tasks_inline
):
    sync(alice.organization)
    candidate_id = sorted(sandbox.greenhouse.co.candidates)[0]
    body = greenhouse_json(
        {"action": "delete_candidate", "payload": {"person": {"id": candidate_id}}}
    )

    with run_tasks_inline(execute=True):
        greenhouse_post(client, greenhouse_connection, body)

    with tenant_scope(alice.organization):
        candidate = Candidate.objects.get(external_id=str(candidate_id))
        assert candidate.deleted_at is not None
        assert all(a.deleted_at for a in candidate.applications.all())


# -- Lever ------------------------------------------------------------------------------------


def lever_delivery(sandbox, connection, *, triggered_ms=None, token=None, key=None):
    lever = sandbox.lever
    opp = next(o for o in lever.opps.values() if not o["archiveReason"] and
               o["confidentiality"] == "non-confidential")  # fmt: skip
    old = opp["stage"]
    new_stage = next(s["id"] for s in lever.stages if s["id"] != old)
    lever.change_stage(opp["id"], new_stage)
    triggered = triggered_ms or int(time.time() * 1000)
    token = token or secrets.token_hex(24)
    body = {
        "id": str(uuid.uuid4()),
        "event": "candidateStageChange",
        "triggeredAt": triggered,
        "token": token,
        "signature": lever_signature(key or connection.signature_token, token, triggered),
        "data": {"opportunityId": opp["id"], "candidateId": opp["id"],
                 "contactId": opp["contact"], "fromStageId": old, "toStageId": new_stage},
    }  # fmt: skip
    return opp, new_stage, body


def lever_post(client, connection, body):
    return client.post(
        reverse("webhooks:lever", args=[connection.endpoint_token]),
        data=json.dumps(body).encode(),
        content_type="application/json",
    )


def test_signed_lever_stage_change_creates_a_webhook_transition_when_delivered(
    alice, sandbox, lever_connection, client, run_tasks_inline
):
    sync(alice.organization)
    opp, new_stage, body = lever_delivery(sandbox, lever_connection)

    with run_tasks_inline(execute=True):
        response = lever_post(client, lever_connection, body)
    poll = sync(alice.organization)

    assert response.status_code == 200
    with tenant_scope(alice.organization):
        transition = StageTransition.objects.get()
    assert transition.source == "webhook" and transition.provider_event_id == body["token"]
    assert transition.to_stage.external_id == new_stage
    assert transition.application.external_id == opp["id"]
    assert poll.counts["transitions"] == 0


def test_lever_delivery_is_refused_when_forged_stale_or_replayed(
    alice, sandbox, lever_connection, client, run_tasks_inline
):
    _, _, forged = lever_delivery(sandbox, lever_connection, key="not-the-token")
    stale_ms = int((time.time() - 600) * 1000)
    _, _, stale = lever_delivery(sandbox, lever_connection, triggered_ms=stale_ms)
    _, _, genuine = lever_delivery(sandbox, lever_connection)
    replay = {**genuine, "id": str(uuid.uuid4()), "data": {"opportunityId": "someone-else"}}

    forged_response = lever_post(client, lever_connection, forged)
    stale_response = lever_post(client, lever_connection, stale)
    with run_tasks_inline(execute=True):
        genuine_response = lever_post(client, lever_connection, genuine)
    with run_tasks_inline(execute=True) as callbacks:
        replay_response = lever_post(client, lever_connection, replay)

    assert forged_response.status_code == stale_response.status_code == 403
    assert genuine_response.status_code == replay_response.status_code == 200
    assert callbacks == []
    with tenant_scope(alice.organization):
        assert list(WebhookDelivery.objects.values_list("event_id", flat=True)) == [
            genuine["token"]
        ]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_webhook_leads_to_a_transition_through_a_real_worker_when_posted(
    alice, sandbox, greenhouse_connection, client
):
    from celery.contrib.testing.worker import start_worker

    from recruitflow.celery import app

    sync(alice.organization)
    _, to_stage, body = stage_change_body(sandbox)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        response = greenhouse_post(client, greenhouse_connection, body)
        deadline = time.monotonic() + 10
        with tenant_scope(alice.organization):
            while not StageTransition.objects.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            transition = StageTransition.objects.first()

    assert response.status_code == 200
    assert transition is not None, "the worker did not process the webhook in time"
    assert transition.source == "webhook" and transition.to_stage.external_id == str(to_stage)


def test_the_integrations_page_shows_the_last_ats_delivery_and_its_failure(
    alice, greenhouse_connection, client, run_tasks_inline
):
    client.force_login(alice.user)
    body = greenhouse_json(
        {"action": "candidate_stage_change", "payload": {"application": {"id": "nope"}}}
    )
    with run_tasks_inline(execute=True):
        assert greenhouse_post(client, greenhouse_connection, body).status_code == 200

    page = client.get("/settings/integrations/").content.decode()

    assert "<strong>candidate_stage_change</strong> at" in page
    assert '<span class="badge bad">failed</span>' in page
