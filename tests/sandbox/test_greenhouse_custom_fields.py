"""The sandbox Greenhouse's candidate custom fields, as Harvest documents them: the definitions
(``GET /v1/custom_fields/candidate``, deleted ones only with ``include_inactive``), the demo's
"Video Interview" (Long text), deleting and restoring a field through the control API, writing a
value by id or ``name_key`` (and clearing it with ``delete_value: "true"``), the value in the
candidate's ``custom_fields`` and ``keyed_custom_fields`` and on the human candidate screen, and
the documented 422 for an unknown field or a value of the wrong type."""

from __future__ import annotations

import pytest
import requests

from integrations.sandbox.server import SandboxServer

KEY = ("sandbox-harvest-key", "")
LINK = "https://app.recruitflow.test/interviews/7/\nSales screen · completed 15 Jan 2025 11:00 EST"


@pytest.fixture(scope="module")
def srv():
    server = SandboxServer(greenhouse_rate_limit=None, n_candidates=5).start()
    yield server
    server.stop()


@pytest.fixture
def gh(srv):
    srv.greenhouse.reset()
    srv.greenhouse.set_rate_limit(None)
    return f"{srv.url}/greenhouse"


def _acting(gh) -> dict:
    uid = requests.get(f"{gh}/v1/users", auth=KEY).json()[0]["id"]
    return {"On-Behalf-Of": str(uid)}


def _candidate_id(srv) -> int:
    return sorted(srv.greenhouse.co.candidates)[0]


def _video_field(gh, **params) -> list[dict]:
    fields = requests.get(f"{gh}/v1/custom_fields/candidate", params=params, auth=KEY).json()
    return [f for f in fields if f["name_key"] == "video_interview"]


def test_demo_state_lists_the_video_interview_field_as_long_text(gh):
    response = requests.get(f"{gh}/v1/custom_fields/candidate", auth=KEY)

    assert response.status_code == 200
    fields = {f["name"]: f for f in response.json()}
    video = fields["Video Interview"]
    assert video["value_type"] == "long_text"
    assert video["field_type"] == "candidate"
    assert video["name_key"] == "video_interview"
    assert video["active"] is True
    assert all(f["field_type"] == "candidate" for f in fields.values())


def test_deleted_field_is_listed_only_with_include_inactive_and_comes_back_when_restored(gh):
    removed = requests.post(
        f"{gh}/_sandbox/api/custom_fields/video_interview", json={"active": False}
    )

    assert removed.status_code == 200 and removed.json()["active"] is False
    assert _video_field(gh) == []
    assert [f["active"] for f in _video_field(gh, include_inactive="true")] == [False]

    restored = requests.post(
        f"{gh}/_sandbox/api/custom_fields/video_interview", json={"active": True}
    )
    assert restored.json()["active"] is True
    assert [f["active"] for f in _video_field(gh)] == [True]


def test_control_api_refuses_an_unknown_field_and_a_non_boolean(gh):
    unknown = requests.post(f"{gh}/_sandbox/api/custom_fields/nope", json={"active": False})
    wrong = requests.post(f"{gh}/_sandbox/api/custom_fields/video_interview", json={"active": "no"})

    assert unknown.status_code == 404
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "active"


def test_value_written_by_id_shows_in_custom_fields_keyed_fields_and_the_screen(gh, srv):
    cid = _candidate_id(srv)

    response = requests.patch(
        f"{gh}/v1/candidates/{cid}",
        json={"custom_fields": [{"id": 501, "value": LINK}]},
        auth=KEY,
        headers=_acting(gh),
    )

    assert response.status_code == 200, response.text
    candidate = requests.get(f"{gh}/v1/candidates/{cid}", auth=KEY).json()
    assert candidate["custom_fields"]["video_interview"] == LINK
    assert candidate["keyed_custom_fields"]["video_interview"] == {
        "name": "Video Interview",
        "type": "long_text",
        "value": LINK,
    }
    page = requests.get(f"{gh}/_sandbox/candidates/{cid}").text
    assert "Custom fields" in page
    assert (
        "<a href='https://app.recruitflow.test/interviews/7/' data-field-link>"
        "https://app.recruitflow.test/interviews/7/</a>" in page
    )
    assert "Sales screen · completed 15 Jan 2025 11:00 EST" in page
    write = srv.greenhouse.writes[-1]
    assert write["kind"] == "patch_candidate"
    assert write["args"]["user_id"] == int(_acting(gh)["On-Behalf-Of"])


def test_value_written_by_name_key_is_cleared_with_the_string_true(gh, srv):
    cid, headers = _candidate_id(srv), _acting(gh)
    url = f"{gh}/v1/candidates/{cid}"
    requests.patch(
        url,
        json={"custom_fields": [{"name_key": "video_interview", "value": LINK}]},
        auth=KEY,
        headers=headers,
    )

    boolean = requests.patch(
        url,
        json={"custom_fields": [{"name_key": "video_interview", "delete_value": True}]},
        auth=KEY,
        headers=headers,
    )
    cleared = requests.patch(
        url,
        json={"custom_fields": [{"name_key": "video_interview", "delete_value": "true"}]},
        auth=KEY,
        headers=headers,
    )

    assert boolean.status_code == 422
    assert cleared.status_code == 200
    assert cleared.json()["custom_fields"]["video_interview"] is None
    assert "video_interview" not in cleared.json()["keyed_custom_fields"]
    assert (
        "<span class='muted'>empty</span>" in requests.get(f"{gh}/_sandbox/candidates/{cid}").text
    )


def test_unknown_or_deleted_field_is_a_documented_422_and_changes_nothing(gh, srv):
    cid, headers = _candidate_id(srv), _acting(gh)
    url = f"{gh}/v1/candidates/{cid}"
    unknown = requests.patch(
        url, json={"custom_fields": [{"name_key": "nope", "value": "x"}]}, auth=KEY, headers=headers
    )
    requests.post(f"{gh}/_sandbox/api/custom_fields/video_interview", json={"active": False})
    deleted = requests.patch(
        url, json={"custom_fields": [{"id": 501, "value": LINK}]}, auth=KEY, headers=headers
    )

    for response in (unknown, deleted):
        assert response.status_code == 422
        assert response.json() == {
            "message": "Validation error",
            "errors": [{"message": "Custom field not found", "field": "custom_fields"}],
        }
    candidate = requests.get(url, auth=KEY).json()
    assert "video_interview" not in candidate["custom_fields"]
    assert not any(w["kind"] == "patch_candidate" for w in srv.greenhouse.writes)


def test_wrong_value_type_is_a_422_naming_the_field(gh, srv):
    response = requests.patch(
        f"{gh}/v1/candidates/{_candidate_id(srv)}",
        json={"custom_fields": [{"name_key": "video_interview", "value": 42}]},
        auth=KEY,
        headers=_acting(gh),
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"message": "video_interview must be a string", "field": "custom_fields"}
    ]


def test_a_deleted_field_survives_a_restart_of_a_persisted_sandbox(tmp_path):
    path = tmp_path / "state.json"
    with SandboxServer(port=0, n_candidates=3, state_file=str(path)) as first:
        requests.post(
            f"{first.url}/greenhouse/_sandbox/api/custom_fields/video_interview",
            json={"active": False},
        )
    with SandboxServer(port=0, n_candidates=3, state_file=str(path)) as second:
        fields = requests.get(
            f"{second.url}/greenhouse/v1/custom_fields/candidate", auth=KEY
        ).json()
    assert "video_interview" not in {f["name_key"] for f in fields}
