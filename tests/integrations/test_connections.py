"""A stored connection becomes a working adapter; testing it names missing permissions and logs
every call."""

import pytest

from integrations.connections import connection_test
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus, ProviderCall
from integrations.sandbox.server import SandboxServer
from recruitflow.tenancy import tenant_scope


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=30) as server:
        yield server


def _first_user_id(sandbox) -> str:
    import requests

    users = requests.get(
        f"{sandbox.url}/greenhouse/v1/users", auth=("sandbox-harvest-key", ""), timeout=5
    ).json()
    return str(users[0]["id"])


def _connect(org, sandbox, **fields):
    with tenant_scope(org):
        return GreenhouseConnection.objects.create(
            organization=org, base_url=f"{sandbox.url}/greenhouse", **fields
        )


@pytest.mark.django_db
def test_connection_passes_when_every_permission_is_granted(alice, sandbox):
    connection = _connect(
        alice.organization,
        sandbox,
        api_version="v3",
        client_id="sandbox-client-id",
        client_secret="sandbox-client-secret",
    )
    with tenant_scope(alice.organization):
        result = connection_test(connection)
        assert result.ok, result.error
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.CONNECTED
        assert ProviderCall.objects.filter(provider="greenhouse").count() >= 5


@pytest.mark.django_db
def test_missing_permission_is_named_as_greenhouse_shows_it(alice, sandbox):
    connection = _connect(
        alice.organization,
        sandbox,
        api_version="v1",
        api_key="sandbox-harvest-limited",
        acting_user_id=_first_user_id(sandbox),
    )
    with tenant_scope(alice.organization):
        result = connection_test(connection)
    assert not result.ok
    assert {c.label for c in result.missing} == {
        "Applications → GET: List Applications",
        "Candidates → POST: Add Note",
    }
    assert "GET: List Applications" in connection.last_error
    assert connection.status == ConnectionStatus.ERROR


@pytest.mark.django_db
def test_wrong_key_gets_a_clear_message(alice, sandbox):
    connection = _connect(alice.organization, sandbox, api_version="v1", api_key="wrong")
    with tenant_scope(alice.organization):
        result = connection_test(connection)
    assert not result.ok and not result.checks
    assert "key" in result.error.lower()


@pytest.mark.django_db
def test_unreachable_host_gets_a_clear_message(alice):
    with tenant_scope(alice.organization):
        connection = GreenhouseConnection.objects.create(
            organization=alice.organization,
            base_url="http://127.0.0.1:9",
            api_version="v1",
            api_key="k",
        )
        result = connection_test(connection)
    assert not result.ok
    assert "reach" in result.error.lower() or "connect" in result.error.lower()
