"""Page and API latency under 32 concurrent clients, against gunicorn over loopback.

Usage: .venv/bin/python bench/pages.py [--clients 32] [--seconds 5]   (needs Debian's wrk)

Uses the database of the environment (DATABASE_URL, else the local SQLite), creates a throwaway
organization with a team, invitations and API keys, starts gunicorn on a free port, signs in, and
hammers the app's pages and the partner API. Prints per-URL p50/p99 and queries per page, then one
JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts import services  # noqa: E402
from accounts.models import Organization, Role  # noqa: E402
from recruitflow.tenancy import scopes_disabled, tenant_scope  # noqa: E402

PAGES = ["/", "/settings/team/", "/settings/api-keys/", "/settings/organization/", "/candidates/"]
API = ["/api/v1/", "/api/v1/members/"]
PASSWORD = "bench-Passphrase-91"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_org():
    User = get_user_model()
    stamp = int(time.time())
    owner = User.objects.create_user(
        username=f"bench-{stamp}@bench.test", email=f"bench-{stamp}@bench.test", password=PASSWORD
    )
    from allauth.account.models import EmailAddress

    # Production settings require a verified address before sign-in.
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    org = services.organization_create(name=f"Bench {stamp}", owner=owner)
    with tenant_scope(org):
        from accounts.models import Membership

        actor = Membership.objects.get(user=owner)
        for n in range(25):
            user = User.objects.create_user(
                username=f"m{n}-{stamp}@bench.test", email=f"m{n}-{stamp}@bench.test"
            )
            Membership.objects.create(organization=org, user=user, role=Role.RECRUITER)
            services.invitation_create(actor=actor, email=f"i{n}-{stamp}@bench.test", role="viewer")
        _, raw = services.api_key_create(actor=actor, name="bench", scope="read")
    return org, owner, raw


def cleanup(org, owner):
    with scopes_disabled():
        from accounts.models import Membership

        users = list(Membership.objects.filter(organization=org).values_list("user_id", flat=True))
        Organization.objects.filter(pk=org.pk).delete()
        get_user_model().objects.filter(pk__in=users).delete()
        owner.delete()


def query_counts(owner, raw_key) -> dict[str, int]:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(owner)
    counts = {}
    for url in PAGES:
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        counts[url] = len(ctx.captured_queries)
    for url in API:
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        counts[url] = len(ctx.captured_queries)
    return counts


def run(args):
    org, owner, raw_key = make_org()
    port = free_port()
    env = {**os.environ, "DEBUG": "0", "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0",
           "CSRF_COOKIE_SECURE": "0", "STATIC_MANIFEST": "0", "API_THROTTLE_RATE": "1000000/min",
           "ALLOWED_HOSTS": "127.0.0.1"}  # fmt: skip
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "recruitflow.wsgi:application", "-b",
         f"127.0.0.1:{port}", "--workers", "4", "--threads", "1", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/healthz", timeout=3)
                break
            except requests.RequestException:
                time.sleep(0.1)
        counts = query_counts(owner, raw_key)
        session = requests.Session()
        login = session.get(f"{base}/accounts/login/")
        session.post(
            f"{base}/accounts/login/",
            data={"login": owner.email, "password": PASSWORD,
                  "csrfmiddlewaretoken": login.cookies.get("csrftoken", "")},
            headers={"Referer": f"{base}/accounts/login/"},
        )  # fmt: skip
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.get_dict().items())
        assert session.get(f"{base}/", allow_redirects=False).status_code == 200, "login failed"
        results = {}
        for url in PAGES + API:
            header = f"Authorization: Bearer {raw_key}" if url in API else f"Cookie: {cookie}"
            results[url] = wrk(base + url, header, args.clients, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=10)
        cleanup(org, owner)

    print(f"{args.clients} connections, {args.seconds}s per URL, gunicorn with 4 sync workers")
    for url, r in results.items():
        print(
            f"  {url:28} {r['rps']:7.1f} req/s  p50={r['p50']:6.1f} ms  p99={r['p99']:6.1f} ms  "
            f"non-2xx={r['non2xx']}  queries={counts[url]}"
        )
    figures = {
        "connections": args.clients,
        "worst_p99_ms": round(max(r["p99"] for r in results.values()), 1),
        "median_p50_ms": round(statistics.median(r["p50"] for r in results.values()), 1),
        "pages": {url: {k: round(v, 1) for k, v in r.items()} for url, r in results.items()},
        "queries_per_page": counts,
        "database": connection.vendor,
    }
    print(json.dumps(figures))


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    import re

    number, unit = re.match(r"([0-9.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(url: str, header: str, connections: int, seconds: int) -> dict[str, float]:
    import re
    import shutil

    if not shutil.which("wrk"):
        raise SystemExit("bench/pages.py needs wrk: sudo apt-get install -y wrk")
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", header, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    percent = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    if "99" not in percent:
        raise SystemExit(f"wrk gave no latency figures for {url}:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),
        "p50": _ms(percent["50"]),
        "p99": _ms(percent["99"]),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=5)
    run(parser.parse_args())
