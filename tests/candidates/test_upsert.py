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
