"""Fault drills: journeys drained by real Celery worker processes while things break.

Used by the marked tests in ``tests/drills/`` (small, bounded, in CI) and by ``bench/faults.py``
(larger). A drill needs Postgres and a Redis broker (``DATABASE_URL`` / ``CELERY_BROKER_URL``):
worker processes are started with ``celery -A recruitflow worker`` against the database the
caller's Django connection uses, so they see what the drill wrote.

What a drill does:
1. An organization texting through the sandbox Twilio at any hour, a job with its stages, and
   ``runs`` candidates (distinct UK mobile numbers) each with an application; an active journey
   whose one step texts the candidate when they enter "Onsite Interview".
2. Every application moves to that stage (a StageTransition each, as the ATS mirror records
   them) and matching is queued by task name.
3. While the workers drain the runs, the faults asked for happen at random moments: ``kill -9`` of
   a pool child or of a worker's main process (a replacement worker is started, as a supervisor
   would), ``pg_terminate_backend`` of every database connection the workers hold, provider
   faults (500 before acting, a reply that arrives after the worker gave up).
4. The drill plays beat itself: every few seconds it sends every enabled periodic task by name,
   so the sweeps run as they would in production, only more often.
5. It waits until nothing is left to do, then counts from the sandbox Twilio's own records:
   duplicates (a phone that received the text more than once), lost (a candidate who should have
   received it and did not) and stuck (messages, step runs, runs or webhook events in a state
   nothing will move them out of).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Deadlines shortened so that the sweeps act within a drill (production defaults are minutes).
DRILL_ENV = {
    "JOURNEYS_STEP_TIMEOUT_SECONDS": "8",
    "JOURNEYS_MATCH_SETTLE_SECONDS": "3",
    "JOURNEYS_DISPATCH_INTERVAL_SECONDS": "1",
    "MESSAGING_SENDING_STALE_SECONDS": "8",
    "MESSAGING_QUEUED_STALE_SECONDS": "8",
    "WEBHOOK_LOST_AFTER_SECONDS": "8",
    "MESSAGING_PROVIDER_TIMEOUT_S": "2",
    "PUBLIC_BASE_URL": "http://127.0.0.1:9",
}

SMS_STEP_BODY = "Hi {{ candidate.first_name }}, you're invited to the onsite interview."


@dataclass
class DrillResult:
    runs: int
    sent: int
    duplicates: int
    lost: int
    stuck: dict
    recovery_seconds: float
    drain_seconds: float
    faults: Counter = field(default_factory=Counter)

    @property
    def stuck_total(self) -> int:
        return sum(self.stuck.values())

    def as_dict(self) -> dict:
        return {
            "runs": self.runs,
            "sent": self.sent,
            "duplicates": self.duplicates,
            "lost": self.lost,
            "stuck": self.stuck_total,
            "stuck_by_kind": self.stuck,
            "drain_s": round(self.drain_seconds, 1),
            "recovery_s": round(self.recovery_seconds, 1),
            "faults": dict(self.faults),
        }


def database_url() -> str:
    """The URL of the database this process's Django connection uses (the test database under
    pytest), for the worker processes."""
    from django.db import connection

    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


class WorkerPool:
    """Real ``celery worker`` processes (prefork), started and killed like a supervisor would."""

    def __init__(self, *, count: int, concurrency: int, env: dict, log_dir: Path):
        self.count = count
        self.concurrency = concurrency
        self.env = env
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []
        self._serial = 0
        log_dir.mkdir(parents=True, exist_ok=True)

    def start_one(self) -> subprocess.Popen:
        self._serial += 1
        log = (self.log_dir / f"drill-worker-{self._serial}.log").open("w")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "recruitflow",
                "worker",
                "--pool=prefork",
                f"--concurrency={self.concurrency}",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"drill{self._serial}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start(self) -> None:
        for _ in range(self.count):
            self.start_one()

    def alive(self) -> list[subprocess.Popen]:
        return [p for p in self.processes if p.poll() is None]

    @staticmethod
    def children(pid: int) -> list[int]:
        """The processes whose parent is ``pid``, read from every process's ``stat`` (a pool
        child forked by a worker's helper thread is listed under that thread only, so the
        ``task/<pid>/children`` file alone can miss them)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue  # gone meanwhile
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) > 1 and fields[1] == str(pid):
                found.append(int(entry))
        return found

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until every worker has forked its pool (a loaded machine takes seconds to import the
        project): a drill whose kills start earlier would find no child to kill."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(len(self.children(p.pid)) >= self.concurrency for p in self.alive()):
                return
            time.sleep(0.5)

    def kill_child(self, rng: random.Random) -> bool:
        """``kill -9`` one pool child of a random worker (the main process forks a new one)."""
        candidates = [c for p in self.alive() for c in self.children(p.pid)]
        if not candidates:
            return False
        try:
            os.kill(rng.choice(candidates), signal.SIGKILL)
        except ProcessLookupError:  # it exited since the listing (the pool replaced it)
            return False
        return True

    def kill_main(self, rng: random.Random) -> bool:
        """``kill -9`` a worker's main process and its children, then start a replacement."""
        alive = self.alive()
        if not alive:
            return False
        victim = rng.choice(alive)
        for child in self.children(victim.pid):
            with contextlib.suppress(ProcessLookupError):  # exited since the listing
                os.kill(child, signal.SIGKILL)
        victim.kill()
        victim.wait(10)
        self.start_one()
        return True

    def stop(self) -> None:
        for process in self.alive():
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


