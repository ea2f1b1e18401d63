"""The sandbox Greenhouse with several companies: each has its own data, credentials, webhook
and screens; one company's credentials never reach another's records, and the default company
(what the demo and the other tests use) stays as it was."""

from __future__ import annotations

import json

import pytest
import requests

from integrations.sandbox.greenhouse import DEFAULT_V1_KEY, greenhouse_signature
from integrations.sandbox.server import SandboxServer
from tests.sandbox.conftest import Receiver


@pytest.fixture(scope="module")
def srv():
    with SandboxServer(
        greenhouse_rate_limit=None, n_candidates=15, n_jobs=3, webhook_retry_scale=0.001
    ) as server:
        yield server


@pytest.fixture
def gh(srv):
    return f"{srv.url}/greenhouse"


def _company(gh, key: str, name: str = "") -> dict:
    response = requests.post(
        f"{gh}/_sandbox/api/companies", json={"key": key, "name": name}, timeout=5
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _names(gh, api_key: str) -> set[str]:
    response = requests.get(
        f"{gh}/v1/candidates", params={"per_page": 500}, auth=(api_key, ""), timeout=5
    )
    assert response.status_code == 200, response.text
    return {f"{c['first_name']} {c['last_name']}" for c in response.json()}


def _token(gh, company: dict) -> str:
    response = requests.post(
        f"{gh}/auth/token",
        auth=(company["client_id"], company["client_secret"]),
        data={"grant_type": "client_credentials"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_each_company_sees_only_its_own_candidates_through_its_own_credentials(srv, gh):
    acme, globex = _company(gh, "acme-data"), _company(gh, "globex-data")

    acme_names, globex_names = _names(gh, acme["api_key"]), _names(gh, globex["api_key"])
    default_names = _names(gh, DEFAULT_V1_KEY)

    assert len(acme_names) == len(globex_names) == len(default_names) == 15
    assert acme_names != globex_names and acme_names != default_names
    # Harvest v3 through a company's own client reads that company's records.
    v3 = requests.get(
        f"{gh}/v3/candidates",
        headers={"Authorization": f"Bearer {_token(gh, acme)}"},
        params={"per_page": 500},
        timeout=5,
    )
    assert {f"{c['first_name']} {c['last_name']}" for c in v3.json()} == acme_names


def test_a_companys_credentials_are_refused_everywhere_else(srv, gh):
    acme, globex = _company(gh, "acme-creds"), _company(gh, "globex-creds")

    # Acme's client id with Globex's secret, or the default company's secret: refused.
    for secret in (globex["client_secret"], "sandbox-client-secret"):
        refused = requests.post(
            f"{gh}/auth/token",
            auth=(acme["client_id"], secret),
            data={"grant_type": "client_credentials"},
            timeout=5,
        )
        assert refused.status_code == 401
    # The default company's key does not open a company's own address, nor Acme's Globex's.
    assert (
        requests.get(
            f"{gh}/companies/acme-creds/v1/candidates", auth=(DEFAULT_V1_KEY, ""), timeout=5
        ).status_code
        == 401
    )
    assert (
        requests.get(
            f"{gh}/companies/globex-creds/v1/candidates", auth=(acme["api_key"], ""), timeout=5
        ).status_code
        == 401
    )
    # A token Acme issued is unknown to Globex.
    token = _token(gh, acme)
    other = requests.get(
        f"{gh}/companies/globex-creds/v3/candidates",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert other.status_code == 401


def test_creating_a_company_again_returns_it_unchanged_and_its_data_follows_its_key(srv, gh):
    first = _company(gh, "acme-again", "Acme")
    again = requests.post(f"{gh}/_sandbox/api/companies", json={"key": "acme-again"}, timeout=5)

    assert again.status_code == 200
    assert {k: again.json()[k] for k in ("api_key", "client_id", "client_secret")} == {
        k: first[k] for k in ("api_key", "client_id", "client_secret")
    }
    # Another sandbox (another machine, a restart without a state file) makes the same data.
    with SandboxServer(n_candidates=15, n_jobs=3) as elsewhere:
        there = _company(f"{elsewhere.url}/greenhouse", "acme-again")
        assert _names(f"{elsewhere.url}/greenhouse", there["api_key"]) == _names(
            gh, first["api_key"]
        )


def test_a_bad_company_key_is_refused_with_what_a_key_may_hold(gh):
    response = requests.post(f"{gh}/_sandbox/api/companies", json={"key": "Acme Inc"}, timeout=5)

    assert response.status_code == 422
    assert "lowercase letters, digits or dashes" in response.json()["message"]


def test_a_move_fires_only_the_webhook_of_the_company_it_happened_in(srv, gh):
    acme, globex = _company(gh, "acme-hooks"), _company(gh, "globex-hooks")
    acme_hook, globex_hook = Receiver(), Receiver()
    try:
        for key, receiver, secret in (
            ("acme-hooks", acme_hook, "acme-secret"),
            ("globex-hooks", globex_hook, "globex-secret"),
        ):
            saved = requests.post(
                f"{gh}/companies/{key}/_sandbox/api/webhook",
                json={"url": receiver.url, "secret": secret, "enabled": True},
                timeout=5,
            ).json()
            assert saved["enabled"] is True
        pings = (len(acme_hook.requests), len(globex_hook.requests))
        state = srv.greenhouse_companies.state_for("acme-hooks")
        app = next(a for a in state.co.applications.values() if a["status"] == "active")
        stage = next(s for s in state.co.job_stages(app["job_id"]) if s["id"] != app["stage_id"])

        moved = requests.post(
            f"{gh}/companies/acme-hooks/_sandbox/api/applications/{app['id']}/move",
            json={"stage_id": stage["id"]},
            timeout=5,
        )

        assert moved.status_code == 200
        delivered = acme_hook.wait_for(pings[0] + 1)
        body = delivered[-1]["body"]
        assert json.loads(body)["action"] == "candidate_stage_change"
        assert delivered[-1]["headers"]["Signature"] == greenhouse_signature("acme-secret", body)
        assert len(globex_hook.requests) == pings[1]
        assert srv.greenhouse.webhook.get("url") != acme_hook.url
        assert acme["webhook"]["url"] is None and globex["webhook"]["url"] is None
    finally:
        acme_hook.close()
        globex_hook.close()


def test_each_company_has_its_own_screen_whose_forms_stay_in_that_company(srv, gh):
    _company(gh, "acme-screen", "Acme Robotics")
    state = srv.greenhouse_companies.state_for("acme-screen")
    app = next(a for a in state.co.applications.values() if a["status"] == "active")
    cand = state.co.candidates[app["candidate_id"]]
    stage = next(s for s in state.co.job_stages(app["job_id"]) if s["id"] != app["stage_id"])

    page = requests.get(f"{gh}/companies/acme-screen/_sandbox/", timeout=5)

    assert page.status_code == 200
    assert "Sandbox Greenhouse · Acme Robotics" in page.text
    assert f"{cand['first_name']} {cand['last_name']}" in page.text
    assert "action='/greenhouse/companies/acme-screen/_sandbox/ui/move'" in page.text
    default_before = dict(srv.greenhouse.co.applications.get(app["id"]) or {})
    requests.post(
        f"{gh}/companies/acme-screen/_sandbox/ui/move",
        data={"application_id": app["id"], "stage_id": stage["id"]},
        timeout=5,
    )
    assert state.co.applications[app["id"]]["stage_id"] == stage["id"]
    assert (srv.greenhouse.co.applications.get(app["id"]) or {}) == default_before
    missing = requests.get(f"{gh}/companies/nobody-here/_sandbox/", timeout=5)
    assert missing.status_code == 404 and "create it first" in missing.json()["message"]


def test_companies_keep_their_credentials_moves_and_webhook_over_a_restart(tmp_path):
    path = tmp_path / "sandbox.json"
    with SandboxServer(state_file=path, n_candidates=10, n_jobs=2) as first:
        gh = f"{first.url}/greenhouse"
        company = _company(gh, "acme-kept")
        state = first.greenhouse_companies.state_for("acme-kept")
        app = next(a for a in state.co.applications.values() if a["status"] == "active")
        state.reject_application(app["id"])
        hook = Receiver()
        try:
            requests.post(
                f"{gh}/companies/acme-kept/_sandbox/api/webhook",
                json={"url": hook.url, "secret": "kept-secret", "enabled": True},
                timeout=5,
            )
        finally:
            hook.close()
    with SandboxServer(state_file=path, n_candidates=10, n_jobs=2) as second:
        gh = f"{second.url}/greenhouse"
        kept = second.greenhouse_companies.state_for("acme-kept")
        assert kept.co.applications[app["id"]]["status"] == "rejected"
        assert kept.webhook["url"] == hook.url and kept.webhook["enabled"]
        assert kept.webhook["secret"] == "kept-secret"
        assert _names(gh, company["api_key"])
        assert _token(gh, company)
