"""Connections to the sandbox Greenhouse: the demo organization of `make run` (the sandbox's
default company) and any organization's own sandbox company ("Use the sandbox").

`sandbox_greenhouse_connect` stores a connection with given credentials (idempotent, no
network; `demo_greenhouse_connect` with the default company's). `sandbox_company_create` asks
the sandbox for an organization's own company, `sandbox_sync_start` tests a connection and
requests the first sync, `sandbox_webhook_point` points a company's webhook at a connection's
endpoint. `sandbox_sendgrid_account` gives an API key its own sandbox SendGrid account whose
Event Webhook posts to a given endpoint. `demo_sandbox_wire` runs in the background while the sandbox, web and worker
processes start: it waits for the sandbox to answer, tests the connection, requests the first
full sync (an incremental one on later starts), then waits for the web process and points the
sandbox's webhook at the demo connection's endpoint. Lives in `candidates` because it starts
syncs; `accounts` stays below.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from django.urls import reverse

from integrations.connections import connection_test
from integrations.greenhouse.models import GreenhouseConnection, HarvestVersion
from integrations.models import ConnectionStatus
from recruitflow.tenancy import tenant_scope

from .models import SyncRun, SyncStatus
from .services import NoATSConnection, SyncAlreadyRunning, sync_request

SANDBOX_CLIENT_ID = "sandbox-client-id"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
SANDBOX_ACTING_USER_ID = "100001"  # the sandbox company's site admin


class SandboxUnavailable(Exception):
    """The sandbox did not answer, or answered something other than what was asked."""


def sandbox_greenhouse_connect(
    *,
    organization,
    sandbox_url: str,
    client_id: str = SANDBOX_CLIENT_ID,
    client_secret: str = SANDBOX_CLIENT_SECRET,
) -> GreenhouseConnection | None:
    """Connect ``organization`` to the sandbox Greenhouse company whose Harvest v3 client is
    ``client_id``/``client_secret`` (the default company's unless given). Leaves alone a
    connection pointed somewhere else than the sandbox (returns None)."""
    base_url = f"{sandbox_url.rstrip('/')}/greenhouse"
    with tenant_scope(organization):
        connection = GreenhouseConnection.objects.filter(organization=organization).first()
        if connection is not None and not connection.base_url.startswith(sandbox_url):
            return None
        connection = connection or GreenhouseConnection(organization=organization)
        connection.api_version = HarvestVersion.V3
        connection.base_url = base_url
        connection.client_id = client_id
        connection.client_secret = client_secret
        connection.acting_user_id = SANDBOX_ACTING_USER_ID
        if connection.status == ConnectionStatus.DISCONNECTED:
            connection.status = ConnectionStatus.NOT_CONNECTED
        connection.save()
        return connection


def demo_greenhouse_connect(*, organization, sandbox_url: str) -> GreenhouseConnection | None:
    """Connect the demo organization to the sandbox Greenhouse's default company (Harvest v3).
    Leaves alone a connection the demo user pointed somewhere else."""
    return sandbox_greenhouse_connect(organization=organization, sandbox_url=sandbox_url)


def sandbox_company_key(connection: GreenhouseConnection) -> str:
    """The sandbox company of an organization's own: named after its connection's endpoint
    token (random, unique, kept), so asking again finds the same company, and a sandbox that
    forgot it makes it again with the same data (the data is seeded from the key)."""
    return f"rf-{connection.endpoint_token[:16].lower()}"


def sandbox_company_create(*, sandbox_url: str, key: str, name: str = "") -> dict:
    """The sandbox Greenhouse company ``key`` (made if missing): its credentials and screen.
    Raises SandboxUnavailable when the sandbox does not answer as expected."""
    url = f"{sandbox_url.rstrip('/')}/greenhouse/_sandbox/api/companies"
    try:
        response = requests.post(url, json={"key": key, "name": name}, timeout=30)
        company = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SandboxUnavailable(f"The sandbox at {sandbox_url} did not answer: {exc}") from exc
    if response.status_code not in (200, 201) or "client_id" not in company:
        raise SandboxUnavailable(
            f"The sandbox at {sandbox_url} refused to make a company "
            f"(HTTP {response.status_code}): {company}"
        )
    company["screen_url"] = f"{sandbox_url.rstrip('/')}/greenhouse{company['screen_path']}"
    return company


def sandbox_sendgrid_account(*, sandbox_url: str, api_key: str, event_url: str) -> str:
    """Make ``api_key`` an account of the sandbox SendGrid whose Event Webhook posts, signed, to
    ``event_url`` (SendGrid's Mail Settings → Event Webhook of that account). Returns the
    account's verification key. Raises SandboxUnavailable when the sandbox does not answer."""
    url = f"{sandbox_url.rstrip('/')}/sendgrid/_sandbox/api/config"
    try:
        response = requests.post(
            url,
            json={"api_key": api_key, "event_url": event_url, "enabled": True, "signed": True},
            timeout=30,
        )
        response.raise_for_status()
        public_key = requests.get(url, params={"api_key": api_key}, timeout=30).json()
    except (requests.RequestException, ValueError) as exc:
        raise SandboxUnavailable(
            f"The sandbox SendGrid at {sandbox_url} did not answer: {exc}"
        ) from exc
    return str(public_key["public_key"])


def sandbox_sync_start(*, organization, connection: GreenhouseConnection) -> tuple[bool, str]:
    """Test ``connection`` and request a sync (full when none succeeded yet). Returns whether
    the connection works and a sentence saying what happened."""
    with tenant_scope(organization):
        result = connection_test(connection)
        if not result.ok:
            return False, f"The sandbox Greenhouse connection test failed: {result.error}"
        has_synced = SyncRun.objects.filter(status=SyncStatus.SUCCEEDED).exists()
        try:
            run = sync_request(organization=organization, full=not has_synced)
        except SyncAlreadyRunning:
            return True, "A sync of the sandbox Greenhouse is already running."
        except NoATSConnection as exc:
            return False, f"Sync not started: {exc}"
        return True, f"{run.get_kind_display()} sync of the sandbox Greenhouse requested."


def sandbox_webhook_point(
    *,
    connection: GreenhouseConnection,
    control_url: str,
    public_base_url: str,
    attempts: int = 1,
    pause: float = 2.0,
) -> tuple[bool, str]:
    """Point the webhook of the sandbox company at ``control_url`` (its ``.../_sandbox/api``)
    at ``connection``'s endpoint, signed with its secret. The sandbox pings the URL and keeps
    the hook disabled unless the ping gets a 200, so the web process must answer; tried
    ``attempts`` times. Returns whether the hook is on and the webhook URL or the problem."""
    webhook_url = public_base_url.rstrip("/") + reverse(
        "webhooks:greenhouse", args=[connection.endpoint_token]
    )
    hook: dict = {}
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause)
        try:
            hook = requests.post(
                f"{control_url}/webhook",
                json={"url": webhook_url, "secret": connection.webhook_secret, "enabled": True},
                timeout=10,
            ).json()
        except (requests.RequestException, ValueError) as exc:
            hook = {"enabled": False, "ping": {"error": str(exc)}}
        if hook.get("enabled"):
            return True, webhook_url
    ping = hook.get("ping") or {}
    why = ping.get("error") or f"HTTP {ping.get('http_status')}"
    return False, f"the sandbox could not reach {webhook_url} ({why})"


def _wait_for(url: str, *, deadline: float, log: Callable[[str], None], what: str) -> bool:
    announced = False
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return True
        except requests.RequestException:
            if not announced:
                log(f"Waiting for {what} at {url} ...")
                announced = True
            time.sleep(1)
    log(f"Gave up waiting for {what} at {url}.")
    return False


def demo_sandbox_wire(
    *,
    organization,
    sandbox_url: str,
    public_base_url: str,
    wait_seconds: float = 120,
    log: Callable[[str], None] = print,
) -> bool:
    """Make the demo live: test, first sync, webhook. Returns True when all of it worked."""
    sandbox_url = sandbox_url.rstrip("/")
    deadline = time.monotonic() + wait_seconds
    connection = demo_greenhouse_connect(organization=organization, sandbox_url=sandbox_url)
    if connection is None:
        log("The demo organization uses its own Greenhouse connection; sandbox not wired.")
        return False
    control = f"{sandbox_url}/greenhouse/_sandbox/api"
    if not _wait_for(f"{control}/webhook", deadline=deadline, log=log, what="the sandbox"):
        return False

    ok = True
    works, said = sandbox_sync_start(organization=organization, connection=connection)
    log(said)
    if not works:
        return False

    # The sandbox pings the URL when the webhook is saved and keeps it disabled unless the ping
    # gets a 200, so the web process must be up first.
    if not _wait_for(f"{public_base_url}/healthz", deadline=deadline, log=log, what="the web app"):
        ok = False
    hooked, said = sandbox_webhook_point(
        connection=connection, control_url=control, public_base_url=public_base_url, attempts=10
    )
    if hooked:
        log(f"Sandbox Greenhouse webhook → {said}")
        return ok
    log(f"The sandbox Greenhouse webhook is off: {said}")
    return False
