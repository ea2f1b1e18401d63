"""The demo organization of `make run`, connected to the sandbox Greenhouse.

`demo_greenhouse_connect` stores the connection (idempotent, no network). `demo_sandbox_wire`
runs in the background while the sandbox, web and worker processes start: it waits for the
sandbox to answer, tests the connection, requests the first full sync (an incremental one on
later starts), then waits for the web process and points the sandbox's webhook at the demo
connection's endpoint. Lives in `candidates` because it starts syncs; `accounts` stays below.
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


def demo_greenhouse_connect(*, organization, sandbox_url: str) -> GreenhouseConnection | None:
    """Connect the demo organization to the sandbox Greenhouse (Harvest v3). Leaves alone a
    connection the demo user pointed somewhere else."""
    base_url = f"{sandbox_url.rstrip('/')}/greenhouse"
    with tenant_scope(organization):
        connection = GreenhouseConnection.objects.filter(organization=organization).first()
        if connection is not None and not connection.base_url.startswith(sandbox_url):
            return None
        connection = connection or GreenhouseConnection(organization=organization)
        connection.api_version = HarvestVersion.V3
        connection.base_url = base_url
        connection.client_id = SANDBOX_CLIENT_ID
        connection.client_secret = SANDBOX_CLIENT_SECRET
        connection.acting_user_id = SANDBOX_ACTING_USER_ID
        if connection.status == ConnectionStatus.DISCONNECTED:
            connection.status = ConnectionStatus.NOT_CONNECTED
        connection.save()
        return connection


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
    with tenant_scope(organization):
        result = connection_test(connection)
        if not result.ok:
            log(f"Sandbox Greenhouse connection test failed: {result.error}")
            return False
        has_synced = SyncRun.objects.filter(status=SyncStatus.SUCCEEDED).exists()
        try:
            run = sync_request(organization=organization, full=not has_synced)
        except (SyncAlreadyRunning, NoATSConnection) as exc:
            log(f"Sync not started: {exc}")
        else:
            log(f"{run.get_kind_display()} sync of the sandbox Greenhouse requested.")

    webhook_url = public_base_url.rstrip("/") + reverse(
        "webhooks:greenhouse", args=[connection.endpoint_token]
    )
    # The sandbox pings the URL when the webhook is saved and keeps it disabled unless the ping
    # gets a 200, so the web process must be up first.
    if not _wait_for(f"{public_base_url}/healthz", deadline=deadline, log=log, what="the web app"):
        ok = False
    for _attempt in range(10):
        try:
            hook = requests.post(
                f"{control}/webhook",
                json={"url": webhook_url, "secret": connection.webhook_secret, "enabled": True},
                timeout=10,
            ).json()
        except (requests.RequestException, ValueError) as exc:
            hook = {"enabled": False, "ping": {"error": str(exc)}}
        if hook.get("enabled"):
            log(f"Sandbox Greenhouse webhook → {webhook_url}")
            return ok
        time.sleep(2)
    log(f"The sandbox could not reach the webhook at {webhook_url}: {hook.get('ping')}")
    return False
