import hashlib
import hmac
import json
import time
import urllib.parse

import pytest
import requests

from integrations.sandbox.lever import lever_signature
from integrations.sandbox.server import SandboxServer

KEY = ("sandbox-lever-key", "")
CLIENT = {"client_id": "sandbox-lever-client", "client_secret": "sandbox-lever-secret"}


@pytest.fixture(scope="module")
def srv():
    server = SandboxServer(lever_rate=None, webhook_retry_scale=0.00001).start()
    yield server
    server.stop()


@pytest.fixture
def lv(srv):
    return f"{srv.url}/lever"


def a_user(lv):
    return requests.get(f"{lv}/v1/users", auth=KEY).json()["data"][0]["id"]


def test_offset_paging_visits_every_opportunity_once_when_following_next(srv, lv):
    ids, params = [], {"limit": 100, "confidentiality": "all"}
    while True:
        body = requests.get(f"{lv}/v1/opportunities", params=params, auth=KEY).json()
        ids.extend(o["id"] for o in body["data"])
        if not body["hasNext"]:
            assert "next" not in body
            break
        params = {"limit": 100, "confidentiality": "all", "offset": body["next"]}
    assert len(ids) == len(set(ids)) == len(srv.lever.opps)


def test_confidential_opportunities_hidden_when_confidentiality_default(srv, lv):
    body = requests.get(f"{lv}/v1/opportunities", params={"limit": 100}, auth=KEY).json()
    assert all(o["confidentiality"] == "non-confidential" for o in body["data"])


def test_forged_offset_gives_400_when_not_issued(lv):
    r = requests.get(
        f"{lv}/v1/opportunities",
        params={"offset": "0.1414895548650.a6070140-33db-407c-91f5-2760e15c8e94"},
        auth=KEY,
    )
    assert r.status_code == 400 and r.json()["code"] == "BadRequestError"
    first = requests.get(f"{lv}/v1/opportunities", params={"limit": 5}, auth=KEY).json()
    r = requests.get(
        f"{lv}/v1/opportunities",
        params={"limit": 5, "offset": first["next"], "archived": "true"},
        auth=KEY,
    )
    assert r.status_code == 400


def test_limit_outside_range_gives_400_when_over_100(lv):
    r = requests.get(f"{lv}/v1/opportunities", params={"limit": 101}, auth=KEY)
    assert r.status_code == 400 and set(r.json()) == {"code", "message"}


def test_updated_at_range_is_inclusive_and_repeated_stage_ids_or_when_filtered(srv, lv):
    opps = [o for o in srv.lever.opps.values() if o["confidentiality"] == "non-confidential"]
    pivot = sorted(o["updatedAt"] for o in opps)[len(opps) // 2]
    stages = [s["id"] for s in srv.lever.stages[:2]]
    params = [("updated_at_start", pivot), ("limit", 100)] + [("stage_id", s) for s in stages]
    got = []
    while True:
        body = requests.get(f"{lv}/v1/opportunities", params=params, auth=KEY).json()
        got.extend(body["data"])
        if not body["hasNext"]:
            break
        params = [p for p in params if p[0] != "offset"] + [("offset", body["next"])]
    expected = {o["id"] for o in opps if o["updatedAt"] >= pivot and o["stage"] in stages}
    assert {o["id"] for o in got} == expected


def test_expand_inlines_stage_and_applications_when_requested(lv):
    body = requests.get(
        f"{lv}/v1/opportunities",
        params=[("limit", 1), ("expand", "stage"), ("expand", "applications")],
        auth=KEY,
    ).json()
    opp = body["data"][0]
    assert set(opp["stage"]) == {"id", "text"}
    assert opp["applications"][0]["opportunityId"] == opp["id"]


def test_unauthenticated_gives_401_when_key_wrong(lv):
    r = requests.get(f"{lv}/v1/stages", auth=("wrong", ""))
    assert r.status_code == 401 and "code" in r.json()


def oauth_code(lv, scope="opportunities:read:admin offline_access"):
    r = requests.get(
        f"{lv}/oauth/authorize",
        params={
            "client_id": CLIENT["client_id"],
            "redirect_uri": "http://127.0.0.1:9/cb",
            "response_type": "code",
            "state": "xyz",
            "audience": "https://api.lever.co/v1/",
            "scope": scope,
        },
        allow_redirects=False,
    )
    assert r.status_code == 302
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["Location"]).query)
    assert q["state"] == ["xyz"]
    return q["code"][0]


