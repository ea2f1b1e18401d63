"""The burst case of ``bench/webhooks.py --burst N``: N signed Greenhouse stage-change webhooks
posted at once to the ATS webhook endpoint, and the journey text each one starts.

A throwaway organization syncs the sandbox Greenhouse, has one active journey that texts every
candidate whose stage changes (sandbox Twilio, texting at any hour), and a real Celery worker
(a subprocess on the Redis broker, at ``--worker-nice``'s lower CPU priority, 10 by default,
as ``docker/compose.yaml`` gives workers a smaller CPU share than the web process). The N
webhooks are prepared first (each application moved on the sandbox, its payload signed), then
posted at once by ``--posters`` senders to the web process as production runs it
(``--server gunicorn``, the default: ``docker/gunicorn.conf.py`` over loopback, plain HTTP, each
sender a process of its own, ``bench/burst_poster.py``; ``--server client``: the Django test
client in threads of this process, which share one interpreter lock with each other and the
sandbox). Figures:
the endpoint's answer time p50/p99 (target p99 < 50 ms: it stores and queues, the work runs on
workers), each candidate's webhook → text accepted by the sandbox p50/p99, and when the last
candidate's text went out after the burst began (target < 10 s).

Floors, measured in the same run on the same sandbox: the endpoint's (with ``--server
gunicorn``: the same N POSTs from the same senders to the same web process, answered by a view
that only reads the body, ``/_bench/floor/webhook/`` of ``bench/floor/``, just before the
burst; its p99 ÷ the endpoint's p99 is ``ratio_endpoint_p99``), ``--floor-webhooks`` single webhooks
posted one at a time before the burst, each waited for (the webhook → text latency of
``engine.py`` (c): the path with nothing in line), and the N texts handed to the sandbox by the
Twilio SDK client alone from as many processes as the worker has (no database, no queue: the
least time N texts take). The ratios are floor ÷ figure. Imported by webhooks.py after Django
is set up with the sandbox's loopback address allowed."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path

import requests
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from django.urls import reverse

from accounts.services import organization_create
from bench import production
from candidates import services as candidate_services
from candidates.models import Application, StageTransition
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus, WebhookDelivery
from integrations.sandbox.greenhouse import greenhouse_json, greenhouse_signature
from integrations.sandbox.server import SandboxServer
from integrations.twilio.models import TwilioSettings
from integrations.twilio.sandbox import (
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_SERVICE_SID,
)
from journeys import services as journey_services
from journeys.models import JourneyStep, StepRun
from library.models import MessageTemplate
from messaging.models import Message, MessageStatus, MessagingPreferences
from messaging.selectors import _screen as screen_named
from recruitflow.celery import app
from recruitflow.tenancy import scopes_disabled, tenant_scope

ROOT = Path(__file__).resolve().parent.parent
FLOOR_URL = "/_bench/floor/webhook/"  # bench/floor/urls.py
WENT_OUT = [MessageStatus.SENT, MessageStatus.DELIVERED]
# The web process's production settings, over plain HTTP on loopback (as bench/pages.py).
PRODUCTION = {**production.PRODUCTION, "ALLOWED_HOSTS": "127.0.0.1"}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _organization(owner, box):
    org = organization_create(name=f"Bench webhook burst {uuid.uuid4().hex[:8]}", owner=owner)
    with tenant_scope(org):
        TwilioSettings.objects.create(
            organization=org,
            account_sid=SANDBOX_ACCOUNT_SID,
            auth_token=SANDBOX_AUTH_TOKEN,
            messaging_service_sid=SANDBOX_SERVICE_SID,
            base_url=f"{box.url}/twilio",
        )
        MessagingPreferences.objects.update_or_create(
            organization=org,
            defaults={"sms_window_start": clock(0, 0), "sms_window_end": clock(23, 59)},
        )
        connection = GreenhouseConnection.objects.create(
            organization=org,
            base_url=f"{box.url}/greenhouse",
            api_version="v1",
            api_key="sandbox-harvest-key",
            status=ConnectionStatus.CONNECTED,
        )
        run = candidate_services.sync_request(organization=org, enqueue=False)
        candidate_services.sync_execute(sync_run=run)
        template = MessageTemplate.objects.create(
            organization=org,
            name="Stage update",
            channel="sms",
            text_body="Hi {{ candidate.first_name }}, you are now at {{ stage.name }}.",
        )
        journey = journey_services.journey_create(organization=org, name="Every stage change")
        JourneyStep.objects.create(
            organization=org,
            version=journey.current_version,
            position=1,
            kind="send_sms",
            message_template=template,
        )
        journey_services.journey_activate(journey=journey)
    return org, connection


def _worker(concurrency: int, niceness: int) -> subprocess.Popen:
    """The Celery worker; with ``niceness`` > 0 at that lower CPU priority than the web
    process, as ``docker/compose.yaml`` gives workers less CPU weight than the web service."""
    lower = ["nice", "-n", str(niceness)] if niceness > 0 else []
    return subprocess.Popen(
        [*lower, sys.executable, "-m", "celery", "-A", "recruitflow", "worker", "--pool=prefork",
         f"--concurrency={concurrency}", "--loglevel=WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL,
    )  # fmt: skip


def _web() -> tuple[subprocess.Popen, str]:
    """gunicorn with the production configuration on a free loopback port, and its address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The product's settings and URLs plus the bench's floor view (bench/floor/).
    env = {**os.environ, **PRODUCTION, "DJANGO_SETTINGS_MODULE": "bench.floor.settings",
           "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_LOG_LEVEL": "warning", "GUNICORN_ACCESS_LOG": "", "GUNICORN_MAX_REQUESTS": "0"}  # fmt: skip
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "docker/gunicorn.conf.py"),
         "recruitflow.wsgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/healthz", timeout=30)
            return server, base
        except requests.RequestException:
            time.sleep(0.2)
    server.terminate()
    server.wait(timeout=60)
    raise SystemExit("gunicorn did not answer within 120 s.")


