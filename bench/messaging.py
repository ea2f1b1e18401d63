"""Benchmark of sending: texts and e-mails through a real Celery worker to the sandbox providers.

    DATABASE_URL=postgres://... CELERY_BROKER_URL=redis://... \\
        .venv/bin/python bench/messaging.py [--texts 1000] [--emails 500] [--live 200]

Starts the sandbox (SandboxServer, in its own process so its HTTP handling does not share our
GIL) and real Celery workers (a subprocess on the Redis broker when CELERY_BROKER_URL is set,
else on a fresh filesystem:// broker folder), and creates a throwaway organization with the
sandbox Twilio and SendGrid connected and one candidate per message.

(a) Throughput of a campaign: N texts and M e-mails are queued through
    ``messaging.services.message_send`` the way bulk sends and journey steps queue them
    (inside ``messages_batched``: each message its own transaction, their deliveries handed
    over up to 25 to a task) with no worker running, then a worker starts and drains them:
    messages handed to the providers per second, from the sandbox's first acceptance to its
    last.
(a1) The same with one message per transaction and task (a send from the Inbox, the API): the
    worker is stopped, the backlog queued message by message, the worker started again.
(b) Latency: more messages are sent one after another while the worker runs: the time from
    the start of each message_send to the provider's acceptance, p50 and p99.

(c) Floor: the same mix of texts and e-mails handed to the same sandbox by the providers' SDK
    clients alone (the adapters over twilio's and sendgrid's SDKs, built once per process, no
    database, no queue) from as many processes as the worker has, measured twice: just before
    the campaign drains and at the end (a machine's speed drifts within a run); (a)'s rate as a
    fraction of their mean is the ratio (target ≥ 0.6), (a1)'s is ``ratio_single``.

Everything is counted from what the sandbox received (its own records and clock), not from our
database. Quiet hours are bypassed so the figures do not depend on the time of day. Runs on
Postgres (DATABASE_URL) or the local SQLite. Human lines first, then one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")
# A deployment's settings (DEBUG off), for this process and the workers it starts.
from bench.production import use_production_settings  # noqa: E402

use_production_settings()

# The worker and this process must share a broker no other worker reads (a `make run` worker
# polls var/broker): a private folder for the filesystem broker.
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "") or "filesystem://"
BROKER_DIR = None
if BROKER_URL.startswith("filesystem://"):
    BROKER_DIR = tempfile.mkdtemp(prefix="bench-messaging-broker-")
    os.environ["CELERY_BROKER_URL"] = "filesystem://"
    os.environ["CELERY_BROKER_DIR"] = BROKER_DIR
# Status callbacks of the sandbox go nowhere (refused at once): this run measures sending.
os.environ["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"
# The sandbox listens on a free loopback port: allowed as the sandbox's address is.
os.environ.setdefault("PROVIDER_CUSTOM_URLS", "1")
os.environ.setdefault("PROVIDER_URL_ALLOWLIST", "http://127.0.0.1:*")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, connections  # noqa: E402

from accounts.services import organization_create  # noqa: E402
from candidates.models import Candidate  # noqa: E402
from integrations.messaging import EmailMessage  # noqa: E402
from integrations.sendgrid.models import SendGridSettings  # noqa: E402
from integrations.twilio import sandbox as twilio_sandbox  # noqa: E402
from integrations.twilio.models import TwilioSettings  # noqa: E402
from messaging import selectors, services  # noqa: E402
from messaging.models import Channel, Message, MessageStatus  # noqa: E402
from recruitflow.tenancy import scopes_disabled, tenant_scope  # noqa: E402

SANDBOX_SCRIPT = """
import time
from integrations.sandbox.server import SandboxServer
srv = SandboxServer(port=0, n_candidates=1)
srv.start()
print(srv.url, flush=True)
while True:
    time.sleep(3600)
