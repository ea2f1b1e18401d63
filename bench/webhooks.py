"""Benchmark of partner webhooks.

    DATABASE_URL=postgres://.../rf_partners python bench/webhooks.py [--events 10000]

(a) throughput: ``--events`` stage transitions written at once by a throwaway organization with
    3 subscriptions (one "deliver in order") on a local receiver over loopback; the collector
    (the beat task's body, in a loop) turns them into events and deliveries, ``--workers``
    processes × ``--threads`` threads claim and send them → deliveries per second (first event
    written → last delivery received) and event → delivered p50/p99 (event row written →
    receiver got it; under a burst, mostly the time waiting in line).
(c) steady: ``--steady-rate`` transitions per second for ``--steady-seconds`` → event →
    delivered p50/p99 when nothing waits in line.
(b) failures: the receiver fails ``--fail-ratio`` of requests (500) for ``--fail-seconds``
    while ``--fail-events`` transitions arrive at a steady rate; the backoff is shortened for
    the bench (``PARTNER_WEBHOOK_RETRY_BASE_SECONDS``, ``..._MAX_SECONDS``). Afterwards, until
    everything is delivered: deliveries lost (an event a subscription never got with a 2xx),
    duplicates beyond the retries the receiver failed (a second 2xx for one subscription and
    webhook-id), and deliveries out of order on the ordered subscription.

Floor of (a), measured first in the same run: as many POSTs of an event-sized signed body to a
receiver of its own, from the same processes × threads with the same HTTP session, no database;
(a)'s deliveries per second as a fraction of it is the ratio.

``--burst N`` runs only the burst case instead (``bench/webhook_burst.py``): N signed ATS
stage-change webhooks posted at once, the endpoint's answer time and each candidate's journey
text handed to the sandbox Twilio by a real Celery worker (Redis broker).

Human lines first, then one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")
# A deployment's settings (DEBUG off), for this process and the workers it starts.
from bench.production import use_production_settings  # noqa: E402

use_production_settings()
# Retries in seconds, not minutes: the failure phase lasts a minute, not three days.
os.environ.setdefault("PARTNER_WEBHOOK_RETRY_BASE_SECONDS", "0.25")
os.environ.setdefault("PARTNER_WEBHOOK_RETRY_MAX_SECONDS", "4")
os.environ.setdefault("PARTNER_WEBHOOK_HTTP_HOSTS", "127.0.0.1")

if "--burst" in sys.argv:
    # The burst posts ATS webhooks; the sandbox on a free loopback port is allowed as the
    # sandbox's address is, and its delivery callbacks go nowhere.
    os.environ.setdefault("PROVIDER_CUSTOM_URLS", "1")
    os.environ.setdefault("PROVIDER_URL_ALLOWLIST", "http://127.0.0.1:*")
    os.environ["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Organization  # noqa: E402
from accounts.services import organization_create  # noqa: E402
from candidates.models import Application, Candidate, Job, Stage, StageTransition  # noqa: E402
from partners import collector, delivery, services  # noqa: E402
from partners.models import Delivery, DeliveryStatus, Event  # noqa: E402
from recruitflow.tenancy import scopes_disabled, tenant_scope  # noqa: E402
from tests.partners.receiver import Receiver  # noqa: E402

STAGES = ["Application Review", "Phone Screen", "Onsite", "Offer"]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Mirror:
    """A throwaway organization with one job, its stages and some applications."""

    def __init__(self, n_applications: int = 200):
        tag = uuid.uuid4().hex[:8]
        user = get_user_model().objects.create_user(
            username=f"bench-{tag}@webhooks.test", email=f"bench-{tag}@webhooks.test"
        )
        self.organization = organization_create(name=f"Webhook bench {tag}", owner=user)
        self.user = user
        org = self.organization
        with tenant_scope(org):
            self.job = Job.objects.create(
                organization=org, provider="greenhouse", external_id="j1", name="Sales Rep"
            )
            self.stages = [
                Stage.objects.create(
                    organization=org,
                    provider="greenhouse",
                    external_id=f"s{i}",
                    job=self.job,
                    name=name,
                    position=i,
                )
                for i, name in enumerate(STAGES)
            ]
            candidates = Candidate.objects.bulk_create(
                Candidate(
                    organization=org,
                    provider="greenhouse",
                    external_id=f"c{i}",
                    first_name="Bench",
                    last_name=str(i),
                )
                for i in range(n_applications)
            )
            self.applications = Application.objects.bulk_create(
                Application(
                    organization=org,
                    provider="greenhouse",
                    external_id=f"a{i}",
                    candidate=c,
                    job=self.job,
                    stage=self.stages[0],
                    stage_name=STAGES[0],
                )
                for i, c in enumerate(candidates)
            )
        self.sequence = 0

    def transitions(self, n: int) -> None:
        now = timezone.now()
        rows = []
        for _ in range(n):
            i = self.sequence
            self.sequence += 1
            application = self.applications[i % len(self.applications)]
            a, b = self.stages[i % 4], self.stages[(i + 1) % 4]
            rows.append(
                StageTransition(
                    organization=self.organization,
                    provider="greenhouse",
                    application=application,
                    candidate_id=application.candidate_id,
                    job=self.job,
                    from_stage=a,
                    to_stage=b,
                    from_stage_name=a.name,
                    to_stage_name=f"{b.name} #{i}",
                    from_status="active",
                    to_status="active",
                    observed_at=now,
                    source="webhook",
                )
            )
        with tenant_scope(self.organization):
            StageTransition.objects.bulk_create(rows, batch_size=2000)

    def delete(self) -> None:
        with scopes_disabled():
            Organization.objects.filter(pk=self.organization.pk).delete()
            self.user.delete()


def delivery_worker(stop, threads: int) -> None:
    """One process (a Celery worker's pool): threads claiming and sending until told to stop."""
    connections.close_all()

    def loop():
        http = delivery.transport.session()
        while not stop.is_set():
            ids = delivery.deliveries_claim(limit=20)
            if not ids:
                time.sleep(0.05)
                continue
            delivery.deliveries_send(delivery_ids=ids, http=http)
        connections.close_all()

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def floor_poster(url: str, count: int, threads: int, body: bytes) -> None:
    """One process of the floor: ``threads`` threads posting ``count`` bodies between them."""
    per_thread = [count // threads + (1 if n < count % threads else 0) for n in range(threads)]

    def loop(n: int) -> None:
        http = delivery.transport.session()
        headers = {"Content-Type": "application/json", "webhook-id": "floor"}
        for _ in range(n):
            http.post(url, data=body, headers=headers, timeout=10).raise_for_status()

    pool = [threading.Thread(target=loop, args=(n,)) for n in per_thread]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def floor_rate(ctx, deliveries: int, workers: int, threads: int) -> float:
    """POSTs per second to a bare receiver from ``workers`` processes × ``threads`` threads."""
    receiver = Receiver(status=204).start()
    body = json.dumps(
        {"type": "application.stage_changed", "data": {"id": 1, "stage": "Onsite" * 20}}
    ).encode()
    share = [deliveries // workers + (1 if n < deliveries % workers else 0) for n in range(workers)]
    try:
        started = time.perf_counter()
        posters = [
            ctx.Process(target=floor_poster, args=(f"{receiver.url}/floor", n, threads, body))
            for n in share
        ]
        for p in posters:
            p.start()
        for p in posters:
            p.join()
        return deliveries / (time.perf_counter() - started)
    finally:
        receiver.stop()


def collector_loop(organization, stop: threading.Event) -> None:
    while not stop.is_set():
        with tenant_scope(organization):
            collector.collect(organization=organization)
        time.sleep(0.2)
    connections.close_all()


def expected_pairs(organization, subscriptions) -> dict[int, list[str]]:
    with tenant_scope(organization):
        events = list(Event.objects.order_by("pk").values_list("event_id", "type"))
    return {s.pk: [e for e, t in events if t in s.event_types] for s in subscriptions}


def undelivered(organization) -> int:
    with tenant_scope(organization):
        return Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).count()


def wait_until_delivered(organization, expected_total: int, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with tenant_scope(organization):
            done = Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count()
        if done >= expected_total:
            return True
        time.sleep(0.5)
    return False


class _PollingWorkers:
    """The bench's workers poll for due deliveries, so the "deliver now" task the collector
    queues after commit is not sent to a broker."""

    def delay(self, *args, **kwargs) -> None:
        return None


def run(args) -> dict:
    collector.task_named = lambda name: _PollingWorkers()
    services.task_named = lambda name: _PollingWorkers()
    ctx = multiprocessing.get_context("fork")
    connections.close_all()
    floor = floor_rate(ctx, args.events * 3, args.workers, args.threads)
    print(
        f"floor: {args.events * 3:,} POSTs to a bare receiver from {args.workers} processes × "
        f"{args.threads} threads at {floor:,.0f}/s",
        flush=True,
    )
    receiver = Receiver(status=204).start()
    mirror = Mirror()
    org = mirror.organization
    figures: dict = {
        "events": args.events,
        "subscriptions": 3,
        "floor": {"posts_per_s": round(floor, 1), "what": "POSTs to a bare receiver"},
    }
    try:
        with tenant_scope(org):
            subscriptions = [
                services.subscription_create(
                    organization=org,
                    url=f"{receiver.url}/{n}",
                    event_types=["candidate.stage_changed"],
                    ordered=(n == 3),
                )
                for n in (1, 2, 3)
            ]
        services.cursors_start(organization=org)
        by_path = {f"/hook/{n}": s.pk for n, s in zip((1, 2, 3), subscriptions, strict=True)}

        stop_workers = ctx.Event()
        connections.close_all()
        workers = [
            ctx.Process(target=delivery_worker, args=(stop_workers, args.threads))
            for _ in range(args.workers)
        ]
        for w in workers:
            w.start()
        stop_collector = threading.Event()
        collecting = threading.Thread(target=collector_loop, args=(org, stop_collector))

        # (a) throughput
        print(f"(a) {args.events} transitions → 3 subscriptions …", flush=True)
        started = time.time()
        mirror.transitions(args.events)
        collecting.start()
        ok = wait_until_delivered(org, args.events * 3, timeout=args.timeout)
        with tenant_scope(org):
            created = dict(Event.objects.values_list("event_id", "created_at"))
        got = receiver.delivered()
        first_seen: dict[tuple[int, str], float] = {}
        for r in got:
            key = (by_path[r.path], r.headers["webhook-id"])
            first_seen.setdefault(key, r.at)
        latencies = [at - created[eid].timestamp() for (_, eid), at in first_seen.items()]
        first_event = min(c.timestamp() for c in created.values())
        last = max(first_seen.values())
        figures.update(
            throughput_complete=ok,
            deliveries=len(first_seen),
            deliveries_per_s=round(len(first_seen) / (last - first_event), 1),
            event_to_delivered_p50_s=round(percentile(latencies, 0.5), 3),
            event_to_delivered_p99_s=round(percentile(latencies, 0.99), 3),
            transitions_written_to_all_delivered_s=round(last - started, 2),
        )
        figures["ratio"] = round(figures["deliveries_per_s"] / floor, 3)
        print(
            f"    {figures['deliveries']} deliveries, {figures['deliveries_per_s']}/s; "
            f"event → delivered p50 {figures['event_to_delivered_p50_s']} s, "
            f"p99 {figures['event_to_delivered_p99_s']} s; {figures['ratio']:.0%} of the floor",
            flush=True,
        )

        # (c) steady: events arriving at a rate the workers keep up with
        print(f"(c) {args.steady_rate} transitions/s for {args.steady_seconds} s …", flush=True)
        with tenant_scope(org):
            known = set(Event.objects.values_list("event_id", flat=True))
        t0 = time.time()
        while time.time() - t0 < args.steady_seconds:
            mirror.transitions(max(1, args.steady_rate // 4))
            time.sleep(0.25)
        steady_total = mirror.sequence
        wait_until_delivered(org, steady_total * 3, timeout=args.timeout)
        with tenant_scope(org):
            created = dict(Event.objects.values_list("event_id", "created_at"))
        steady_seen: dict[tuple[int, str], float] = {}
        for r in receiver.delivered():
            eid = r.headers["webhook-id"]
            if eid not in known:
                steady_seen.setdefault((by_path[r.path], eid), r.at)
        steady = [at - created[eid].timestamp() for (_, eid), at in steady_seen.items()]
        figures.update(
            steady_events=steady_total - args.events,
            steady_event_to_delivered_p50_s=round(percentile(steady, 0.5), 3),
            steady_event_to_delivered_p99_s=round(percentile(steady, 0.99), 3),
        )
        print(
            f"    {len(steady_seen)} deliveries; event → delivered p50 "
            f"{figures['steady_event_to_delivered_p50_s']} s, "
            f"p99 {figures['steady_event_to_delivered_p99_s']} s",
            flush=True,
        )
        base_events = steady_total

        # (b) failures
        print(
            f"(b) receiver failing {int(args.fail_ratio * 100)}% for {args.fail_seconds} s "
            f"while {args.fail_events} more transitions arrive …",
            flush=True,
        )
        before = len(receiver.requests)
        receiver.fail_ratio = args.fail_ratio
        per_tick = max(1, args.fail_events // (args.fail_seconds * 4))
        t0 = time.time()
        written = 0
        while time.time() - t0 < args.fail_seconds:
            if written < args.fail_events:
                n = min(per_tick, args.fail_events - written)
                mirror.transitions(n)
                written += n
            time.sleep(0.25)
        if written < args.fail_events:
            mirror.transitions(args.fail_events - written)
        receiver.fail_ratio = 0.0
        complete = wait_until_delivered(org, (base_events + args.fail_events) * 3, args.timeout)
        stop_collector.set()
        collecting.join()
        stop_workers.set()
        for w in workers:
            w.join()

        requests = receiver.requests[before:]
        expected = expected_pairs(org, subscriptions)
        ok_counts: Counter = Counter()
        order: dict[int, list[str]] = defaultdict(list)
        for r in receiver.requests:
            if 200 <= r.status < 300:
                key = (by_path[r.path], r.headers["webhook-id"])
                ok_counts[key] += 1
                order[key[0]].append(key[1])
        lost = sum(1 for sub, ids in expected.items() for e in ids if ok_counts[(sub, e)] == 0)
        duplicates = sum(c - 1 for c in ok_counts.values() if c > 1)
        ordered_sub = subscriptions[2].pk
        delivered_order = list(dict.fromkeys(order[ordered_sub]))
        out_of_order = sum(
            1 for a, b in zip(delivered_order, expected[ordered_sub], strict=False) if a != b
        )
        failed_requests = sum(1 for r in requests if r.status >= 500)
        figures.update(
            failure_phase_complete=complete,
            failure_events=args.fail_events,
            failure_ratio=args.fail_ratio,
            failure_seconds=args.fail_seconds,
            failed_requests=failed_requests,
            lost=lost,
            duplicates_beyond_retries=duplicates,
            ordered_out_of_order=out_of_order,
            undelivered_left=undelivered(org),
        )
        print(
            f"    {failed_requests} requests failed by the receiver and retried; lost {lost}, "
            f"duplicates {duplicates}, out of order {out_of_order}",
            flush=True,
        )
    finally:
        receiver.stop()
        mirror.delete()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--fail-events", type=int, default=3_000)
    parser.add_argument("--fail-ratio", type=float, default=0.3)
    parser.add_argument("--fail-seconds", type=int, default=60)
    parser.add_argument("--steady-rate", type=int, default=20)
    parser.add_argument("--steady-seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--burst", type=int, default=0, help="instead: N signed ATS webhooks posted at once"
    )
    parser.add_argument(
        "--posters",
        type=int,
        default=16,
        help="senders posting the burst (processes; threads with --server client)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="the burst's worker")
    parser.add_argument(
        "--floor-webhooks", type=int, default=10, help="the burst's floor: single webhooks"
    )
    parser.add_argument(
        "--server",
        choices=["gunicorn", "client"],
        default="gunicorn",
        help="the burst posts to gunicorn (production settings) or the in-process test client",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="the burst's worker runs at this lower CPU priority (0: the web process's)",
    )
    args = parser.parse_args()
    if args.burst:
        from webhook_burst import burst  # bench/ is the script's folder, not a package

        figures = {"case": "burst", **burst(args.burst, concurrency=args.concurrency,
                                             posters=args.posters, timeout=args.timeout,
                                             floor_webhooks=args.floor_webhooks,
                                             server=args.server,
                                             worker_nice=args.worker_nice)}  # fmt: skip
        print(json.dumps({"bench": "webhooks", **figures}))
        return
    figures = run(args)
    print(json.dumps({"bench": "webhooks", **figures}))


if __name__ == "__main__":
    main()
