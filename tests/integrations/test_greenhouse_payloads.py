"""Greenhouse doc payloads -> normalized records, and webhook verification/parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.greenhouse.provider import application_from_payload, candidate_from_payload
from integrations.greenhouse.webhooks import InvalidPayload, parse_event, verify_signature

FIXTURES = Path(__file__).parent / "fixtures"
VECTOR_BODY = b'{"action":"candidate_stage_change","payload":{}}'
VECTOR_SIG = "sha256 81578eb81bc9c4583a439788c6c501bcfd687b4e8da509e176bec3bcd7011009"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_harvest_application_maps_to_a_rejected_application_with_its_stage_and_source():
    app = application_from_payload(load("greenhouse_application.json"))

    assert app.external_id == "985314"
    assert app.candidate_external_id == "978031"
    assert app.job_external_id == "123"
    assert (app.stage_external_id, app.stage_name) == ("62828", "Recruiter Phone Screen")
    assert app.status == "rejected"
    assert app.source_name == "Happy Hour"
    assert app.applied_at == datetime(2016, 3, 26, 20, 11, 39, tzinfo=UTC)
    assert app.last_activity_at.tzinfo is not None
    assert app.prospect is False


def test_harvest_candidate_maps_contacts_with_their_types_and_tags():
    candidate = candidate_from_payload(load("greenhouse_candidate.json"))

    assert (candidate.first_name, candidate.last_name) == ("John", "Locke")
    assert candidate.emails == [("test@work.com", "work"), ("test@example.com", "personal")]
    assert candidate.phones == [("555-555-5555", "mobile")]
    assert candidate.tags == ["Python", "Ruby"]
    assert candidate.updated_at == datetime(2017, 9, 28, 12, 29, 30, 497000, tzinfo=UTC)


def test_hired_application_without_a_current_stage_has_no_stage():
    app = application_from_payload(
        {"id": 1, "candidate_id": 2, "status": "hired", "current_stage": None, "jobs": []}
    )
    assert (app.status, app.stage_external_id, app.job_external_id) == ("hired", None, None)


def test_signature_matches_the_reference_vector():
    assert verify_signature(VECTOR_BODY, VECTOR_SIG, "s3cr3t")


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (VECTOR_BODY, VECTOR_SIG, "wrong"),
        (VECTOR_BODY + b" ", VECTOR_SIG, "s3cr3t"),
        (VECTOR_BODY, VECTOR_SIG.replace("sha256", "sha1"), "s3cr3t"),
        (VECTOR_BODY, VECTOR_SIG.split(" ")[1], "s3cr3t"),
        (VECTOR_BODY, "", "s3cr3t"),
        (VECTOR_BODY, None, "s3cr3t"),
        (VECTOR_BODY, VECTOR_SIG, ""),
    ],
)
def test_signature_is_rejected_when_body_secret_or_header_is_wrong(body, header, secret):
    assert not verify_signature(body, header, secret)


def test_stage_change_webhook_yields_the_application_and_its_candidate():
    raw = (FIXTURES / "greenhouse_webhook_stage_change.json").read_bytes()

    event = parse_event(raw, event_id="evt-1")

    assert event.action == "candidate_stage_change"
    assert event.event_id == "evt-1"
    app = event.application
    assert app.external_id == "265277"
    assert app.candidate_external_id == "265772"
    assert (app.stage_external_id, app.stage_name) == ("71416", "Assessment")
    assert app.job_external_id == "3485"
    assert app.source_name == "Agency"  # webhooks use source.name, Harvest source.public_name
    assert event.candidate.emails == [("giuseppe.hurley@example.com", "personal")]
    assert event.candidate.tags == ["Import from Previous ATS"]
    assert event.job_ids == ["3485"]


def test_merge_webhook_names_the_surviving_candidate():
    body = json.dumps(
        {
            "action": "merge_candidate",
            "payload": {"person": {"id": 11, "first_name": "A"}, "new_candidate_id": 22},
        }
    ).encode()

    event = parse_event(body)

    assert event.merged_into == "22"
    assert event.candidate.external_id == "11"
    assert event.candidate.merged_into == "22"


def test_delete_webhooks_name_what_was_deleted():
    deleted = parse_event({"action": "delete_candidate", "payload": {"person": {"id": 5}}})
    gone_app = parse_event({"action": "delete_application", "payload": {"application": {"id": 9}}})

    assert deleted.deleted_candidate_id == "5"
    assert gone_app.deleted_application_id == "9"


def test_ping_and_unknown_actions_parse_without_records():
    ping = parse_event(b'{"action":"ping","payload":{"web_hook_id":1}}')
    other = parse_event(b'{"action":"offer_created","payload":{}}')

    assert (ping.action, ping.supported, ping.application) == ("ping", True, None)
    assert other.supported is False


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"payload":{}}'])
def test_parse_event_rejects_bodies_that_are_not_webhooks(body):
    with pytest.raises(InvalidPayload):
        parse_event(body)
