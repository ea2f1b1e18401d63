"""Benchmark of ATS activity write-back: the outbox worker against the sandbox Greenhouse with
its write rate limit on.

    DATABASE_URL=postgres://... .venv/bin/python bench/writeback.py [--windows 3] [--faulty 200]

Starts the sandbox (SandboxServer in its own process, Greenhouse Harvest v1 limited to its
documented 50 requests per 10 s per key) and creates a throwaway organization connected to it,
with ATS activity on, an acting user picked by e-mail and the sandbox's candidates mirrored.
The outbox is drained by the beat task itself (``writeback.tasks.write_due``, called in this
process the way beat calls it, tick after tick).

(a) Throughput: ``windows × 50 + 1`` notes are queued, then written from the start of a
    fresh rate window. Writes per second are counted on the sandbox's clock from its own write
    log, from the first note to the last (the +1 is the first note of the next window, so the
    span covers whole windows), and given as a fraction of the documented ceiling (5/s): the
    ceiling is this bench's floor, the fraction its ratio.
(b) Faults: ``faulty`` more notes with 20 % of the note POSTs failing *after* the note landed
    (half a 500, half no answer before the client's timeout). Every outbox row must end up
    written, each note exactly once: duplicates (a marker found twice in the ATS) and lost
    writes (a row whose marker is not in the ATS) are counted from the sandbox's write log.

Human lines first, then one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.services import organization_create  # noqa: E402
from candidates.models import AtsUser, Candidate  # noqa: E402
from integrations.greenhouse.models import GreenhouseConnection  # noqa: E402
from integrations.models import ConnectionStatus  # noqa: E402
from recruitflow.tenancy import scopes_disabled, tenant_scope  # noqa: E402
from writeback import services, tasks  # noqa: E402
from writeback.models import ActivityWrite, WriteKind, WriteStatus  # noqa: E402

LIMIT_PER_WINDOW = 50  # Greenhouse v1's documented X-RateLimit-Limit, per 10 s
WINDOW_S = 10.0
CEILING = LIMIT_PER_WINDOW / WINDOW_S
HARVEST_KEY = ("sandbox-harvest-key", "")
CLIENT_TIMEOUT_S = 2.0

SANDBOX_SCRIPT = f"""
import time
from integrations.sandbox.server import SandboxServer
srv = SandboxServer(port=0, n_candidates=40, greenhouse_rate_limit={LIMIT_PER_WINDOW})
srv.start()
print(srv.url, flush=True)
while True:
    time.sleep(3600)
