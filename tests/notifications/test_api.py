"""The notifications API: a member's own notifications, newest first in cursor pages; mark one
and all read; an API key reads those of the member who created it; others' are 404."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import ApiKeyScope, Membership, Role
from candidates.models import Candidate, TimelineEvent
from notifications import collector
from notifications.models import Notification
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member, make_org_with_owner

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    org, alice, membership = make_org_with_owner(name="Acme Talent", email="alice@acme.test")
    bob = add_member(organization=org, email="bob@acme.test", role=Role.HIRING_MANAGER).user
    with tenant_scope(org):
        collector.collect(organization=org)
        sam = Candidate.objects.create(
            organization=org, provider="greenhouse", external_id="s", first_name="Sam"
        )
        for text in ("one", "two", "three"):
            TimelineEvent.objects.create(
                organization=org,
                candidate=sam,
                kind="replied",
                summary=f"Replied by text: {text}",
                occurred_at=timezone.now(),
            )
        collector.collect(organization=org)
        _key, raw = account_services.api_key_create(
            actor=membership, name="Zapier", scope=ApiKeyScope.WRITE
        )
    return type("Acme", (), {"org": org, "alice": alice, "bob": bob, "raw": raw, "m": membership})


def test_a_key_lists_its_creators_notifications_newest_first_in_pages(acme, client):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {acme.raw}"}
    first = client.get("/api/v1/notifications/?page_size=2", **auth).json()
    assert [n["body"] for n in first["results"]] == [
        "Replied by text: three",
        "Replied by text: two",
    ]
    assert first["results"][0]["read"] is False
    second = client.get(first["next"], **auth).json()
    assert [n["body"] for n in second["results"]] == ["Replied by text: one"]


def test_mark_one_and_all_read(acme, client):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {acme.raw}"}
    newest = client.get("/api/v1/notifications/", **auth).json()["results"][0]
    marked = client.post(f"/api/v1/notifications/{newest['id']}/read/", **auth)
    assert marked.status_code == 200 and marked.json()["read"] is True
    unread = client.get("/api/v1/notifications/?unread=true", **auth).json()["results"]
    assert len(unread) == 2
    assert client.post("/api/v1/notifications/read-all/", **auth).json() == {"marked_read": 2}
    assert client.get("/api/v1/notifications/?unread=true", **auth).json()["results"] == []
    assert client.get("/api/v1/notifications/?unread=maybe", **auth).status_code == 400


def test_a_hiring_manager_marks_their_own_read_and_never_someone_elses(acme, client):
    client.force_login(acme.bob)
    assert client.get("/api/v1/notifications/").json()["results"] == []  # not told of replies
    with tenant_scope(acme.org):
        alices = Notification.objects.filter(user=acme.alice).first()
    assert client.post(f"/api/v1/notifications/{alices.pk}/read/").status_code == 404
    assert client.post(f"/api/v1/notifications/{2**70}/read/").status_code == 404
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked_read": 0}
    with tenant_scope(acme.org):
        assert Notification.objects.get(pk=alices.pk).read_at is None


def test_another_organizations_key_sees_nothing_and_a_departed_creators_key_is_refused(
    acme, client
):
    _org, _mallory, mallory_membership = make_org_with_owner(
        name="Evil Corp", email="mallory@evil.test"
    )
    with tenant_scope(_org):
        _key, raw = account_services.api_key_create(
            actor=mallory_membership, name="x", scope=ApiKeyScope.WRITE
        )
    evil = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/notifications/", **evil).json()["results"] == []
    with tenant_scope(acme.org):
        some = Notification.objects.first()
    assert client.post(f"/api/v1/notifications/{some.pk}/read/", **evil).status_code == 404
    with tenant_scope(acme.org):
        Membership.objects.filter(user=acme.alice).delete()
    refused = client.get("/api/v1/notifications/", HTTP_AUTHORIZATION=f"Bearer {acme.raw}")
    assert refused.status_code == 403
    assert "has left the organization" in refused.json()["detail"]