def _poster(base: str | None, url: str):
    """A function that posts one webhook and returns the answer's status code: over HTTP to
    ``base`` (one connection per thread), or through the Django test client in process."""
    local = threading.local()

    def post(body: bytes, headers: dict) -> int:
        if base is None:
            client = getattr(local, "client", None) or Client(SERVER_NAME="localhost")
            local.client = client
            return client.post(url, data=body, secure=True, content_type="application/json",
                               headers=headers).status_code  # fmt: skip
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        return session.post(f"{base}{url}", data=body, timeout=60,
                            headers={**headers, "Content-Type": "application/json"}).status_code  # fmt: skip

    return post


def _prepare(box, connection, org, n: int) -> list[tuple[str, bytes, dict]]:
    """(phone, body, headers) of n stage changes, each application moved on the sandbox."""
    with tenant_scope(org):
        reachable = list(
            Application.objects.filter(status="active", stage__isnull=False)
            .exclude(candidate__mobile_phone="")
            .values_list("external_id", "candidate__mobile_phone")
        )
    phones_seen: set[str] = set()
    prepared = []
    gh = box.greenhouse
    for external_id, phone in reachable:
        if phone in phones_seen:
            continue  # one candidate per number: their text is told apart by its number
        phones_seen.add(phone)
        row = gh.co.applications[int(external_id)]
        stage = next(s for s in gh.co.job(row["job_id"])["stage_ids"] if s != row["stage_id"])
        gh.move_application(row["id"], stage)
        body = greenhouse_json(
            {"action": "candidate_stage_change", "payload": {"application": gh.webhook_application(row)}}
        )  # fmt: skip
        headers = {
            "Greenhouse-Event-ID": str(uuid.uuid4()),
            "Signature": greenhouse_signature(connection.webhook_secret, body),
        }
        prepared.append((phone, body, headers))
        if len(prepared) == n:
            break
    return prepared


