"""What every partner API endpoint shares: Idempotency-Key on POSTs, problem details for
errors, RateLimit headers, tenant isolation."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from accounts.models import IdempotencyRecord
from journeys.models import Journey
from recruitflow.tenancy import scopes_disabled, tenant_scope
from tests.api.conftest import raw_key

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def test_a_retried_post_with_the_same_key_answers_the_first_result_and_creates_nothing_more(
    api, alice
):
    first = api.post("journeys/", {"name": "Welcome", "trigger": {"kind": "hired"}}, key="j-1")
    again = api.post("journeys/", {"trigger": {"kind": "hired"}, "name": "Welcome"}, key="j-1")

    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    with tenant_scope(alice.organization):
        assert Journey.objects.filter(name="Welcome").count() == 1


def test_the_same_key_with_another_body_is_a_422_problem_and_nothing_is_created(api, alice):
    api.post("journeys/", {"name": "Welcome", "trigger": {"kind": "hired"}}, key="j-1")

    other = api.post("journeys/", {"name": "Farewell", "trigger": {"kind": "hired"}}, key="j-1")

    assert other.status_code == 422
    assert other["Content-Type"] == PROBLEM
    body = other.json()
    assert body["type"].endswith("/api/v1/guide/#problem-idempotency_conflict")
    assert body["status"] == 422 and body["code"] == "idempotency_conflict"
    assert "different body" in body["detail"]
    with tenant_scope(alice.organization):
        assert not Journey.objects.filter(name="Farewell").exists()


def test_a_refused_post_frees_its_key_so_the_corrected_retry_goes_through(api, alice):
    refused = api.post("journeys/", {"name": "Welcome"}, key="j-2")
    fixed = api.post("journeys/", {"name": "Welcome", "trigger": {"kind": "hired"}}, key="j-2")

    assert refused.status_code == 400
    assert fixed.status_code == 201
    with tenant_scope(alice.organization):
        assert IdempotencyRecord.objects.get(key="j-2").status_code == 201


def test_keys_are_per_api_key_so_two_partners_never_collide(client, alice, api):
    other = raw_key(alice)
    mine = api.post("journeys/", {"name": "Mine", "trigger": {"kind": "hired"}}, key="same")
    theirs = Client().post(
        "/api/v1/journeys/",
        {"name": "Theirs", "trigger": {"kind": "hired"}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {other}",
        HTTP_IDEMPOTENCY_KEY="same",
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)


def test_a_key_that_is_not_visible_ascii_is_refused_with_the_rule(api):
    response = api.post("journeys/", {"name": "X"}, key="has space")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert "visible ASCII" in response.json()["errors"]["Idempotency-Key"][0]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_with_one_key_create_one_journey_and_one_replays_it(alice):
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL (DATABASE_URL): SQLite runs one writer at a time.")
    key = raw_key(alice)
    start = threading.Barrier(2)
    responses: list = [None, None]

    def post(index: int) -> None:
        try:
            start.wait(timeout=10)
            responses[index] = Client().post(
                "/api/v1/journeys/",
                {"name": "Onsite", "trigger": {"kind": "hired"}},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
                HTTP_IDEMPOTENCY_KEY="order-1",
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(r.status_code for r in responses) == [200, 201]
    created = next(r for r in responses if r.status_code == 201)
    replayed = next(r for r in responses if r.status_code == 200)
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == created.json()["id"]
    with scopes_disabled():
        assert Journey.unscoped.filter(organization=alice.organization).count() == 1


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("get", "/api/v1/journeys/", {}, 401, "authentication"),
        (
            "get",
            "/api/v1/journeys/",
            {"HTTP_AUTHORIZATION": "Bearer rf_nope"},
            401,
            "authentication",
        ),
        ("get", "/api/v1/journeys/987654/", "key", 404, "not_found"),
        ("get", "/api/v1/no-such-endpoint/", "key", 404, "not_found"),
        ("get", "/api/v1/members/?page_size=0", "key", 400, "validation"),
        ("get", "/api/v1/members/?cursor=garbage", "key", 400, "validation"),
        ("delete", "/api/v1/members/", "key", 405, "method_not_allowed"),
        ("post", "/api/v1/journeys/", "read", 403, "permission"),
    ],
)
def test_every_error_is_problem_details_with_a_stable_type(
    client, alice, method, path, headers, status, code
):
    if headers == "key":
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key(alice)}"}
    elif headers == "read":
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key(alice, 'read')}"}
    response = getattr(client, method)(path, **headers)

    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"http://testserver/api/v1/guide/#problem-{code}"
    assert body["status"] == status and body["code"] == code
    assert body["title"] and body["detail"]


def test_malformed_json_is_a_problem_too(api):
    response = api.client.post(
        "/api/v1/journeys/",
        "{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.key}",
    )
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "invalid_json"


def test_an_unexpected_failure_is_a_500_problem_not_a_page(api, monkeypatch):
    from journeys import api as journeys_api

    def boom(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(journeys_api, "_journeys", boom)
    api.client.raise_request_exception = False
    response = api.get("journeys/")

    assert response.status_code == 500 and response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "server_error"
    assert "fire" not in response.content.decode()  # internals are logged, not shown


def test_rate_limit_headers_are_on_every_answer_and_count_down(api):
    first = api.get("journeys/")
    second = api.get("journeys/")
    missing = api.get("journeys/424242/")

    limit = int(first["RateLimit-Limit"])
    assert limit > 2
    assert int(first["RateLimit-Remaining"]) == int(second["RateLimit-Remaining"]) + 1
    assert int(second["RateLimit-Remaining"]) == int(missing["RateLimit-Remaining"]) + 1
    assert 0 < int(first["RateLimit-Reset"]) <= 60
    refused = Client().get("/api/v1/journeys/")  # no key: not counted, still told
    assert refused.status_code == 401 and "RateLimit-Remaining" in refused


def test_another_organizations_objects_are_404(api, mallory):
    with tenant_scope(mallory.organization):
        theirs = Journey.objects.create(organization=mallory.organization, name="Secret")
    response = api.get(f"journeys/{theirs.pk}/")
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM
    assert "Secret" not in response.content.decode()


def test_keys_are_forgotten_after_a_day_by_the_hourly_purge(api, alice, time_machine):
    from datetime import timedelta

    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    from accounts.tasks import idempotency_records_purge

    api.post("journeys/", {"name": "Old", "trigger": {"kind": "hired"}}, key="old")
    time_machine.move_to(timezone.now() + timedelta(hours=25), tick=False)
    api.post("journeys/", {"name": "Fresh", "trigger": {"kind": "hired"}}, key="fresh")

    assert idempotency_records_purge() == 1
    with tenant_scope(alice.organization):
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    # A day later the old key is a new request (with a new body, no conflict).
    again = api.post("journeys/", {"name": "Renewed", "trigger": {"kind": "hired"}}, key="old")
    assert again.status_code == 201
    schedule = PeriodicTask.objects.get(task="accounts.tasks.idempotency_records_purge")
    assert schedule.enabled and schedule.interval.every == 1


def test_an_address_with_a_newline_is_a_404_problem_too(api):
    response = api.get("/api/v1/journeys/%0Ax/runs/")
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM


def test_webhook_event_types_page_by_cursor_like_every_list(api):
    first = api.get("webhook-event-types/", {"page_size": 5})
    assert first.status_code == 200
    names, page, pages = [], first.json(), []
    while True:
        pages.append(page)
        names += [item["name"] for item in page["results"]]
        if page["next"] is None:
            break
        page = api.get(page["next"]).json()
    assert names == sorted(names) and len(names) == len(set(names)) >= 16
    assert "candidate.stage_changed" in names and "message.delivered" in names
    assert pages[0]["previous"] is None and len(pages) == -(-len(names) // 5)
    back = api.get(pages[1]["previous"]).json()
    assert [item["name"] for item in back["results"]] == names[:5]
    assert back["previous"] is None
    everything = api.get("webhook-event-types/").json()
    assert [item["name"] for item in everything["results"]] == names
    assert everything["next"] is None
    bad = api.get("webhook-event-types/", {"cursor": "garbage"})
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"
    empty = api.get("webhook-event-types/", {"cursor": ""})
    assert empty.status_code == 200 and empty.json()["results"][0]["name"] == names[0]
