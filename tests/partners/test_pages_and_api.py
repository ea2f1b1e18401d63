"""Settings → Webhooks and the webhook API: the secret shown once, test events, the delivery log
with request and response, replays, and another organization's ids as 404."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from partners import event_types, services
from partners.models import Delivery, DeliveryStatus, Subscription
from recruitflow.tenancy import scopes_disabled, tenant_scope
from tests.partners.conftest import send_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice.user)
    return client


def test_empty_state_says_how_to_add_a_webhook(signed_in):
    page = signed_in.get(reverse("partners:settings")).content.decode()
    assert "No webhooks yet" in page and reverse("partners:create") in page


def test_recruiter_cannot_open_webhook_settings(client, bob):
    client.force_login(bob.user)
    assert client.get(reverse("partners:settings")).status_code == 403


def test_adding_a_webhook_shows_its_secret_once_then_never_again(signed_in, alice, receiver):
    response = signed_in.post(
        reverse("partners:create"),
        {"url": receiver.url, "description": "Warehouse", "event_types": ["message.sent"],
         "enabled": "on"},
    )  # fmt: skip
    with tenant_scope(alice.organization):
        subscription = Subscription.objects.get()
    page = response.content.decode()
    assert response.status_code == 200 and subscription.secret in page
    assert response["Cache-Control"].startswith("no-store")
    again = signed_in.get(reverse("partners:detail", args=[subscription.pk])).content.decode()
    assert subscription.secret not in again and "Verify in Python" in again


def test_refused_url_is_shown_next_to_the_field(signed_in, settings):
    settings.PARTNER_WEBHOOK_HTTP_HOSTS = []
    response = signed_in.post(
        reverse("partners:create"),
        {"url": "http://127.0.0.1:9/hook", "event_types": ["message.sent"], "enabled": "on"},
    )
    assert response.status_code == 200
    assert "https://" in response.content.decode()
    assert not Subscription.unscoped.exists()


def test_test_event_appears_in_the_log_with_request_and_response_and_can_be_replayed(
    signed_in, alice, subscribe, receiver
):
    subscription = subscribe(["message.sent"])
    receiver.status = 200
    receiver.answer = b'{"ok": true}'
    signed_in.post(reverse("partners:test", args=[subscription.pk]))
    send_due()
    page = signed_in.get(reverse("partners:detail", args=[subscription.pk])).content.decode()
    assert "webhook.test" in page and "delivered" in page
    with tenant_scope(alice.organization):
        sent = Delivery.objects.get()
    detail = signed_in.get(reverse("partners:delivery", args=[sent.pk])).content.decode()
    assert "webhook-signature" in detail and "{&quot;ok&quot;: true}" in detail

    signed_in.post(reverse("partners:delivery_replay", args=[sent.pk]))
    send_due()
    assert len(receiver.delivered()) == 2
    assert len({r.headers["webhook-id"] for r in receiver.delivered()}) == 1


def test_replay_all_failed_since_sends_the_failed_ones_again(signed_in, alice, subscribe, receiver):
    subscription = subscribe(["message.sent"])
    receiver.status = 500
    for _ in range(2):
        signed_in.post(reverse("partners:test", args=[subscription.pk]))
    send_due()
    with scopes_disabled():
        Delivery.unscoped.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    receiver.status = 204
    since = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    signed_in.post(reverse("partners:replay_failed", args=[subscription.pk]), {"since": since})
    send_due()
    assert len(receiver.delivered()) == 2
    with tenant_scope(alice.organization):
        assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_api_replay_failed_since_leaves_older_failures_and_delivered_ones_alone(
    client, api_key, alice, subscribe, receiver
):
    subscription = subscribe(["message.sent"])
    with tenant_scope(alice.organization):
        old, recent, delivered = (
            services.test_event_send(subscription=subscription) for _ in range(3)
        )
    receiver.status = 500
    send_due()
    two_days_ago = timezone.now() - timedelta(days=2)
    with scopes_disabled():
        Delivery.unscoped.filter(pk__in=[old.pk, recent.pk]).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None
        )
        Delivery.unscoped.filter(pk=old.pk).update(created_at=two_days_ago)
        Delivery.unscoped.filter(pk=delivered.pk).update(status=DeliveryStatus.DELIVERED)
    receiver.requests.clear()
    receiver.status = 204

    since = (timezone.now() - timedelta(hours=1)).isoformat()
    answer = api(client, "post", f"webhook-subscriptions/{subscription.pk}/replay-failed/",
                 api_key, {"since": since})  # fmt: skip
    assert answer.status_code == 200 and answer.json() == {"replayed": 1}
    send_due()

    [resent] = receiver.delivered()
    with tenant_scope(alice.organization):
        assert resent.headers["webhook-id"] == Delivery.objects.get(pk=recent.pk).event.event_id
        statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "failed", recent.pk: "delivered", delivered.pk: "delivered"}


def test_another_organizations_webhook_and_delivery_are_not_found(client, mallory, subscribe):
    subscription = subscribe(["message.sent"])
    with tenant_scope(subscription.organization):
        delivery = services.test_event_send(subscription=subscription)
    client.force_login(mallory.user)
    assert client.get(reverse("partners:detail", args=[subscription.pk])).status_code == 404
    assert client.get(reverse("partners:delivery", args=[delivery.pk])).status_code == 404
    assert client.post(reverse("partners:rotate", args=[subscription.pk])).status_code == 404


@pytest.fixture
def api_key(alice):
    with tenant_scope(alice.organization):
        _, raw = account_services.api_key_create(
            actor=alice.membership, name="partner", scope="write"
        )
    return raw


def api(client, method, path, key, body=None):
    return getattr(client, method)(
        f"/api/v1/{path}",
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )


def test_api_creates_a_subscription_returning_its_secret_once(client, api_key, receiver):
    created = api(client, "post", "webhook-subscriptions/", api_key,
                  {"url": receiver.url, "event_types": ["booking.created", "message.sent"]})  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == [
        "booking.created",
        "message.sent",
    ]
    read = api(client, "get", f"webhook-subscriptions/{body['id']}/", api_key).json()
    assert "secret" not in read and read["url"] == receiver.url
    rotated = api(client, "post", f"webhook-subscriptions/{body['id']}/rotate-secret/", api_key)
    assert rotated.json()["secret"] != body["secret"] and rotated.json()["rotating_until"]


def test_api_refuses_unknown_event_types_and_private_addresses(client, api_key, settings):
    settings.PARTNER_WEBHOOK_HTTP_HOSTS = []
    bad_type = api(client, "post", "webhook-subscriptions/", api_key,
                   {"url": "https://example.com/h", "event_types": ["nope"]})  # fmt: skip
    private = api(client, "post", "webhook-subscriptions/", api_key,
                  {"url": "https://10.0.0.8/h", "event_types": ["message.sent"]})  # fmt: skip
    assert bad_type.status_code == 400 and "event_types" in bad_type.json().__repr__()
    assert private.status_code == 400 and "private" in private.content.decode()


def test_api_test_event_delivery_and_its_attempts(client, api_key, alice, subscribe, receiver):
    subscription = subscribe(["message.sent"])
    queued = api(client, "post", f"webhook-subscriptions/{subscription.pk}/test/", api_key)
    assert queued.status_code == 202
    send_due()
    listed = api(client, "get", f"webhook-subscriptions/{subscription.pk}/deliveries/", api_key)
    [row] = listed.json()["results"]
    assert row["status"] == "delivered" and row["event_type"] == "webhook.test"
    detail = api(client, "get", f"webhook-deliveries/{row['id']}/", api_key).json()
    assert detail["payload"]["type"] == "webhook.test"
    assert detail["attempt_log"][0]["response_status"] == 204


def test_schema_documents_every_event_type_as_a_webhook(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    assert "candidate.stage_changed" in schema["webhooks"]
    hook = schema["webhooks"]["journey.run_finished"]["post"]
    example = hook["requestBody"]["content"]["application/json"]["example"]
    assert example["data"]["exit_reason"] and hook["summary"] == "journey.run_finished"


def test_partner_guide_names_every_event_type(client):
    guide = client.get("/api/v1/guide/").content.decode()
    types = [t.name for t in event_types.all_types() if t.name != event_types.TEST_EVENT]
    assert [name for name in types if f"<code>{name}</code>" not in guide] == []
