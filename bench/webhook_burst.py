"""The burst case of ``bench/webhooks.py --burst N``: N signed Greenhouse stage-change webhooks
posted at once to the ATS webhook endpoint, and the journey text each one starts.

A throwaway organization syncs the sandbox Greenhouse, has one active journey that texts every
candidate whose stage changes (sandbox Twilio, texting at any hour), and a real Celery worker
(a subprocess on the Redis broker). The N webhooks are prepared first (each application moved
on the sandbox, its payload signed), then posted by ``--posters`` threads at once. Figures:
the endpoint's answer time p50/p99 (target p99 < 50 ms: it stores and queues, the work runs on
workers), each candidate's webhook → text accepted by the sandbox p50/p99, and when the last
candidate's text went out after the burst began (target < 10 s). Imported by webhooks.py after
Django is set up with the sandbox's loopback address allowed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import time as clock
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from django.urls import reverse

from accounts.services import organization_create
from candidates import services as candidate_services
from candidates.models import Application
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.greenhouse import greenhouse_json, greenhouse_signature
from integrations.sandbox.server import SandboxServer
from integrations.twilio.models import TwilioSettings
from integrations.twilio.sandbox import (
    SANDBOX_ACCOUNT_SID,
    SANDBOX_AUTH_TOKEN,
    SANDBOX_SERVICE_SID,
)
from journeys import services as journey_services
from journeys.models import JourneyStep
from library.models import MessageTemplate
from messaging.models import Message, MessageStatus, MessagingPreferences
from recruitflow.celery import app
from recruitflow.tenancy import scopes_disabled, tenant_scope

ROOT = Path(__file__).resolve().parent.parent
WENT_OUT = [MessageStatus.SENT, MessageStatus.DELIVERED]


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


def _worker(concurrency: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "recruitflow", "worker", "--pool=prefork",
         f"--concurrency={concurrency}", "--loglevel=WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL,
    )  # fmt: skip


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


def burst(n: int, *, concurrency: int, posters: int, timeout: float) -> dict:
    app.loader.import_default_modules()  # the intake queues its apply task by name
    owner = get_user_model().objects.create(username=f"bench-{time.time_ns()}@bench.invalid")
    org = None
    worker = None
    try:
        with SandboxServer(port=0, n_candidates=2 * n + 50, webhook_retry_scale=0) as box:
            # No delivery callbacks: this run measures webhook → text handed to the provider.
            box.twilio.configure(sent_delay=3600, delivery_delay=3600)
            org, connection = _organization(owner, box)
            prepared = _prepare(box, connection, org, n)
            if len(prepared) < n:
                raise SystemExit(f"The sandbox has only {len(prepared)} candidates with phones.")
            app.control.purge()
            worker = _worker(concurrency)
            time.sleep(5)  # the worker connects to Redis and the database
            url = reverse("webhooks:greenhouse", args=[connection.endpoint_token])
            local = threading.local()
            posted: dict[str, float] = {}
            answers: list[float] = []
            refused: list[int] = []

            def post(item) -> None:
                phone, body, headers = item
                client = getattr(local, "client", None) or Client(SERVER_NAME="localhost")
                local.client = client
                started = time.time()
                response = client.post(url, data=body, secure=True,
                                       content_type="application/json", headers=headers)  # fmt: skip
                answers.append(time.time() - started)
                posted[phone] = started
                if response.status_code != 200:
                    refused.append(response.status_code)

            def post_all(items) -> None:
                try:
                    for item in items:
                        post(item)
                finally:
                    connections.close_all()

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
                with tenant_scope(org):
                    sent = {
                        phone: at.timestamp()
                        for phone, at in Message.objects.filter(
                            to_address__in=phones, status__in=WENT_OUT
                        ).values_list("to_address", "sent_at")
                    }
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
        with scopes_disabled():
            if org is not None:
                org.delete()
            owner.delete()
    latencies = [sent[p] - posted[p] for p in sent if p in posted]
    last_out = max(sent.values()) - began if sent else float("nan")
    figures = {
        "webhooks": n,
        "posters": posters,
        "worker_concurrency": concurrency,
        "refused": len(refused),
        "posted_in_s": round(posted_in, 2),
        "endpoint_p50_ms": round(percentile(answers, 0.5) * 1000, 1),
        "endpoint_p99_ms": round(percentile(answers, 0.99) * 1000, 1),
        "texts_out": len(sent),
        "webhook_to_text_p50_s": round(percentile(latencies, 0.5), 3),
        "webhook_to_text_p99_s": round(percentile(latencies, 0.99), 3),
        "last_text_out_after_s": round(last_out, 2),
    }
    print(
        f"(burst) {n:,} signed stage-change webhooks posted at once by {posters} threads in "
        f"{posted_in:.1f} s ({len(refused)} refused): the endpoint answered p50 "
        f"{figures['endpoint_p50_ms']:.0f} ms, p99 {figures['endpoint_p99_ms']:.0f} ms "
        f"(target p99 < 50 ms); {len(sent):,} first texts out, webhook → text p50 "
        f"{figures['webhook_to_text_p50_s']:.2f} s, p99 {figures['webhook_to_text_p99_s']:.2f} s; "
        f"the last one {last_out:.1f} s after the burst began (target < 10 s)"
    )
    return figures
