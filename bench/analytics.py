"""Analytics at size: an organization with 1,000,000 messages, 200,000 journey runs and 50,000
bookings over a year; the Analytics page and API latency, and the time to roll up one day.

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/analytics.py [--messages 1000000]
       [--runs 200000] [--bookings 50000] [--requests 40] [--keep]

Needs Postgres (rows are written with COPY). Creates a throwaway organization (New York time),
fills it with a year of rows in the domains' own tables, rolls every past day up (timing one
typical day), then requests the page and the API in process (Django's test client: the view,
the queries and the template, no network) with a year, the default 30 days and filters, and
prints p50/p99 per URL and the queries per page, then one JSON line of figures (--profile first
prints where each page's time goes: its queries, the slowest one's plan, its cProfile). The
organization is deleted at the end unless --keep; --measure-org times a kept one again.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import sys
import time
import traceback
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import clear_url_caches, include, path  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts import services as account_services  # noqa: E402
from accounts.models import Membership, Role  # noqa: E402
from analytics import freshness, services  # noqa: E402
from analytics.models import DailyFigure, MonthlyFigure  # noqa: E402
from candidates.models import (  # noqa: E402
    Application,
    Candidate,
    Department,
    Job,
    Office,
    StageTransition,
    TimelineEvent,
)
from journeys.models import Journey, JourneyRun, JourneyStep, JourneyVersion, StepRun  # noqa: E402
from messaging.models import Conversation, Message, OptOutEntry  # noqa: E402
from recruitflow.decorators import organization_required  # noqa: E402
from recruitflow.tenancy import scopes_disabled, tenant_scope  # noqa: E402
from scheduling.models import (  # noqa: E402
    BookedSlot,
    Booking,
    SchedulingRequest,
    SchedulingTemplate,
)

PASSWORD = "bench-Passphrase-91"
YEAR = 365
ERRORS = [
    ("30003", "The phone was switched off or out of coverage"),
    ("30005", "The number does not exist or is no longer in service."),
    ("30007", "Filtered by the carrier as spam"),
    ("21610", "The candidate replied STOP to this number."),
]


class Copier:
    """COPY rows into a model's table with explicit ids; every column the caller leaves out
    takes the field's default (so new nullable or defaulted columns need no change here)."""

    def __init__(self, model) -> None:
        self.model = model
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields]
        self.columns = [f.column for f in self.fields]
        # Columns a row leaves out take the field's default ("" for text, None when nullable).
        self.defaults = {
            f.attname: f.get_default()
            for f in self.fields
            if not (f.has_default() and callable(f.default))
        }
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{self.table}"')
            self.next_id = cursor.fetchone()[0] + 1
        self.callable_defaults = {
            f.attname: f.default for f in self.fields if f.has_default() and callable(f.default)
        }
        self.json = {f.attname for f in self.fields if f.get_internal_type() == "JSONField"}

    def ids(self, n: int) -> range:
        start = self.next_id
        self.next_id += n
        return range(start, start + n)

    def copy(self, rows) -> int:
        """``rows``: dicts by attname, each with its "id"."""
        count = 0
        names = [f.attname for f in self.fields]
        columns = ", ".join(f'"{column}"' for column in self.columns)
        sql = f'COPY "{self.table}" ({columns}) FROM STDIN'
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                values = []
                for name in names:
                    if name in row:
                        value = row[name]
                        if name in self.json and not isinstance(value, str):
                            value = json.dumps(value)
                    elif name in self.callable_defaults:
                        value = self.callable_defaults[name]()
                        if name in self.json:
                            value = json.dumps(value)
                    else:
                        value = self.defaults[name]
                        if name in self.json and value is not None:
                            value = json.dumps(value)
                    values.append(value)
                copy.write_row(values)
                count += 1
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{self.table}\"', 'id'), "
                f'(SELECT max(id) FROM "{self.table}"))'
            )
        return count