"""
SENDGRID_KEY = "SG.sandbox-key"
UNFINISHED = (MessageStatus.QUEUED, MessageStatus.SENDING)


def start_sandbox() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SANDBOX_SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        raise SystemExit("The sandbox did not start.")
    # No delivery callbacks during the run: nothing but the sends competes for the machine.
    requests.post(
        f"{url}/twilio/_sandbox/api/config",
        json={"sent_delay": 3600, "delivery_delay": 3600},
        timeout=10,
    ).raise_for_status()
    return process, url


def start_worker(pool: str, concurrency: int, prefetch: int | None = None) -> subprocess.Popen:
    prefetch_option = ["--prefetch-multiplier", str(prefetch)] if prefetch else []
    return subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "recruitflow", "worker",
            "--loglevel", "warning", "--pool", pool, "--concurrency", str(concurrency),
            "--without-gossip", "--without-mingle", "--without-heartbeat", *prefetch_option,
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,  # the banner; warnings and errors still reach stderr
    )  # fmt: skip


def make_org(owner, sandbox_url: str, n_candidates: int):
    org = organization_create(name=f"Bench messaging {time.time_ns()}", owner=owner)
    with tenant_scope(org):
        TwilioSettings.objects.create(
            organization=org,
            account_sid=twilio_sandbox.SANDBOX_ACCOUNT_SID,
            auth_token=twilio_sandbox.SANDBOX_AUTH_TOKEN,
            messaging_service_sid=twilio_sandbox.SANDBOX_SERVICE_SID,
            base_url=f"{sandbox_url}/twilio",
        )
        SendGridSettings.objects.create(
            organization=org,
            api_key=SENDGRID_KEY,
            from_email="talent@bench.test",
            from_name="Bench Talent",
            base_url=f"{sandbox_url}/sendgrid",
        )
        candidates = Candidate.objects.bulk_create(
            [
                Candidate(
                    organization=org,
                    provider="greenhouse",
                    external_id=f"bench-{n}",
                    first_name="Candidate",
                    last_name=str(n),
                    mobile_phone=f"+4477009{n:05d}",
                    primary_email=f"candidate{n}@bench.test",
                )
                for n in range(n_candidates)
            ]
        )
    return org, candidates


def sandbox_received(sandbox_url: str) -> dict[str, float]:
    """Provider message id → when the sandbox accepted it (its clock: time.time())."""
    received: dict[str, float] = {}
    texts = requests.get(f"{sandbox_url}/twilio/_sandbox/api/messages", timeout=60).json()
    for text in texts:
        if text.get("direction") == "outbound-api":
            received[text["sid"]] = text["sandbox"]["history"][0]["at"]
    mails = requests.get(f"{sandbox_url}/sendgrid/_sandbox/api/mails", timeout=60).json()
    for mail in mails:
        received[mail["id"]] = mail["received_at"]
    return received


def send(org, candidate, channel: str, key: str, source: str = "bench") -> tuple[int, float]:
    started = time.time()
    message = services.message_send(
        organization=org,
        candidate=candidate,
        channel=channel,
        subject="Your application" if channel == Channel.EMAIL else "",
        body=f"Hello {candidate.last_name}, thanks for applying. Can we call you this week?",
        source=source,
        idempotency_key=key,
        respect_quiet_hours=False,
    )
    return message.pk, started


def wait_for(org, sandbox_url: str, expected: int, timeout: float) -> dict[str, float]:
    """What the sandbox received, once it has ``expected`` messages and none of ours is still
    queued or sending (or at the timeout)."""
    deadline = time.monotonic() + timeout
    received: dict[str, float] = {}
    while time.monotonic() < deadline:
        # Our count first, the sandbox's whole list only once nothing is left: the list grows
        # to thousands and serving it every quarter second would load the machine being
        # measured (the floor's run reads it once, at its end).
        with tenant_scope(org):
            unfinished = Message.objects.filter(status__in=UNFINISHED).count()
        if unfinished == 0:
            received = sandbox_received(sandbox_url)
            if len(received) >= expected:
                break
        time.sleep(0.25)
    return received


def _floor_process(configs: dict, plan: list[tuple[str, int]], body: str) -> None:
    """One floor process: the providers' adapters built once, then each send of ``plan``."""
    sms = selectors._screen("twilio").adapter(configs["sms"], timeout=30, max_attempts=1)
    email = selectors._screen("sendgrid").adapter(configs["email"], timeout=30)
    for channel, n in plan:
        if channel == Channel.SMS:
            sms.send(f"+4477009{n:05d}", body, our_message_id=f"floor-{n}", status_callback=None)
        else:
            email.send(
                EmailMessage(
                    to_email=f"candidate{n}@bench.test",
                    to_name=f"Candidate {n}",
                    subject="Your application",
                    text=body,
                    html=f"<p>{body}</p>",
                    message_id=f"floor-{n}",
                )
            )


