"""The top bar's search at size: an organization with 100,000 candidates, 20,000 Inbox
conversations (60,000 messages), 300 journeys and 1,000 Library templates.

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/search.py [--candidates 100000]
       [--queries 50] [--explain] [--keep]

Creates a throwaway organization (rows written with bulk_create), then runs --queries searches
of each kind — a candidate's name (whole or part), e-mail, mobile number typed as people type
them ("+1 (415) 555-0100", "4155550100", "415-555-0100"), message text, a journey's name, a
template's name or subject — three ways: `recruitflow.search.search` (every group, as the
results page runs it: the time the database takes), the dropdown's JSON (`/search/suggest/`) and
the results page (`/search/`) through Django's test client (view, queries, template; no network);
and, within the search, the time of the group the query is about (candidates for a name, e-mail or
number; conversations for message text; journeys; templates).
Prints p50/p99 per kind and way, then one JSON line of figures with the floor (one candidate by
primary key through the ORM, measured in the same run) and each figure as a multiple of it.
--explain prints each kind's query plans first (the trigram indexes at work). The organization is
deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts import services as account_services  # noqa: E402
from candidates.models import Candidate  # noqa: E402
from journeys.models import Journey  # noqa: E402
from library.models import MessageTemplate, TemplateChannel  # noqa: E402
from messaging.models import (  # noqa: E402
    Channel,
    Conversation,
    Direction,
    Message,
    MessageStatus,
)
from recruitflow import search  # noqa: E402
from recruitflow.tenancy import scopes_disabled, tenant_scope  # noqa: E402

FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Dorothy",
    "George",
    "Melissa",
    "Timothy",
    "Deborah",
    "Ronald",
    "Stephanie",
    "Edward",
    "Rebecca",
    "Jason",
    "Sharon",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Cynthia",
    "Jacob",
    "Kathleen",
    "Gary",
    "Amy",
    "Nicholas",
    "Angela",
    "Eric",
    "Shirley",
    "Jonathan",
    "Anna",
    "Stephen",
    "Brenda",
    "Larry",
    "Pamela",
    "Justin",
    "Emma",
    "Scott",
    "Nicole",
    "Brandon",
    "Helen",
    "Benjamin",
    "Samantha",
    "Samuel",
    "Katherine",
    "Gregory",
    "Christine",
    "Alexander",
    "Debra",
    "Frank",
    "Rachel",
    "Patrick",
    "Carolyn",
    "Raymond",
    "Janet",
    "Jack",
    "Catherine",
    "Dennis",
    "Maria",
    "Jerry",
    "Heather",
    "Tyler",
    "Diane",
    "Aaron",
    "Ruth",
    "Jose",
    "Julie",
    "Adam",
    "Olivia",
    "Nathan",
    "Joyce",
    "Henry",
    "Virginia",
    "Priya",
    "Wei",
    "Aisha",
    "Mateo",
    "Yuki",
    "Olu",
    "Ingrid",
    "Sven",
    "Chiara",
    "Dmitri",
    "Fatima",
    "Kwame",
    "Leilani",
    "Ravi",
    "Zofia",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Okafor",
    "Haddad",
    "Lindqvist",
    "Kowalski",
    "Tanaka",
    "Rossi",
    "Novak",
    "Mensah",
    "Kaur",
    "Schmidt",
    "Dubois",
    "Ivanova",
    "Park",
    "Fischer",
    "Silva",
    "Haugen",
]
DOMAINS = ("gmail.test", "outlook.test", "yahoo.test", "proton.test", "example.com")
AREAS = ("415", "212", "646", "312", "617", "206", "512", "303", "404", "213")
WORDS = [
    "interview",
    "Thursday",
    "Monday",
    "onsite",
    "schedule",
    "resume",
    "offer",
    "salary",
    "benefits",
    "relocation",
    "reference",
    "portfolio",
    "availability",
    "morning",
    "afternoon",
    "recruiter",
    "manager",
    "panel",
    "coding",
    "assessment",
    "feedback",
    "question",
    "confirm",
    "reschedule",
    "directions",
    "parking",
    "badge",
    "laptop",
]
JOURNEY_WORDS = [
    "Onsite",
    "Phone",
    "Screen",
    "Offer",
    "Rejection",
    "Nurture",
    "Reminder",
    "Follow-up",
    "Welcome",
    "Referral",
    "Sourcing",
    "Sales",
    "Engineering",
    "Campus",
    "Executive",
    "Hourly",
    "Warehouse",
    "Retail",
    "Nurse",
    "Driver",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def build(args, rng: random.Random):
    User = get_user_model()
    stamp = int(time.time())
    owner = User.objects.create_user(
        username=f"sbench-{stamp}@bench.test",
        email=f"sbench-{stamp}@bench.test",
        password="correct-horse-9",
        first_name="Bench",
    )
    org = account_services.organization_create(
        name=f"Search bench {stamp}", owner=owner, time_zone="America/New_York"
    )
    started = time.perf_counter()
    numbers: set[str] = set()
    emails: list[str] = []
    with tenant_scope(org):
        rows = []
        for i in range(args.candidates):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            number = f"+1{rng.choice(AREAS)}{rng.randrange(2000000, 9999999)}"
            numbers.add(number)
            emails.append(f"{first}.{last}{i}@{rng.choice(DOMAINS)}".lower())
            rows.append(
                Candidate(
                    organization=org,
                    provider="greenhouse",
                    external_id=f"sb-{i}",
                    first_name=first,
                    last_name=last,
                    primary_email=emails[-1],
                    mobile_phone=number,
                )
            )
        Candidate.objects.bulk_create(rows, batch_size=5000)
        candidate_ids = list(
            Candidate.objects.filter(organization=org).values_list("pk", flat=True)
        )
        now = timezone.now()
        chosen = rng.sample(candidate_ids, min(args.conversations, len(candidate_ids)))
        conversations = [
            Conversation(
                organization=org,
                candidate_id=pk,
                last_message_at=now - timedelta(minutes=rng.randrange(0, 60 * 24 * 90)),
            )
            for pk in chosen
        ]
        Conversation.objects.bulk_create(conversations, batch_size=5000)
        messages = []
        for conversation in Conversation.objects.filter(organization=org).values_list(
            "pk", "candidate_id"
        ):
            for n in range(3):
                inbound = n % 2 == 1
                messages.append(
                    Message(
                        organization=org,
                        conversation_id=conversation[0],
                        candidate_id=conversation[1],
                        channel=Channel.SMS,
                        direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
                        to_address="+15005550006",
                        body=" ".join(rng.choice(WORDS) for _ in range(rng.randrange(6, 18))),
                        status=MessageStatus.RECEIVED if inbound else MessageStatus.DELIVERED,
                    )
                )
        Message.objects.bulk_create(messages, batch_size=5000)
        Journey.objects.bulk_create(
            [
                Journey(
                    organization=org,
                    name=f"{rng.choice(JOURNEY_WORDS)} {rng.choice(JOURNEY_WORDS)} {i}",
                )
                for i in range(args.journeys)
            ]
        )
        MessageTemplate.objects.bulk_create(
            [
                MessageTemplate(
                    organization=org,
                    name=f"{rng.choice(JOURNEY_WORDS)} {rng.choice(WORDS)} {i}",
                    channel=TemplateChannel.EMAIL if i % 2 else TemplateChannel.SMS,
                    subject=f"Your {rng.choice(WORDS)} with Northwind" if i % 2 else "",
                    text_body="Hi {{ candidate.first_name }}",
                )
                for i in range(args.templates)
            ]
        )
    with connection.cursor() as cursor:
        for table in (
            "candidates_candidate",
            "messaging_conversation",
            "messaging_message",
            "journeys_journey",
            "library_messagetemplate",
        ):
            # What autovacuum does after a bulk load: statistics, and the GIN indexes' pending
            # lists merged (searched row by row until then).
            cursor.execute(f"VACUUM ANALYZE {table}")
    built = time.perf_counter() - started
    print(
        f"Built {args.candidates} candidates, {len(conversations)} conversations, "
        f"{len(messages)} messages, {args.journeys} journeys, {args.templates} templates "
        f"in {built:.1f} s",
        flush=True,
    )
    return org, owner, sorted(numbers), emails, built


def queries(
    args, rng: random.Random, numbers: list[str], emails: list[str]
) -> dict[str, list[str]]:
    n = args.queries

    def part(word: str) -> str:
        start = rng.randrange(0, max(1, len(word) - 3))
        return word[start : start + rng.randrange(3, 6)]

    def phone(number: str) -> str:
        area, exchange, line = number[2:5], number[5:8], number[8:]
        return rng.choice(
            (
                f"+1 ({area}) {exchange}-{line}",
                f"{area}{exchange}{line}",
                f"{area}-{exchange}-{line}",
            )
        )

    return {
        "candidate_name": [
            rng.choice(
                (
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    part(rng.choice(LAST)),
                )
            )
            for _ in range(n)
        ],
        # A whole address, or the part before the @ (names with the row's number).
        "candidate_email": [
            rng.choice((email, email.split("@")[0]))
            for email in (rng.choice(emails) for _ in range(n))
        ],
        "candidate_phone": [phone(rng.choice(numbers)) for _ in range(n)],
        "message_text": [
            rng.choice((rng.choice(WORDS), f"{rng.choice(WORDS)} {rng.choice(WORDS)}"))
            for _ in range(n)
        ],
        "journey": [rng.choice(JOURNEY_WORDS) for _ in range(n)],
        "template": [rng.choice((rng.choice(JOURNEY_WORDS), rng.choice(WORDS))) for _ in range(n)],
    }


def explain(org, by_kind: dict[str, list[str]]) -> None:
    print("Query plans (index scans used):", flush=True)
    with tenant_scope(org):
        for kind, qs in by_kind.items():
            with CaptureQueriesContext(connection) as captured:
                search.search(organization=org, raw_query=qs[0])
            scans: set[str] = set()
            with connection.cursor() as cursor:
                for query in captured.captured_queries:
                    if not query["sql"].startswith("SELECT"):
                        continue
                    cursor.execute("EXPLAIN ANALYZE " + query["sql"])
                    lines = [line for (line,) in cursor.fetchall()]
                    for line in lines:
                        if "Index Scan" in line or "Seq Scan" in line:
                            scans.add(line.strip().replace("->", "").strip().split("  (")[0])
                    took = lines[-1].strip()  # "Execution Time: ... ms"
                    scans.add(f"[{took}]")
            print(f"  {kind:16} {qs[0]!r}: {'; '.join(sorted(scans))}", flush=True)


# The group each kind of query is about: its own time is measured too (the whole search runs
# every group for every query, e.g. message text for a name).
OWN_GROUP = {
    "candidate_name": "_candidate_group",
    "candidate_email": "_candidate_group",
    "candidate_phone": "_candidate_group",
    "message_text": "_conversation_group",
    "journey": "_journey_group",
    "template": "_template_group",
}


def _timed_groups() -> dict[str, list[float]]:
    """Wrap the search's group functions so each call's time is recorded under its name."""
    spent: dict[str, list[float]] = {}
    for name in set(OWN_GROUP.values()):
        original = getattr(search, name)

        def timed(*args, _original=original, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent.setdefault(_name, []).append((time.perf_counter() - start) * 1000)

        setattr(search, name, timed)
    return spent


def measure(args, org, owner, by_kind: dict[str, list[str]]) -> dict:
    figures: dict = {}
    spent = _timed_groups()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(owner)
    client.get("/search/?q=warm")  # connection, templates and URL caches warm
    for kind, qs in by_kind.items():
        found = 0
        db, suggest, page = [], [], []
        own: list[float] = []
        for q in qs:
            spent.clear()
            with tenant_scope(org):
                start = time.perf_counter()
                results = search.search(organization=org, raw_query=q)
                db.append((time.perf_counter() - start) * 1000)
            own.append(spent[OWN_GROUP[kind]][0])
            found += results.found
            start = time.perf_counter()
            response = client.get("/search/suggest/", {"q": q})
            suggest.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
            start = time.perf_counter()
            response = client.get("/search/", {"q": q})
            page.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
        for way, times in (("group", own), ("search", db), ("suggest", suggest), ("page", page)):
            figures[f"{kind}_{way}_p50_ms"] = pct(times, 0.5)
            figures[f"{kind}_{way}_p99_ms"] = pct(times, 0.99)
        figures[f"{kind}_found_share"] = round(found / len(qs), 2)
        print(
            f"{kind:16} own group p50 {pct(own, 0.5):6.1f} ms p99 {pct(own, 0.99):6.1f} | "
            f"search p50 {pct(db, 0.5):6.1f} ms p99 {pct(db, 0.99):6.1f} ms | "
            f"suggest p50 {pct(suggest, 0.5):6.1f} p99 {pct(suggest, 0.99):6.1f} | "
            f"page p50 {pct(page, 0.5):6.1f} p99 {pct(page, 0.99):6.1f} | "
            f"{found}/{len(qs)} found something",
            flush=True,
        )
    return figures


def floor(org, queries: int) -> dict:
    """The floor: the cheapest query a search could make, measured here on the same database and
    organization: one candidate by primary key through the ORM (a round trip, an index lookup,
    one row built). Each search's p50 and p99 are then shown as multiples of it."""
    with tenant_scope(org):
        pks = list(Candidate.objects.values_list("pk", flat=True)[: max(queries, 1)])
        times = []
        for _ in range(3):
            for pk in pks:
                start = time.perf_counter()
                Candidate.objects.filter(pk=pk).first()
                times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99)}


