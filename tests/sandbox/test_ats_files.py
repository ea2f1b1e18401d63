"""The ATS fakes accept files by the vendors' documented contracts and show them on the
candidate's screen with a link that downloads exactly what was sent."""

import base64

import pytest
import requests

from integrations.sandbox.server import SandboxServer

LEVER_KEY = ("sandbox-lever-key", "")
HARVEST_KEY = ("sandbox-harvest-key", "")
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"


@pytest.fixture
def srv(tmp_path):
    server = SandboxServer(
        n_candidates=20, lever_rate=None, greenhouse_rate_limit=None, state_file=tmp_path / "s.json"
    ).start()
    yield server
    server.stop()


def lever_user(srv) -> dict:
    return requests.get(f"{srv.url}/lever/v1/users", auth=LEVER_KEY).json()["data"][0]


def harvest_user(srv) -> dict:
    return requests.get(f"{srv.url}/greenhouse/v1/users", auth=HARVEST_KEY).json()[0]


def lever_upload(srv, opp: str, perform_as: str | None, **kwargs) -> requests.Response:
    params = {"perform_as": perform_as} if perform_as else {}
    return requests.post(
        f"{srv.url}/lever/v1/opportunities/{opp}/files", params=params, auth=LEVER_KEY, **kwargs
    )


def test_lever_file_shows_on_the_opportunity_screen_and_downloads_when_uploaded(srv):
    opp = next(iter(srv.lever.opps))
    user = lever_user(srv)
    r = lever_upload(
        srv, opp, user["id"], files={"file": ("SMS transcript.pdf", PDF, "application/pdf")}
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert (data["name"], data["ext"], data["size"], data["status"]) == (
        "SMS transcript.pdf",
        "pdf",
        len(PDF),
        "processed",
    )

    page = requests.get(f"{srv.url}/lever/_sandbox/opportunities/{opp}")
    assert page.status_code == 200
    assert "SMS transcript.pdf" in page.text and user["name"] in page.text
    assert "Files (1)" in page.text
    index = requests.get(f"{srv.url}/lever/_sandbox/", params={"q": opp})
    assert f"/_sandbox/opportunities/{opp}" in index.text

    download = requests.get(f"{srv.url}/lever/_sandbox/files/{data['id']}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert "SMS%20transcript.pdf" in download.headers["Content-Disposition"]

    api = requests.get(
        f"{srv.url}/lever/v1/opportunities/{opp}/files/{data['id']}/download", auth=LEVER_KEY
    )
    assert api.status_code == 200 and api.content == PDF
    listed = requests.get(f"{srv.url}/lever/v1/opportunities/{opp}/files", auth=LEVER_KEY)
    assert [f["id"] for f in listed.json()["data"]] == [data["id"]]


def test_lever_file_upload_is_refused_when_it_breaks_the_contract(srv):
    opp = next(iter(srv.lever.opps))
    user = lever_user(srv)["id"]
    no_user = lever_upload(srv, opp, None, files={"file": ("a.pdf", PDF, "application/pdf")})
    assert no_user.status_code == 400 and "perform_as" in no_user.json()["message"]
    wrong_field = lever_upload(srv, opp, user, files={"upload": ("a.pdf", PDF, "application/pdf")})
    assert wrong_field.status_code == 400 and "'file'" in wrong_field.json()["message"]
    as_json = lever_upload(srv, opp, user, json={"file": base64.b64encode(PDF).decode()})
    assert as_json.status_code == 400 and "multipart" in as_json.json()["message"]
    too_big = lever_upload(
        srv,
        opp,
        user,
        files={"file": ("big.pdf", b"0" * (30 * 1024 * 1024 + 1), "application/pdf")},
    )
    assert too_big.status_code == 413 and "30 MB" in too_big.json()["message"]
    assert srv.lever.opps[opp]["files"] == []


def test_lever_file_is_still_downloadable_when_the_sandbox_restarts(tmp_path):
    state = tmp_path / "restart.json"
    first = SandboxServer(n_candidates=20, lever_rate=None, state_file=state).start()
    try:
        opp = next(iter(first.lever.opps))
        r = lever_upload(
            first, opp, lever_user(first)["id"], files={"file": ("t.pdf", PDF, "application/pdf")}
        )
        file_id = r.json()["data"]["id"]
    finally:
        first.stop()
    again = SandboxServer(n_candidates=20, lever_rate=None, state_file=state).start()
    try:
        download = requests.get(f"{again.url}/lever/_sandbox/files/{file_id}")
        assert download.status_code == 200 and download.content == PDF
        assert [f["id"] for f in again.lever.opps[opp]["files"]] == [file_id]
    finally:
        again.stop()


def harvest_attach(srv, candidate_id: int, body: dict, user: dict | None) -> requests.Response:
    headers = {"On-Behalf-Of": str(user["id"])} if user else {}
    return requests.post(
        f"{srv.url}/greenhouse/v1/candidates/{candidate_id}/attachments",
        json=body,
        headers=headers,
        auth=HARVEST_KEY,
    )


def test_greenhouse_attachment_shows_on_the_candidate_screen_and_downloads_when_posted(srv):
    candidate_id = next(iter(srv.greenhouse.co.candidates))
    user = harvest_user(srv)
    body = {
        "filename": "SMS transcript.pdf",
        "type": "admin_only",
        "content": base64.b64encode(PDF).decode(),
        "content_type": "application/pdf",
    }
    r = harvest_attach(srv, candidate_id, body, user)
    assert r.status_code == 201
    assert r.json()["filename"] == "SMS transcript.pdf" and r.json()["type"] == "admin_only"

    page = requests.get(f"{srv.url}/greenhouse/_sandbox/candidates/{candidate_id}")
    assert page.status_code == 200
    assert "SMS transcript.pdf" in page.text and "Attachments (1)" in page.text
    assert user["name"] in page.text
    index = requests.get(f"{srv.url}/greenhouse/_sandbox/")
    assert "/_sandbox/candidates/" in index.text

    att_id = srv.greenhouse.co.candidates[candidate_id]["attachments"][0]["id"]
    download = requests.get(f"{srv.url}/greenhouse/_sandbox/attachments/{att_id}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"


def test_greenhouse_attachment_is_refused_when_it_breaks_the_contract(srv):
    candidate_id = next(iter(srv.greenhouse.co.candidates))
    user = harvest_user(srv)
    content = base64.b64encode(PDF).decode()
    cases = [
        ({"type": "admin_only", "content": content, "content_type": "application/pdf"}, "filename"),
        (
            {
                "filename": "t.pdf",
                "type": "transcript",
                "content": content,
                "content_type": "application/pdf",
            },
            "type",
        ),  # fmt: skip
        ({"filename": "t.pdf", "type": "admin_only", "content": content}, "content_type"),
        (
            {
                "filename": "t.pdf",
                "type": "admin_only",
                "content": "not base64!",
                "content_type": "application/pdf",
            },
            "content",
        ),  # fmt: skip
    ]
    for body, field in cases:
        r = harvest_attach(srv, candidate_id, body, user)
        assert r.status_code == 422, body
        assert [e["field"] for e in r.json()["errors"]] == [field]
    assert srv.greenhouse.co.candidates[candidate_id]["attachments"] == []