def test_oauth_code_flow_and_refresh_rotation_reject_old_token_when_refreshed(lv):
    code = oauth_code(lv)
    tok = requests.post(
        f"{lv}/oauth/token",
        data={**CLIENT, "grant_type": "authorization_code", "code": code,
              "redirect_uri": "http://127.0.0.1:9/cb"},
    ).json()  # fmt: skip
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 3600
    hdr = {"Authorization": f"Bearer {tok['access_token']}"}
    assert requests.get(f"{lv}/v1/stages", headers=hdr).status_code == 200
    new = requests.post(
        f"{lv}/oauth/token",
        data={**CLIENT, "grant_type": "refresh_token", "refresh_token": tok["refresh_token"]},
    )
    assert new.status_code == 200 and new.json()["refresh_token"] != tok["refresh_token"]
    again = requests.post(
        f"{lv}/oauth/token",
        data={**CLIENT, "grant_type": "refresh_token", "refresh_token": tok["refresh_token"]},
    )
    assert again.status_code in (400, 403) and again.json()["error"] == "invalid_grant"
    reused = requests.post(
        f"{lv}/oauth/token",
        data={**CLIENT, "grant_type": "authorization_code", "code": code,
              "redirect_uri": "http://127.0.0.1:9/cb"},
    )  # fmt: skip
    assert reused.status_code in (400, 403)


def test_access_token_gives_401_when_expired(srv, lv):
    srv.lever.token_lifetime = 0.2
    try:
        tok = requests.post(
            f"{lv}/oauth/token",
            data={**CLIENT, "grant_type": "authorization_code", "code": oauth_code(lv),
                  "redirect_uri": "http://127.0.0.1:9/cb"},
        ).json()  # fmt: skip
    finally:
        srv.lever.token_lifetime = 3600
    time.sleep(0.3)
    r = requests.get(f"{lv}/v1/stages", headers={"Authorization": f"Bearer {tok['access_token']}"})
    assert r.status_code == 401


def test_authorize_redirects_with_access_denied_when_user_declines(lv):
    r = requests.get(
        f"{lv}/oauth/authorize",
        params={"client_id": CLIENT["client_id"], "redirect_uri": "http://127.0.0.1:9/cb",
                "response_type": "code", "state": "s1", "audience": "https://api.lever.co/v1/",
                "deny": "1"},
        allow_redirects=False,
    )  # fmt: skip
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["Location"]).query)
    assert q["error"] == ["access_denied"] and q["error_description"] and q["state"] == ["s1"]
    missing = requests.get(
        f"{lv}/oauth/authorize", params={"client_id": CLIENT["client_id"]}, allow_redirects=False
    )
    assert missing.status_code == 400


def test_file_upload_gives_400_when_perform_as_missing(srv, lv):
    opp = next(iter(srv.lever.opps))
    files = {"file": ("cv.pdf", b"%PDF-1.4", "application/pdf")}
    r = requests.post(f"{lv}/v1/opportunities/{opp}/files", files=files, auth=KEY)
    assert r.status_code == 400 and r.json()["code"] == "BadRequestError"
    r = requests.post(
        f"{lv}/v1/opportunities/{opp}/files",
        params={"perform_as": a_user(lv)},
        files=files,
        auth=KEY,
    )
    assert r.status_code == 200 and r.json()["data"]["name"] == "cv.pdf"
    assert r.json()["data"]["size"] == 8


