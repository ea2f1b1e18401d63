"""Fault drills at size: journey runs drained by real Celery workers while things break.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recruitflow_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/13 python bench/faults.py

Four drills, each on a fresh organization of ``--runs`` candidates (default 1,000) whose journey
texts them when they enter a stage (see ``bench/drills.py``):
  kills       — ``--kills`` kill -9 of pool children and worker main processes (default 5);
  drops       — ``--drops`` terminations of every database connection the workers hold (5);
  provider    — the sandbox Twilio answers 500 before acting and replies after the worker gave
                up, for 3% of the texts each;
  outage      — the broker is down for ``--outage`` seconds (60) while the stage changes arrive.
For each: texts sent, duplicates, lost, stuck, the time the workers drained in and the time the
sweeps took to leave nothing stuck. The floor: the same drill with nothing broken ("calm", run
first); each drill's ratio is the calm drain time over its own (1.0: the faults cost nothing).
Human lines first, one JSON line last.

Needs Postgres (the database is created and migrated when missing) and a Redis broker.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")


def _require_services() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a Postgres database (it is created when missing).")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        raise SystemExit("Set CELERY_BROKER_URL to a Redis URL, e.g. redis://127.0.0.1:6379/13.")
    # The drills' deadlines must reach this process too (its settle loop reads the same rows).
    from bench.drills import DRILL_ENV

    for key, value in DRILL_ENV.items():
        os.environ.setdefault(key, value)


def _ensure_database() -> None:
    from urllib.parse import urlparse

    url = urlparse(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    exists = subprocess.run(
        ["psql", admin, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--drops", type=int, default=5)
    parser.add_argument("--outage", type=float, default=60.0, help="broker outage, seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=["kills", "drops", "provider", "outage"], nargs="*")
    args = parser.parse_args()
    _require_services()
    _ensure_database()

    import django

    django.setup()
    from bench.drills import Drill
    from integrations.sandbox.server import SandboxServer

    provider_faults = max(1, args.runs * 3 // 100)
    drills = {
        "calm": {},
        "kills": {"child_kills": (args.kills + 1) // 2, "main_kills": args.kills // 2},
        "drops": {"connection_drops": args.drops},
        "provider": {
            "provider_500s": provider_faults,
            "provider_late_replies": provider_faults,
        },
        "outage": {"broker_outage_seconds": args.outage},
    }
    figures: dict = {"runs_per_drill": args.runs, "workers": args.workers}
    log_dir = ROOT / "var" / "bench-faults"
    with SandboxServer(port=0, n_candidates=5, webhook_retry_scale=0) as box:
        from django.conf import settings

        settings.SANDBOX_URL = box.url
        os.environ["SANDBOX_URL"] = box.url  # the workers reach the sandbox Twilio too
        for seed, (name, faults) in enumerate(drills.items(), start=1):
            if args.only and name not in args.only and name != "calm":
                continue
            started = time.monotonic()
            drill = Drill(sandbox=box, runs=args.runs, seed=seed, label=f"bench-{name}")
            chaos = max(10.0, args.runs / 25)
            result = drill.run(
                workers=args.workers,
                chaos_seconds=chaos,
                settle_timeout=300,
                log_dir=log_dir,
                **faults,
            )
            row = result.as_dict()
            row["wall_s"] = round(time.monotonic() - started, 1)
            figures[name] = row
            print(
                f"{name:>9}: {row['sent']:,} texts for {row['runs']:,} runs — duplicates "
                f"{row['duplicates']}, lost {row['lost']}, stuck {row['stuck']} "
                f"{row['stuck_by_kind'] or ''}; drained in {row['drain_s']} s, nothing stuck "
                f"{row['recovery_s']} s later; faults {row['faults']}",
                flush=True,
            )
    calm_drain = figures["calm"]["drain_s"]
    figures["floor"] = {"what": "the drill with nothing broken", "drain_s": calm_drain}
    ratios = {
        name: round(calm_drain / figures[name]["drain_s"], 3)
        for name in drills
        if name != "calm" and name in figures and figures[name]["drain_s"]
    }
    figures["ratios"] = ratios
    figures["ratio"] = min(ratios.values()) if ratios else None
    print(
        "  floor: drained in "
        f"{calm_drain} s with nothing broken; that time as a share of each drill's drain: "
        + ", ".join(f"{name} {ratio:.0%}" for name, ratio in ratios.items()),
        flush=True,
    )
    figures["duplicates"] = sum(figures[n]["duplicates"] for n in drills if n in figures)
    figures["lost"] = sum(figures[n]["lost"] for n in drills if n in figures)
    figures["stuck"] = sum(figures[n]["stuck"] for n in drills if n in figures)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