def free_port() -> int:
    """A TCP port nobody listens on now (drills may run side by side, e.g. under xdist)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateBroker:
    """A Redis server of the drill's own (so an outage harms nobody else), used as the broker by
    the workers and by this process while it is installed."""

    def __init__(self, port: int, log_dir: Path):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None
        self._previous_url = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.log_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        import socket

        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def install(self) -> None:
        from recruitflow.celery import app

        self._previous_url = (
            app.conf.broker_url,
            app.conf.broker_write_url,
            app.conf.broker_read_url,
        )
        app.conf.broker_url = app.conf.broker_write_url = app.conf.broker_read_url = self.url
        app._after_fork()  # forget pooled connections to the previous broker

    def uninstall(self) -> None:
        from recruitflow.celery import app

        if self._previous_url is not None:
            (app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_read_url) = (
                self._previous_url
            )
            app._after_fork()


def drop_worker_connections() -> int:
    """Terminate every other backend connected to this database (the workers' connections)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def ensure_beat_schedule() -> None:
    """Write the beat schedule again when the database has none.

    The schedule is data the migrations write (``RunPython`` in each app's ``*schedule*`` /
    ``*sweep*`` migrations); a test database flushed by an earlier test has lost it. Running
    those forward functions again (they are ``update_or_create``) restores every sweep,
    including ones added later, without listing them here. A forward function that reads a
    model removed since (e.g. the webhook tables the one intake replaced) is skipped: a later
    migration moved its schedule too.
    """
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import RunPython
    from django_celery_beat.models import PeriodicTask

    if PeriodicTask.objects.filter(enabled=True).exists():
        return
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    for _key, migration in sorted(loader.disk_migrations.items(), key=lambda item: item[0]):
        source = Path(sys.modules[migration.__module__].__file__ or "").read_text()
        if "PeriodicTask" not in source:
            continue
        for operation in migration.operations:
            if isinstance(operation, RunPython):
                try:
                    operation.code(apps, None)
                except LookupError:
                    continue


def play_beat() -> int:
    """Send every enabled periodic task by name, as beat would when each falls due."""
    from django_celery_beat.models import PeriodicTask

    from recruitflow.celery import app

    sent = 0
    tasks = list(PeriodicTask.objects.filter(enabled=True).exclude(task=""))
    if not tasks:
        raise RuntimeError("No beat schedule in the database: run the migrations first.")
    for task in tasks:
        args = json.loads(task.args or "[]")
        kwargs = json.loads(task.kwargs or "{}")
        app.send_task(task.task, args=args, kwargs=kwargs)
        sent += 1
    return sent


class Drill:
    """One organization, ``runs`` candidates, one journey; see the module docstring."""

    def __init__(self, *, sandbox, runs: int = 300, seed: int = 7, label: str = "drill"):
        self.sandbox = sandbox
        self.runs = runs
        self.rng = random.Random(seed)
        self.label = label
        self.organization = None
        self.applications: list = []
        self.phones: list[str] = []
        self.enqueue_failures = 0

    # -- set up --------------------------------------------------------------------------
    def setup(self) -> None:
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from accounts.services import organization_create
        from candidates.models import Application, Candidate, Job, Stage
        from integrations.twilio.models import TwilioSettings
        from integrations.twilio.sandbox import (
            SANDBOX_ACCOUNT_SID,
            SANDBOX_AUTH_TOKEN,
            SANDBOX_SERVICE_SID,
        )
        from journeys import services as journey_services
        from journeys.models import JourneyStep
        from library.models import MessageTemplate
        from messaging.models import MessagingPreferences
        from recruitflow.tenancy import tenant_scope

        suffix = f"{self.label}-{int(time.time() * 1000)}"
        owner = get_user_model().objects.create_user(
            username=f"owner-{suffix}", email=f"owner-{suffix}@drill.test", password="x"
        )
        org = organization_create(name=f"Drill {suffix}", owner=owner)
        self.organization = org
        box = self.sandbox
        box.twilio.reset()
        # Status callbacks go nowhere; the drill counts what the provider recorded.
        box.twilio.configure(
            sent_delay=0.0, delivery_delay=0.0, inbound_url=None, callback_retries=0
        )
        now = timezone.now()
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
            job = Job.objects.create(
                organization=org, provider="greenhouse", external_id="drill-job",
                name="Sales Rep", status="open",
            )  # fmt: skip
            stages = {
                name: Stage.objects.create(
                    organization=org,
                    provider="greenhouse",
                    external_id=f"drill-s{i}",
                    job=job,
                    name=name,
                    position=i,
                )  # fmt: skip
                for i, name in enumerate(("Phone Interview", "Onsite Interview"))
            }
            candidates = Candidate.objects.bulk_create(
                Candidate(
                    organization=org,
                    provider="greenhouse",
                    external_id=f"drill-c{i}",
                    first_name=f"Drill{i}",
                    last_name="Candidate",
                    mobile_phone=f"+4477009{i:05d}",
                    primary_email=f"c{i}@drill.test",
                )  # fmt: skip
                for i in range(self.runs)
            )
            self.phones = [c.mobile_phone for c in candidates]
            assert len(set(self.phones)) == self.runs, "phone numbers must be distinct"
            self.applications = Application.objects.bulk_create(
                Application(
                    organization=org,
                    provider="greenhouse",
                    external_id=f"drill-a{i}",
                    candidate=c,
                    job=job,
                    stage=stages["Phone Interview"],
                    stage_name="Phone Interview",
                    applied_at=now,
                    last_activity_at=now,
                    stage_entered_at=now,
                )  # fmt: skip
                for i, c in enumerate(candidates)
            )
            self.onsite = stages["Onsite Interview"]
            template = MessageTemplate.objects.create(
                organization=org, name="Onsite invite", channel="sms", text_body=SMS_STEP_BODY
            )
            journey = journey_services.journey_create(organization=org, name="Onsite invite")
            version = journey.current_version
            version.trigger = "entered_stage"
            version.stage_names = ["Onsite Interview"]
            version.job_ids = [job.pk]
            version.save()
            JourneyStep.objects.create(
                organization=org, version=version, position=1, kind="send_sms",
                message_template=template, config={},
            )  # fmt: skip
            journey_services.journey_activate(journey=journey)
            self.journey = journey

    # -- the work ------------------------------------------------------------------------
    def move_everyone(self, batch: int = 50) -> None:
        """Every application enters Onsite Interview; matching is queued by name per batch."""
        from django.utils import timezone

        from candidates.models import Application, StageTransition
        from recruitflow.celery import app
        from recruitflow.tenancy import tenant_scope

        org = self.organization
        with tenant_scope(org):
            for start in range(0, len(self.applications), batch):
                chunk = self.applications[start : start + batch]
                now = timezone.now()
                Application.objects.filter(pk__in=[a.pk for a in chunk]).update(
                    stage=self.onsite, stage_name="Onsite Interview", stage_entered_at=now
                )
                transitions = StageTransition.objects.bulk_create(
                    StageTransition(
                        organization=org,
                        provider="greenhouse",
                        application=a,
                        candidate_id=a.candidate_id,
                        job_id=a.job_id,
                        from_stage_id=a.stage_id,
                        from_stage_name="Phone Interview",
                        to_stage=self.onsite,
                        to_stage_name="Onsite Interview",
                        from_status="active",
                        to_status="active",
                        observed_at=now,
                        source="webhook",
                        provider_event_id=f"{self.label}-{a.pk}",
                    )  # fmt: skip
                    for a in chunk
                )
                try:
                    app.send_task(
                        "journeys.match_transitions", args=[org.pk, [t.pk for t in transitions]]
                    )
                except Exception:  # noqa: BLE001 — broker down: the rows are committed
                    self.enqueue_failures += 1

    # -- counting ------------------------------------------------------------------------
    def texts_by_phone(self) -> Counter:
        self.sandbox.twilio.wait_idle(5)
        wanted = set(self.phones)
        return Counter(
            m["to"]
            for m in list(self.sandbox.twilio.messages.values())
            if m.get("direction") == "outbound-api" and m.get("to") in wanted
        )

    def stuck(self) -> dict:
        """Rows in a state that only a sweep (or nothing) would move them out of."""
        from candidates.models import StageTransition
        from integrations.models import WebhookDelivery
        from journeys.models import JourneyRun, MatchCursor, StepRun
        from messaging.models import Message
        from recruitflow.tenancy import tenant_scope

        with tenant_scope(self.organization):
            messages = Counter(
                Message.objects.filter(direction="outbound")
                .exclude(
                    status__in=[
                        "sent",
                        "delivered",
                        "read",
                        "undelivered",
                        "failed",
                        "canceled",
                        "skipped",
                    ]
                )
                .values_list("status", flat=True)
            )
            steps = Counter(
                StepRun.objects.exclude(
                    status__in=["done", "skipped", "failed", "canceled"]
                ).values_list("status", flat=True)
            )
            runs = JourneyRun.objects.filter(status="active").count()
            # Received, or failed with a retry still to come: the intake's sweep's to finish.
            deliveries = WebhookDelivery.objects.filter(
                state__in=["received", "failed"], next_attempt_at__isnull=False
            ).count()
            cursor = (
                MatchCursor.objects.filter(organization=self.organization)
                .values_list("last_transition_id", flat=True)
                .first()
            )
            unmatched = StageTransition.objects.filter(pk__gt=cursor or 0).count()
        stuck = {f"message_{k}": v for k, v in messages.items()}
        if unmatched:
            stuck["transitions_unmatched"] = unmatched
        stuck.update({f"step_{k}": v for k, v in steps.items()})
        if runs:
            stuck["runs_unfinished"] = runs
        if deliveries:
            stuck["webhook_deliveries_unapplied"] = deliveries
        return stuck

    def settle(self, *, timeout: float, beat_every: float = 2.0) -> float:
        """Play beat until nothing is stuck or ``timeout``; returns the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            play_beat()
            time.sleep(beat_every)
            if not self.stuck():
                break
        return time.monotonic() - started

    # -- a whole drill -------------------------------------------------------------------
    def run(
        self,
        *,
        workers: int = 2,
        concurrency: int = 2,
        child_kills: int = 0,
        main_kills: int = 0,
        connection_drops: int = 0,
        provider_500s: int = 0,
        provider_late_replies: int = 0,
        broker_outage_seconds: float = 0.0,
        broker_port: int | None = None,
        chaos_seconds: float = 20.0,
        settle_timeout: float = 120.0,
        env: dict | None = None,
        log_dir: Path | None = None,
    ) -> DrillResult:
        from recruitflow.celery import app

        log_dir = log_dir or ROOT / "var" / "drills"
        log_dir.mkdir(parents=True, exist_ok=True)
        worker_env = {
            **os.environ,
            **DRILL_ENV,
            **(env or {}),
            "DATABASE_URL": database_url(),
            "SANDBOX_URL": self.sandbox.url,  # the sandbox Twilio is the provider here
        }
        worker_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        broker = None
        if broker_outage_seconds:
            broker = PrivateBroker(broker_port or free_port(), log_dir)
            broker.start()
            broker.install()
            worker_env["CELERY_BROKER_URL"] = broker.url
        ensure_beat_schedule()
        self.setup()
        app.control.purge()
        pool = WorkerPool(count=workers, concurrency=concurrency, env=worker_env, log_dir=log_dir)
        faults: Counter = Counter()
        stop_beat = threading.Event()

        def beat_loop():
            from django.db import connection

            try:
                while not stop_beat.wait(2.0):
                    try:
                        play_beat()
                    except Exception:  # noqa: BLE001 — a dropped connection: next tick
                        connection.close()
            finally:
                connection.close()

        started = time.monotonic()
        pool.start()
        beat = threading.Thread(target=beat_loop, daemon=True)
        try:
            pool.wait_ready()
            time.sleep(3)  # the workers connect to Redis and the database
            for _ in range(provider_500s):
                self.sandbox.twilio.inject_fault(status=500, count=1)
            for _ in range(provider_late_replies):
                self.sandbox.twilio.inject_fault(status=None, count=1, delay=3.0)
            faults["provider_500"] = provider_500s
            faults["provider_late_reply"] = provider_late_replies
            if broker:
                # The broker goes down before the stage changes arrive: nothing can be queued.
                broker.stop()
                outage_started = time.monotonic()
                self.move_everyone()
                time.sleep(max(0.0, broker_outage_seconds - (time.monotonic() - outage_started)))
                broker.start()
                faults["broker_outage_s"] = round(time.monotonic() - outage_started)
                faults["enqueue_failed"] = self.enqueue_failures
            else:
                self.move_everyone()
            beat.start()
            planned = (
                ["child_kill"] * child_kills
                + ["main_kill"] * main_kills
                + ["connection_drop"] * connection_drops
            )
            self.rng.shuffle(planned)
            moments = sorted(self.rng.uniform(0.2, chaos_seconds) for _ in planned)
            chaos_start = time.monotonic()
            for moment, fault in zip(moments, planned, strict=True):
                time.sleep(max(0.0, chaos_start + moment - time.monotonic()))
                actions = {
                    "child_kill": lambda: pool.kill_child(self.rng),
                    "main_kill": lambda: pool.kill_main(self.rng),
                    "connection_drop": lambda: drop_worker_connections() >= 0,
                }
                if actions[fault]():
                    faults[fault] += 1
            drain_seconds = time.monotonic() - started
            stop_beat.set()
            beat.join(10)
            recovery = self.settle(timeout=settle_timeout)
        finally:
            stop_beat.set()
            pool.stop()
            if broker:
                broker.uninstall()
                broker.stop()
        counts = self.texts_by_phone()
        return DrillResult(
            runs=self.runs,
            sent=sum(counts.values()),
            duplicates=sum(c - 1 for c in counts.values() if c > 1),
            lost=sum(1 for phone in self.phones if counts[phone] == 0),
            stuck=self.stuck(),
            recovery_seconds=recovery,
            drain_seconds=drain_seconds,
            faults=faults,
        )