def test_note_create_gives_201_with_note_id_when_posted(srv, lv):
    opp = next(iter(srv.lever.opps))
    r = requests.post(
        f"{lv}/v1/opportunities/{opp}/notes",
        params={"perform_as": a_user(lv)},
        json={"value": "Great call", "secret": False},
        auth=KEY,
    )
    assert r.status_code == 201 and r.json()["data"]["noteId"]
    assert srv.lever.writes[-1]["kind"] == "add_note"


def test_signature_matches_reference_vector_when_computed():
    assert lever_signature(
        "test-signature-token", "be58f711f349c7780e4579cd7c63341ac6f881e4dccc3154", 1431454330072
    ) == ("67237316b71be6f4595c3313d347b09353b22d7cbab3726261b73d409acd8fd7")


def test_stage_change_webhook_is_signed_when_stage_put(srv, lv, receiver):
    srv.lever.configure_webhook(receiver.url, "sig-token")
    opp = next(o for o in srv.lever.opps.values() if not o["archiveReason"])
    target = next(s["id"] for s in srv.lever.stages if s["id"] != opp["stage"])
    old = opp["stage"]
    r = requests.put(f"{lv}/v1/opportunities/{opp['id']}/stage", json={"stage": target}, auth=KEY)
    assert r.status_code == 200 and r.json()["data"]["stage"] == target
    got = receiver.wait_for(1)[0]
    assert got["headers"]["User-Agent"] == "Lever-Webhooks"
    body = json.loads(got["body"])
    assert body["event"] == "candidateStageChange" and len(body["token"]) == 48
    expected = hmac.new(
        b"sig-token", f"{body['token']}{body['triggeredAt']}".encode(), hashlib.sha256
    ).hexdigest()
    assert body["signature"] == expected
    assert body["data"]["fromStageId"] == old and body["data"]["toStageId"] == target
    assert body["data"]["opportunityId"] == opp["id"]
    srv.lever.configure_webhook(None, None, False)


def test_archive_with_hired_reason_sends_hired_event_when_put(srv, lv, receiver):
    srv.lever.configure_webhook(receiver.url, "t")
    opp = next(o for o in srv.lever.opps.values() if not o["archiveReason"])
    reasons = requests.get(f"{lv}/v1/archive_reasons", auth=KEY).json()["data"]
    hired = next(r for r in reasons if r["type"] == "hired")
    r = requests.put(
        f"{lv}/v1/opportunities/{opp['id']}/archived", json={"reason": hired["id"]}, auth=KEY
    )
    assert r.status_code == 200 and r.json()["data"]["archived"]["reason"] == hired["id"]
    events = [json.loads(x["body"])["event"] for x in receiver.wait_for(2)]
    assert events == ["candidateArchiveChange", "candidateHired"]
    srv.lever.configure_webhook(None, None, False)


def test_rate_limit_gives_429_when_burst_exceeded(srv, lv):
    srv.lever.set_rate_limit(1.0, 3)
    try:
        codes = [requests.get(f"{lv}/v1/stages", auth=KEY).status_code for _ in range(6)]
    finally:
        srv.lever.set_rate_limit(None)
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]


def test_postings_carry_categories_when_listed(lv):
    data = requests.get(f"{lv}/v1/postings", auth=KEY).json()["data"]
    sales = next(p for p in data if p["text"] == "Sales Rep")
    assert sales["categories"]["team"] == "Sales" and sales["categories"]["location"]


def test_control_page_and_api_change_stage_when_used(srv, lv):
    page = requests.get(f"{lv}/_sandbox/")
    assert page.status_code == 200 and "Sandbox Lever" in page.text
    opp = next(o for o in srv.lever.opps.values() if not o["archiveReason"])
    r = requests.post(
        f"{lv}/_sandbox/api/opportunities/{opp['id']}/stage",
        json={"stage_name": "Onsite Interview"},
    )
    assert r.status_code == 200 and r.json()["data"]["stage_text"] == "Onsite Interview"
