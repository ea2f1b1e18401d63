"""Fixtures for ATS activity write-back: the sandbox Greenhouse, Lever and Twilio over a real
socket, an organization connected to the sandbox ATS with two of its candidates mirrored, and
a helper that runs the beat tasks (reader, then outbox worker) the way beat does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests

from candidates.models import AtsUser, Candidate
from integrations.greenhouse.models import GreenhouseConnection
from integrations.lever.models import LeverConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from integrations.twilio.models import TwilioSettings
from integrations.twilio.sandbox import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, SANDBOX_SERVICE_SID
from recruitflow.tenancy import tenant_scope
from writeback import tasks

HARVEST_KEY = ("sandbox-harvest-key", "")
LEVER_KEY = ("sandbox-lever-key", "")
MOBILE = "+12125550123"
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=10) as server:
        yield server


@pytest.fixture
def writeback_env(sandbox, settings, time_machine):
    """A clean sandbox, no settle window, daytime in New York (requested by the write-back
    tests only: the transcript tests beside them keep their own clock)."""
    sandbox.greenhouse.reset()
    sandbox.lever.reset()
    sandbox.greenhouse.set_rate_limit(None, v3_limit=None)
    sandbox.lever.set_rate_limit(None)
    sandbox.twilio.reset()
    sandbox.twilio.configure(sent_delay=0.01, delivery_delay=0.02, inbound_url=NOWHERE + "/in")
    settings.PUBLIC_BASE_URL = NOWHERE
    settings.SANDBOX_URL = ""
    settings.SANDBOX_SHORTCUTS = True
    settings.MESSAGING_PROVIDER_MAX_ATTEMPTS = 1
    settings.WRITEBACK_SETTLE_SECONDS = 0
    # Daytime in New York: no quiet hours.
    time_machine.move_to(datetime(2025, 1, 15, 16, 0, tzinfo=UTC), tick=True)
    yield
    sandbox.twilio.wait_idle(2)


@dataclass
class Ats:
    """The organization's view of the sandbox ATS: the connection, the acting user and two
    mirrored candidates (external ids are the sandbox's own)."""

    organization: object
    provider: str
    connection: object
    users: list[AtsUser]
    candidates: list[Candidate]

    @property
    def acting(self) -> AtsUser:
        return self.users[0]


def _mirror(org, provider: str, users: list[dict], candidates: list[dict]) -> tuple[list, list]:
    with tenant_scope(org):
        ats_users = [
            AtsUser.objects.create(
                organization=org,
                provider=provider,
                external_id=str(u["id"]),
                name=u["name"],
                email=u["email"],
            )  # fmt: skip
            for u in users
        ]
        mirrored = [
            Candidate.objects.create(
                organization=org,
                provider=provider,
                external_id=str(c["id"]),
                first_name=c["first"],
                last_name=c["last"],
                mobile_phone=MOBILE if i == 0 else f"+1212555012{i}",
                primary_email=f"cand{i}@example.com",
            )
            for i, c in enumerate(candidates)
        ]
    return ats_users, mirrored


def greenhouse_ats(org, sandbox, key: str = "sandbox-harvest-key") -> Ats:
    base = f"{sandbox.url}/greenhouse"
    users = requests.get(f"{base}/v1/users", auth=HARVEST_KEY).json()[:2]
    cands = requests.get(f"{base}/v1/candidates", auth=HARVEST_KEY).json()[:2]
    ats_users, mirrored = _mirror(
        org,
        "greenhouse",
        [{"id": u["id"], "name": u["name"], "email": u["primary_email_address"]} for u in users],
        [{"id": c["id"], "first": c["first_name"], "last": c["last_name"]} for c in cands],
    )
    with tenant_scope(org):
        connection = GreenhouseConnection.objects.create(
            organization=org,
            base_url=base,
            api_version="v1",
            api_key=key,
            status=ConnectionStatus.CONNECTED,
        )
    return Ats(org, "greenhouse", connection, ats_users, mirrored)


def lever_ats(org, sandbox) -> Ats:
    base = f"{sandbox.url}/lever/v1"
    users = requests.get(f"{base}/users", auth=LEVER_KEY).json()["data"][:2]
    opps = requests.get(f"{base}/opportunities", auth=LEVER_KEY).json()["data"][:2]
    ats_users, mirrored = _mirror(
        org,
        "lever",
        [{"id": u["id"], "name": u["name"], "email": u["email"]} for u in users],
        [
            {"id": o["id"], "first": o["name"].split()[0], "last": o["name"].split()[-1]}
            for o in opps
        ],
    )
    with tenant_scope(org):
        connection = LeverConnection.objects.create(
            organization=org,
            base_url=base,
            api_key="sandbox-lever-key",
            signature_token="lever-signing-token",
            status=ConnectionStatus.CONNECTED,
        )
    return Ats(org, "lever", connection, ats_users, mirrored)


@pytest.fixture
def org(alice):
    return alice.organization


@pytest.fixture
def twilio(org, sandbox):
    with tenant_scope(org):
        return TwilioSettings.objects.create(
            organization=org,
            account_sid=SANDBOX_ACCOUNT_SID,
            auth_token=SANDBOX_AUTH_TOKEN,
            messaging_service_sid=SANDBOX_SERVICE_SID,
            base_url=f"{sandbox.url}/twilio",
        )


def run_beat() -> int:
    """One tick of the write-back beat entries: the reader, then the outbox worker."""
    tasks.read_activity()
    return tasks.write_due()