def build(args, rng: random.Random):
    User = get_user_model()
    stamp = int(time.time())
    owner = User.objects.create_user(
        username=f"abench-{stamp}@bench.test",
        email=f"abench-{stamp}@bench.test",
        password=PASSWORD,
        first_name="Bench",
    )
    org = account_services.organization_create(
        name=f"Analytics bench {stamp}", owner=owner, time_zone="America/New_York"
    )
    with tenant_scope(org):
        actor = Membership.objects.get(user=owner)
        members = [owner]
        for n in range(9):
            user = User.objects.create_user(
                username=f"am{n}-{stamp}@bench.test",
                email=f"am{n}-{stamp}@bench.test",
                first_name=f"Member {n}",
            )
            Membership.objects.create(organization=org, user=user, role=Role.RECRUITER)
            members.append(user)
        _, key = account_services.api_key_create(actor=actor, name="bench", scope="read")
        offices = [
            Office.objects.create(
                organization=org, provider="greenhouse", external_id=f"o{i}", name=f"Office {i}"
            )
            for i in range(4)
        ]
        departments = [
            Department.objects.create(
                organization=org, provider="greenhouse", external_id=f"d{i}", name=f"Department {i}"
            )
            for i in range(5)
        ]
        jobs = []
        for i in range(20):
            job = Job.objects.create(
                organization=org, provider="greenhouse", external_id=f"j{i}", name=f"Job {i}"
            )
            job.offices.add(offices[i % 4])
            job.departments.add(departments[i % 5])
            jobs.append(job)
        journeys = []
        for i in range(8):
            journey = Journey.objects.create(organization=org, name=f"Journey {i}", is_active=True)
            version = JourneyVersion.objects.create(organization=org, journey=journey, number=1)
            journey.current_version = version
            journey.save(update_fields=["current_version"])
            steps = [
                JourneyStep.objects.create(organization=org, version=version, position=p, kind=k)
                for p, k in ((1, "send_sms"), (2, "send_email"))
            ]
            journeys.append((journey, version, steps))
        template = SchedulingTemplate.objects.create(
            organization=org, name="Onsite", event_title="Onsite interview"
        )
    return org, owner, key, members, jobs, journeys, template


