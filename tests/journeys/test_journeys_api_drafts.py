"""The partner API follows the builder's Draft / Publish model: changes to a live journey go to
its draft (the live version keeps running), publish answers with what changed in words, and
discard throws the draft away; a journey never live is published by its first publish."""

from __future__ import annotations

import pytest

from journeys.models import Journey
from recruitflow.tenancy import tenant_scope
from tests.journeys.test_journeys_api import api, hiring, key_for, onsite_payload  # noqa: F401

pytestmark = pytest.mark.django_db


def _live(api, hiring) -> dict:  # noqa: F811
    journey = api.post("journeys/", onsite_payload(hiring)).json()
    published = api.post(f"journeys/{journey['id']}/publish/")
    assert published.status_code == 200, published.json()
    body = published.json()
    # A first publish makes the journey live and lists what it will do.
    assert body["journey"]["is_active"] is True
    assert body["changes"][0].startswith("Adds step 1: Send text message")
    return body["journey"]


def test_a_change_to_a_live_journey_goes_to_its_draft_until_published(
    alice,
    api,  # noqa: F811
    hiring,  # noqa: F811
):
    journey = _live(api, hiring)
    changed = api.patch(
        f"journeys/{journey['id']}/",
        {
            "exit_rules": ["left_stage", "rejected", "opted_out", "replied"],
            "steps": [{"kind": "send_email", "message_template_id": hiring.email.pk}],
        },
    )
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    # The live journey is unchanged; the draft says what publishing would change.
    assert body["version"] == 1
    assert [s["kind"] for s in body["steps"]] == ["send_sms", "wait", "send_email"]
    assert body["exit_rules"] == ["left_stage", "rejected", "opted_out"]
    assert body["draft"]["version"] == 2
    assert "New exit rule: stop when “candidate replied”." in body["draft"]["changes"]
    assert api.get(f"journeys/{journey['id']}/").json()["draft"] == body["draft"]

    published = api.post(f"journeys/{journey['id']}/publish/")
    assert published.status_code == 200
    answer = published.json()
    assert answer["changes"] == body["draft"]["changes"]
    assert answer["journey"]["version"] == 2
    assert answer["journey"]["draft"] is None
    assert [s["kind"] for s in answer["journey"]["steps"]] == ["send_email"]
    assert "replied" in answer["journey"]["exit_rules"]

    again = api.post(f"journeys/{journey['id']}/publish/")
    assert again.status_code == 409
    assert "There is no draft to publish" in str(again.json()["detail"])


def test_discarding_the_draft_keeps_the_live_version(alice, api, hiring):  # noqa: F811
    journey = _live(api, hiring)
    api.patch(f"journeys/{journey['id']}/", {"criteria": {"stage_names": ["Offer"]}})
    discarded = api.post(f"journeys/{journey['id']}/discard-draft/")
    assert discarded.status_code == 200
    body = discarded.json()
    assert body["draft"] is None
    assert body["criteria"]["stage_names"] == ["Onsite Interview"]
    with tenant_scope(alice.organization):
        assert Journey.objects.get(pk=journey["id"]).draft_version_id is None
    nothing = api.post(f"journeys/{journey['id']}/discard-draft/")
    assert nothing.status_code == 409
    assert "There is no draft to discard" in str(nothing.json()["detail"])


def test_a_draft_that_cannot_run_is_refused_with_its_reasons(api, hiring):  # noqa: F811
    journey = _live(api, hiring)
    api.patch(f"journeys/{journey['id']}/", {"steps": [{"kind": "send_sms"}]})
    refused = api.post(f"journeys/{journey['id']}/publish/")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "Step 1 (Send text message) has no message template: choose one from the Library."
    )
    live = api.get(f"journeys/{journey['id']}/").json()
    assert [s["kind"] for s in live["steps"]] == ["send_sms", "wait", "send_email"]


def test_publish_keeps_to_the_organization_and_replays_an_idempotency_key(
    alice,
    mallory,
    client,
    api,  # noqa: F811
    hiring,  # noqa: F811
):
    journey = _live(api, hiring)
    api.patch(f"journeys/{journey['id']}/", {"exit_rules": ["rejected"]})
    theirs = key_for(mallory)
    for action in ("publish", "discard-draft"):
        response = client.post(
            f"/api/v1/journeys/{journey['id']}/{action}/", content_type="application/json", **theirs
        )
        assert response.status_code == 404
    mine = key_for(alice)
    first = client.post(
        f"/api/v1/journeys/{journey['id']}/publish/",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="publish-1",
        **mine,
    )
    replay = client.post(
        f"/api/v1/journeys/{journey['id']}/publish/",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="publish-1",
        **mine,
    )
    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json()
    assert "Exit rule removed" in " ".join(first.json()["changes"])
