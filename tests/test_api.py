"""The partner API: keys shown once and stored hashed, scopes, revocation, paging, throttling."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import ApiKey
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member


@pytest.fixture
def write_key(alice):
    with tenant_scope(alice.organization):
        key, raw = services.api_key_create(actor=alice.membership, name="Script", scope="write")
    return key, raw


@pytest.mark.django_db
def test_new_key_is_shown_once_and_only_its_hash_is_stored(alice, client_for):
    response = client_for(alice).post(
        reverse("settings:api_keys"), {"name": "Warehouse", "scope": "read"}
    )
    raw = response.context["new_key"]["raw"]
    assert raw.startswith("rf_")
    with tenant_scope(alice.organization):
        key = ApiKey.objects.get(name="Warehouse")
    assert raw not in (key.hashed_key, key.prefix)
    assert raw.startswith(f"rf_{key.prefix}_")
    listing = client_for(alice).get(reverse("settings:api_keys"))
    assert raw.encode() not in listing.content
    assert f"rf_{key.prefix}_".encode() in listing.content


@pytest.mark.django_db
def test_api_root_answers_with_the_keys_organization(client, write_key):
    key, raw = write_key
    response = client.get("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json()["organization"]["name"] == "Acme Talent"
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.django_db
def test_api_refuses_a_missing_or_revoked_key(alice, client, write_key):
    key, raw = write_key
    assert client.get("/api/v1/").status_code in (401, 403)
    with tenant_scope(alice.organization):
        services.api_key_revoke(actor=alice.membership, api_key=key)
    response = client.get("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    assert "Invalid or revoked API key" in response.json()["detail"]


@pytest.mark.django_db
def test_read_only_key_cannot_change_the_organization(alice, client):
    with tenant_scope(alice.organization):
        _, raw = services.api_key_create(actor=alice.membership, name="RO", scope="read")
    response = client.patch(
        "/api/v1/organization/",
        {"name": "Hacked"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    alice.organization.refresh_from_db()
    assert alice.organization.name == "Acme Talent"


@pytest.mark.django_db
def test_write_key_updates_the_organization_and_validates_input(alice, client, write_key):
    _, raw = write_key
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    ok = client.patch(
        "/api/v1/organization/",
        {"time_zone": "Europe/Berlin"},
        content_type="application/json",
        **auth,
    )
    assert ok.status_code == 200 and ok.json()["time_zone"] == "Europe/Berlin"
    bad = client.patch(
        "/api/v1/organization/", {"brand_color": "red"}, content_type="application/json", **auth
    )
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/problem+json"
    assert "brand_color" in bad.json()["errors"]


@pytest.mark.django_db
def test_members_are_listed_with_cursor_pages(alice, client, write_key):
    for n in range(5):
        add_member(organization=alice.organization, email=f"m{n}@acme.test")
    _, raw = write_key
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    seen, url = [], "/api/v1/members/?page_size=2"
    while url:
        page = client.get(url, **auth).json()
        seen += [m["email"] for m in page["results"]]
        url = page["next"]
    assert len(seen) == 6 and len(set(seen)) == 6


@pytest.mark.django_db
def test_api_throttles_a_key_that_calls_too_fast(client, write_key, api_rate):
    api_rate("3/min")
    _, raw = write_key
    answers = [client.get("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {raw}") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    # The window started with the first request: the refused one is told when it ends.
    assert 0 < int(answers[3]["Retry-After"]) <= 60
    assert int(answers[3]["RateLimit-Reset"]) == int(answers[3]["Retry-After"])
