import pytest

from integrations.greenhouse.models import GreenhouseConnection
from integrations.lever.models import LeverConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from recruitflow.tenancy import tenant_scope

N_CANDIDATES = 40


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=N_CANDIDATES, webhook_retry_scale=0) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_sandbox(sandbox):
    """Each test starts from the same generated company, no faults, the default limits."""
    sandbox.greenhouse.reset()
    sandbox.lever.reset()
    sandbox.greenhouse.set_rate_limit(None, v3_limit=None)
    sandbox.lever.set_rate_limit(None)
    yield


@pytest.fixture
def greenhouse_connection(alice, sandbox):
    with tenant_scope(alice.organization):
        return GreenhouseConnection.objects.create(
            organization=alice.organization,
            base_url=f"{sandbox.url}/greenhouse",
            api_version="v1",
            api_key="sandbox-harvest-key",
            status=ConnectionStatus.CONNECTED,
        )


@pytest.fixture
def lever_connection(alice, sandbox):
    with tenant_scope(alice.organization):
        return LeverConnection.objects.create(
            organization=alice.organization,
            base_url=f"{sandbox.url}/lever/v1",
            api_key="sandbox-lever-key",
            signature_token="lever-signing-token",
            status=ConnectionStatus.CONNECTED,
        )
