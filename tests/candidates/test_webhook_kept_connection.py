"""A web process keeps the connection its webhook endpoint found, so a burst's POSTs skip
reading it; what was kept is never taken for current: each store checks, in its own statement,
that the connection is still as it was read."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from accounts.models import Organization
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus, WebhookDelivery
from integrations.sandbox.greenhouse import greenhouse_signature
from recruitflow.tenancy import scopes_disabled, tenant_scope
from tests.candidates.test_webhooks import (
    greenhouse_post,
    lever_delivery,
    lever_post,
    stage_change_body,
)

pytestmark = pytest.mark.django_db


def stored(org) -> list[str]:
    with tenant_scope(org):
        return list(WebhookDelivery.objects.order_by("pk").values_list("event_id", flat=True))


def signed_post(client, connection, sandbox, event_id: str, secret: str):
    _, _, body = stage_change_body(sandbox)
    signature = greenhouse_signature(secret, body)
    return greenhouse_post(client, connection, body, event_id=event_id, signature=signature)


def test_a_burst_reads_its_connection_once_then_stores_each_post_by_one_statement(
    alice, sandbox, greenhouse_connection, client
):
    table = GreenhouseConnection._meta.db_table
    first = signed_post(client, greenhouse_connection, sandbox, "e-1", "x")  # wrong: read, 403
    with CaptureQueriesContext(db) as later:
        answers = [
            greenhouse_post(
                client, greenhouse_connection, stage_change_body(sandbox)[2], event_id=f"e-{n}"
            )  # fmt: skip
            for n in (2, 3, 4)
        ]

    assert first.status_code == 403
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert stored(alice.organization) == ["e-2", "e-3", "e-4"]
    statements = [q["sql"] for q in later.captured_queries]
    checks = [s for s in statements if f'EXISTS (SELECT 1 FROM "{table}"' in s]
    lookups = [s for s in statements if f'FROM "{table}"' in s and s not in checks]
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert lookups == [] and len(inserts) == 3
    if db.vendor == "postgresql":  # the check and the insert are one statement
        assert checks == inserts
    else:
        assert len(checks) == 3


def test_a_new_secret_holds_at_once_though_the_process_kept_the_old_one(
    alice, sandbox, greenhouse_connection, client
):
    old = greenhouse_connection.webhook_secret
    assert greenhouse_post(client, greenhouse_connection, stage_change_body(sandbox)[2],
                           event_id="kept").status_code == 200  # fmt: skip

    with tenant_scope(alice.organization):
        greenhouse_connection.webhook_secret = "the-new-secret"
        greenhouse_connection.save()
    old_first = signed_post(client, greenhouse_connection, sandbox, "old-1", old)
    new_then = signed_post(client, greenhouse_connection, sandbox, "new-1", "the-new-secret")
    with tenant_scope(alice.organization):
        greenhouse_connection.webhook_secret = "a-third-secret"
        greenhouse_connection.save()
    new_first = signed_post(client, greenhouse_connection, sandbox, "new-2", "a-third-secret")
    old_then = signed_post(client, greenhouse_connection, sandbox, "old-2", "the-new-secret")

    assert old_first.status_code == old_then.status_code == 403
    assert new_then.status_code == new_first.status_code == 200
    assert stored(alice.organization) == ["kept", "new-1", "new-2"]


def test_the_same_secret_saved_again_is_still_accepted(
    alice, sandbox, greenhouse_connection, client
):
    """Any save encrypts the secret anew: the kept copy no longer matches, so it is read again,
    and the POST is stored."""
    first = greenhouse_post(client, greenhouse_connection, stage_change_body(sandbox)[2],
                            event_id="before")  # fmt: skip
    with tenant_scope(alice.organization):
        greenhouse_connection.save()
    again = greenhouse_post(client, greenhouse_connection, stage_change_body(sandbox)[2],
                            event_id="after")  # fmt: skip

    assert first.status_code == again.status_code == 200
    assert stored(alice.organization) == ["before", "after"]


def test_a_disconnection_or_a_deactivated_organization_holds_at_once(
    alice, sandbox, greenhouse_connection, client
):
    def post(event_id):
        body = stage_change_body(sandbox)[2]
        return greenhouse_post(client, greenhouse_connection, body, event_id=event_id)

    assert post("kept").status_code == 200
    with tenant_scope(alice.organization):
        GreenhouseConnection.objects.filter(pk=greenhouse_connection.pk).update(
            status=ConnectionStatus.DISCONNECTED
        )
    disconnected = post("while-disconnected")
    with tenant_scope(alice.organization):
        GreenhouseConnection.objects.filter(pk=greenhouse_connection.pk).update(
            status=ConnectionStatus.CONNECTED
        )
    assert post("connected-again").status_code == 200
    with scopes_disabled():
        Organization.objects.filter(pk=alice.organization.pk).update(is_active=False)
    deactivated = post("while-deactivated")

    assert disconnected.status_code == deactivated.status_code == 404
    assert stored(alice.organization) == ["kept", "connected-again"]


def test_lever_a_new_signature_token_holds_at_once(alice, sandbox, lever_connection, client):
    kept = lever_post(client, lever_connection, lever_delivery(sandbox, lever_connection)[2])
    with tenant_scope(alice.organization):
        lever_connection.signature_token = "the-new-token"
        lever_connection.save()
    old = lever_delivery(sandbox, lever_connection, key="lever-signing-token")[2]
    new = lever_delivery(sandbox, lever_connection, key="the-new-token")[2]

    old_answer = lever_post(client, lever_connection, old)
    new_answer = lever_post(client, lever_connection, new)

    assert kept.status_code == new_answer.status_code == 200
    assert old_answer.status_code == 403
    assert stored(alice.organization)[-1] == new["token"]
    assert old["token"] not in stored(alice.organization)


def test_a_process_keeps_a_bounded_number_of_connections(
    monkeypatch, greenhouse_connection, lever_connection
):
    from integrations import connections as kept
    from integrations.lever.models import LeverConnection

    monkeypatch.setattr(kept, "_kept", {})
    monkeypatch.setattr(kept, "WEBHOOK_KEPT_MAX", 1)
    kept.webhook_connection(GreenhouseConnection, greenhouse_connection.endpoint_token,
                            "webhook_secret")  # fmt: skip
    kept.webhook_connection(LeverConnection, lever_connection.endpoint_token, "signature_token")

    assert list(kept._kept) == [("lever.LeverConnection", lever_connection.endpoint_token)]
