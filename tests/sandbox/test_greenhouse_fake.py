import base64
import hashlib
import hmac
import json
import time

import pytest
import requests

from integrations.sandbox.greenhouse import greenhouse_json, greenhouse_signature
from integrations.sandbox.server import SandboxServer

KEY = ("sandbox-harvest-key", "")
LIMITED = ("sandbox-harvest-limited", "")


@pytest.fixture(scope="module")
def srv():
    server = SandboxServer(greenhouse_rate_limit=None, webhook_retry_scale=0.001).start()
    yield server
    server.stop()


@pytest.fixture
def gh(srv):
    return f"{srv.url}/greenhouse"


def first_user(gh):
    return requests.get(f"{gh}/v1/users", auth=KEY).json()[0]["id"]


def follow(url, **kw):
    seen = []
    while url:
        r = requests.get(url, **kw)
        assert r.status_code == 200, r.text
        seen.extend(r.json())
        url = r.links.get("next", {}).get("url")
        kw.pop("params", None)
    return seen


def test_link_paging_visits_every_application_once_when_following_next(srv, gh):
    seen = follow(f"{gh}/v1/applications", params={"per_page": 37}, auth=KEY)
    ids = [a["id"] for a in seen]
    assert len(ids) == len(set(ids)) == len(srv.greenhouse.co.applications)


def test_link_header_has_next_and_last_with_absolute_urls_when_many_pages(gh):
    r = requests.get(f"{gh}/v1/candidates", params={"per_page": 2, "page": 2}, auth=KEY)
    assert set(r.links) == {"next", "prev", "last"}
    assert r.links["next"]["url"].startswith(f"{gh}/v1/candidates?")
    assert "page=3" in r.links["next"]["url"]
    assert isinstance(r.json(), list) and len(r.json()) == 2


def test_skip_count_drops_last_link_when_true(gh):
    r = requests.get(f"{gh}/v1/candidates", params={"per_page": 2, "skip_count": "true"}, auth=KEY)
    assert "next" in r.links and "last" not in r.links


def test_no_link_header_when_single_page(gh):
    r = requests.get(f"{gh}/v1/departments", auth=KEY)
    assert r.status_code == 200 and "Link" not in r.headers


def test_user_roles_only_give_next_link_when_paged(gh):
    r = requests.get(f"{gh}/v1/user_roles", params={"per_page": 1, "page": 2}, auth=KEY)
    assert set(r.links) == {"next"}


def test_per_page_out_of_range_gives_422_when_over_500(gh):
    r = requests.get(f"{gh}/v1/candidates", params={"per_page": 501}, auth=KEY)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "per_page"


def test_bad_key_gives_401_when_credentials_unknown(gh):
    r = requests.get(f"{gh}/v1/jobs", auth=("nope", ""))
    assert r.status_code == 401
    assert r.json() == {"message": "Invalid Basic Auth credentials"}
    assert requests.get(f"{gh}/v1/jobs").status_code == 401


def test_missing_permission_gives_403_when_key_lacks_grant(gh):
    r = requests.get(f"{gh}/v1/applications", auth=LIMITED)
    assert r.status_code == 403
    assert r.json() == {"message": "This API Key does not have permission for this endpoint"}
    assert requests.get(f"{gh}/v1/candidates", auth=LIMITED).status_code == 200


def test_unknown_record_gives_404_when_id_missing(gh):
    r = requests.get(f"{gh}/v1/candidates/1", auth=KEY)
    assert r.status_code == 404 and r.json() == {"message": "Resource not found"}
    assert requests.get(f"{gh}/v1/nothing", auth=KEY).status_code == 404


def test_get_with_body_gives_403_when_body_sent(gh):
    r = requests.get(f"{gh}/v1/jobs", data=b'{"a":1}', auth=KEY)
    assert r.status_code == 403


def test_sales_rep_job_has_onsite_interview_stage_when_generated(gh):
    jobs = requests.get(f"{gh}/v1/jobs", auth=KEY).json()
    job = next(j for j in jobs if j["name"] == "Sales Rep")
    assert job["hiring_team"]["recruiters"] and job["offices"][0]["location"]["name"]
    stages = requests.get(f"{gh}/v1/jobs/{job['id']}/stages", auth=KEY).json()
    assert "Onsite Interview" in [s["name"] for s in stages]
    fields = requests.get(f"{gh}/v1/custom_fields/candidate", auth=KEY).json()
    video = next(f for f in fields if f["name"] == "Video Interview")
    assert video["value_type"] == "long_text" and video["name_key"] == "video_interview"