def with_ratios(figures: dict, floor_figures: dict) -> dict:
    """Each p50/p99 as a multiple of the floor's (how many cheapest queries' time it costs)."""
    ratios = {}
    for key, value in figures.items():
        if key.endswith(("_p50_ms", "_p99_ms")) and not key.startswith("worst_"):
            base = floor_figures["p99_ms" if key.endswith("_p99_ms") else "p50_ms"] or 0.001
            ratios[key.removesuffix("_ms")] = round(value / base, 1)
    return {**figures, "floor": floor_figures, "ratio_to_floor": ratios}


def cleanup(org, owner) -> None:
    with connection.cursor() as cursor:
        for table in (
            "messaging_message",
            "messaging_conversation",
            "candidates_candidate",
            "journeys_journey",
            "library_messagetemplate",
        ):
            cursor.execute(f'DELETE FROM "{table}" WHERE organization_id = %s', [org.pk])
    with scopes_disabled():
        org.delete()
        owner.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--journeys", type=int, default=300)
    parser.add_argument("--templates", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("Run this on Postgres (DATABASE_URL): the trigram indexes are what it measures.")
    rng = random.Random(args.seed)
    org, owner, numbers, emails, built = build(args, rng)
    # The build leaves a heap no web worker has (hundreds of thousands of objects): collected
    # and frozen once, so the timings don't include the garbage collector walking it.
    gc.collect()
    gc.freeze()
    try:
        by_kind = queries(args, rng, numbers, emails)
        if args.explain:
            explain(org, by_kind)
        figures = {
            "database": connection.vendor,
            "candidates": args.candidates,
            "conversations": args.conversations,
            "build_s": round(built, 1),
            **measure(args, org, owner, by_kind),
        }
        figures["worst_group_p99_ms"] = max(
            value for key, value in figures.items() if key.endswith("_group_p99_ms")
        )
        figures["worst_search_p99_ms"] = max(
            value for key, value in figures.items() if key.endswith("_search_p99_ms")
        )
        figures["worst_suggest_p99_ms"] = max(
            value for key, value in figures.items() if key.endswith("_suggest_p99_ms")
        )
        floor_figures = floor(org, args.queries)
        figures = with_ratios(figures, floor_figures)
        print(
            f"floor (one candidate by primary key) p50 {floor_figures['p50_ms']} ms "
            f"p99 {floor_figures['p99_ms']} ms; message text p99 "
            f"{figures['message_text_search_p99_ms']} ms = "
            f"{figures['ratio_to_floor']['message_text_search_p99']}× the floor (target 100 ms)",
            flush=True,
        )
    finally:
        if not args.keep:
            cleanup(org, owner)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
