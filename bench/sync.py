"""Benchmark of the ATS sync against the sandbox Greenhouse (Harvest v1) over loopback.

    DATABASE_URL=postgres://... python bench/sync.py [--applications 50000]

(a) full sync of N applications with the rate limit off → applications/s into the database;
(b) full syncs with the Greenhouse limit on, back to back until ``--limited-calls`` (200) calls
    were made → answered calls as a fraction of the ceiling (the floor: the limit times every
    fixed window the calls touched, from the first call to the last answer) and 429s. A full
    sync of 50k applications needs only ~40 calls (candidates embed their applications), so the
    limit is scaled to 10 per 10 s to make it the bottleneck (same window, same headers, same
    pacing code). The first sync starts as a window opens (where the bench happens to begin is
    not the pacing's doing). Every window below the limit is put down to what kept its calls
    away: the pacer holding them back (its log), the sync's own work (no call in flight and none
    held: writing pages, starting the next sync), or the end of the run (the last window);
    with the share of the time spent on each, and how late each window's first call came;
(c) incremental poll after 1% of the applications moved stage → API calls and seconds.

The sandbox runs in its own process (so its JSON rendering does not share our GIL), the sync
runs here exactly as a worker runs it. Throwaway organizations are created and deleted.
Human lines first, then one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")
# The sandbox listens on a free loopback port: allowed as the sandbox's address is.
os.environ.setdefault("PROVIDER_CUSTOM_URLS", "1")
os.environ.setdefault("PROVIDER_URL_ALLOWLIST", "http://127.0.0.1:*")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from accounts.models import Organization  # noqa: E402
from accounts.services import organization_create  # noqa: E402
from candidates import services  # noqa: E402
from candidates.models import Application, Stage, StageTransition  # noqa: E402
from integrations.greenhouse.models import GreenhouseConnection  # noqa: E402
from integrations.models import ConnectionStatus, ProviderCall  # noqa: E402
from recruitflow.tenancy import scopes_disabled, tenant_scope  # noqa: E402

SANDBOX_SCRIPT = """
import sys, time
from integrations.sandbox.server import SandboxServer
srv = SandboxServer(port=0, n_applications=int(sys.argv[1]), greenhouse_rate_limit=None)
srv.start()
print(srv.url, flush=True)
while True:
    time.sleep(3600)
"""
RATE_LIMIT = 10
RATE_WINDOW_S = 10.0


class PacerLog(logging.Handler):
    """The Greenhouse pacer's waits, (start, end) in epoch seconds, from its log records."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.waits: list[tuple[float, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        wait = getattr(record, "pacing_wait_s", None)
        if wait is not None:
            self.waits.append((record.created, record.created + wait))


