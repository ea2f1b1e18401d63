"""ATS activity reaches the sandbox Greenhouse and Lever over HTTP: texts (one note per
conversation window), e-mails, replies and bookings, with the configured visibility and acting
user; paused candidates get nothing; an ambiguous 5xx never writes twice; a missing permission
is named and flags the connection."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from candidates.models import TimelineEvent
from integrations.models import ConnectionStatus
from integrations.twilio.webhooks import parse_webhook
from journeys import timeline_kinds as journey_kinds
from messaging import services as messaging
from messaging.models import Channel
from messaging.tasks import message_deliver
from recruitflow.tenancy import tenant_scope
from writeback import selectors, services
from writeback.models import ActivityWrite, PauseSource, WriteStatus

from .conftest import HARVEST_KEY, LEVER_KEY, MOBILE, greenhouse_ats, lever_ats, run_beat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("writeback_env")]


def _send(org, candidate, channel, body, subject=""):
    message = messaging.message_send(
        organization=org, candidate=candidate, channel=channel, body=body, subject=subject,
        source="journey",
    )  # fmt: skip
    assert message_deliver.run(org, message.pk) == "sent"
    return message


def _reply(sandbox, org, body):
    sandbox.twilio.text_from(MOBILE, body)
    assert sandbox.twilio.wait_idle(5)
    entry = [c for c in sandbox.twilio.callbacks if c["kind"] == "inbound"][-1]
    inbound = parse_webhook(entry["params"], url=entry["url"])[0]
    return messaging.inbound_sms_receive(organization=org, inbound=inbound)


def _booked(org, candidate):
    """The "booked" timeline entry as scheduling writes it."""
    return TimelineEvent.objects.create(
        organization=org,
        candidate=candidate,
        kind=journey_kinds.BOOKED,
        summary="Booked Onsite interview for Thu 16 Jan, 10:00–11:00",
        detail="With Alice Example",
        occurred_at=timezone.now(),
        data={"booking_id": 1},
    )


def _activity(org, ats, *, visibility="public", batch=15, **rules):
    services.rules_update(
        organization=org,
        acting_user_email=ats.acting.email,
        enabled=True,
        note_visibility=visibility,
        text_batch_minutes=batch,
        **rules,
    )


def _everything_happens(sandbox, org, candidate):
    _send(org, candidate, Channel.SMS, "Hi Sam, you're invited to an onsite interview.")
    _send(org, candidate, Channel.EMAIL, "Please pick a time for your onsite.", "Onsite interview")
    _reply(sandbox, org, "Great, thank you!")
    _booked(org, candidate)


def _feed(sandbox, candidate):
    url = f"{sandbox.url}/greenhouse/v1/candidates/{candidate.external_id}/activity_feed"
    return requests.get(url, auth=HARVEST_KEY).json()


def test_texts_email_reply_and_booking_reach_the_greenhouse_activity_feed(
    sandbox, org, twilio, time_machine
):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats, visibility="public")
        _everything_happens(sandbox, org, candidate)

        run_beat()
        early = _feed(sandbox, candidate)
        # The texts wait for the end of their 15-minute window, to share one note.
        time_machine.shift(timedelta(minutes=16))
        run_beat()
        feed = _feed(sandbox, candidate)
        states = selectors.event_write_states(organization=org, candidate_id=candidate.pk)

    assert [e["subject"] for e in early["emails"]] == ["Onsite interview"]
    assert not any("Text conversation" in n["body"] for n in early["notes"])
    email = feed["emails"][0]
    assert "Please pick a time for your onsite." in email["body"]
    assert email["user"]["id"] == int(ats.acting.external_id)
    texts = [n for n in feed["notes"] if "Text conversation" in n["body"]]
    assert len(texts) == 1
    assert "you're invited to an onsite interview" in texts[0]["body"]
    assert "Great, thank you!" in texts[0]["body"]
    booking = [n for n in feed["notes"] if "Interview booked" in n["body"]]
    assert len(booking) == 1 and "Booked Onsite interview" in booking[0]["body"]
    assert {n["visibility"] for n in feed["notes"]} == {"public"}
    assert {n["user"]["id"] for n in feed["notes"]} == {int(ats.acting.external_id)}
    assert states and {s.text for s in states.values()} == {"Written to the ATS"}


def test_lever_gets_notes_made_as_the_acting_user_with_private_visibility_secret(
    sandbox, org, twilio, time_machine
):
    with tenant_scope(org):
        ats = lever_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats, visibility="private", batch=0)
        _everything_happens(sandbox, org, candidate)
        run_beat()
        written = ActivityWrite.objects.filter(status=WriteStatus.WRITTEN).count()

    notes = requests.get(
        f"{sandbox.url}/lever/v1/opportunities/{candidate.external_id}/notes", auth=LEVER_KEY
    ).json()["data"]
    values = [n["fields"][0]["value"] for n in notes]
    assert written == 4 and len(notes) == 4
    assert any(v.startswith("Onsite interview\n\nPlease pick a time") for v in values)
    assert any("Great, thank you!" in v for v in values)
    assert any("you're invited" in v for v in values)
    assert any("Interview booked" in v for v in values)
    assert {n["user"] for n in notes} == {ats.acting.external_id}
    assert {n["secret"] for n in notes} == {True}


def test_a_paused_candidate_gets_nothing_written_and_their_activity_is_marked_paused(
    sandbox, org, twilio
):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats, batch=0)
        services.candidate_pause(
            organization=org, candidate=candidate, source=PauseSource.CANDIDATE_PAGE
        )
        _everything_happens(sandbox, org, candidate)
        run_beat()
        states = selectors.event_write_states(organization=org, candidate_id=candidate.pk)

    feed = _feed(sandbox, candidate)
    assert feed["notes"] == [] and feed["emails"] == []
    assert len(states) == 4 and {s.text for s in states.values()} == {"Not written (paused)"}


def test_a_5xx_after_the_note_landed_does_not_write_a_second_note(sandbox, org, twilio):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats, batch=0)
        _booked(org, candidate)
        sandbox.greenhouse.inject_fault("/v1/candidates/", 500, count=1, method="POST", after=True)
        run_beat()
        row = ActivityWrite.objects.get()
        first = (row.status, row.ambiguous)
        ActivityWrite.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        run_beat()
        row.refresh_from_db()

    notes = _feed(sandbox, candidate)["notes"]
    assert first == (WriteStatus.PENDING, True)
    assert row.status == WriteStatus.WRITTEN
    assert len(notes) == 1 and row.marker in notes[0]["body"]
    assert str(notes[0]["id"]) == row.external_id


def test_a_missing_add_note_permission_is_named_and_the_connection_needs_attention(
    sandbox, org, twilio
):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox, key="sandbox-harvest-limited")
        candidate = ats.candidates[0]
        _activity(org, ats, batch=0)
        _booked(org, candidate)
        run_beat()
        row = ActivityWrite.objects.get()
        ats.connection.refresh_from_db()
        states = selectors.event_write_states(organization=org, candidate_id=candidate.pk)

    assert row.status == WriteStatus.FAILED
    assert "Candidates → POST: Add Note" in row.reason
    assert ats.connection.status == ConnectionStatus.ERROR
    assert "Candidates → POST: Add Note" in ats.connection.last_error
    assert _feed(sandbox, candidate)["notes"] == []
    assert next(iter(states.values())).text.startswith("Not written: ")
