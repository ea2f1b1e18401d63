"""Concurrent retries of one idempotent send, on PostgreSQL with real threads: one message is
created, one request answers 201, and every other gets that message with 200 and
``Idempotent-Replayed``."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from accounts import services as account_services
from messaging.models import Message
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db(transaction=True)

RETRIES = 6


@pytest.fixture
def key(alice):
    with tenant_scope(alice.organization):
        _, raw = account_services.api_key_create(
            actor=alice.membership, name="ATS bridge", scope="write"
        )
    return raw


def test_concurrent_retries_of_one_send_create_one_message_and_the_others_replay_it(
    alice, candidate, key
):
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL (DATABASE_URL): SQLite runs one writer at a time.")
    start = threading.Barrier(RETRIES)
    responses = [None] * RETRIES

    def retry(index: int) -> None:
        try:
            start.wait(timeout=10)
            responses[index] = Client().post(
                "/api/v1/messages/",
                {"candidate": candidate.pk, "channel": "sms", "body": "Are you free on Friday?"},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
                HTTP_IDEMPOTENCY_KEY="order-4711",
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=retry, args=(i,)) for i in range(RETRIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (RETRIES - 1) + [201]
    created = next(r for r in responses if r.status_code == 201)
    replays = [r for r in responses if r.status_code == 200]
    assert all(r["Idempotent-Replayed"] == "true" for r in replays)
    assert {r.json()["id"] for r in replays} == {created.json()["id"]}
    assert "Idempotent-Replayed" not in created
    with tenant_scope(alice.organization):
        assert Message.objects.count() == 1