def fill(args, rng, org, members, jobs, journeys, template, now) -> dict:
    org_id = org.pk
    start = now - timedelta(days=YEAR)
    year_seconds = YEAR * 86400

    def moment():
        return start + timedelta(seconds=rng.random() * year_seconds)

    n_candidates = max(1000, args.bookings)
    candidates = Copier(Candidate)
    candidate_ids = candidates.ids(n_candidates)
    candidates.copy(
        {
            "id": pk,
            "organization_id": org_id,
            "provider": "greenhouse",
            "external_id": f"c{pk}",
            "first_name": "Cand",
            "last_name": str(pk),
            "mobile_phone": f"+1212{pk % 10_000_000:07d}",
            "primary_email": f"c{pk}@example.com",
            "synced_at": now,
        }
        for pk in candidate_ids
    )
    applications = Copier(Application)
    job_of = {}
    app_of = {}
    rows = []
    for pk, candidate_id in zip(applications.ids(n_candidates), candidate_ids, strict=True):
        job = jobs[rng.randrange(len(jobs))]
        job_of[candidate_id], app_of[candidate_id] = job.pk, pk
        rows.append(
            {
                "id": pk,
                "organization_id": org_id,
                "provider": "greenhouse",
                "external_id": f"a{pk}",
                "candidate_id": candidate_id,
                "job_id": job.pk,
                "stage_name": "Onsite Interview",
                "status": "active",
                "synced_at": now,
            }
        )
    applications.copy(rows)
    conversations = Copier(Conversation)
    conversation_of = {}
    rows = []
    for pk, candidate_id in zip(conversations.ids(n_candidates), candidate_ids, strict=True):
        conversation_of[candidate_id] = pk
        rows.append(
            {
                "id": pk,
                "organization_id": org_id,
                "candidate_id": candidate_id,
                "created_at": start,
                "assigned_to_id": members[candidate_id % len(members)].pk,
            }
        )
    conversations.copy(rows)

    def message(pk, candidate_id, at, *, channel, inbound=False, by=None):
        roll = rng.random()
        status, code, why = "delivered", "", ""
        if inbound:
            status = "received"
        elif roll < 0.05:
            status = "undelivered" if channel == "sms" else "failed"
            code, why = ERRORS[rng.randrange(len(ERRORS))]
        elif roll < 0.06:
            status = "sent"
        return {
            "id": pk,
            "organization_id": org_id,
            "conversation_id": conversation_of[candidate_id],
            "candidate_id": candidate_id,
            "channel": channel,
            "direction": "inbound" if inbound else "outbound",
            "to_address": f"+1212{candidate_id % 10_000_000:07d}",
            "body": "Hello there",
            "status": status,
            "error_code": code,
            "error_message": why,
            "sent_by_id": by,
            "created_at": at,
            "sent_at": None if inbound else at,
            "source": "" if inbound else ("journey" if by is None else "inbox"),
        }

    # Journey runs: a transition each, two step runs each (a text, then an e-mail).
    transitions, runs, step_runs = Copier(StageTransition), Copier(JourneyRun), Copier(StepRun)
    messages = Copier(Message)
    run_rows, transition_rows, step_rows, message_rows = [], [], [], []
    for run_id, transition_id in zip(runs.ids(args.runs), transitions.ids(args.runs), strict=True):
        candidate_id = candidate_ids[rng.randrange(n_candidates)]
        journey, version, steps = journeys[rng.randrange(len(journeys))]
        observed = moment()
        webhook = rng.random() < 0.8
        started = observed + timedelta(
            seconds=rng.uniform(0.2, 2) if webhook else rng.uniform(10, 900)
        )
        transition_rows.append(
            {
                "id": transition_id,
                "organization_id": org_id,
                "provider": "greenhouse",
                "application_id": app_of[candidate_id],
                "candidate_id": candidate_id,
                "job_id": job_of[candidate_id],
                "to_stage_name": "Onsite Interview",
                "observed_at": observed,
                "source": "webhook" if webhook else "poll",
            }
        )
        exited = rng.random() < 0.1
        run_rows.append(
            {
                "id": run_id,
                "organization_id": org_id,
                "journey_id": journey.pk,
                "version_id": version.pk,
                "transition_id": transition_id,
                "application_id": app_of[candidate_id],
                "candidate_id": candidate_id,
                "status": "exited" if exited else "completed",
                "exit_rule": "replied" if exited else "",
                "started_at": started,
            }
        )
        at = started
        for step, channel in zip(steps, ("sms", "email"), strict=True):
            at = at + timedelta(seconds=rng.uniform(0.2, 1.5))
            (message_id,) = messages.ids(1)
            message_rows.append(message(message_id, candidate_id, at, channel=channel))
            held = channel == "sms" and rng.random() < 0.05
            step_rows.append(
                {
                    "id": step_runs.ids(1)[0],
                    "organization_id": org_id,
                    "run_id": run_id,
                    "step_id": step.pk,
                    "position": step.position,
                    "status": "done",
                    "due_at": at,
                    "started_at": at,
                    "finished_at": at,
                    "message_id": message_id,
                    "held_until": at if held else None,
                }
            )
            at += timedelta(days=1)
    transitions.copy(transition_rows)
    runs.copy(run_rows)
    messages.copy(message_rows)
    step_runs.copy(step_rows)
    journey_messages = len(message_rows)
    del transition_rows, run_rows, step_rows, message_rows
    # The rest of the messages: the team's own, and candidates' replies.
    remaining = args.messages - journey_messages

    def team_messages():
        for pk in messages.ids(remaining):
            candidate_id = candidate_ids[rng.randrange(n_candidates)]
            inbound = rng.random() < 0.3
            yield message(
                pk,
                candidate_id,
                moment(),
                channel="sms" if rng.random() < 0.6 else "email",
                inbound=inbound,
                by=None if inbound else members[rng.randrange(len(members))].pk,
            )

    messages.copy(team_messages())
    opt_outs = Copier(OptOutEntry)
    opt_outs.copy(
        {
            "id": pk,
            "organization_id": org_id,
            "phone": f"+1212{rng.randrange(10_000_000):07d}",
            "locked": True,
            "action": "lock",
            "source": "keyword",
            "keyword": "STOP",
            "created_at": moment(),
        }
        for pk in opt_outs.ids(args.messages // 300)
    )
    # Scheduling: requests, bookings for most of them, one interviewer hold per booking.
    requests, bookings, slots = Copier(SchedulingRequest), Copier(Booking), Copier(BookedSlot)
    n_requests = int(args.bookings * 1.4)
    request_rows, booking_rows, slot_rows, taken = [], [], [], set()
    booking_ids = iter(bookings.ids(args.bookings))
    for i, pk in enumerate(requests.ids(n_requests)):
        candidate_id = candidate_ids[i % n_candidates]
        created = moment()
        member = members[rng.randrange(len(members))]
        booked = i < args.bookings
        expired = not booked and created + timedelta(days=7) < now
        request_rows.append(
            {
                "id": pk,
                "organization_id": org_id,
                "template_id": template.pk,
                "candidate_id": candidate_id,
                "application_id": app_of[candidate_id],
                "token": f"bench-{pk}-{rng.getrandbits(64):x}",
                "status": "booked" if booked else ("expired" if expired else "pending"),
                "source": "recruiter",
                "created_by_id": member.pk,
                "created_at": created,
                "updated_at": created,
                "expires_at": created + timedelta(days=7),
            }
        )
        if not booked:
            continue
        booked_at = created + timedelta(hours=rng.lognormvariate(2.5, 1.0))
        slot = booked_at + timedelta(days=rng.randint(1, 7))
        slot = slot.replace(minute=0 if slot.minute < 30 else 30, second=0, microsecond=0)
        while (member.pk, slot) in taken:
            slot += timedelta(minutes=30)
        taken.add((member.pk, slot))
        cancelled = rng.random() < 0.08
        booking_id = next(booking_ids)
        booking_rows.append(
            {
                "id": booking_id,
                "organization_id": org_id,
                "request_id": pk,
                "template_id": template.pk,
                "candidate_id": candidate_id,
                "start": slot,
                "end": slot + timedelta(minutes=45),
                "title": "Onsite interview",
                "status": "cancelled" if cancelled else "confirmed",
                "cancelled_at": booked_at + timedelta(hours=5) if cancelled else None,
                "cancelled_by": "candidate" if cancelled else "",
                "attendee_ids": [member.pk],
                "ics_uid": f"bench-{booking_id}@recruitflow",
                "created_at": booked_at,
                "updated_at": booked_at,
            }
        )
        slot_rows.append(
            {
                "id": slots.ids(1)[0],
                "organization_id": org_id,
                "booking_id": booking_id,
                "user_id": member.pk,
                "start": slot,
                "end": slot + timedelta(minutes=45),
                "required": True,
                "active": not cancelled,
            }
        )
    requests.copy(request_rows)
    bookings.copy(booking_rows)
    slots.copy(slot_rows)
    events = Copier(TimelineEvent)
    events.copy(
        {
            "id": pk,
            "organization_id": org_id,
            "candidate_id": row["candidate_id"],
            "kind": "rescheduled",
            "summary": "Rescheduled",
            "occurred_at": row["created_at"] + timedelta(hours=3),
            "data": {"booking_id": row["id"]},
        }
        for pk, row in zip(events.ids(len(booking_rows) // 10), booking_rows[::10], strict=False)
    )
    with connection.cursor() as cursor:
        for model in (
            Message,
            JourneyRun,
            StepRun,
            StageTransition,
            SchedulingRequest,
            Booking,
            BookedSlot,
            OptOutEntry,
            TimelineEvent,
            Application,
            Candidate,
        ):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    return {
        "messages": args.messages,
        "runs": args.runs,
        "bookings": args.bookings,
        "candidates": n_candidates,
        "requests": n_requests,
    }


def floor_view(request):
    """The floor: a signed-in page that does nothing, through the same middleware."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench-floor/", organization_required(floor_view)),
    path("", include(settings.ROOT_URLCONF)),
]


def cold(client, url, org, n, **extra) -> list[float]:
    """The first request after a rollup with today's count due: nothing of the page cached."""
    times = []
    for _ in range(n):
        freshness.stored_changed(org.pk)
        cache.delete_many(
            [f"analytics:today:{org.pk}:{services.organization_today(org).isoformat()}"]
        )
        started = time.perf_counter()
        response = client.get(url, **extra)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times


def timed(client, url, n, **extra) -> tuple[list[float], int]:
    client.get(url, **extra)  # warm
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    # Django empties its own query log when a request starts: count with a wrapper instead.
    with connection.execute_wrapper(count):
        response = client.get(url, **extra)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url, **extra)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times, len(queries)


def profile(client, url, **extra) -> None:
    """Where one request's time goes: each query's duration (slowest first, with Postgres'
    plan of the slowest) and the functions that took longest (cProfile, cumulative)."""
    timings: list[tuple[float, str, tuple]] = []

    def clocked(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append(((time.perf_counter() - started) * 1000, sql, params))

    profiler = cProfile.Profile()
    with connection.execute_wrapper(clocked):
        profiler.enable()
        started = time.perf_counter()
        client.get(url, **extra)
        total = (time.perf_counter() - started) * 1000
        profiler.disable()
    in_queries = sum(ms for ms, _, _ in timings)
    print(f"  {url}: {total:.1f} ms, {len(timings)} queries taking {in_queries:.1f} ms")
    for ms, sql, _ in sorted(timings, key=lambda t: -t[0])[:4]:
        print(f"    {ms:7.1f} ms  {' '.join(sql.split())[:160]}")
    ms, sql, params = max(timings, key=lambda t: t[0])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        for (line,) in cursor.fetchall()[:14]:
            print(f"      {line}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
    print("\n".join("    " + line for line in out.getvalue().splitlines()[6:30] if line.strip()))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def cleanup(org, owner, members) -> None:
    tables = [
        TimelineEvent,
        BookedSlot,
        Booking,
        SchedulingRequest,
        OptOutEntry,
        StepRun,
        JourneyRun,
        StageTransition,
        Message,
        Conversation,
        Application,
        Candidate,
        DailyFigure,
        MonthlyFigure,
    ]
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(
                f'DELETE FROM "{model._meta.db_table}" WHERE organization_id = %s', [org.pk]
            )
    with scopes_disabled():
        org.delete()
        for user in members:
            user.delete()


def measure(args, figures, org, owner, key, members, jobs, today) -> None:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(owner)
    year = f"start={(today - timedelta(days=YEAR - 1)).isoformat()}&end={today.isoformat()}"
    urls = {
        "page_30d": "/analytics/",
        "page_year": f"/analytics/?{year}",
        "page_year_job_sms": f"/analytics/?{year}&job={jobs[3].pk}&channel=sms",
        "page_year_member": f"/analytics/?{year}&member={members[2].pk}",
        "csv_year": f"/analytics/messaging/messages-over-time.csv?{year}",
        "dashboard": "/",
    }
    if args.profile:
        print("Where the time goes:", flush=True)
        for url in urls.values():
            profile(client, url)
    with override_settings(ROOT_URLCONF=__name__):
        clear_url_caches()
        floor, _ = timed(client, "/bench-floor/", args.requests)
    clear_url_caches()
    figures["floor_p50_ms"], figures["floor_p99_ms"] = pct(floor, 0.5), pct(floor, 0.99)
    print(
        f"{'floor (empty page)':20} p50 {pct(floor, 0.5):7.1f} ms  p99 {pct(floor, 0.99):7.1f} ms",
        flush=True,
    )
    for name, url in urls.items():
        times, queries = timed(client, url, args.requests)
        figures[f"{name}_p50_ms"], figures[f"{name}_p99_ms"] = pct(times, 0.5), pct(times, 0.99)
        figures[f"{name}_queries"] = queries
        figures[f"{name}_floor_ratio"] = round(pct(floor, 0.5) / pct(times, 0.5), 3)
        first = cold(client, url, org, max(3, args.requests // 10))
        figures[f"{name}_cold_p50_ms"], figures[f"{name}_cold_max_ms"] = pct(first, 0.5), max(first)
        print(
            f"{name:20} p50 {pct(times, 0.5):7.1f} ms  p99 {pct(times, 0.99):7.1f} ms  "
            f"{queries} queries  (floor/page {figures[f'{name}_floor_ratio']:.2f}; "
            f"first after a rollup p50 {pct(first, 0.5):.1f} ms, max {max(first):.1f} ms)",
            flush=True,
        )
    api = Client(HTTP_HOST="127.0.0.1")
    for name, url in (
        ("api_year", f"/api/v1/analytics/?{year}"),
        ("api_30d", "/api/v1/analytics/"),
    ):
        times, queries = timed(api, url, args.requests, HTTP_AUTHORIZATION=f"Bearer {key}")
        figures[f"{name}_p50_ms"], figures[f"{name}_p99_ms"] = pct(times, 0.5), pct(times, 0.99)
        figures[f"{name}_queries"] = queries
        print(
            f"{name:20} p50 {pct(times, 0.5):7.1f} ms  p99 {pct(times, 0.99):7.1f} ms  "
            f"{queries} queries",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200_000)
    parser.add_argument("--bookings", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per URL")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="before timing, print each page's queries (slowest first, the slowest's plan) "
        "and its cProfile",
    )
    parser.add_argument(
        "--measure-org",
        type=int,
        help="only time the pages of this organization, already filled and rolled up (--keep)",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/analytics.py needs Postgres (DATABASE_URL=postgres://...).")
    rng = random.Random(16)
    now = timezone.now()
    figures: dict = {"bench": "analytics"}
    if args.measure_org:
        with scopes_disabled():
            membership = Membership.objects.select_related("organization", "user").get(
                organization_id=args.measure_org, role=Role.OWNER
            )
            org, owner = membership.organization, membership.user
            with tenant_scope(org):
                _, key = account_services.api_key_create(
                    actor=membership, name="bench", scope="read"
                )
                members = [m.user for m in Membership.objects.select_related("user").order_by("id")]
                jobs = list(Job.objects.order_by("id"))
                figures["figure_rows"] = DailyFigure.objects.count()
                figures["month_rows"] = MonthlyFigure.objects.count()
        today = services.organization_today(org, now)
        measure(args, figures, org, owner, key, members, jobs, today)
        print(json.dumps(figures))
        return
    org, owner, key, members, jobs, journeys, template = build(args, rng)
    try:
        started = time.perf_counter()
        with tenant_scope(org):
            figures.update(fill(args, rng, org, members, jobs, journeys, template, now))
        figures["fill_s"] = round(time.perf_counter() - started, 1)
        print(f"filled in {figures['fill_s']} s", flush=True)
        with tenant_scope(org):
            today = services.organization_today(org, now)
            t = time.perf_counter()
            rolled = 0
            while True:  # a pass stores at most MAX_DAYS_PER_PASS days
                stored = services.rollup_organization(organization=org, now=now)
                rolled += len(stored)
                if len(stored) < services.MAX_DAYS_PER_PASS:
                    break
            figures["rollup_year_s"] = round(time.perf_counter() - t, 1)
            figures["rolled_days"] = rolled
            day = today - timedelta(days=100)
            samples = []
            for _ in range(5):
                t = time.perf_counter()
                services.rollup_day(organization=org, day=day)
                samples.append((time.perf_counter() - t) * 1000)
            figures["rollup_day_ms_p50"] = round(statistics.median(samples), 1)
            figures["figure_rows"] = DailyFigure.objects.count()
            figures["month_rows"] = MonthlyFigure.objects.count()
        print(f"rolled up {rolled} days in {figures['rollup_year_s']} s", flush=True)
        measure(args, figures, org, owner, key, members, jobs, today)
    except BaseException:
        traceback.print_exc()
        raise
    finally:
        if not args.keep:
            with tenant_scope(org):
                cleanup(org, owner, members)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
