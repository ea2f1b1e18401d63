"""A completed video interview reaches the ATS through the outbox: the review link in the
sandbox Greenhouse's "Video Interview" candidate custom field and one note, retried on 429/5xx
without writing twice, nothing with the rule off, a missing field failing with how to create it
(shown where write-back failures show) until Retry after it was created; Lever and a Harvest v3
connection get the note only, and Settings says why."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from candidates.models import TimelineEvent
from integrations.base import VIDEO_INTERVIEW_FIELD
from integrations.greenhouse.models import GreenhouseConnection
from integrations.models import ConnectionStatus
from journeys import timeline_kinds as journey_kinds
from recruitflow.tenancy import tenant_scope
from writeback import selectors, services
from writeback.models import ActivityWrite, WriteKind, WriteStatus

from .conftest import HARVEST_KEY, LEVER_KEY, greenhouse_ats, lever_ats, run_beat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("writeback_env")]

REVIEW_URL = "https://app.recruitflow.test/interviews/41/"
HOW_TO = "Configure → Custom Options → Candidates, click Add field, name it “Video Interview”"


def _activity(org, ats, **rules):
    services.rules_update(
        organization=org,
        acting_user_email=ats.acting.email,
        enabled=True,
        note_visibility="private",
        **rules,
    )


def _completed(org, candidate, *, template="Sales screen", answers=3) -> TimelineEvent:
    """The completion entry as the interviews app writes it."""
    return TimelineEvent.objects.create(
        organization=org,
        candidate=candidate,
        kind=journey_kinds.VIDEO_INTERVIEW_COMPLETED,
        summary=f"Completed the video interview “{template}”",
        occurred_at=timezone.now(),
        data={
            "interview_id": 41,
            "review_url": REVIEW_URL,
            "template": template,
            "answers": answers,
        },
    )


def _greenhouse_candidate(sandbox, candidate) -> dict:
    url = f"{sandbox.url}/greenhouse/v1/candidates/{candidate.external_id}"
    return requests.get(url, auth=HARVEST_KEY).json()


def _video_notes(sandbox, candidate) -> list[dict]:
    url = f"{sandbox.url}/greenhouse/v1/candidates/{candidate.external_id}/activity_feed"
    notes = requests.get(url, auth=HARVEST_KEY).json()["notes"]
    return [n for n in notes if "Video interview completed" in n["body"]]


def _patches(sandbox) -> list[dict]:
    return [w for w in sandbox.greenhouse.writes if w["kind"] == "patch_candidate"]


def _due_now():
    ActivityWrite.objects.filter(status=WriteStatus.PENDING).update(next_attempt_at=timezone.now())


def test_completion_writes_the_review_link_into_the_field_and_one_note(sandbox, org):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats)
        event = _completed(org, candidate)

        run_beat()
        run_beat()  # read and written once: nothing more happens
        rows = {r.kind: r for r in ActivityWrite.objects.all()}
        states = selectors.event_write_states(organization=org, candidate_id=candidate.pk)

    field = _greenhouse_candidate(sandbox, candidate)["keyed_custom_fields"]["video_interview"]
    assert field["name"] == VIDEO_INTERVIEW_FIELD and field["type"] == "long_text"
    assert field["value"].startswith(f"{REVIEW_URL}\nSales screen · completed 15 Jan 2025")
    notes = _video_notes(sandbox, candidate)
    assert len(notes) == 1
    assert "Template: Sales screen" in notes[0]["body"]
    assert "Answers: 3" in notes[0]["body"]
    assert f"Review: {REVIEW_URL}" in notes[0]["body"]
    assert notes[0]["user"]["id"] == int(ats.acting.external_id)
    assert notes[0]["visibility"] == "private"
    patches = _patches(sandbox)
    assert len(patches) == 1 and patches[0]["args"]["user_id"] == int(ats.acting.external_id)
    assert set(rows) == {WriteKind.VIDEO_INTERVIEW, WriteKind.LINK_FIELD}
    assert {r.status for r in rows.values()} == {WriteStatus.WRITTEN}
    assert rows[WriteKind.LINK_FIELD].external_id == "501"
    assert states[event.pk].text == "Written to the ATS"


def test_a_429_and_5xx_are_retried_without_writing_twice(sandbox, org):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats)
        _completed(org, candidate)
        gh = sandbox.greenhouse
        # The note lands but its answer is lost; the field is rate limited once, then the
        # ATS fails every resend of this tick.
        gh.inject_fault("/v1/candidates/", 500, count=1, method="POST", after=True)
        gh.inject_fault("/v1/candidates/", 429, count=1, method="PATCH")
        gh.inject_fault("/v1/candidates/", 500, count=5, method="PATCH")
        run_beat()
        first = {r.kind: (r.status, r.ambiguous) for r in ActivityWrite.objects.all()}
        _due_now()
        run_beat()
        rows = {r.kind: r for r in ActivityWrite.objects.all()}

    assert first == {
        WriteKind.VIDEO_INTERVIEW: (WriteStatus.PENDING, True),
        WriteKind.LINK_FIELD: (WriteStatus.PENDING, True),
    }
    assert {r.status for r in rows.values()} == {WriteStatus.WRITTEN}
    notes = _video_notes(sandbox, candidate)
    assert len(notes) == 1 and rows[WriteKind.VIDEO_INTERVIEW].marker in notes[0]["body"]
    assert str(notes[0]["id"]) == rows[WriteKind.VIDEO_INTERVIEW].external_id
    assert len(_patches(sandbox)) == 1
    field = _greenhouse_candidate(sandbox, candidate)["custom_fields"]["video_interview"]
    assert field.startswith(REVIEW_URL)


def test_nothing_is_written_when_the_video_interviews_rule_is_off(sandbox, org):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats, video_interviews=False)
        event = _completed(org, candidate)
        run_beat()
        rows = list(ActivityWrite.objects.all())
        states = selectors.event_write_states(organization=org, candidate_id=candidate.pk)

    assert [(r.kind, r.status) for r in rows] == [(WriteKind.VIDEO_INTERVIEW, WriteStatus.RULE_OFF)]
    assert states[event.pk].text == "Not written (“Video interviews” is off)"
    assert _video_notes(sandbox, candidate) == []
    assert _patches(sandbox) == []
    assert "video_interview" not in _greenhouse_candidate(sandbox, candidate)["keyed_custom_fields"]


def test_a_missing_field_fails_with_how_to_create_it_until_retried_after_creating_it(
    sandbox, org, alice, client_for
):
    requests.post(
        f"{sandbox.url}/greenhouse/_sandbox/api/custom_fields/video_interview",
        json={"active": False},
    )
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats)
        event = _completed(org, candidate)
        run_beat()
        field_row = ActivityWrite.objects.get(kind=WriteKind.LINK_FIELD)
        note_row = ActivityWrite.objects.get(kind=WriteKind.VIDEO_INTERVIEW)
        ats.connection.refresh_from_db()
        states = selectors.event_write_states(organization=org, candidate_id=candidate.pk)

    assert field_row.status == WriteStatus.FAILED
    assert "The candidate custom field “Video Interview” was deleted in Greenhouse" in (
        field_row.reason
    )
    assert HOW_TO in field_row.reason
    assert note_row.status == WriteStatus.WRITTEN and len(_video_notes(sandbox, candidate)) == 1
    assert ats.connection.status == ConnectionStatus.ERROR
    assert HOW_TO in ats.connection.last_error
    assert states[event.pk].text.startswith("Not written: The candidate custom field")

    client = client_for(alice)
    page = client.get(reverse("writeback:settings")).content.decode()
    assert "Needs attention:" in page
    assert f'data-write="{field_row.pk}" data-status="failed"' in page
    assert "Candidate field" in page and "Configure → Custom Options → Candidates" in page

    # The admin creates the field again, then presses Retry.
    requests.post(
        f"{sandbox.url}/greenhouse/_sandbox/api/custom_fields/video_interview",
        json={"active": True},
    )
    client.post(reverse("writeback:retry", args=[field_row.pk]))
    with tenant_scope(org):
        run_beat()
        field_row.refresh_from_db()
        ats.connection.refresh_from_db()

    assert field_row.status == WriteStatus.WRITTEN
    assert _greenhouse_candidate(sandbox, candidate)["custom_fields"]["video_interview"].startswith(
        REVIEW_URL
    )
    assert ats.connection.status == ConnectionStatus.CONNECTED
    assert len(_video_notes(sandbox, candidate)) == 1


def test_lever_gets_a_note_with_the_link_and_no_field_write(sandbox, org, alice, client_for):
    with tenant_scope(org):
        ats = lever_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats)
        _completed(org, candidate)
        run_beat()
        rows = list(ActivityWrite.objects.all())

    assert [(r.kind, r.status) for r in rows] == [(WriteKind.VIDEO_INTERVIEW, WriteStatus.WRITTEN)]
    url = f"{sandbox.url}/lever/v1/opportunities/{candidate.external_id}/notes"
    notes = requests.get(url, auth=LEVER_KEY).json()["data"]
    texts = [f["value"] for n in notes for f in n["fields"] if "Video interview" in f["value"]]
    assert len(texts) == 1 and f"Review: {REVIEW_URL}" in texts[0]
    page = client_for(alice).get(reverse("writeback:settings")).content.decode()
    assert 'id="video-field-unavailable"' in page
    assert "written in a note on the opportunity instead" in page


def test_a_harvest_v3_connection_writes_the_note_only_and_settings_says_why(
    sandbox, org, alice, client_for
):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        GreenhouseConnection.objects.filter(pk=ats.connection.pk).update(
            api_version="v3",
            api_key="",
            client_id="sandbox-client-id",
            client_secret="sandbox-client-secret",
        )
        candidate = ats.candidates[0]
        _activity(org, ats)
        _completed(org, candidate)
        run_beat()
        rows = list(ActivityWrite.objects.all())

    assert [(r.kind, r.status) for r in rows] == [(WriteKind.VIDEO_INTERVIEW, WriteStatus.WRITTEN)]
    assert _patches(sandbox) == []
    page = client_for(alice).get(reverse("writeback:settings")).content.decode()
    assert "is not written over this connection" in page
    assert "Harvest v1 API key" in page


def test_settings_offers_the_rule_on_by_default_and_saves_it_off(sandbox, org, alice, client_for):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
    client = client_for(alice)
    shown = client.get(reverse("writeback:settings"))
    assert shown.context["form"]["video_interviews"].value() is True
    assert "Video interviews (the review link in the candidate" in shown.content.decode()

    response = client.post(
        reverse("writeback:settings"),
        {
            "enabled": "on",
            "acting_user_email": ats.acting.email,
            "note_visibility": "private",
            "text_batch_minutes": 15,
            "transcript_quiet_hours": 12,
        },
    )

    assert response.status_code == 302
    with tenant_scope(org):
        rules = selectors.rules_for(org).rules
    assert rules.enabled and not rules.video_interviews
