"""Fault drills (issue: nothing stuck, nothing lost): real Celery worker processes drain 300
journey runs while workers are killed, the database drops their connections and the provider
misbehaves. Counted from the sandbox Twilio's own records: no duplicate text, no lost text, and
nothing stuck once the sweeps have run.

Postgres and a Redis broker only (CI sets both); each drill is bounded in time."""

from __future__ import annotations

import os

import pytest

from bench.drills import Drill
from integrations.sandbox.server import SandboxServer

pytestmark = [
    pytest.mark.drill,
    pytest.mark.worker,
    # Under xdist the drills run one after another on one worker: each drives six worker
    # processes and times its recovery.
    pytest.mark.xdist_group("drills"),
    # The beat schedule the migrations wrote is written again by the drill when an earlier
    # test's flush removed it (bench.drills.ensure_beat_schedule).
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres")
        or not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"),
        reason="fault drills need Postgres (DATABASE_URL) and a Redis broker (CELERY_BROKER_URL)",
    ),
]

RUNS = 300


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=5, webhook_retry_scale=0) as server:
        yield server


@pytest.fixture(autouse=True)
def _allow_the_sandbox(settings, sandbox):
    settings.SANDBOX_URL = sandbox.url


def _assert_clean(result):
    report = result.as_dict()
    assert result.duplicates == 0, f"a candidate got the text twice: {report}"
    assert result.lost == 0, f"a candidate never got the text: {report}"
    assert result.stuck_total == 0, f"work left where nothing picks it up: {report}"
    assert result.sent == RUNS


def test_killing_pool_children_and_workers_loses_and_doubles_nothing(sandbox, tmp_path):
    drill = Drill(sandbox=sandbox, runs=RUNS, seed=11, label="kills")
    result = drill.run(
        child_kills=4, main_kills=2, chaos_seconds=12, settle_timeout=150, log_dir=tmp_path
    )
    assert result.faults["child_kill"] + result.faults["main_kill"] >= 4
    _assert_clean(result)


def test_dropped_database_connections_lose_and_double_nothing(sandbox, tmp_path):
    drill = Drill(sandbox=sandbox, runs=RUNS, seed=12, label="drops")
    result = drill.run(connection_drops=4, chaos_seconds=10, settle_timeout=150, log_dir=tmp_path)
    assert result.faults["connection_drop"] == 4
    _assert_clean(result)


def test_a_provider_that_fails_before_or_after_acting_gets_each_text_once(sandbox, tmp_path):
    drill = Drill(sandbox=sandbox, runs=RUNS, seed=13, label="provider")
    result = drill.run(
        provider_500s=15, provider_late_replies=10, chaos_seconds=5, settle_timeout=150,
        log_dir=tmp_path,
    )  # fmt: skip
    _assert_clean(result)


def test_a_broker_outage_while_stage_changes_arrive_loses_nothing(sandbox, tmp_path):
    drill = Drill(sandbox=sandbox, runs=RUNS, seed=14, label="outage")
    result = drill.run(
        broker_outage_seconds=15, chaos_seconds=1, settle_timeout=150, log_dir=tmp_path
    )
    assert result.faults["enqueue_failed"] > 0, "the outage should have refused the queueing"
    _assert_clean(result)