def test_unknown_status_gives_empty_list_when_filtering_applications(gh):
    r = requests.get(f"{gh}/v1/applications", params={"status": "weird"}, auth=KEY)
    assert r.status_code == 200 and r.json() == []


def test_last_activity_after_filters_inclusively_when_given(srv, gh):
    apps = list(srv.greenhouse.co.applications.values())
    pivot = sorted(a["last_activity_at"] for a in apps)[len(apps) // 2]
    from integrations.sandbox.atsdata import iso

    got = follow(
        f"{gh}/v1/applications",
        params={"per_page": 500, "last_activity_after": iso(pivot)},
        auth=KEY,
    )
    expected = [a for a in apps if round(a["last_activity_at"], 3) >= round(pivot, 3) - 0.001]
    assert abs(len(got) - len(expected)) <= 1
    assert all(g["last_activity_at"] >= iso(pivot) for g in got)


def test_write_gives_403_when_on_behalf_of_missing_email_or_unknown(gh, srv):
    cid = next(iter(srv.greenhouse.co.candidates))
    url = f"{gh}/v1/candidates/{cid}/activity_feed/notes"
    body = {"body": "hi", "visibility": "public"}
    assert requests.post(url, json=body, auth=KEY).status_code == 403
    r = requests.post(url, json=body, auth=KEY, headers={"On-Behalf-Of": "a@example.com"})
    assert r.status_code == 403 and "message" in r.json()
    r = requests.post(url, json=body, auth=KEY, headers={"On-Behalf-Of": "999"})
    assert r.status_code == 403


def test_note_is_recorded_and_echoes_visiblity_when_valid(gh, srv):
    uid = first_user(gh)
    cid = next(iter(srv.greenhouse.co.candidates))
    url = f"{gh}/v1/candidates/{cid}/activity_feed/notes"
    r = requests.post(
        url,
        json={"user_id": uid, "body": "Strong <b>candidate</b>", "visibility": "private"},
        auth=KEY,
        headers={"On-Behalf-Of": str(uid)},
    )
    assert r.status_code == 201
    note = r.json()
    assert note["visibility"] == note["visiblity"] == "private" and note["private"] is True
    feed = requests.get(f"{gh}/v1/candidates/{cid}/activity_feed", auth=KEY).json()
    assert feed["notes"][0]["id"] == note["id"]
    assert srv.greenhouse.writes[-1]["kind"] == "add_note"


def test_note_gives_422_when_visibility_invalid(gh, srv):
    uid = first_user(gh)
    cid = next(iter(srv.greenhouse.co.candidates))
    r = requests.post(
        f"{gh}/v1/candidates/{cid}/activity_feed/notes",
        json={"user_id": uid, "body": "x", "visibility": "everyone"},
        auth=KEY,
        headers={"On-Behalf-Of": str(uid)},
    )
    assert r.status_code == 422
    assert r.json() == {
        "message": "Validation error",
        "errors": [
            {"message": "Must be one of: admin_only, private, public", "field": "visibility"}
        ],
    }


def test_limited_key_gets_403_when_adding_note(gh, srv):
    uid = first_user(gh)
    cid = next(iter(srv.greenhouse.co.candidates))
    r = requests.post(
        f"{gh}/v1/candidates/{cid}/activity_feed/notes",
        json={"user_id": uid, "body": "x", "visibility": "public"},
        auth=LIMITED,
        headers={"On-Behalf-Of": str(uid)},
    )
    assert r.status_code == 403


def test_custom_field_set_by_name_key_and_deleted_when_patched(gh, srv):
    uid = first_user(gh)
    cid = list(srv.greenhouse.co.candidates)[3]
    url = f"{gh}/v1/candidates/{cid}"
    hdr = {"On-Behalf-Of": str(uid)}
    r = requests.patch(
        url,
        json={"custom_fields": [{"name_key": "video_interview", "value": "https://v.example/1"}]},
        auth=KEY,
        headers=hdr,
    )
    assert r.status_code == 200
    assert r.json()["keyed_custom_fields"]["video_interview"]["value"] == "https://v.example/1"
    r = requests.patch(
        url, json={"custom_fields": [{"id": 501, "delete_value": "true"}]}, auth=KEY, headers=hdr
    )
    assert r.status_code == 200 and r.json()["custom_fields"]["video_interview"] is None
    r = requests.patch(
        url, json={"custom_fields": [{"id": 501, "delete_value": None}]}, auth=KEY, headers=hdr
    )
    assert r.status_code == 422
    r = requests.patch(
        url, json={"custom_fields": [{"name_key": "nope", "value": "x"}]}, auth=KEY, headers=hdr
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "custom_fields"


def test_attachment_needs_content_type_when_content_given(gh, srv):
    uid = first_user(gh)
    cid = list(srv.greenhouse.co.candidates)[4]
    url = f"{gh}/v1/candidates/{cid}/attachments"
    hdr = {"On-Behalf-Of": str(uid)}
    content = base64.b64encode(b"%PDF-1.4 resume").decode()
    body = {"filename": "cv.pdf", "type": "resume", "content": content}
    r = requests.post(url, json=body, auth=KEY, headers=hdr)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "content_type"
    r = requests.post(url, json={**body, "content_type": "application/pdf"}, auth=KEY, headers=hdr)
    assert r.status_code == 201
    assert r.json()["filename"] == "cv.pdf" and r.json()["type"] == "resume"
    cand = requests.get(url.rsplit("/", 1)[0], auth=KEY).json()
    assert cand["attachments"][-1]["filename"] == "cv.pdf"


def test_rate_limit_gives_429_with_retry_after_when_exceeded(srv, gh):
    srv.greenhouse.set_rate_limit(5)
    try:
        codes = []
        for _ in range(7):
            r = requests.get(f"{gh}/v1/sources", auth=KEY)
            assert "X-RateLimit-Limit" in r.headers and "X-RateLimit-Remaining" in r.headers
            codes.append(r.status_code)
        if 429 not in codes:  # crossed a window boundary; try once more
            codes = [requests.get(f"{gh}/v1/sources", auth=KEY).status_code for _ in range(7)]
        assert 429 in codes
        r = requests.get(f"{gh}/v1/sources", auth=KEY)
        if r.status_code == 429:
            assert 1 <= int(r.headers["Retry-After"]) <= 10
            assert int(r.headers["X-RateLimit-Reset"]) > time.time() - 1
            assert r.headers["X-RateLimit-Remaining"] == "0"
    finally:
        srv.greenhouse.set_rate_limit(None)
    r = requests.get(f"{gh}/v1/sources", auth=KEY)
    assert r.status_code == 200 and int(r.headers["X-RateLimit-Limit"]) > 1000


def v3_token(gh, sub=None, client=("sandbox-client-id", "sandbox-client-secret")):
    data = {"grant_type": "client_credentials"}
    if sub:
        data["sub"] = str(sub)
    r = requests.post(f"{gh}/auth/token", data=data, auth=client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_v3_cursor_paging_visits_every_record_in_id_desc_order_when_following_links(srv, gh):
    hdr = v3_token(gh)
    r = requests.get(f"{gh}/v3/applications", params={"per_page": 50}, headers=hdr)
    assert r.status_code == 200 and "X-RateLimit-Reset" in r.headers
    ids = [a["id"] for a in r.json()]
    url = r.links.get("next", {}).get("url")
    while url:
        assert "cursor=" in url
        r = requests.get(url, headers=hdr)
        ids.extend(a["id"] for a in r.json())
        url = r.links.get("next", {}).get("url")
    assert ids == sorted(srv.greenhouse.co.applications, reverse=True)


def test_v3_gives_422_when_cursor_combined_with_other_params(gh):
    hdr = v3_token(gh)
    r = requests.get(f"{gh}/v3/candidates", params={"per_page": 2}, headers=hdr)
    nxt = r.links["next"]["url"]
    r = requests.get(nxt + "&per_page=5", headers=hdr)
    assert r.status_code == 422
    assert r.json() == {"errors": ["When passing a cursor, do not include other query params."]}


def test_v3_gives_401_when_token_missing_or_expired(srv, gh):
    assert requests.get(f"{gh}/v3/jobs").status_code == 401
    srv.greenhouse.token_lifetime = 0.2
    r = requests.post(
        f"{gh}/auth/token",
        data={"grant_type": "client_credentials"},
        auth=("sandbox-client-id", "sandbox-client-secret"),
    )
    srv.greenhouse.token_lifetime = 3600
    hdr = {"Authorization": f"Bearer {r.json()['access_token']}"}
    time.sleep(0.3)
    assert requests.get(f"{gh}/v3/jobs", headers=hdr).status_code == 401
    bad = requests.post(
        f"{gh}/auth/token", data={"grant_type": "client_credentials"}, auth=("x", "y")
    )
    assert bad.status_code == 401


def test_v3_updated_at_pipe_filter_bounds_applications_when_given(srv, gh):
    from integrations.sandbox.atsdata import iso

    apps = srv.greenhouse.co.applications.values()
    lo = srv.greenhouse.co.now - 10 * 86400
    hi = srv.greenhouse.co.now - 5 * 86400
    hdr = v3_token(gh)
    r = requests.get(
        f"{gh}/v3/applications",
        params={"updated_at": f"gte|{iso(lo)}|lte|{iso(hi)}", "per_page": 500},
        headers=hdr,
    )
    assert r.status_code == 200
    got = {a["id"] for a in r.json()}
    expected = {a["id"] for a in apps if lo <= a["last_activity_at"] <= hi}
    assert got == expected
    r = requests.get(
        f"{gh}/v3/applications",
        params={"updated_at": f"gte|{iso(lo)}", "created_at": f"gte|{iso(lo)}"},
        headers=hdr,
    )
    assert r.status_code == 422


def test_v3_note_uses_token_sub_when_posted(srv, gh):
    uid = first_user(gh)
    hdr = v3_token(gh, sub=uid)
    cid = list(srv.greenhouse.co.candidates)[5]
    r = requests.post(
        f"{gh}/v3/notes",
        json={"candidate_id": cid, "body": "v3 note", "visibility": "public"},
        headers=hdr,
    )
    assert r.status_code == 201 and r.json()["user"]["id"] == uid
    r = requests.get(f"{gh}/v3/notes", params={"candidate_id": cid}, headers=hdr)
    assert any(n["body"] == "v3 note" for n in r.json())


def test_v3_gives_403_naming_scope_when_client_lacks_it(srv, gh):
    srv.greenhouse.add_v3_client("narrow", "secret", ["harvest:jobs:list"])
    hdr = v3_token(gh, client=("narrow", "secret"))
    assert requests.get(f"{gh}/v3/jobs", headers=hdr).status_code == 200
    r = requests.get(f"{gh}/v3/candidates", headers=hdr)
    assert r.status_code == 403 and "harvest:candidates:list" in json.dumps(r.json())


def test_signature_matches_reference_vector_when_signing_body():
    body = greenhouse_json({"action": "candidate_stage_change", "payload": {}})
    assert body == b'{"action":"candidate_stage_change","payload":{}}'
    assert greenhouse_signature("s3cr3t", body) == (
        "sha256 81578eb81bc9c4583a439788c6c501bcfd687b4e8da509e176bec3bcd7011009"
    )
    assert greenhouse_json({"x": "<p>&"}) == b'{"x":"\\u003cp\\u003e\\u0026"}'


def test_webhook_delivered_with_verifiable_signature_when_application_moved(srv, gh, receiver):
    st = srv.greenhouse
    hook = st.configure_webhook(receiver.url, "s3cr3t", True)
    assert hook["enabled"] and receiver.wait_for(1)[0]["body"].startswith(b'{"action":"ping"')
    app = next(a for a in st.co.applications.values() if a["status"] == "active")
    stages = st.co.job(app["job_id"])["stage_ids"]
    target = next(s for s in stages if s != app["stage_id"])
    uid = first_user(gh)
    r = requests.post(
        f"{gh}/v1/applications/{app['id']}/move",
        json={"from_stage_id": app["stage_id"], "to_stage_id": target},
        auth=KEY,
        headers={"On-Behalf-Of": str(uid)},
    )
    assert r.status_code == 200 and r.json()["current_stage"]["id"] == target
    got = receiver.wait_for(2)[1]
    raw = got["body"]
    expected = hmac.new(b"s3cr3t", raw, hashlib.sha256).hexdigest()
    assert got["headers"]["Signature"] == f"sha256 {expected}"
    assert got["headers"]["Greenhouse-Event-ID"]
    payload = json.loads(raw)
    assert payload["action"] == "candidate_stage_change"
    assert payload["payload"]["application"]["current_stage"]["id"] == target
    assert payload["payload"]["application"]["candidate"]["id"] == app["candidate_id"]
    st.dispatcher.wait_idle()
    assert st.deliveries[-1]["status"] == "delivered"
    st.configure_webhook(None, None, False)


def test_failed_ping_leaves_hook_disabled_and_retries_when_receiver_errors(srv, receiver):
    receiver.status = 500
    st = srv.greenhouse
    assert st.configure_webhook(receiver.url, "k", True)["enabled"] is False
    receiver.status = 200
    assert st.configure_webhook(receiver.url, "k", True)["enabled"] is True
    receiver.status = 503
    st.dispatcher.retry_scale = 0.00001
    app = next(a for a in st.co.applications.values() if a["status"] == "active")
    st.reject_application(app["id"])
    deadline = time.time() + 10
    while time.time() < deadline and st.deliveries[-1]["status"] != "failed":
        time.sleep(0.05)
    assert st.deliveries[-1]["status"] == "failed"
    assert len(st.deliveries[-1]["attempts"]) == 7
    assert [a["http_status"] for a in st.deliveries[-1]["attempts"]] == [503] * 7
    st.dispatcher.retry_scale = 0.001
    st.configure_webhook(None, None, False)


def test_control_api_moves_candidate_and_records_write_when_posted(srv, gh):
    jobs = requests.get(f"{gh}/_sandbox/api/jobs").json()
    sales = next(j for j in jobs if j["name"] == "Sales Rep")
    r = requests.post(
        f"{gh}/_sandbox/api/candidates",
        json={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
              "job_id": sales["id"]},
    )  # fmt: skip
    assert r.status_code == 201
    app_id = r.json()["application"]["id"]
    r = requests.post(
        f"{gh}/_sandbox/api/applications/{app_id}/move", json={"stage_name": "Onsite Interview"}
    )
    assert r.status_code == 200 and r.json()["current_stage"]["name"] == "Onsite Interview"
    found = requests.get(f"{gh}/_sandbox/api/candidates", params={"q": "lovelace"}).json()
    assert found["total"] == 1
    kinds = [w["kind"] for w in requests.get(f"{gh}/_sandbox/api/writes").json()]
    assert kinds[-2:] == ["create_candidate", "move_application"]
    page = requests.get(f"{gh}/_sandbox/")
    assert "Sandbox Greenhouse" in page.text and "Lovelace" in page.text


def test_html_form_moves_candidate_and_redirects_when_submitted(srv, gh):
    st = srv.greenhouse
    app = next(a for a in st.co.applications.values() if a["status"] == "active")
    target = st.co.job(app["job_id"])["stage_ids"][-1]
    r = requests.post(
        f"{gh}/_sandbox/ui/move",
        data={"application_id": app["id"], "stage_id": target, "back": "/greenhouse/_sandbox/"},
        allow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["Location"].endswith("/greenhouse/_sandbox/")
    assert st.co.applications[app["id"]]["stage_id"] == target


def test_injected_fault_returns_500_once_when_configured(srv, gh):
    requests.post(
        f"{gh}/_sandbox/api/faults", json={"path_prefix": "/v1/jobs", "status": 500, "count": 1}
    )
    assert requests.get(f"{gh}/v1/jobs", auth=KEY).status_code == 500
    assert requests.get(f"{gh}/v1/jobs", auth=KEY).status_code == 200


def test_state_file_persists_writes_when_server_restarts(tmp_path):
    path = tmp_path / "sandbox.json"
    with SandboxServer(state_file=path, n_candidates=30) as s1:
        app = next(a for a in s1.greenhouse.co.applications.values() if a["status"] == "active")
        s1.greenhouse.reject_application(app["id"])
        opp_id = next(iter(s1.lever.opps))
        stage = s1.lever.stages[-1]["id"]
        s1.lever.change_stage(opp_id, stage)
    with SandboxServer(state_file=path, n_candidates=30) as s2:
        assert s2.greenhouse.co.applications[app["id"]]["status"] == "rejected"
        assert s2.lever.opps[opp_id]["stage"] == stage