def floor(org, sandbox_url: str, n_texts: int, n_emails: int, processes: int) -> dict:
    """(c): the providers' SDK clients alone, ``processes`` processes, the same mix."""
    with tenant_scope(org):
        configs = {
            "sms": TwilioSettings.objects.get().provider_config(),
            "email": SendGridSettings.objects.get().provider_config(),
        }
    plan = sorted(
        [(Channel.SMS, i) for i in range(n_texts)] + [(Channel.EMAIL, i) for i in range(n_emails)],
        key=lambda item: item[1],
    )
    body = "Hello, thanks for applying. Can we call you this week?"
    before = set(sandbox_received(sandbox_url))
    connections.close_all()  # the children open none; no shared socket across fork
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=_floor_process, args=(configs, plan[k::processes], body))
        for k in range(processes)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
    accepted = sorted(at for pid, at in sandbox_received(sandbox_url).items() if pid not in before)
    seconds = accepted[-1] - accepted[0] if len(accepted) > 1 else float("nan")
    rate = (len(accepted) - 1) / seconds if len(accepted) > 1 else 0.0
    return {"sent": len(plan), "received_by_sandbox": len(accepted), "seconds": round(seconds, 3),
            "messages_per_s": round(rate, 1), "processes": processes}  # fmt: skip


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def queue(
    org, candidates, n_texts: int, n_emails: int, tag: str, *, together: bool = False
) -> dict[int, float]:
    """Queue the messages, texts and e-mails interleaved as journeys would; our id → when its
    message_send started. ``together``: as a campaign (bulk sends, journey steps) queues them,
    their deliveries handed over up to 25 to a task."""
    plan = sorted(
        [(Channel.SMS, i) for i in range(n_texts)] + [(Channel.EMAIL, i) for i in range(n_emails)],
        key=lambda item: item[1],
    )
    queued: dict[int, float] = {}
    with tenant_scope(org), services.messages_batched() if together else nullcontext():
        for channel, i in plan:
            pk, at = send(org, candidates[i], channel, f"{tag}-{channel}-{i}")
            queued[pk] = at
    return queued


def drain(
    org, sandbox_url: str, backlog: dict[int, float], before: int, started: float, timeout: float
) -> tuple[dict, dict[str, float]]:
    """Wait for the worker to hand ``backlog`` to the sandbox (which had ``before`` messages);
    its figures, and everything the sandbox received."""
    received = wait_for(org, sandbox_url, before + len(backlog), timeout)
    pairs = matched(org, backlog, received)
    accepted = sorted(at for _, at in pairs)
    seconds = accepted[-1] - accepted[0] if len(accepted) > 1 else float("nan")
    rate = (len(accepted) - 1) / seconds if len(accepted) > 1 else 0.0
    print(
        f"    the worker started handing them over after {accepted[0] - started:.1f} s; "
        f"the sandbox received {len(accepted):,} of {len(backlog):,} in {seconds:.2f} s = "
        f"{rate:,.1f} messages/s handed to the providers"
    )
    figures = {
        "queued": len(backlog),
        "received_by_sandbox": len(accepted),
        "seconds": round(seconds, 3),
        "messages_per_s": round(rate, 1),
        "statuses": statuses_of(org, backlog),
    }
    return figures, received


def matched(org, queued: dict[int, float], received: dict[str, float]) -> list[tuple[float, float]]:
    """(queued at, accepted at) of each of ``queued`` the sandbox received."""
    with tenant_scope(org):
        ours = dict(
            Message.objects.filter(pk__in=list(queued)).values_list("provider_message_id", "pk")
        )
    return [
        (queued[ours[provider_id]], accepted_at)
        for provider_id, accepted_at in received.items()
        if provider_id in ours
    ]


