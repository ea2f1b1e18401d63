"""E-mail opt-outs and opt-ins (the e-mail ledger) reach the sandbox Greenhouse over HTTP as
notes, like the texts' ones: one note per ledger row saying what happened and how, nothing
written for a paused candidate, and nothing when the "Opt-outs" rule is off."""

from __future__ import annotations

import pytest
import requests
from django.test import Client

from messaging.email_consent import email_opt_out_unlock, unsubscribe_url
from recruitflow.tenancy import tenant_scope
from writeback import services
from writeback.models import ActivityWrite, PauseSource, WriteStatus

from .conftest import HARVEST_KEY, greenhouse_ats, run_beat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("writeback_env")]


def _notes(sandbox, candidate) -> list[dict]:
    url = f"{sandbox.url}/greenhouse/v1/candidates/{candidate.external_id}/activity_feed"
    return requests.get(url, auth=HARVEST_KEY).json()["notes"]


def _one_click(org, email: str) -> None:
    """The candidate's mail app posts RFC 8058's one-click body to the List-Unsubscribe URL."""
    url = unsubscribe_url(organization=org, email=email)
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = Client().post(f"/{path}", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200


def _activity(org, ats, **rules):
    services.rules_update(
        organization=org,
        acting_user_email=ats.acting.email,
        enabled=True,
        note_visibility="private",
        **rules,
    )


def test_a_one_click_unsubscribe_and_an_opt_back_in_each_write_one_note(sandbox, org, alice):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        candidate, other = ats.candidates
        _activity(org, ats)
        services.cursor_ensure(organization=org)
        _one_click(org, candidate.primary_email.upper())
        run_beat()
        after_lock = _notes(sandbox, candidate)
        email_opt_out_unlock(
            organization=org,
            email=candidate.primary_email,
            reason="Asked on the phone to hear about the onsite",
            actor=alice.user,
        )
        run_beat()
        run_beat()  # reading again writes nothing twice

    assert len(after_lock) == 1
    assert after_lock[0]["body"].startswith(
        "Unsubscribed from e-mail (one-click in their mail app) — 15 Jan 2025"
    )
    assert f"Address: {candidate.primary_email}" in after_lock[0]["body"]
    assert after_lock[0]["user"]["id"] == int(ats.acting.external_id)
    assert after_lock[0]["visibility"] == "private"
    notes = _notes(sandbox, candidate)
    assert len(notes) == 2
    opt_in = next(n for n in notes if n["id"] != after_lock[0]["id"])
    assert opt_in["body"].startswith("Opted back in to e-mail (by a team member)")
    assert "Reason: Asked on the phone to hear about the onsite" in opt_in["body"]
    user = alice.user
    assert f"By: {user.get_full_name() or user.email}" in opt_in["body"]
    assert _notes(sandbox, other) == []


def test_a_paused_candidate_gets_no_note_and_the_opt_out_is_marked_paused(sandbox, org):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats)
        services.cursor_ensure(organization=org)
        services.candidate_pause(
            organization=org, candidate=candidate, source=PauseSource.CANDIDATE_PAGE
        )
        _one_click(org, candidate.primary_email)
        run_beat()
        rows = list(ActivityWrite.objects.values_list("status", "subject"))

    assert _notes(sandbox, candidate) == []
    assert rows == [(WriteStatus.PAUSED, "Unsubscribed from e-mail (one-click in their mail app)")]


def test_with_the_opt_outs_rule_off_nothing_is_written(sandbox, org):
    with tenant_scope(org):
        ats = greenhouse_ats(org, sandbox)
        candidate = ats.candidates[0]
        _activity(org, ats, opt_outs=False)
        services.cursor_ensure(organization=org)
        _one_click(org, candidate.primary_email)
        run_beat()
        row = ActivityWrite.objects.get()

    assert _notes(sandbox, candidate) == []
    assert (row.status, row.reason) == (WriteStatus.RULE_OFF, "“Opt-outs” is off")
