"""The connection test against wrong addresses, vendor error pages and odd token answers, with the
production clients over real HTTP (the sandbox ATS, or a loopback server)."""

from __future__ import annotations

import json

import pytest
import requests
from werkzeug import Response

from integrations.connections import connection_test
from integrations.greenhouse.client import HarvestV3Client, make_error_mapper
from integrations.greenhouse.models import GreenhouseConnection
from integrations.greenhouse.provider import GreenhouseProvider
from integrations.lever.models import LeverConnection
from integrations.models import ConnectionStatus
from integrations.sandbox.server import SandboxServer
from recruitflow.tenancy import tenant_scope

NGINX_404 = (
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>"
)


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=10) as server:
        yield server


def _greenhouse(org, **fields) -> GreenhouseConnection:
    with tenant_scope(org):
        return GreenhouseConnection.objects.create(organization=org, **fields)


def _run(connection):
    with tenant_scope(connection.organization):
        result = connection_test(connection)
        connection.refresh_from_db()
    return result


# -- item: a 404 is a wrong address, never "connected" ---------------------------------------


@pytest.mark.django_db
def test_greenhouse_wrong_base_url_is_reported_as_a_wrong_address_when_every_list_answers_404(
    alice, sandbox
):
    connection = _greenhouse(
        alice.organization,
        base_url=f"{sandbox.url}/greenhouse/harvest",  # one path segment too many
        api_version="v1",
        api_key="sandbox-harvest-key",
    )

    result = _run(connection)

    assert not result.ok
    assert connection.status == ConnectionStatus.ERROR
    assert f"{sandbox.url}/greenhouse/harvest/v1/candidates" in result.error
    assert "404" in result.error and "base URL" in result.error
    assert connection.last_error == result.error


@pytest.mark.django_db
def test_greenhouse_v3_token_url_that_answers_404_is_named_and_not_reported_connected(
    alice, sandbox
):
    token_url = f"{sandbox.url}/greenhouse/oauth/token"
    connection = _greenhouse(
        alice.organization,
        base_url=f"{sandbox.url}/greenhouse",
        api_version="v3",
        client_id="sandbox-client-id",
        client_secret="sandbox-client-secret",
        token_url=token_url,
    )

    result = _run(connection)

    assert not result.ok
    assert connection.status == ConnectionStatus.ERROR
    assert token_url in result.error
    assert "404" in result.error and "token URL" in result.error


@pytest.mark.django_db
def test_lever_wrong_api_address_is_reported_as_a_wrong_address_when_lists_answer_404(
    alice, sandbox
):
    with tenant_scope(alice.organization):
        connection = LeverConnection.objects.create(
            organization=alice.organization,
            base_url=f"{sandbox.url}/lever/v2",
            api_key="sandbox-lever-key",
        )

    result = _run(connection)

    assert not result.ok
    assert connection.status == ConnectionStatus.ERROR
    assert f"{sandbox.url}/lever/v2/opportunities" in result.error
    assert "404" in result.error and "API address" in result.error


@pytest.mark.django_db
def test_greenhouse_right_address_still_passes_the_connection_test(alice, sandbox):
    connection = _greenhouse(
        alice.organization,
        base_url=f"{sandbox.url}/greenhouse",
        api_version="v3",
        client_id="sandbox-client-id",
        client_secret="sandbox-client-secret",
    )

    result = _run(connection)

    assert result.ok, result.error
    assert connection.status == ConnectionStatus.CONNECTED


# -- item: smaller connector fixes -------------------------------------------------------------


def test_an_html_error_page_is_summarised_not_shown_raw_in_the_permission_checklist(httpserver):
    httpserver.expect_request("/v1/candidates").respond_with_json([])
    httpserver.expect_request("/v1/applications").respond_with_response(
        Response(
            "<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1>"
            "<p>Request blocked by the corporate proxy.</p></body></html>",
            status=403,
            content_type="text/html",
        )
    )
    httpserver.expect_request("/v1/users").respond_with_json([])
    provider = GreenhouseProvider(
        {"api_version": "v1", "api_key": "k", "base_url": httpserver.url_for("").rstrip("/")},
        sleep=lambda s: None,
    )

    checks = {c.name: c for c in provider.check_permissions()}

    detail = checks["GET: List Applications"].detail
    assert checks["GET: List Applications"].ok is False
    assert "<" not in detail and "html" not in detail.lower().replace("an html page", "")
    assert "403 Forbidden" in detail
    assert "an HTML page" in detail


def test_missing_permission_message_agrees_with_client_credentials(httpserver):
    httpserver.expect_request("/v3/candidates").respond_with_json(
        {"message": "This API Key does not have permission for this endpoint"}, status=403
    )
    response = requests.get(httpserver.url_for("/v3/candidates"), timeout=5)

    error = make_error_mapper("client credentials")(response)
    key_error = make_error_mapper("API key")(response)

    assert error.message.startswith("The Greenhouse client credentials are missing a permission")
    assert key_error.message.startswith("The Greenhouse API key is missing a permission")


ISSUED_AT = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@pytest.mark.parametrize(
    "expires_at",
    [int(ISSUED_AT + 300), "2027-01-15T08:05:00Z"],  # both say: 300 s after issue
    ids=["epoch", "iso"],
)
def test_v3_token_is_renewed_before_its_expires_at_when_expires_in_is_absent(
    httpserver, expires_at
):
    clock = {"now": ISSUED_AT}
    issued: list[str] = []

    def token(request):
        issued.append(f"token-{len(issued) + 1}")
        body = {"access_token": issued[-1], "token_type": "bearer", "expires_at": expires_at}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/auth/token", method="POST").respond_with_handler(token)
    httpserver.expect_request("/v3/users").respond_with_json([])
    client = HarvestV3Client(
        "cid",
        "csecret",
        base_url=httpserver.url_for("").rstrip("/"),
        token_clock=lambda: clock["now"],
        sleep=lambda s: None,
    )

    client.get("/v3/users")
    clock["now"] += 250  # 50 s before expiry: inside the safety margin, so renew first
    client.get("/v3/users")

    assert issued == ["token-1", "token-2"]
    sent = [r.headers["Authorization"] for r, _ in httpserver.log if r.path == "/v3/users"]
    assert sent == ["Bearer token-1", "Bearer token-2"]
