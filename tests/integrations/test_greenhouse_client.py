"""Greenhouse Harvest v1/v3 clients and adapter over real loopback HTTP."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from werkzeug import Response

from integrations.greenhouse.client import HarvestV1Client, HarvestV3Client
from integrations.greenhouse.provider import GreenhouseProvider
from integrations.http import AuthError, Unreachable, ValidationFailed

NO_PERMISSION = {"message": "This API Key does not have permission for this endpoint"}


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def sleeps() -> list:
    return []


@pytest.fixture
def v1(httpserver, sleeps) -> HarvestV1Client:
    return HarvestV1Client(
        "harvest-key", base_url=httpserver.url_for(""), on_behalf_of=4080, sleep=sleeps.append
    )


def test_v1_fetches_every_page_exactly_once_when_following_link_headers(httpserver, v1):
    base = httpserver.url_for("")
    # Greenhouse has been seen repeating params in Link URLs: they must be used verbatim.
    page2 = f"{base}/v1/candidates?page=2&per_page=500&page=2"
    page3 = f"{base}/v1/candidates?page=3&per_page=500"
    httpserver.expect_oneshot_request(
        "/v1/candidates", query_string="per_page=500"
    ).respond_with_json(
        [{"id": 1}, {"id": 2}],
        headers={"Link": f'<{page2}>; rel="next",<{page3}>; rel="last"'},
    )
    httpserver.expect_oneshot_request(
        "/v1/candidates", query_string="page=2&per_page=500&page=2"
    ).respond_with_json([{"id": 3}], headers={"Link": f'<{page3}>; rel="next"'})
    httpserver.expect_oneshot_request(
        "/v1/candidates", query_string="page=3&per_page=500"
    ).respond_with_json([{"id": 4}])

    ids = [c["id"] for c in v1.iter_all("/v1/candidates")]

    assert ids == [1, 2, 3, 4]
    assert len(httpserver.log) == 3
    httpserver.check_assertions()
    assert all(r.headers["Authorization"] == basic("harvest-key") for r, _ in httpserver.log)


def test_v1_sends_on_behalf_of_on_writes_and_not_on_reads(httpserver, v1):
    httpserver.expect_request("/v1/candidates/7").respond_with_json({"id": 7})
    httpserver.expect_request(
        "/v1/candidates/7/activity_feed/notes", method="POST"
    ).respond_with_json({"id": 99}, status=201)

    v1.get("/v1/candidates/7")
    v1.post("/v1/candidates/7/activity_feed/notes", {"body": "x"})

    read, write = (r for r, _ in httpserver.log)
    assert "On-Behalf-Of" not in read.headers
    assert write.headers["On-Behalf-Of"] == "4080"


def test_v1_refuses_to_write_when_the_acting_user_is_an_email(httpserver):
    client = HarvestV1Client("k", base_url=httpserver.url_for(""), on_behalf_of="me@acme.test")

    with pytest.raises(ValidationFailed, match="numeric user id"):
        client.post("/v1/candidates/7/activity_feed/notes", {"body": "x"})
    assert httpserver.log == []


def test_v1_bad_key_raises_auth_error_with_a_fix(httpserver, v1):
    httpserver.expect_request("/v1/users").respond_with_json(
        {"message": "Invalid Basic Auth credentials"}, status=401
    )

    with pytest.raises(AuthError) as excinfo:
        v1.get("/v1/users")

    assert str(excinfo.value) == (
        "Greenhouse rejected the API key (401 Invalid Basic Auth credentials). "
        "Check that you pasted the whole Harvest key."
    )
    assert excinfo.value.permanent


def token_handler(tokens: list[str], expires_in: int = 3600):
    issued = iter(tokens)

    def handler(request):
        form = request.form
        assert request.headers["Authorization"] == basic("cid", "csecret")
        assert form["grant_type"] == "client_credentials"
        body = {"access_token": next(issued), "token_type": "Bearer", "expires_in": expires_in}
        if "sub" in form:
            body["sub"] = form["sub"]
        return Response(json.dumps(body), content_type="application/json")

    return handler


def make_v3(httpserver, **kwargs) -> HarvestV3Client:
    return HarvestV3Client(
        "cid", "csecret", base_url=httpserver.url_for(""), sub=4080, sleep=lambda s: None, **kwargs
    )


def test_v3_sends_filters_only_on_the_first_page_then_follows_the_cursor_verbatim(httpserver):
    httpserver.expect_request("/auth/token", method="POST").respond_with_handler(
        token_handler(["t1"])
    )
    cursor_url = httpserver.url_for("/v3/applications") + "?cursor=abc123"

    def applications(request):
        args = request.args.to_dict(flat=False)
        if "cursor" in args:
            if set(args) != {"cursor"}:
                return Response(
                    json.dumps(
                        {"errors": ["When passing a cursor, do not include other query params."]}
                    ),
                    status=422,
                    content_type="application/json",
                )
            return Response(json.dumps([{"id": 2}]), content_type="application/json")
        assert args == {"per_page": ["500"], "updated_at": ["gte|2024-01-01T00:00:00.000Z"]}
        return Response(
            json.dumps([{"id": 3}]),
            content_type="application/json",
            headers={"Link": f'<{cursor_url}>; rel="next"'},
        )

    httpserver.expect_request("/v3/applications").respond_with_handler(applications)
    client = make_v3(httpserver)

    items = list(
        client.iter_all("/v3/applications", {"updated_at": "gte|2024-01-01T00:00:00.000Z"})
    )

    assert [i["id"] for i in items] == [3, 2]
    api_calls = [r for r, _ in httpserver.log if r.path == "/v3/applications"]
    assert [r.query_string.decode() for r in api_calls][1] == "cursor=abc123"
    assert all(r.headers["Authorization"] == "Bearer t1" for r in api_calls)


def test_v3_caches_the_token_across_calls(httpserver):
    httpserver.expect_request("/auth/token", method="POST").respond_with_handler(
        token_handler(["t1", "t2"])
    )
    httpserver.expect_request("/v3/users").respond_with_json([])
    client = make_v3(httpserver)

    client.get("/v3/users")
    client.get("/v3/users")

    token_calls = [r for r, _ in httpserver.log if r.path == "/auth/token"]
    assert len(token_calls) == 1
    assert token_calls[0].form["sub"] == "4080"


def test_v3_refetches_the_token_before_it_expires(httpserver):
    httpserver.expect_request("/auth/token", method="POST").respond_with_handler(
        token_handler(["t1", "t2"], expires_in=3600)
    )
    httpserver.expect_request("/v3/users").respond_with_json([])
    now = [1_000.0]
    client = make_v3(httpserver, token_clock=lambda: now[0])

    client.get("/v3/users")
    now[0] += 3600 - 30  # inside the safety margin
    client.get("/v3/users")

    auths = [r.headers["Authorization"] for r, _ in httpserver.log if r.path == "/v3/users"]
    assert auths == ["Bearer t1", "Bearer t2"]


def test_v3_refreshes_the_token_once_and_retries_when_the_api_answers_401(httpserver):
    httpserver.expect_request("/auth/token", method="POST").respond_with_handler(
        token_handler(["stale", "fresh"])
    )

    def users(request):
        if request.headers["Authorization"] == "Bearer fresh":
            return Response("[]", content_type="application/json")
        return Response('{"message":"token expired"}', status=401, content_type="application/json")

    httpserver.expect_request("/v3/users").respond_with_handler(users)
    client = make_v3(httpserver)

    assert client.get("/v3/users") == []
    paths = [r.path for r, _ in httpserver.log]
    assert paths == ["/auth/token", "/v3/users", "/auth/token", "/v3/users"]


def test_v3_wrong_client_secret_raises_auth_error_naming_the_fix(httpserver):
    httpserver.expect_request("/auth/token", method="POST").respond_with_json(
        {"error": "invalid_client"}, status=401
    )
    client = make_v3(httpserver)

    with pytest.raises(AuthError, match="client ID and secret"):
        client.get("/v3/users")


def test_v3_default_token_url_is_greenhouse_auth_for_the_default_host():
    client = HarvestV3Client("cid", "csecret")
    assert client.token_url == "https://auth.greenhouse.io/token"


# --------------------------------------------------------------------------------------------
# Provider over loopback
# --------------------------------------------------------------------------------------------


def v1_provider(httpserver, **kwargs) -> GreenhouseProvider:
    config = {
        "api_version": "v1",
        "base_url": httpserver.url_for(""),
        "api_key": "harvest-key",
        "acting_user_id": 4080,
    }
    return GreenhouseProvider(config, sleep=lambda s: None, **kwargs)


def test_permission_check_names_the_missing_permissions_when_greenhouse_answers_403(httpserver):
    denied = {"/v1/applications", "/v1/candidates/0/activity_feed/notes"}
    for path in denied:
        httpserver.expect_request(path).respond_with_json(NO_PERMISSION, status=403)
    httpserver.expect_request("/v1/candidates").respond_with_json([{"id": 53883394}])
    httpserver.expect_request("/v1/candidates/0").respond_with_json(
        {"message": "Resource not found"}, status=404
    )
    httpserver.expect_request("/v1/candidates/0/attachments").respond_with_json(
        {"message": "Resource not found"}, status=404
    )
    httpserver.expect_request("/v1/candidates/0/activity_feed/emails").respond_with_json(
        {"message": "Resource not found"}, status=404
    )
    httpserver.expect_request("/v1/applications/0").respond_with_json(
        {"message": "Resource not found"}, status=404
    )
    httpserver.expect_request("/v1/candidates/53883394").respond_with_json({"id": 53883394})
    httpserver.expect_request("/v1/candidates/53883394/activity_feed").respond_with_json(
        {"notes": [], "emails": [], "activities": []}
    )
    for path in ("jobs", "job_stages", "departments", "offices", "users", "user_roles",
                 "custom_fields/candidate", "sources", "tags/candidate"):  # fmt: skip
        httpserver.expect_request(f"/v1/{path}").respond_with_json([])

    checks = v1_provider(httpserver).check_permissions()

    missing = [c.label for c in checks if c.ok is False]
    assert missing == ["Candidates → POST: Add Note", "Applications → GET: List Applications"]
    assert all(c.ok for c in checks if c.ok is not False)
    assert len(checks) == 18
    note = next(c for c in checks if c.name == "POST: Add Note")
    assert "Tick “Candidates → POST: Add Note”" in note.detail
    # Write probes never touch a real candidate.
    writes = [r for r, _ in httpserver.log if r.method != "GET"]
    assert writes and all("/candidates/0" in r.path for r in writes)


def test_permission_check_raises_auth_error_when_the_key_is_wrong(httpserver):
    httpserver.expect_request("/v1/candidates").respond_with_json(
        {"message": "Invalid Basic Auth credentials"}, status=401
    )

    with pytest.raises(AuthError, match="Harvest key"):
        v1_provider(httpserver).check_permissions()


def test_permission_check_raises_unreachable_when_the_host_is_down():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = GreenhouseProvider(
        {"api_version": "v1", "base_url": f"http://127.0.0.1:{port}", "api_key": "k"},
        sleep=lambda s: None,
        max_attempts=2,
    )

    with pytest.raises(Unreachable, match="Could not reach Greenhouse"):
        provider.check_permissions()


def test_applications_sync_uses_last_activity_after_on_v1(httpserver):
    httpserver.expect_request(
        "/v1/applications",
        query_string={"per_page": "500", "last_activity_after": "2024-05-01T12:00:00.000Z"},
    ).respond_with_json([])

    since = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert list(v1_provider(httpserver).iter_applications(updated_after=since)) == []
    httpserver.check_assertions()


def test_jobs_come_with_their_ordered_stages_and_hiring_team(httpserver):
    httpserver.expect_request("/v1/job_stages").respond_with_json(
        [
            {"id": 2, "name": "Onsite", "job_id": 10, "priority": 1, "active": True},
            {"id": 1, "name": "Phone Screen", "job_id": 10, "priority": 0, "active": True},
            {"id": 3, "name": "Deleted", "job_id": 10, "priority": 2, "active": False},
        ]
    )
    httpserver.expect_request("/v1/jobs").respond_with_json(
        [
            {
                "id": 10,
                "name": "Designer",
                "status": "open",
                "departments": [{"id": 237, "name": "Community"}],
                "offices": [{"id": 54, "name": "New York"}],
                "hiring_team": {
                    "hiring_managers": [{"id": 1}],
                    "recruiters": [{"id": 2, "responsible": True}],
                    "coordinators": [{"id": 3}],
                    "sourcers": [],
                },
            }
        ]
    )

    (job,) = v1_provider(httpserver).iter_jobs()

    assert [s.name for s in job.stages] == ["Phone Screen", "Onsite"]
    assert (job.department_external_ids, job.office_external_ids) == (["237"], ["54"])
    assert job.recruiter_external_ids == ["2"]
    assert job.hiring_manager_external_ids == ["1"]
    assert job.coordinator_external_ids == ["3"]


def test_note_is_written_as_the_acting_user(httpserver):
    httpserver.expect_request(
        "/v1/candidates/7/activity_feed/notes",
        method="POST",
        headers={"On-Behalf-Of": "4080"},
        json={"user_id": 4080, "body": "Texted: interview booked", "visibility": "private"},
    ).respond_with_json({"id": 555, "visiblity": "private"}, status=201)

    assert v1_provider(httpserver).add_note("7", "Texted: interview booked") == "555"


def test_custom_field_is_set_by_name_key_and_cleared_with_the_string_true(httpserver):
    httpserver.expect_request("/v1/candidates/7", method="PATCH").respond_with_json({"id": 7})
    provider = v1_provider(httpserver)

    provider.set_candidate_custom_field("7", "video_interview", "https://rf.test/r/1")
    provider.set_candidate_custom_field("7", "video_interview", None)

    bodies = [json.loads(r.data) for r, _ in httpserver.log]
    assert bodies == [
        {"custom_fields": [{"name_key": "video_interview", "value": "https://rf.test/r/1"}]},
        {"custom_fields": [{"name_key": "video_interview", "delete_value": "true"}]},
    ]


def test_attachment_is_sent_base64_with_its_content_type(httpserver):
    httpserver.expect_request("/v1/candidates/7/attachments", method="POST").respond_with_json(
        {"filename": "t.pdf", "url": "https://s3/t.pdf", "type": "admin_only"}, status=201
    )

    url = v1_provider(httpserver).add_attachment("7", "t.pdf", b"%PDF-1.4", "application/pdf")

    sent = json.loads(httpserver.log[0][0].data)
    assert url == "https://s3/t.pdf"
    assert base64.b64decode(sent["content"]) == b"%PDF-1.4"
    assert sent["content_type"] == "application/pdf"
