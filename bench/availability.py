"""Benchmark of the availability engine (scheduling/availability.py).

    .venv/bin/python bench/availability.py [--runs 300] [--blocks 500] [--seed 7]

The design target (design.md §12): 3 required + 3 optional members, 14 days, 500 busy blocks
each, ≤ 20 ms per computation. Busy blocks are seeded and shaped like a free/busy read over
several calendars: meetings of 15–50 minutes, half in the member's working day (the members
sit in five zones) and half anywhere, each on one to four of the member's calendars, in random
order. The template: Mon–Fri 09:00–17:30 Europe/London,
45-minute interviews every 15 minutes, 4 hours' notice, 10-minute buffers, at most 3 interviews
per interviewer per day with some days already full. Each run is one full computation from the
raw member calendars (aware datetimes) to Slot objects, as a page or the health check calls it.

Human lines first, then one JSON line of figures: wall-clock median and p99 in milliseconds,
and the CPU time of the same runs (on a machine shared with other work, wall-clock time also
counts the time the process waited for a core). The floor: the least any computation of these
calendars must do, measured in the same run: every member's busy blocks read once, sorted and
merged into free/busy per member (plain Python on the same datetimes, no zones, no template);
the ratio is the engine's median as a multiple of the floor's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduling.availability import (  # noqa: E402
    MemberCalendar,
    WeeklyWindows,
    available_slots,
)

TARGET_MS = 20.0
DAYS = 14
MEMBER_ZONES = [
    "Europe/London",
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "Asia/Kolkata",
    "America/Chicago",
]


def member_calendar(member_id: str, zone: str, blocks: int, now: datetime, rng: random.Random):
    """``blocks`` busy blocks as a free/busy read over several calendars returns them: a
    meeting shows on one to four of the member's calendars (work, team, room, personal)."""
    tz = ZoneInfo(zone)
    start_day = now.astimezone(tz).date()
    busy: list[tuple[datetime, datetime]] = []
    while len(busy) < blocks:
        day = start_day + timedelta(days=rng.randrange(DAYS + 1))
        # Half the meetings fall in the member's working day, the rest anywhere.
        first, last = (8 * 60, 18 * 60) if rng.random() < 0.5 else (0, 24 * 60)
        minute = rng.randrange(first, last, 5)
        length = rng.choice((15, 15, 25, 30, 50))
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        begin = midnight + timedelta(minutes=minute)  # elapsed time, so DST days stay valid
        block = (begin, begin + timedelta(minutes=length))
        busy.extend([block] * min(rng.choice((1, 2, 3, 4)), blocks - len(busy)))
    rng.shuffle(busy)
    booked = {
        start_day + timedelta(days=offset): rng.choice((0, 0, 1, 2, 3))
        for offset in range(DAYS + 1)
    }
    return MemberCalendar(member_id=member_id, busy=busy, booked_per_day=booked, timezone=zone)


def compute(required, optional, guardrails, now):
    return available_slots(
        required=required,
        optional=optional,
        guardrails=guardrails,
        duration=timedelta(minutes=45),
        interval=timedelta(minutes=15),
        minimum_notice=timedelta(hours=4),
        horizon=timedelta(days=DAYS),
        buffer_before=timedelta(minutes=10),
        buffer_after=timedelta(minutes=10),
        daily_limit=3,
        now=now,
    )


def floor_merge(members) -> int:
    """Every member's busy blocks sorted and merged (the floor): the number of merged blocks."""
    merged_total = 0
    for member in members:
        merged: list[list[datetime]] = []
        for start, end in sorted(member.busy):
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1][1] = end
            else:
                merged.append([start, end])
        merged_total += len(merged)
    return merged_total


def floor_measure(members, runs: int) -> list[float]:
    for _ in range(10):
        floor_merge(members)
    gc.collect()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        floor_merge(members)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def measure(required, optional, guardrails, now, runs: int):
    """Wall-clock and CPU milliseconds per run (CPU time shows what a busy machine hides)."""
    for _ in range(10):  # warm the zone caches and the interpreter
        compute(required, optional, guardrails, now)
    timings, cpu = [], []
    slots = 0
    gc.collect()
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = compute(required, optional, guardrails, now)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        slots = len(result)
    return timings, cpu, slots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--blocks", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    now = datetime(2026, 3, 23, 7, 30, tzinfo=UTC)  # a Monday; London changes clocks on the 29th
    guardrails = WeeklyWindows.every("Europe/London", clock(9), clock(17, 30))
    members = [
        member_calendar(f"member-{n + 1}", MEMBER_ZONES[n], args.blocks, now, rng) for n in range(6)
    ]
    required, optional = members[:3], members[3:]
    busy_total = sum(len(m.busy) for m in members)
    print(
        f"Availability: {len(required)} required + {len(optional)} optional members, "
        f"{args.blocks} busy blocks each ({busy_total:,} in all), {DAYS} days, "
        f"{args.runs} runs; Python {sys.version.split()[0]}"
    )

    load = os.getloadavg()[0]
    timings, cpu, slots = measure(required, optional, guardrails, now, args.runs)
    median, p99 = statistics.median(timings), percentile(timings, 0.99)
    verdict = "within" if p99 <= TARGET_MS else "OVER"
    print(
        f"  busy calendars: {slots} slots; median {median:.2f} ms, p99 {p99:.2f} ms, "
        f"max {max(timings):.2f} ms ({verdict} the {TARGET_MS:.0f} ms target); CPU time "
        f"median {statistics.median(cpu):.2f} ms, p99 {percentile(cpu, 0.99):.2f} ms; "
        f"load average {load:.1f} on {os.cpu_count()} cores"
    )

    empty = [MemberCalendar(m.member_id, timezone=m.timezone) for m in members]
    free_timings, _, free_slots = measure(empty[:3], empty[3:], guardrails, now, args.runs)
    print(
        f"  empty calendars (most slots to build): {free_slots} slots; median "
        f"{statistics.median(free_timings):.2f} ms, p99 {percentile(free_timings, 0.99):.2f} ms"
    )

    floor_timings = floor_measure(members, args.runs)
    floor_median = statistics.median(floor_timings)
    ratio = median / floor_median if floor_median else None
    print(
        f"  floor (the busy blocks sorted and merged per member, nothing else): median "
        f"{floor_median:.2f} ms, p99 {percentile(floor_timings, 0.99):.2f} ms; the engine's "
        f"median is {ratio:.1f}× the floor"
    )

    figures = {
        "benchmark": "availability",
        "required_members": len(required),
        "optional_members": len(optional),
        "busy_blocks_per_member": args.blocks,
        "days": DAYS,
        "runs": args.runs,
        "slots": slots,
        "median_ms": round(median, 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(max(timings), 3),
        "target_ms": TARGET_MS,
        "within_target": p99 <= TARGET_MS,
        "cpu_median_ms": round(statistics.median(cpu), 3),
        "cpu_p99_ms": round(percentile(cpu, 0.99), 3),
        "load_average": round(load, 2),
        "empty_calendars": {
            "slots": free_slots,
            "median_ms": round(statistics.median(free_timings), 3),
            "p99_ms": round(percentile(free_timings, 0.99), 3),
        },
        "floor": {
            "what": "busy blocks sorted and merged per member",
            "median_ms": round(floor_median, 3),
            "p99_ms": round(percentile(floor_timings, 0.99), 3),
        },
        "ratio": round(ratio, 2) if ratio else None,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
