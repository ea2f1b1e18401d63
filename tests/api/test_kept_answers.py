"""A partner's GET is kept like a signed-in page (`recruitflow.page_cache.api_answer`) while the
page cache is on: served again without the database, yet every committed write shows on the
next call, the rate limit counts every call, and a key sees only its own answers.

These tests commit (`transaction=True`): what moves a generation is a commit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.models import ApiKey
from accounts.selectors import hash_api_key
from journeys.models import Journey
from recruitflow.tenancy import tenant_scope
from tests.api.conftest import Api, raw_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("page_cache_on")]


def _journey(organization, name: str) -> Journey:
    with tenant_scope(organization):
        return Journey.objects.create(organization=organization, name=name)


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def test_a_kept_answer_makes_no_query_and_shows_the_next_write(api, alice):
    _journey(alice.organization, "Kept")
    assert _names(api.get("journeys/")) == ["Kept"]
    api.get("journeys/")  # the key read again: the first call recorded its last use (a write)
    with CaptureQueriesContext(connection) as kept:
        again = api.get("journeys/")
    assert _names(again) == ["Kept"]
    assert len(kept.captured_queries) == 0  # the key is kept too; no DRF view ran
    assert again["Content-Type"].startswith("application/json")
    _journey(alice.organization, "Written after")
    assert sorted(_names(api.get("journeys/"))) == ["Kept", "Written after"]


def test_the_rate_limit_counts_kept_answers(api, api_rate):
    api_rate("3/min")
    answers = [api.get("journeys/") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[3]["Content-Type"] == "application/problem+json"


def test_a_key_never_gets_another_keys_answer(client, alice, mallory):
    _journey(alice.organization, "Alice's journey")
    _journey(mallory.organization, "Mallory's journey")
    alices, mallorys = Api(client, raw_key(alice)), Api(client, raw_key(mallory))
    for _ in range(2):
        assert _names(alices.get("journeys/")) == ["Alice's journey"]
        assert _names(mallorys.get("journeys/")) == ["Mallory's journey"]


def test_a_revoked_key_is_refused_though_its_answer_was_kept(api, alice):
    assert api.get("journeys/").status_code == 200
    with tenant_scope(alice.organization):
        key = ApiKey.objects.get(hashed_key=hash_api_key(api.key))
        account_services.api_key_revoke(actor=alice.membership, api_key=key)
    refused = api.get("journeys/")
    assert refused.status_code == 401


def test_a_deactivated_organizations_kept_key_is_refused(api, alice):
    """The key is kept too (`accounts.selectors.api_key_resolve`, under `changes.ACCOUNTS`)."""
    api.get("journeys/")
    api.get("journeys/")
    organization = type(alice.organization).objects.get(pk=alice.organization.pk)
    organization.is_active = False
    organization.save()
    assert api.get("journeys/").status_code == 401
