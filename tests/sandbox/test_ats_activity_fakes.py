"""The ATS fakes show the notes and e-mails they receive on the candidate's screen, and can
fail a write *after* it landed (the ambiguous failure write-back must survive)."""

import pytest
import requests

from integrations.sandbox.server import SandboxServer

LEVER_KEY = ("sandbox-lever-key", "")
HARVEST_KEY = ("sandbox-harvest-key", "")


@pytest.fixture
def srv(tmp_path):
    server = SandboxServer(
        n_candidates=10, lever_rate=None, greenhouse_rate_limit=None, state_file=tmp_path / "s.json"
    ).start()
    yield server
    server.stop()


def _harvest(srv):
    user = requests.get(f"{srv.url}/greenhouse/v1/users", auth=HARVEST_KEY).json()[0]
    cand = requests.get(f"{srv.url}/greenhouse/v1/candidates", auth=HARVEST_KEY).json()[0]
    return user, cand


def test_greenhouse_screen_shows_notes_with_visibility_and_author_and_emails(srv):
    user, cand = _harvest(srv)
    headers = {"On-Behalf-Of": str(user["id"])}
    base = f"{srv.url}/greenhouse/v1/candidates/{cand['id']}/activity_feed"
    requests.post(
        f"{base}/notes",
        json={"user_id": user["id"], "body": "Texted: see you <Monday>", "visibility": "public"},
        auth=HARVEST_KEY,
        headers=headers,
    ).raise_for_status()
    requests.post(
        f"{base}/emails",
        json={"user_id": user["id"], "to": "c@example.com", "from": "r@example.com",
              "subject": "Onsite", "body": "Hello"},
        auth=HARVEST_KEY,
        headers=headers,
    ).raise_for_status()  # fmt: skip

    page = requests.get(f"{srv.url}/greenhouse/_sandbox/candidates/{cand['id']}").text

    assert "Texted: see you &lt;Monday&gt;" in page
    assert "Public — visible to interviewers" in page
    assert user["name"] in page
    assert "Onsite" in page and "from r@example.com to c@example.com" in page


def test_greenhouse_fault_after_the_write_lands_the_note_but_answers_500(srv):
    user, cand = _harvest(srv)
    requests.post(
        f"{srv.url}/greenhouse/_sandbox/api/faults",
        json={"path_prefix": "/v1/candidates/", "method": "POST", "status": 500, "after": True},
    ).raise_for_status()
    url = f"{srv.url}/greenhouse/v1/candidates/{cand['id']}/activity_feed"

    answer = requests.post(
        f"{url}/notes",
        json={"user_id": user["id"], "body": "ref-123", "visibility": "private"},
        auth=HARVEST_KEY,
        headers={"On-Behalf-Of": str(user["id"])},
    )
    feed = requests.get(url, auth=HARVEST_KEY).json()  # a GET is not hit by a POST-only rule

    assert answer.status_code == 500
    assert [n["body"] for n in feed["notes"]].count("ref-123") == 1


def test_lever_screen_shows_notes_and_fault_after_lands_the_note(srv):
    user = requests.get(f"{srv.url}/lever/v1/users", auth=LEVER_KEY).json()["data"][0]
    opp = requests.get(f"{srv.url}/lever/v1/opportunities", auth=LEVER_KEY).json()["data"][0]
    requests.post(
        f"{srv.url}/lever/_sandbox/api/faults",
        json={"path_prefix": "/v1/opportunities/", "method": "POST", "status": 502, "after": True},
    ).raise_for_status()

    answer = requests.post(
        f"{srv.url}/lever/v1/opportunities/{opp['id']}/notes",
        params={"perform_as": user["id"]},
        json={"value": "Replied by text: yes", "secret": True},
        auth=LEVER_KEY,
    )
    notes = requests.get(
        f"{srv.url}/lever/v1/opportunities/{opp['id']}/notes", auth=LEVER_KEY
    ).json()["data"]
    page = requests.get(f"{srv.url}/lever/_sandbox/opportunities/{opp['id']}").text

    assert answer.status_code == 502
    assert [n["fields"][0]["value"] for n in notes] == ["Replied by text: yes"]
    assert "Replied by text: yes" in page and user["name"] in page and "Secret" in page