def merged(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def covered(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Seconds of [lo, hi) that the (merged) intervals cover."""
    return sum(max(0.0, min(hi, b) - max(lo, a)) for a, b in intervals)


def window_report(calls: list[tuple[float, float, int | None]], waits, first: float, end: float):
    """Each fixed window from the first call to the last answer: calls answered in it, and for
    one below the limit, what its time went to. ``calls``: (start, end, status)."""
    in_flight = merged([(s, e) for s, e, _ in calls])
    held = merged(waits)
    busy = merged(in_flight + held)
    first_w, last_w = int(first // RATE_WINDOW_S), int(end // RATE_WINDOW_S)
    unused = {"pacer": 0, "own_work": 0, "last_window": 0}
    seconds = {"calls": 0.0, "pacer": 0.0, "own_work": 0.0}
    lateness = []
    for w in range(first_w, last_w + 1):
        opens, closes = w * RATE_WINDOW_S, (w + 1) * RATE_WINDOW_S
        lo, hi = max(opens, first), min(closes, end)
        starts = sorted(s for s, _, status in calls if opens <= s < closes and status != 429)
        paced = covered(held, lo, hi)
        own = (hi - lo) - covered(busy, lo, hi)
        seconds["calls"] += covered(in_flight, lo, hi)
        seconds["pacer"] += paced
        seconds["own_work"] += own
        if starts and w != first_w:
            lateness.append(starts[0] - opens)
        missing = RATE_LIMIT - len(starts)
        if missing <= 0:
            continue
        if w == last_w:
            unused["last_window"] += missing
        elif paced >= own:
            unused["pacer"] += missing
        else:
            unused["own_work"] += missing
    return unused, seconds, lateness


def start_sandbox(n_applications: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SANDBOX_SCRIPT, str(n_applications)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        raise SystemExit("The sandbox did not start.")
    return process, url


def control(url: str, path: str, body: dict) -> dict:
    response = requests.post(f"{url}/greenhouse/_sandbox/api/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def make_org(owner, name: str, sandbox_url: str) -> Organization:
    org = organization_create(name=name, owner=owner)
    with tenant_scope(org):
        GreenhouseConnection.objects.create(
            organization=org,
            base_url=f"{sandbox_url}/greenhouse",
            api_version="v1",
            api_key="sandbox-harvest-key",
            status=ConnectionStatus.CONNECTED,
        )
    return org


def run_sync(org, *, full: bool = False):
    with tenant_scope(org):
        started = time.perf_counter()
        sync_run = services.sync_request(organization=org, full=full, enqueue=False)
        sync_run = services.sync_execute(sync_run=sync_run)
        elapsed = time.perf_counter() - started
    if sync_run.status != "succeeded":
        raise SystemExit(f"Sync failed: {sync_run.error}")
    return sync_run, elapsed


def move_one_percent(org, sandbox_url: str, n: int) -> int:
    """Move n active applications to another stage of their job, through the sandbox API."""
    with tenant_scope(org):
        stages_by_job: dict[int, list[str]] = {}
        for job_id, ext in Stage.objects.values_list("job_id", "external_id"):
            stages_by_job.setdefault(job_id, []).append(ext)
        rows = list(
            Application.objects.filter(status="active", stage__isnull=False)
            .order_by("external_id")
            .values_list("external_id", "job_id", "stage__external_id")[:n]
        )
    session = requests.Session()
    for app_id, job_id, stage in rows:
        target = next(s for s in stages_by_job[job_id] if s != stage)
        response = session.post(
            f"{sandbox_url}/greenhouse/_sandbox/api/applications/{app_id}/move",
            json={"stage_id": int(target)},
            timeout=30,
        )
        response.raise_for_status()
    return len(rows)


def delete_org(org) -> None:
    with scopes_disabled():
        org.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=50_000)
    parser.add_argument("--skip-rate-limited", action="store_true")
    parser.add_argument(
        "--limited-calls", type=int, default=200, help="calls (b) measures at least"
    )
    args = parser.parse_args()
    n = args.applications
    database = django.db.connection.vendor
    print(f"Sandbox Greenhouse with {n:,} applications; database: {database}")
    process, url = start_sandbox(n)
    owner = get_user_model().objects.create(username=f"bench-{time.time_ns()}@bench.invalid")
    orgs = []
    figures: dict = {"database": database, "applications": n}
    try:
        # (a) ---------------------------------------------------------------------------------
        org = make_org(owner, "Bench sync (no limit)", url)
        orgs.append(org)
        full, seconds = run_sync(org)
        rate = full.counts["applications"] / seconds
        print(
            f"(a) full sync, rate limit off: {full.counts['applications']:,} applications and "
            f"{full.counts['candidates']:,} candidates in {seconds:.2f} s = {rate:,.0f} "
            f"applications/s ({full.api_calls} API calls)"
        )
        figures["full_sync"] = {
            "seconds": round(seconds, 2),
            "applications_per_s": round(rate),
            "candidates": full.counts["candidates"],
            "api_calls": full.api_calls,
            "transitions": full.counts["transitions"],
        }

        # (c) ---------------------------------------------------------------------------------
        changed = move_one_percent(org, url, n // 100)
        poll, poll_seconds = run_sync(org)
        with tenant_scope(org):
            transitions = StageTransition.objects.count()
        budget = math.ceil(changed / 500) + 5
        print(
            f"(c) incremental poll after {changed} moves: {poll.api_calls} API calls "
            f"(target ≤ {budget}), {poll_seconds:.2f} s (target < 2 s), "
            f"{transitions} transitions"
        )
        figures["incremental_poll"] = {
            "changed": changed,
            "api_calls": poll.api_calls,
            "call_budget": budget,
            "seconds": round(poll_seconds, 2),
            "transitions": transitions,
        }

        # (b) ---------------------------------------------------------------------------------
        if not args.skip_rate_limited:
            control(url, "rate_limit", {"limit": RATE_LIMIT})
            limited_org = make_org(owner, "Bench sync (rate limited)", url)
            orgs.append(limited_org)
            pacer_log = PacerLog()
            pacer_logger = logging.getLogger("integrations.greenhouse.client")
            pacer_logger.addHandler(pacer_log)
            pacer_logger.setLevel(logging.DEBUG)
            pacer_logger.propagate = False
            time.sleep(RATE_WINDOW_S - time.time() % RATE_WINDOW_S)  # start as a window opens
            # Full syncs back to back until at least --limited-calls calls were made: over
            # that many windows a partly used first or last window moves the figure little.
            calls: list = []
            syncs = 0
            while len(calls) < args.limited_calls:
                limited, _ = run_sync(limited_org, full=True)
                syncs += 1
                with tenant_scope(limited_org):
                    calls.extend(
                        ProviderCall.objects.filter(sync_run_id=limited.pk)
                        .order_by("started_at")
                        .values_list("started_at", "duration_ms", "status")
                    )
            pacer_logger.removeHandler(pacer_log)
            timed = [(c[0].timestamp(), c[0].timestamp() + c[1] / 1000, c[2]) for c in calls]
            first = timed[0][0]
            end = max(c[1] for c in timed)
            span = end - first
            # Greenhouse's windows are fixed (aligned to multiples of the window): from the
            # first call's start to the last answer, the calls could use the limit in every
            # window they touched — the ceiling, exactly.
            windows = int(end // RATE_WINDOW_S) - int(first // RATE_WINDOW_S) + 1
            ceiling = RATE_LIMIT * windows
            too_many = sum(1 for c in calls if c[2] == 429)
            answered = len(calls) - too_many
            fraction = answered / ceiling
            unused, spent, lateness = window_report(timed, pacer_log.waits, first, end)
            last_w = int(end // RATE_WINDOW_S)
            before_last = sum(1 for s, _, st in timed if st != 429 and s < last_w * RATE_WINDOW_S)
            full_windows_fraction = (
                before_last / (RATE_LIMIT * (windows - 1)) if windows > 1 else fraction
            )
            late = sum(lateness) / len(lateness) if lateness else 0.0
            print(
                f"(b) {syncs} full syncs, limit {RATE_LIMIT} per {RATE_WINDOW_S:.0f} s: "
                f"{len(calls)} calls ({answered} answered, {too_many} × 429) over {span:.1f} s "
                f"touching {windows} windows; ceiling {ceiling} calls = {fraction:.1%} of it"
            )
            print(
                f"    {sum(unused.values())} slots unused: {unused['pacer']} in windows where "
                f"the pacer held calls back, {unused['own_work']} where the sync was busy with "
                f"its own work (no call in flight or held: writing pages, starting the next "
                f"sync), {unused['last_window']} in the last window (the run ended in it); "
                f"{full_windows_fraction:.1%} of the ceiling without the last window"
            )
            print(
                f"    time: calls in flight {spent['calls']:.1f} s, held by the pacer "
                f"{spent['pacer']:.1f} s, the sync's own work alone {spent['own_work']:.1f} s; "
                f"a window's first call came {late:.2f} s after it opened on average"
            )
            figures["rate_limited_sync"] = {
                "limit_per_window": RATE_LIMIT,
                "window_s": RATE_WINDOW_S,
                "syncs": syncs,
                "api_calls": len(calls),
                "answered": answered,
                "seconds": round(span, 2),
                "windows": windows,
                "ceiling": ceiling,
                "fraction_of_ceiling": round(fraction, 3),
                "http_429": too_many,
                "unused_slots": unused,
                "fraction_without_last_window": round(full_windows_fraction, 3),
                "seconds_calls_pacer_own_work": [round(v, 1) for v in spent.values()],
                "first_call_late_s": round(late, 2),
            }
            figures["floor"] = {"ceiling_calls": ceiling}
            figures["ratio"] = round(fraction, 3)
    finally:
        started = time.perf_counter()
        for org in orgs:
            delete_org(org)
        owner.delete()
        process.kill()
        print(f"Cleaned up in {time.perf_counter() - started:.1f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
