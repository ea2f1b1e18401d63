"""Lever OAuth: the outbox's retry look-up reads the opportunity's notes and files, so connecting
asks for ``notes:read:admin`` and ``files:read:admin`` beside the write scopes; the sandbox Lever
refuses a note or file read by a token without the read scope with its 403 (as it refuses a
write without the write scope), so a look-up made without it fails instead of seeing nothing.
Over HTTP against the sandbox's authorize and token endpoints."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from integrations.http import PermissionDenied
from integrations.lever import oauth
from integrations.lever.provider import LeverProvider
from integrations.sandbox.lever.contract import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from integrations.sandbox.server import SandboxServer

REDIRECT = "https://rf.test/integrations/lever/callback"
WITHOUT_READS = tuple(s for s in oauth.REQUIRED_SCOPES if s not in {"notes:read:admin", "files:read:admin"})  # fmt: skip


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=3, lever_rate=None) as server:
        yield server


def _connect(sandbox, scopes) -> str:
    """Consent in the sandbox Lever and trade the code for an access token."""
    auth_base = f"{sandbox.url}/lever"
    url = oauth.authorize_url(DEFAULT_CLIENT_ID, REDIRECT, "st4te", scopes, auth_base=auth_base)
    consent = requests.get(url, allow_redirects=False)
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    tokens = oauth.exchange_code(
        DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, code, REDIRECT, auth_base=auth_base
    )
    return tokens.access_token


def _api(sandbox, method, path, token, **kwargs):
    return requests.request(
        method,
        f"{sandbox.url}/lever/v1{path}",
        headers={"Authorization": f"Bearer {token}"},
        **kwargs,
    )


def test_connecting_asks_for_the_note_and_file_read_scopes():
    query = parse_qs(urlsplit(oauth.authorize_url("cid", REDIRECT, "st4te")).query)

    scopes = query["scope"][0].split()
    assert {"notes:read:admin", "files:read:admin"} <= set(scopes)
    assert {"notes:write:admin", "files:write:admin", "offline_access"} <= set(scopes)


def test_a_token_without_the_read_scopes_may_write_a_note_but_not_read_notes_or_files(sandbox):
    opportunity = next(iter(sandbox.lever.opps))
    token = _connect(sandbox, WITHOUT_READS)

    written = _api(sandbox, "POST", f"/opportunities/{opportunity}/notes", token,
                   json={"value": "Marker rf-123"})  # fmt: skip
    notes = _api(sandbox, "GET", f"/opportunities/{opportunity}/notes", token)
    files = _api(sandbox, "GET", f"/opportunities/{opportunity}/files", token)

    assert written.status_code == 201
    assert notes.status_code == 403 and "notes:read:admin" in notes.json()["message"]
    assert files.status_code == 403 and "files:read:admin" in files.json()["message"]
    assert set(notes.json()) == {"code", "message"}


def test_the_retry_look_up_finds_the_marker_with_the_scopes_connecting_asks_for(sandbox):
    opportunity = next(iter(sandbox.lever.opps))
    base_url = f"{sandbox.url}/lever/v1"
    full = _connect(sandbox, oauth.REQUIRED_SCOPES)
    limited = _connect(sandbox, WITHOUT_READS)
    _api(sandbox, "POST", f"/opportunities/{opportunity}/notes", full,
         json={"value": "Text conversation\nrf-marker-42"})  # fmt: skip

    found = LeverProvider({"access_token": full, "base_url": base_url}).find_activity(
        opportunity, "rf-marker-42"
    )
    with pytest.raises(PermissionDenied) as refused:
        LeverProvider({"access_token": limited, "base_url": base_url}).find_activity(
            opportunity, "rf-marker-42"
        )

    assert found
    assert "notes:read:admin" in str(refused.value)


def test_the_permission_check_reports_the_missing_read_scopes(sandbox):
    base_url = f"{sandbox.url}/lever/v1"
    full = _connect(sandbox, oauth.REQUIRED_SCOPES)
    limited = _connect(sandbox, WITHOUT_READS)

    granted = {
        c.name: c
        for c in LeverProvider({"access_token": full, "base_url": base_url}).check_permissions()
    }
    missing = {
        c.name: c
        for c in LeverProvider({"access_token": limited, "base_url": base_url}).check_permissions()
    }

    assert granted["notes:read:admin"].ok is True and granted["files:read:admin"].ok is True
    assert missing["notes:read:admin"].ok is False
    assert missing["files:read:admin"].ok is False
    assert "never written twice" in missing["notes:read:admin"].detail
    assert missing["notes:write:admin"].ok is True  # the write scope is still there
