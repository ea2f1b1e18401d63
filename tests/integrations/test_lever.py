"""Lever client, OAuth, adapter and webhooks over real loopback HTTP."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug import Response

from integrations.base import NotSupported
from integrations.http import AuthError, HttpClient, ValidationFailed
from integrations.lever import oauth
from integrations.lever.client import LeverClient
from integrations.lever.provider import (
    LeverProvider,
    application_from_opportunity,
    candidate_from_opportunity,
)
from integrations.lever.webhooks import is_stale, parse_event, verify_signature

FIXTURES = Path(__file__).parent / "fixtures"


def lever_provider(httpserver, **config) -> LeverProvider:
    config = {"api_key": "lever-key", "base_url": httpserver.url_for("/v1"), **config}
    return LeverProvider(config, sleep=lambda s: None)


def test_client_pages_with_the_offset_token_until_has_next_is_false(httpserver):
    def opportunities(request):
        args = request.args.to_dict(flat=False)
        assert args["limit"] == ["100"]
        assert args["expand"] == ["applications", "stage"]
        pages = {
            None: {"data": [{"id": "a"}, {"id": "b"}], "next": "0.1414.a60", "hasNext": True},
            "0.1414.a60": {"data": [{"id": "c"}], "next": "0.1515.b70", "hasNext": True},
            "0.1515.b70": {"data": [{"id": "d"}], "hasNext": False},
        }
        offset = args.get("offset", [None])[0]
        return Response(json.dumps(pages[offset]), content_type="application/json")

    httpserver.expect_request("/v1/opportunities").respond_with_handler(opportunities)
    client = LeverClient(api_key="lever-key", base_url=httpserver.url_for("/v1"))

    ids = [
        o["id"] for o in client.iter_all("/opportunities", {"expand": ["applications", "stage"]})
    ]

    assert ids == ["a", "b", "c", "d"]
    assert len(httpserver.log) == 3
    auth = httpserver.log[0][0].headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(b"lever-key:").decode()


def test_client_refreshes_the_access_token_once_when_lever_answers_401(httpserver):
    def stages(request):
        if request.headers["Authorization"] == "Bearer new-token":
            return Response('{"data":[],"hasNext":false}', content_type="application/json")
        return Response(
            '{"code":"Unauthorized","message":"Invalid token"}',
            status=401,
            content_type="application/json",
        )

    httpserver.expect_request("/v1/stages").respond_with_handler(stages)
    refreshed = []

    def refresher():
        refreshed.append(1)
        return "new-token"

    client = LeverClient(
        access_token="old-token", base_url=httpserver.url_for("/v1"), token_refresher=refresher
    )

    assert list(client.iter_all("/stages")) == []
    assert refreshed == [1]


def test_client_gives_up_after_one_refresh_when_the_new_token_is_also_rejected(httpserver):
    httpserver.expect_request("/v1/stages").respond_with_json(
        {"code": "Unauthorized", "message": "Invalid token"}, status=401
    )
    client = LeverClient(
        access_token="old", base_url=httpserver.url_for("/v1"), token_refresher=lambda: "newer"
    )

    with pytest.raises(AuthError, match="Reconnect Lever"):
        list(client.iter_all("/stages"))
    assert len(httpserver.log) == 2


def test_authorize_url_carries_state_audience_and_the_needed_scopes():
    url = oauth.authorize_url("cid", "https://rf.test/cb", "st4te")

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://auth.lever.co/authorize"
    assert query["state"] == ["st4te"]
    assert query["audience"] == ["https://api.lever.co/v1/"]
    assert query["response_type"] == ["code"]
    assert query["scope"][0].split() == list(oauth.REQUIRED_SCOPES)


def test_refresh_returns_the_rotated_refresh_token(httpserver):
    def token(request):
        assert request.form["grant_type"] == "refresh_token"
        assert request.form["refresh_token"] == "refresh-1"
        body = {
            "access_token": "access-2",
            "refresh_token": "refresh-2",
            "token_type": "Bearer",
            "expires_in": 3600,
        }
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/oauth/token", method="POST").respond_with_handler(token)

    tokens = oauth.refresh(
        "cid", "secret", "refresh-1", auth_base=httpserver.url_for(""), clock=lambda: 1000.0
    )

    assert tokens.access_token == "access-2"
    assert tokens.refresh_token == "refresh-2"
    assert tokens.expires_at == datetime.fromtimestamp(4600, tz=UTC)


def test_exchange_code_raises_auth_error_when_the_code_is_rejected(httpserver):
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"error": "invalid_grant", "error_description": "Invalid authorization code"}, status=403
    )

    with pytest.raises(AuthError, match="Invalid authorization code"):
        oauth.exchange_code(
            "cid", "secret", "bad", "https://rf.test/cb", auth_base=httpserver.url_for("")
        )


def test_provider_persists_rotated_tokens_when_it_refreshes_on_401(httpserver):
    def token(request):
        return Response(
            json.dumps({"access_token": "a2", "refresh_token": "r2", "expires_in": 3600}),
            content_type="application/json",
        )

    def users(request):
        if request.headers["Authorization"] != "Bearer a2":
            return Response('{"code":"Unauthorized","message":"expired"}', status=401)
        return Response(
            '{"data":[{"id":"u1","name":"Rita","email":"rita@acme.test"}],"hasNext":false}',
            content_type="application/json",
        )

    httpserver.expect_request("/oauth/token", method="POST").respond_with_handler(token)
    httpserver.expect_request("/v1/users").respond_with_handler(users)
    saved = []
    provider = LeverProvider(
        {
            "access_token": "a1",
            "refresh_token": "r1",
            "client_id": "cid",
            "client_secret": "secret",
            "base_url": httpserver.url_for("/v1"),
            "auth_base": httpserver.url_for(""),
        },
        on_tokens=saved.append,
    )

    (user,) = provider.iter_users()

    assert (user.external_id, user.email) == ("u1", "rita@acme.test")
    assert [t.refresh_token for t in saved] == ["r2"]
    assert provider.refresh_token == "r2"


def test_opportunity_doc_example_maps_to_candidate_and_active_application():
    opportunity = json.loads((FIXTURES / "lever_opportunity.json").read_text())["data"]

    candidate = candidate_from_opportunity(opportunity)
    application = application_from_opportunity(opportunity, {})

    assert (candidate.first_name, candidate.last_name) == ("Shane", "Smith")
    assert candidate.emails == [("shane@exampleq3.com", None)]
    assert candidate.phones == [("(123) 456-7891", None)]
    assert candidate.updated_at == datetime(2014, 8, 8, 1, 8, 0, 914000, tzinfo=UTC)
    assert application.status == "active"
    assert application.stage_external_id == "00922a60-7c15-422b-b086-f62000824fd7"
    assert application.source_name == "linkedin"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("r-hired", "hired"), ("r-fit", "rejected"), ("r-unknown", "archived")],
)
def test_archived_opportunity_status_follows_the_archive_reason_type(reason, expected):
    opportunity = {"id": "o1", "archived": {"archivedAt": 1_700_000_000_000, "reason": reason}}

    app = application_from_opportunity(opportunity, {"r-hired": "hired", "r-fit": "non-hired"})

    assert app.status == expected


def test_incremental_sync_sends_updated_at_start_in_milliseconds(httpserver):
    httpserver.expect_request("/v1/archive_reasons").respond_with_json(
        {"data": [{"id": "r1", "text": "Hired", "type": "hired"}], "hasNext": False}
    )
    httpserver.expect_request("/v1/opportunities").respond_with_json(
        {
            "data": [
                {
                    "id": "o1",
                    "name": "Ada Lovelace",
                    "stage": {"id": "s1", "text": "Phone Screen"},
                    "applications": [
                        {"id": "ap1", "posting": "p1", "createdAt": 1_700_000_000_000}
                    ],
                    "archived": {"archivedAt": 1_700_000_100_000, "reason": "r1"},
                    "updatedAt": 1_700_000_100_000,
                }
            ],
            "hasNext": False,
        }
    )

    since = datetime(2024, 1, 1, tzinfo=UTC)
    (app,) = lever_provider(httpserver).iter_applications(updated_after=since)

    query = parse_qs(
        [r for r, _ in httpserver.log if r.path == "/v1/opportunities"][0].query_string.decode()
    )
    assert query["updated_at_start"] == [str(int(since.timestamp() * 1000))]
    assert (app.status, app.job_external_id, app.stage_name) == ("hired", "p1", "Phone Screen")


def test_postings_become_jobs_with_team_department_and_location(httpserver):
    httpserver.expect_request("/v1/stages").respond_with_json(
        {"data": [{"id": "s1", "text": "New applicant"}, {"id": "s2", "text": "Onsite"}]}
    )
    httpserver.expect_request("/v1/postings").respond_with_json(
        {
            "data": [
                {
                    "id": "p1",
                    "text": "Backend Engineer",
                    "state": "published",
                    "categories": {
                        "team": "Backend",
                        "department": "Engineering",
                        "location": "Berlin",
                        "allLocations": ["Berlin", "Remote"],
                    },
                    "owner": "u1",
                    "hiringManager": "u2",
                }
            ],
            "hasNext": False,
        }
    )
    provider = lever_provider(httpserver)

    (job,) = provider.iter_jobs()
    departments = list(provider.iter_departments())
    offices = list(provider.iter_offices())

    assert job.department_external_ids == ["team:Engineering/Backend", "dept:Engineering"]
    assert job.office_external_ids == ["location:Berlin", "location:Remote"]
    assert [s.name for s in job.stages] == ["New applicant", "Onsite"]
    assert (job.recruiter_external_ids, job.hiring_manager_external_ids) == (["u1"], ["u2"])
    assert [(d.name, d.parent_external_id) for d in departments] == [
        ("Engineering", None),
        ("Backend", "dept:Engineering"),
    ]
    assert [o.name for o in offices] == ["Berlin", "Remote"]


def test_note_is_posted_with_perform_as(httpserver):
    httpserver.expect_request(
        "/v1/opportunities/o1/notes", method="POST", query_string="perform_as=u9"
    ).respond_with_json({"data": {"noteId": "n1"}}, status=201)

    note_id = lever_provider(httpserver, perform_as="u9").add_note(
        "o1", "Booked", visibility="public"
    )

    assert note_id == "n1"
    assert json.loads(httpserver.log[0][0].data)["secret"] is False


def test_file_upload_is_multipart_with_perform_as(httpserver):
    httpserver.expect_request(
        "/v1/opportunities/o1/files", method="POST", query_string="perform_as=u9"
    ).respond_with_json({"data": {"id": "f1", "name": "t.pdf", "status": "processing"}})

    file_id = lever_provider(httpserver, perform_as="u9").add_attachment(
        "o1", "t.pdf", b"%PDF-1.4", "application/pdf"
    )

    request = httpserver.log[0][0]
    assert file_id == "f1"
    assert request.files["file"].filename == "t.pdf"
    assert request.files["file"].read() == b"%PDF-1.4"


def test_file_upload_is_refused_before_calling_lever_when_no_user_is_chosen(httpserver):
    with pytest.raises(ValidationFailed, match="acts as"):
        lever_provider(httpserver).add_attachment("o1", "t.pdf", b"x", "application/pdf")
    assert httpserver.log == []


def test_custom_fields_and_email_notes_are_not_supported(httpserver):
    provider = lever_provider(httpserver)
    with pytest.raises(NotSupported):
        provider.set_candidate_custom_field("o1", "k", "v")
    with pytest.raises(NotSupported):
        provider.add_email_note("o1", to="a@b", from_="c@d", subject="s", body="b")


def test_permission_check_marks_a_forbidden_resource_as_missing(httpserver):
    httpserver.expect_request("/v1/postings").respond_with_json(
        {"code": "Forbidden", "message": "Key lacks postings access"}, status=403
    )
    for path in ("opportunities", "stages", "users", "archive_reasons"):
        httpserver.expect_request(f"/v1/{path}").respond_with_json({"data": [], "hasNext": False})
    httpserver.expect_request(
        "/v1/opportunities/00000000-0000-0000-0000-000000000000/notes"
    ).respond_with_json({"code": "ResourceNotFound", "message": "not found"}, status=404)

    checks = lever_provider(httpserver).check_permissions()

    status = {c.name: c.ok for c in checks}
    assert status["postings:read:admin"] is False
    assert status["opportunities:read:admin"] is True
    assert status["notes:write:admin"] is True
    assert status["files:write:admin"] is None  # no acting user to probe with


def test_signature_matches_the_reference_vector():
    assert verify_signature(
        "be58f711f349c7780e4579cd7c63341ac6f881e4dccc3154",
        1431454330072,
        "67237316b71be6f4595c3313d347b09353b22d7cbab3726261b73d409acd8fd7",
        "test-signature-token",
    )
    assert not verify_signature(
        "be58f711f349c7780e4579cd7c63341ac6f881e4dccc3154",
        1431454330073,
        "67237316b71be6f4595c3313d347b09353b22d7cbab3726261b73d409acd8fd7",
        "test-signature-token",
    )


def test_stale_deliveries_are_detected():
    now = datetime(2024, 1, 1, tzinfo=UTC)
    fresh = int((now - timedelta(minutes=1)).timestamp() * 1000)
    old = int((now - timedelta(hours=2)).timestamp() * 1000)

    assert not is_stale(fresh, now)
    assert is_stale(old, now)
    assert not is_stale(old, now, max_age=timedelta(hours=3))


def test_stage_change_webhook_parses_the_opportunity_and_stages():
    body = json.loads((FIXTURES / "lever_webhook_stage_change.json").read_text())

    event = parse_event(body)

    assert event.event == "candidateStageChange"
    assert event.opportunity_id == "3410c8b9-5c31-4bab-b7e9-9f710206d647"
    assert event.to_stage_id == "7c2690d8-6308-4ed9-ae2a-cbfe7db26593"
    assert event.from_stage_id == "992f01a9-ee19-41d2-ae79-1040701b195c"
    assert event.triggered_at == datetime.fromtimestamp(1431454330.072, tz=UTC)


def test_lever_test_delivery_with_empty_data_parses():
    event = parse_event({"event": "candidateHired", "data": {}, "triggeredAt": 1, "token": "t"})
    assert (event.event, event.opportunity_id) == ("candidateHired", None)


def test_rate_limiter_is_on_by_default():
    client = LeverClient(api_key="k")
    assert isinstance(client.http, HttpClient)
    assert (client.http.rate_limiter.rate, client.http.rate_limiter.burst) == (10, 20)
