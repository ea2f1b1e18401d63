"""The production adapters driven against the sandbox fakes over a real socket (no database)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests

from integrations.base import ExtApplication
from integrations.greenhouse.provider import GreenhouseProvider
from integrations.http import AuthError
from integrations.lever.provider import LeverProvider

sandbox_server = pytest.importorskip("integrations.sandbox.server")


@pytest.fixture(scope="module")
def sandbox():
    server = sandbox_server.SandboxServer(port=0, n_candidates=120).start()
    yield server
    server.stop()


def greenhouse(sandbox, version="v1", key="sandbox-harvest-key", acting_user_id=None, **kw):
    config = {
        "api_version": version,
        "base_url": f"{sandbox.url}/greenhouse",
        "api_key": key,
        "client_id": "sandbox-client-id",
        "client_secret": "sandbox-client-secret",
        "acting_user_id": acting_user_id,
    }
    return GreenhouseProvider(config, **kw)


def first_user_id(sandbox) -> str:
    return next(greenhouse(sandbox).iter_users()).external_id


def test_full_v1_key_has_every_permission_and_syncs_without_429(sandbox):
    calls = []
    provider = greenhouse(sandbox, acting_user_id=first_user_id(sandbox), on_call=calls.append)

    checks = provider.check_permissions()
    jobs = list(provider.iter_jobs())
    applications = list(provider.iter_applications())

    assert [c.label for c in checks if not c.ok] == []
    assert jobs and all(job.stages for job in jobs)
    assert applications and all(isinstance(a, ExtApplication) for a in applications)
    assert 429 not in {c.status for c in calls}


def test_limited_v1_key_reports_exactly_the_missing_permissions(sandbox):
    provider = greenhouse(
        sandbox, key="sandbox-harvest-limited", acting_user_id=first_user_id(sandbox)
    )

    missing = [c.label for c in provider.check_permissions() if c.ok is False]

    assert sorted(missing) == [
        "Applications → GET: List Applications",
        "Candidates → POST: Add Note",
    ]


def test_wrong_v1_key_is_reported_as_an_auth_error(sandbox):
    with pytest.raises(AuthError, match="Harvest key"):
        greenhouse(sandbox, key="not-a-key").check_permissions()


def test_v1_note_lands_on_the_candidate(sandbox):
    provider = greenhouse(sandbox, acting_user_id=first_user_id(sandbox))
    candidate = next(provider.iter_candidates())

    note_id = provider.add_note(candidate.external_id, "Texted the candidate", visibility="public")

    assert note_id
    fetched = provider.get_candidate(candidate.external_id)
    assert fetched.external_id == candidate.external_id


def test_v3_incremental_sync_returns_only_recent_applications(sandbox):
    provider = greenhouse(sandbox, version="v3")
    everything = list(provider.iter_applications())
    newest = max(a.last_activity_at for a in everything if a.last_activity_at)

    recent = list(provider.iter_applications(updated_after=newest - timedelta(days=3)))

    assert everything
    assert len(recent) <= len(everything)


def test_v3_incremental_candidates_use_the_documented_updated_at_filter(sandbox):
    # Harvest v3's list endpoints filter with ``updated_at=gte|<ISO-8601>`` (harvestdocs "List
    # endpoints"); v1's ``updated_after`` would be refused with a 422.
    provider = greenhouse(sandbox, version="v3")
    everything = list(provider.iter_candidates())
    stamps = sorted(c.updated_at for c in everything if c.updated_at)
    since = stamps[len(stamps) // 2]

    recent = list(provider.iter_candidates(updated_after=since))

    assert recent and len(recent) < len(everything)
    assert all(c.updated_at and c.updated_at >= since for c in recent)
    assert {c.external_id for c in recent} == {
        c.external_id for c in everything if c.updated_at and c.updated_at >= since
    }


def test_sandbox_greenhouse_can_send_rate_limit_epochs_that_have_already_passed(sandbox):
    control = f"{sandbox.url}/greenhouse/_sandbox/api/rate_limit"
    answer = requests.post(
        control,
        json={"limit": 0, "legacy_epoch_retry_after": True, "legacy_epoch_lag": 10},
        timeout=5,
    )
    try:
        response = requests.get(
            f"{sandbox.url}/greenhouse/v1/users", auth=("sandbox-harvest-key", ""), timeout=5
        )
    finally:
        requests.post(
            control,
            json={"limit": None, "legacy_epoch_retry_after": False, "legacy_epoch_lag": 0},
            timeout=5,
        )

    assert answer.json()["legacy_epoch_lag"] == 10
    assert response.status_code == 429
    now = time.time()
    assert int(response.headers["Retry-After"]) > 1e9  # an epoch, not seconds
    assert int(response.headers["Retry-After"]) <= now  # ... already passed on arrival
    assert int(response.headers["X-RateLimit-Reset"]) <= now


def lever(sandbox, **config) -> LeverProvider:
    return LeverProvider(
        {"api_key": "sandbox-lever-key", "base_url": f"{sandbox.url}/lever/v1", **config}
    )


def test_lever_sync_maps_opportunities_postings_and_stages(sandbox):
    provider = lever(sandbox)

    jobs = list(provider.iter_jobs())
    stages = list(provider.iter_stages())
    applications = list(provider.iter_applications())

    assert jobs and stages and applications
    assert {a.status for a in applications} <= {"active", "hired", "rejected", "archived"}
    assert any(a.job_external_id for a in applications)


def test_lever_note_and_file_are_written_as_the_acting_user(sandbox):
    user = next(lever(sandbox).iter_users())
    provider = lever(sandbox, perform_as=user.external_id)
    opportunity = next(provider.iter_applications())

    assert provider.add_note(opportunity.external_id, "Interview booked")
    assert provider.add_attachment(
        opportunity.external_id, "transcript.pdf", b"%PDF-1.4\n", "application/pdf"
    )


def test_lever_permission_check_passes_with_the_sandbox_key(sandbox):
    user = next(lever(sandbox).iter_users())

    checks = lever(sandbox, perform_as=user.external_id).check_permissions()

    assert [c.name for c in checks if c.ok is False] == []