def statuses_of(org, queued) -> dict[str, int]:
    counts: dict[str, int] = {}
    with tenant_scope(org):
        for status in Message.objects.filter(pk__in=list(queued)).values_list("status", flat=True):
            counts[status] = counts.get(status, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--emails", type=int, default=500)
    parser.add_argument(
        "--live", type=int, default=200, help="messages sent while the worker runs (latency)"
    )
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--prefetch",
        type=int,
        default=None,
        help="the worker's prefetch multiplier (default: CELERY_WORKER_PREFETCH_MULTIPLIER)",
    )
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    n_texts, n_emails = args.texts, args.emails
    live_texts, live_emails = args.live - args.live // 3, args.live // 3
    database = connection.vendor
    broker = "redis" if BROKER_URL.startswith("redis") else "filesystem"
    print(
        f"{n_texts:,} texts and {n_emails:,} e-mails as a campaign, the same again one per task, "
        f"then {args.live:,} more live, through a Celery worker ({args.pool}, concurrency "
        f"{args.concurrency}); database: {database}, broker: {broker}"
    )
    # The database is used first: a database that is not there (not migrated, the wrong URL)
    # stops the bench before it starts a process.
    owner = get_user_model().objects.create(username=f"bench-{time.time_ns()}@bench.invalid")
    sandbox, sandbox_url = None, ""
    worker = None
    org = None
    figures: dict = {
        "database": database,
        "broker": broker,
        "pool": args.pool,
        "concurrency": args.concurrency,
        "prefetch": args.prefetch,
        "texts": n_texts,
        "emails": n_emails,
    }
    try:
        sandbox, sandbox_url = start_sandbox()
        org, candidates = make_org(owner, sandbox_url, max(n_texts, n_emails, args.live, 1))
        run = time.time_ns()

        # (a) Throughput of a campaign: a backlog queued with no worker running (its
        # deliveries handed over up to 25 to a task), then drained by one.
        started = time.time()
        backlog = queue(org, candidates, n_texts, n_emails, f"campaign-{run}", together=True)
        queue_seconds = time.time() - started
        print(
            f"(a) queued a campaign of {len(backlog):,} messages through message_send, 25 to a "
            f"delivery task, in {queue_seconds:.1f} s ({len(backlog) / queue_seconds:,.0f}/s)"
        )
        # (c), first of two: the floor just before the campaign drains (and again at the end;
        # the machine's speed drifts within a run, so the ratios are taken against their mean).
        floor_before = floor(org, sandbox_url, n_texts, n_emails, args.concurrency)
        print(f"(c) floor before the campaign: {floor_before['messages_per_s']:,.1f}/s")
        worker_started = time.time()
        worker = start_worker(args.pool, args.concurrency, args.prefetch)
        figures["throughput"], received = drain(
            org, sandbox_url, backlog, floor_before["received_by_sandbox"], worker_started,
            args.timeout,
        )  # fmt: skip
        rate = figures["throughput"]["messages_per_s"]

        # (a1) The same backlog queued one message per transaction and task.
        worker.terminate()
        worker.wait(timeout=60)
        worker = None
        before = len(received)
        started = time.time()
        singles = queue(org, candidates, n_texts, n_emails, f"single-{run}")
        queue_seconds = time.time() - started
        print(
            f"(a1) queued {len(singles):,} messages one per transaction and task in "
            f"{queue_seconds:.1f} s ({len(singles) / queue_seconds:,.0f}/s)"
        )
        worker_started = time.time()
        worker = start_worker(args.pool, args.concurrency, args.prefetch)
        figures["throughput_single"], received = drain(
            org, sandbox_url, singles, before, worker_started, args.timeout
        )
        rate_single = figures["throughput_single"]["messages_per_s"]

        # (b) Latency: messages sent one after another while the worker runs.
        before = len(received)
        started = time.time()
        live = queue(org, candidates, live_texts, live_emails, f"live-{run}")
        live_seconds = time.time() - started
        received = wait_for(org, sandbox_url, before + len(live), args.timeout)
        latencies = [
            accepted_at - queued_at for queued_at, accepted_at in matched(org, live, received)
        ]
        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        print(
            f"(b) {len(live):,} messages sent live at {len(live) / live_seconds:,.1f}/s: "
            f"message_send → provider accepted p50 {p50 * 1000:,.0f} ms, p99 "
            f"{p99 * 1000:,.0f} ms, max {max(latencies, default=0) * 1000:,.0f} ms "
            f"({len(latencies):,} received)"
        )
        figures["latency"] = {
            "sent": len(live),
            "received_by_sandbox": len(latencies),
            "send_rate_per_s": round(len(live) / live_seconds, 1),
            "p50_ms": round(p50 * 1000, 1),
            "p99_ms": round(p99 * 1000, 1),
            "max_ms": round(max(latencies, default=0) * 1000, 1),
            "statuses": statuses_of(org, live),
        }
        figures["messages_per_s"] = rate
        figures["single_messages_per_s"] = rate_single
        figures["latency_p50_ms"] = figures["latency"]["p50_ms"]
        figures["latency_p99_ms"] = figures["latency"]["p99_ms"]

        # (c) Floor: the providers' SDK clients alone, as many processes as the worker has.
        worker.terminate()  # the floor gets the machine the worker had
        worker.wait(timeout=60)
        worker = None
        floor_after = floor(org, sandbox_url, n_texts, n_emails, args.concurrency)
        runs = [floor_before["messages_per_s"], floor_after["messages_per_s"]]
        bare = round(sum(runs) / 2, 1)
        ratio = rate / bare if bare else float("nan")
        ratio_single = rate_single / bare if bare else float("nan")
        print(
            f"(c) floor: the providers' SDK clients alone from {args.concurrency} processes "
            f"handed {floor_after['received_by_sandbox']:,} over at {runs[0]:,.1f}/s before the "
            f"campaign and {runs[1]:,.1f}/s now, {bare:,.1f}/s on average; the campaign's rate "
            f"is {ratio:.0%} of it, one message per task {ratio_single:.0%}"
        )
        figures["floor"] = {"messages_per_s": bare, "runs": [floor_before, floor_after]}
        figures["floor_messages_per_s"] = bare
        figures["ratio"] = round(ratio, 3)
        figures["ratio_single"] = round(ratio_single, 3)
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        if sandbox is not None:
            sandbox.kill()
        cleanup = time.perf_counter()
        with scopes_disabled():
            if org is not None:
                org.delete()
            owner.delete()
        if BROKER_DIR:
            shutil.rmtree(BROKER_DIR, ignore_errors=True)
        print(f"Cleaned up in {time.perf_counter() - cleanup:.1f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