"""


def start_sandbox() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SANDBOX_SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    url = process.stdout.readline().strip() if process.stdout else ""
    if not url.startswith("http"):
        process.kill()
        raise SystemExit("The sandbox did not start.")
    return process, url


def make_org(owner, base: str):
    org = organization_create(name=f"Bench write-back {time.time_ns()}", owner=owner)
    users = requests.get(f"{base}/v1/users", auth=HARVEST_KEY, timeout=30).json()
    cands = requests.get(
        f"{base}/v1/candidates", params={"per_page": 100}, auth=HARVEST_KEY, timeout=30
    ).json()
    with tenant_scope(org):
        acting = AtsUser.objects.create(
            organization=org,
            provider="greenhouse",
            external_id=str(users[0]["id"]),
            name=users[0]["name"],
            email=users[0]["primary_email_address"],
        )
        candidates = Candidate.objects.bulk_create(
            [
                Candidate(
                    organization=org,
                    provider="greenhouse",
                    external_id=str(c["id"]),
                    first_name=c["first_name"],
                    last_name=c["last_name"],
                )
                for c in cands
            ]
        )
        GreenhouseConnection.objects.create(
            organization=org,
            base_url=base,
            api_version="v1",
            api_key=HARVEST_KEY[0],
            status=ConnectionStatus.CONNECTED,
        )
        services.rules_update(
            organization=org, acting_user_email=acting.email, enabled=True, text_batch_minutes=0
        )
    return org, candidates


def queue(org, candidates, n: int, tag: str) -> list[int]:
    now = timezone.now()
    ids = []
    with tenant_scope(org):
        for i in range(n):
            row, _ = services.write_enqueue(
                organization=org,
                candidate_id=candidates[i % len(candidates)].pk,
                kind=WriteKind.BOOKING,
                dedupe_key=f"bench:{tag}:{i}",
                occurred_at=now,
                subject="Interview booked",
                body=f"Interview booked — bench {tag} #{i}",
                visibility="private",
            )
            ids.append(row.pk)
    return ids


def drain(org, ids: list[int], timeout: float) -> dict[str, int]:
    """Run the beat task tick after tick until every row is settled (or the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks.write_due()
        with tenant_scope(org):
            open_rows = ActivityWrite.objects.filter(
                pk__in=ids, status__in=[WriteStatus.PENDING, WriteStatus.WRITING]
            ).count()
        if not open_rows:
            break
        time.sleep(0.2)
    with tenant_scope(org):
        rows = ActivityWrite.objects.filter(pk__in=ids)
        failed = rows.filter(status=WriteStatus.FAILED).values_list("reason", flat=True).first()
        if failed:
            print(f"    a write failed: {failed}")
        return dict(Counter(rows.values_list("status", flat=True)))


def note_writes(sandbox_url: str) -> list[dict]:
    writes = requests.get(f"{sandbox_url}/greenhouse/_sandbox/api/writes", timeout=60).json()
    return [w for w in writes if w["kind"] == "add_note"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=3, help="rate windows of notes in (a)")
    parser.add_argument("--faulty", type=int, default=200, help="notes written under faults")
    args = parser.parse_args()

    # The sandbox listens on loopback at a random port: allow it, as `make run` allows its own.
    settings.PROVIDER_CUSTOM_URLS = True
    settings.PROVIDER_URL_ALLOWLIST = ["http://127.0.0.1:*"]
    settings.WRITEBACK_RETRY_BASE_SECONDS = 1
    settings.WRITEBACK_HTTP_TIMEOUT_SECONDS = CLIENT_TIMEOUT_S
    process, sandbox_url = start_sandbox()
    base = f"{sandbox_url}/greenhouse"
    owner = get_user_model().objects.create(username=f"bench-wb-{time.time_ns()}@bench.invalid")
    org = None
    try:
        org, candidates = make_org(owner, base)
        print(f"Sandbox at {sandbox_url}; {len(candidates)} candidates mirrored.")

        # (a) throughput at the rate limit ------------------------------------------------------
        n = args.windows * LIMIT_PER_WINDOW + 1
        ids = queue(org, candidates, n, "rate")
        # Greenhouse's windows are fixed (the sandbox's start at multiples of 10 s): start
        # with a fresh one, so the span measures whole windows, not a half-spent first one.
        time.sleep(WINDOW_S - time.time() % WINDOW_S + 0.05)
        started = time.monotonic()
        statuses = drain(org, ids, timeout=args.windows * WINDOW_S * 4 + 60)
        wall = time.monotonic() - started
        landed = sorted(w["at"] for w in note_writes(sandbox_url))
        span = landed[-1] - landed[0] if len(landed) > 1 else float("nan")
        rate = (len(landed) - 1) / span if span and span > 0 else 0.0
        print(
            f"(a) {len(landed)} notes written in {span:.1f} s on the sandbox's clock "
            f"({wall:.1f} s wall): {rate:.2f} writes/s = {rate / CEILING:.1%} of the documented "
            f"{CEILING:.0f}/s ceiling; outbox: {statuses}"
        )

        # (b) 20 % of the note POSTs fail after the note landed -----------------------------
        before = len(note_writes(sandbox_url))
        faults = f"{sandbox_url}/greenhouse/_sandbox/api/faults"
        requests.post(faults, json={
            "path_prefix": "/v1/candidates/", "method": "POST", "status": 500, "after": True,
            "ratio": 0.1, "count": 100000,
        }, timeout=10).raise_for_status()  # fmt: skip
        requests.post(faults, json={  # of the other 90 %, 1/9 more: 10 % of all
            "path_prefix": "/v1/candidates/", "method": "POST", "status": 500, "after": True,
            "ratio": 1 / 9, "count": 100000, "delay": CLIENT_TIMEOUT_S + 1,
        }, timeout=10).raise_for_status()  # fmt: skip
        ids_b = queue(org, candidates, args.faulty, "faults")
        started = time.monotonic()
        statuses_b = drain(org, ids_b, timeout=900)
        wall_b = time.monotonic() - started
        requests.delete(faults, timeout=10)
        with tenant_scope(org):
            markers = dict(ActivityWrite.objects.filter(pk__in=ids_b).values_list("pk", "marker"))
            ambiguous_rows = ActivityWrite.objects.filter(pk__in=ids_b, attempts__gt=1).count()
        bodies = [w["args"]["body"] for w in note_writes(sandbox_url)[before:]]
        found = Counter()
        for body in bodies:
            for pk, marker in markers.items():
                if marker in body:
                    found[pk] += 1
        duplicates = sum(count - 1 for count in found.values() if count > 1)
        lost = sum(1 for pk in markers if found[pk] == 0)
        print(
            f"(b) {args.faulty} notes with 20 % of POSTs failing after landing: "
            f"{len(bodies)} notes in the ATS, {ambiguous_rows} rows needed more than one try, "
            f"duplicates {duplicates}, lost {lost}; outbox: {statuses_b} ({wall_b:.1f} s)"
        )
        print(
            json.dumps(
                {
                    "bench": "writeback",
                    "ceiling_writes_per_s": CEILING,
                    "writes_per_s": round(rate, 3),
                    "fraction_of_ceiling": round(rate / CEILING, 4),
                    "floor": {"what": "the documented write ceiling", "writes_per_s": CEILING},
                    "ratio": round(rate / CEILING, 4),
                    "notes_rate_phase": len(landed),
                    "faulty_notes": args.faulty,
                    "fault_share": 0.2,
                    "retried_rows": ambiguous_rows,
                    "duplicates": duplicates,
                    "lost": lost,
                    "written_after_faults": statuses_b.get(WriteStatus.WRITTEN, 0),
                }
            )
        )
    finally:
        process.kill()
        with scopes_disabled():
            if org is not None:
                org.delete()
            owner.delete()


if __name__ == "__main__":
    main()
