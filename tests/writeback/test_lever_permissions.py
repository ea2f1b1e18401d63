"""A Lever API key without the note or file write permission: the sandbox Lever answers the
write with its 403, the outbox row fails with the permission named, and the Lever connection
needs attention with that reason. Over HTTP against the sandbox."""

from __future__ import annotations

import pytest
import requests
from django.utils import timezone

from candidates.models import TimelineEvent
from integrations.connections import provider_for
from integrations.models import ConnectionStatus
from integrations.sandbox.lever import LIMITED_API_KEY
from journeys import timeline_kinds as journey_kinds
from recruitflow.tenancy import tenant_scope
from writeback import selectors, services
from writeback.models import ActivityWrite, WriteKind, WriteStatus

from .conftest import LEVER_KEY, lever_ats, run_beat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("writeback_env")]

NOTES_ONLY_KEY = "sandbox-lever-notes-only"


def _connect_with(org, sandbox, key: str):
    ats = lever_ats(org, sandbox)
    with tenant_scope(org):
        ats.connection.api_key = key
        ats.connection.save(update_fields=["api_key"])
        services.rules_update(
            organization=org,
            acting_user_email=ats.acting.email,
            enabled=True,
            note_visibility="private",
            text_batch_minutes=0,
        )
    return ats


def _booked(org, candidate):
    return TimelineEvent.objects.create(
        organization=org,
        candidate=candidate,
        kind=journey_kinds.BOOKED,
        summary="Booked Onsite interview for Thu 16 Jan, 10:00–11:00",
        detail="With Alice Example",
        occurred_at=timezone.now(),
        data={"booking_id": 1},
    )


def _lever(sandbox, path):
    return requests.get(f"{sandbox.url}/lever/v1{path}", auth=LEVER_KEY).json()["data"]


def test_the_sandbox_answers_a_note_by_a_key_without_the_permission_with_lever_403(sandbox):
    opportunity = _lever(sandbox, "/opportunities?limit=1")[0]["id"]
    url = f"{sandbox.url}/lever/v1/opportunities/{opportunity}/notes"

    refused = requests.post(url, json={"value": "Hello"}, auth=(LIMITED_API_KEY, ""))
    allowed = requests.post(url, json={"value": "Hello"}, auth=LEVER_KEY)

    assert refused.status_code == 403
    body = refused.json()
    assert set(body) == {"code", "message"} and "notes:write:admin" in body["message"]
    assert allowed.status_code == 201
    assert [
        n["fields"][0]["value"] for n in _lever(sandbox, f"/opportunities/{opportunity}/notes")
    ] == ["Hello"]


def test_a_note_refused_for_a_missing_permission_names_it_and_the_connection_needs_attention(
    sandbox, org
):
    with tenant_scope(org):
        ats = _connect_with(org, sandbox, LIMITED_API_KEY)
        candidate = ats.candidates[0]
        _booked(org, candidate)
        run_beat()
        row = ActivityWrite.objects.get()
        ats.connection.refresh_from_db()
        states = selectors.event_write_states(organization=org, candidate_id=candidate.pk)

    assert row.status == WriteStatus.FAILED
    assert "“Notes” write permission (notes:write:admin)" in row.reason
    assert "Settings → Integrations and API → API Credentials" in row.reason
    assert ats.connection.status == ConnectionStatus.ERROR
    assert "notes:write:admin" in ats.connection.last_error
    assert _lever(sandbox, f"/opportunities/{candidate.external_id}/notes") == []
    (state,) = states.values()
    assert state.text.startswith("Not written: ") and "notes:write:admin" in state.text


def test_a_file_refused_for_a_missing_permission_names_it_while_notes_still_land(sandbox, org):
    requests.post(
        f"{sandbox.url}/lever/_sandbox/api/credentials",
        json={"api_key": NOTES_ONLY_KEY, "permissions": ["notes:write:admin"]},
    ).raise_for_status()
    with tenant_scope(org):
        ats = _connect_with(org, sandbox, NOTES_ONLY_KEY)
        candidate = ats.candidates[0]
        _booked(org, candidate)
        services.attachment_enqueue(
            organization=org,
            candidate=candidate,
            filename="sms-transcript-v1.pdf",
            content_type="application/pdf",
            dedupe_key="transcript:test:1",
            data=b"%PDF-1.4 transcript",
        )
        run_beat()
        rows = {r.kind: r for r in ActivityWrite.objects.all()}
        ats.connection.refresh_from_db()

    assert rows[WriteKind.BOOKING].status == WriteStatus.WRITTEN
    upload = rows[WriteKind.ATTACHMENT]
    assert upload.status == WriteStatus.FAILED
    assert "“Files” write permission (files:write:admin)" in upload.reason
    assert ats.connection.status == ConnectionStatus.ERROR
    assert "files:write:admin" in ats.connection.last_error
    assert len(_lever(sandbox, f"/opportunities/{candidate.external_id}/notes")) == 1
    assert _lever(sandbox, f"/opportunities/{candidate.external_id}/files") == []


def test_the_connection_test_reports_the_missing_write_permissions(sandbox, org):
    with tenant_scope(org):
        ats = _connect_with(org, sandbox, LIMITED_API_KEY)
        checks = {c.name: c for c in provider_for(ats.connection).check_permissions()}

    assert checks["opportunities:read:admin"].ok is True
    assert checks["notes:write:admin"].ok is False
    assert checks["notes:write:admin"].detail.startswith("Missing (")