def _post_from_processes(
    base, url, prepared, posters, posted, answers, refused
) -> tuple[float, float]:
    """Post ``prepared`` from ``posters`` processes of their own (``bench/burst_poster.py``), all
    starting at the same moment. Returns that moment and how long the posting took; fills ``posted`` (phone → when its webhook
    was sent), ``answers`` (the endpoint's answer times, in the order of ``posted``) and
    ``refused`` (statuses other than 200)."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for phone, body, headers in prepared:
            line = {"key": phone, "path": url, "headers": headers, "body": body.decode()}
            handle.write(json.dumps(line) + "\n")
    last_answer = 0.0
    try:
        start_at = time.time() + 2  # the senders' interpreters start meanwhile
        senders = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "bench/burst_poster.py"),
                    base,
                    handle.name,
                    str(k),
                    str(posters),
                    repr(start_at),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for k in range(posters)
        ]
        for sender in senders:
            out, _ = sender.communicate(timeout=600)
            if sender.returncode != 0:
                raise SystemExit(f"A sender failed (exit {sender.returncode}).")
            for phone, (started, seconds, status) in json.loads(out).items():
                posted[phone] = started
                answers.append(seconds)
                last_answer = max(last_answer, started + seconds)
                if status != 200:
                    refused.append(status)
    finally:
        os.unlink(handle.name)
    return start_at, last_answer - start_at


def _sent_at(org, phones) -> dict[str, float]:
    """When each of ``phones`` had its text accepted by the sandbox (epoch seconds)."""
    with tenant_scope(org):
        return {
            phone: at.timestamp()
            for phone, at in Message.objects.filter(
                to_address__in=phones, status__in=WENT_OUT
            ).values_list("to_address", "sent_at")
        }


def _stages(org, began: float) -> dict[str, dict[str, float]]:
    """When the burst's work passed each stage, in seconds after it began (p50 and the last):
    deliveries applied, stage changes recorded, first steps finished, texts queued and
    handed to the sandbox."""
    since = datetime.fromtimestamp(began, tz=UTC)
    with tenant_scope(org):
        columns = {
            "applied": WebhookDelivery.objects.filter(received_at__gte=since).values_list(
                "processed_at", flat=True
            ),
            "recorded": StageTransition.objects.filter(observed_at__gte=since).values_list(
                "observed_at", flat=True
            ),
            "first_step_done": StepRun.objects.filter(started_at__gte=since).values_list(
                "finished_at", flat=True
            ),
            "text_queued": Message.objects.filter(created_at__gte=since).values_list(
                "created_at", flat=True
            ),
            "text_out": Message.objects.filter(created_at__gte=since).values_list(
                "sent_at", flat=True
            ),
        }
        found = {
            stage: sorted(at.timestamp() - began for at in rows if at is not None)
            for stage, rows in columns.items()
        }
    return {
        stage: {
            "n": len(times),
            "p50_s": round(percentile(times, 0.5), 2),
            "last_s": round(times[-1], 2),
        }  # fmt: skip
        for stage, times in found.items()
        if times
    }


def _single_latencies(post, org, items, timeout: float = 20) -> list[float]:
    """Webhook → text of ``items`` posted one at a time, each waited for: the floor."""
    latencies = []
    for phone, body, headers in items:
        started = time.time()
        status = post(body, headers)
        if status != 200:
            raise SystemExit(f"A single webhook was refused ({status}).")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = _sent_at(org, [phone])
            if sent:
                latencies.append(sent[phone] - started)
                break
            time.sleep(0.005)
        else:
            raise SystemExit(f"A single webhook's text did not reach the sandbox in {timeout} s.")
    return latencies


def _floor_texts(config: dict, numbers) -> None:
    sms = screen_named("twilio").adapter(config, timeout=30, max_attempts=1)
    for k in numbers:
        sms.send(f"+1212556{k % 10000:04d}", "Hi Sam, you are now at Onsite Interview.")


def _sdk_seconds(org, n: int, processes: int) -> float:
    """The time the Twilio SDK client alone, from ``processes`` processes, takes to hand n
    texts to the same sandbox (the adapter built once per process; no database, no queue)."""
    with tenant_scope(org):
        config = TwilioSettings.objects.get().provider_config()
    connections.close_all()
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=_floor_texts, args=(config, range(k, n, processes)))
        for k in range(processes)
    ]
    started = time.perf_counter()
    for child in children:
        child.start()
    for child in children:
        child.join()
    return time.perf_counter() - started


def burst(
    n: int,
    *,
    concurrency: int,
    posters: int,
    timeout: float,
    floor_webhooks: int = 10,
    server: str = "gunicorn",
    worker_nice: int = 0,
) -> dict:
    app.loader.import_default_modules()  # the intake queues its apply task by name
    owner = get_user_model().objects.create(username=f"bench-{time.time_ns()}@bench.invalid")
    org = None
    worker = web = None
    try:
        with SandboxServer(
            port=0, n_candidates=2 * (n + floor_webhooks) + 50, webhook_retry_scale=0
        ) as box:
            # No delivery callbacks: this run measures webhook → text handed to the provider.
            box.twilio.configure(sent_delay=3600, delivery_delay=3600)
            org, connection = _organization(owner, box)
            prepared = _prepare(box, connection, org, n + floor_webhooks)
            if len(prepared) < n + floor_webhooks:
                raise SystemExit(f"The sandbox has only {len(prepared)} candidates with phones.")
            singles, prepared = prepared[:floor_webhooks], prepared[floor_webhooks:]
            app.control.purge()
            worker = _worker(concurrency, worker_nice)
            time.sleep(5)  # the worker connects to Redis and the database
            url = reverse("webhooks:greenhouse", args=[connection.endpoint_token])
            base = None
            if server == "gunicorn":
                web, base = _web()
            post_one = _poster(base, url)
            posted: dict[str, float] = {}
            answers: list[float] = []
            refused: list[int] = []
            # The floor first: the same path, one webhook at a time (the first ones also warm
            # the worker's connections, as engine.py (c) drops its first five).
            single = _single_latencies(post_one, org, singles)
            single = single[min(3, len(single) - 1) :] if single else single

            def post(item) -> None:
                phone, body, headers = item
                started = time.time()
                status = post_one(body, headers)
                answers.append(time.time() - started)
                posted[phone] = started
                if status != 200:
                    refused.append(status)

            def post_all(items) -> None:
                try:
                    for item in items:
                        post(item)
                finally:
                    connections.close_all()

            endpoint_floor = None
            if base is not None:
                # The endpoint's floor: the same POSTs from the same senders to the same web
                # process, answered by a view that only reads the body (no signature, no
                # database, no queue), the worker idle meanwhile.
                floor_answers: list[float] = []
                floor_refused: list[int] = []
                _, floor_in = _post_from_processes(
                    base, FLOOR_URL, prepared, posters, {}, floor_answers, floor_refused
                )
                if floor_refused:
                    raise SystemExit(f"The endpoint's floor refused {len(floor_refused)} POSTs.")
                endpoint_floor = {
                    "posted_in_s": round(floor_in, 2),
                    "p50_ms": round(percentile(floor_answers, 0.5) * 1000, 1),
                    "p99_ms": round(percentile(floor_answers, 0.99) * 1000, 1),
                }
                began, posted_in = _post_from_processes(
                    base, url, prepared, posters, posted, answers, refused
                )
            else:
                began = time.time()
                shares = [prepared[k::posters] for k in range(posters)]
                with ThreadPoolExecutor(posters) as pool:
                    list(pool.map(post_all, shares))
                posted_in = time.time() - began
            phones = [p for p, _, _ in prepared]
            sent: dict[str, float] = {}
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and len(sent) < n:
                time.sleep(0.25)
                sent = _sent_at(org, phones)
            stages = _stages(org, began)
            worker.terminate()
            worker.wait(timeout=60)
            worker = None
            sdk_seconds = _sdk_seconds(org, n, concurrency)
    finally:
        for process in (worker, web):
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
        with scopes_disabled():
            if org is not None:
                org.delete()
            owner.delete()
    latencies = [sent[p] - posted[p] for p in sent if p in posted]
    last_out = max(sent.values()) - began if sent else float("nan")
    single_p50 = percentile(single, 0.5)
    p99 = percentile(latencies, 0.99)
    figures_p99_ms = round(percentile(answers, 0.99) * 1000, 1)
    figures = {
        "webhooks": n,
        "server": server,
        "posters": posters,
        "worker_concurrency": concurrency,
        "worker_nice": worker_nice,
        "refused": len(refused),
        "posted_in_s": round(posted_in, 2),
        "endpoint_p50_ms": round(percentile(answers, 0.5) * 1000, 1),
        "endpoint_p99_ms": figures_p99_ms,
        "texts_out": len(sent),
        "webhook_to_text_p50_s": round(percentile(latencies, 0.5), 3),
        "webhook_to_text_p99_s": round(percentile(latencies, 0.99), 3),
        "last_text_out_after_s": round(last_out, 2),
        "stages_after_burst_began": stages,
        "floor": {
            "endpoint": endpoint_floor,
            "single_webhooks": len(single),
            "single_webhook_to_text_p50_s": round(single_p50, 3),
            "single_webhook_to_text_p99_s": round(percentile(single, 0.99), 3),
            "sdk_texts": n,
            "sdk_processes": concurrency,
            "sdk_seconds": round(sdk_seconds, 3),
        },
        # floor ÷ figure: 1.0 would be the burst costing nothing beyond the floor.
        "ratio_endpoint_p99": (
            round(endpoint_floor["p99_ms"] / figures_p99_ms, 3) if endpoint_floor else None
        ),
        "ratio_webhook_to_text_p99": round(single_p50 / p99, 3) if latencies else 0.0,
        "ratio_last_text_out": round(sdk_seconds / last_out, 3) if sent else 0.0,
    }
    print(
        f"(burst) {n:,} signed stage-change webhooks posted at once by {posters} "
        f"{'processes' if server == 'gunicorn' else 'threads'} "
        f"({'gunicorn, production settings' if server == 'gunicorn' else 'test client'}) in "
        f"{posted_in:.1f} s ({len(refused)} refused): the endpoint answered p50 "
        f"{figures['endpoint_p50_ms']:.0f} ms, p99 {figures['endpoint_p99_ms']:.0f} ms "
        f"(target p99 < 50 ms); {len(sent):,} first texts out, webhook → text p50 "
        f"{figures['webhook_to_text_p50_s']:.2f} s, p99 {figures['webhook_to_text_p99_s']:.2f} s; "
        f"the last one {last_out:.1f} s after the burst began (target < 10 s)"
    )
    if endpoint_floor:
        print(
            f"    the endpoint's floor (the same {n:,} POSTs from the same senders, answered by "
            f"a view that only reads the body): p50 {endpoint_floor['p50_ms']:.0f} ms, p99 "
            f"{endpoint_floor['p99_ms']:.0f} ms, posted in {endpoint_floor['posted_in_s']:.1f} s "
            f"(ratio to the endpoint's p99 {figures['ratio_endpoint_p99']:.3f})"
        )
    print(
        f"    floors: one webhook at a time → text p50 {single_p50:.3f} s over {len(single)} "
        f"(ratio to the burst's p99 {figures['ratio_webhook_to_text_p99']:.3f}); the Twilio SDK "
        f"alone from {concurrency} processes handed {n:,} texts over in {sdk_seconds:.2f} s "
        f"(ratio to the last text {figures['ratio_last_text_out']:.3f})"
    )
    print(
        "    stages (p50 / last, seconds after the burst began): "
        + "; ".join(
            f"{stage.replace('_', ' ')} {times['p50_s']:.1f} / {times['last_s']:.1f}"
            for stage, times in stages.items()
        )
    )
    return figures
