"""Fixtures of the partner API tests: an organization's write key and a small ATS mirror."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from recruitflow.tenancy import tenant_scope
from tests.journeys.test_builder import Hiring


def raw_key(persona, scope: str = "write") -> str:
    with tenant_scope(persona.organization):
        _, raw = account_services.api_key_create(
            actor=persona.membership, name=f"{scope} key", scope=scope
        )
    return raw


class Api:
    """Calls `/api/v1/` with one API key, the way a partner's script does."""

    def __init__(self, client, key: str):
        self.client, self.key = client, key

    def _auth(self, headers: dict) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}", **headers}

    def get(self, path: str, params=None, **headers):
        if path.startswith("http://testserver"):  # a `next` link, as the API gave it
            path = path[len("http://testserver") :]
        url = path if path.startswith("/") else f"/api/v1/{path}"
        return self.client.get(url, params or {}, **self._auth(headers))

    def post(self, path: str, data=None, *, key: str | None = None, **headers):
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        return self.client.post(
            f"/api/v1/{path}", data or {}, content_type="application/json", **self._auth(headers)
        )


@pytest.fixture
def api(client, alice):
    return Api(client, raw_key(alice))


@pytest.fixture
def hiring(alice):
    return Hiring(alice.organization)
