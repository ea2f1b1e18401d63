"""The bulk upsert used by large syncs inserts, then updates in place, and hands back ids."""

import pytest

from candidates.models import Candidate
from candidates.upsert import COPY_THRESHOLD, bulk_upsert
from recruitflow.tenancy import tenant_scope

FIELDS = ["first_name", "emails", "mobile_phone", "synced_at"]
KEY = ["organization", "provider", "external_id"]


def _rows(org, n, name):
    return [
        Candidate(
            organization=org,
            provider="greenhouse",
            external_id=str(1000 + i),
            first_name=f"{name}{i}",
            emails=[{"value": f"c{i}@example.com", "type": "personal"}],
            mobile_phone="+14155552671",
        )
        for i in range(n)
    ]


@pytest.mark.django_db
def test_large_batch_is_inserted_then_updated_in_place_with_ids_when_upserted_twice(alice):
    org = alice.organization
    n = COPY_THRESHOLD + 50
    with tenant_scope(org):
        first = _rows(org, n, "Ann")
        bulk_upsert(Candidate, first, unique_fields=KEY, update_fields=FIELDS)
        assert all(row.pk for row in first)
        second = _rows(org, n, "Bea")
        bulk_upsert(Candidate, second, unique_fields=KEY, update_fields=FIELDS)
        assert [r.pk for r in second] == [r.pk for r in first]
        assert Candidate.objects.count() == n
        stored = Candidate.objects.get(external_id="1007")
    assert stored.first_name == "Bea7"
    assert stored.emails == [{"value": "c7@example.com", "type": "personal"}]
    assert stored.synced_at is not None


@pytest.mark.django_db
def test_a_sync_that_fills_a_table_has_it_counted_so_lookups_use_the_external_key(alice):
    """Until Postgres counts a freshly filled mirror, it takes it for empty and finds a candidate
    by external id by scanning the organization's rows: every webhook paid for it."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("Postgres's planner")
    org = alice.organization
    with tenant_scope(org):
        bulk_upsert(Candidate, _rows(org, COPY_THRESHOLD * 5, "Ann"), unique_fields=KEY,
                    update_fields=FIELDS)  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN SELECT id FROM candidates_candidate WHERE organization_id = %s "
                "AND provider = 'greenhouse' AND external_id = '1007'",
                [org.pk],
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "candidates_candidate_external_key" in plan, plan
