"""Settings → ATS activity (rules, acting user by e-mail, inheritance, pending/failed writes
with Retry), the per-candidate pause from the candidate page, the Inbox thread and the API,
and what the candidate timeline says about each event's write."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Organization
from candidates.models import AtsUser, Candidate, TimelineEvent
from messaging.models import Conversation
from recruitflow.tenancy import tenant_scope
from writeback import selectors, services
from writeback.models import ActivityWrite, WritebackPause, WriteKind, WriteStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(alice):
    return alice.organization


@pytest.fixture
def ats_user(org):
    with tenant_scope(org):
        return AtsUser.objects.create(
            organization=org, provider="greenhouse", external_id="4080",
            name="Rita Recruiter", email="rita@acme.test",
        )  # fmt: skip


@pytest.fixture
def candidate(org):
    with tenant_scope(org):
        return Candidate.objects.create(
            organization=org, provider="greenhouse", external_id="9001",
            first_name="Sam", last_name="Okafor", mobile_phone="+12125550123",
        )  # fmt: skip


def _event(org, candidate, summary="Booked Onsite interview"):
    with tenant_scope(org):
        return TimelineEvent.objects.create(
            organization=org, candidate=candidate, kind="booked", summary=summary,
            occurred_at=timezone.now(),
        )  # fmt: skip


def _form(**overrides):
    data = {
        "enabled": "on", "outbound_emails": "on", "outbound_texts": "on", "first_reply": "on",
        "later_replies": "on", "bookings": "on", "opt_outs": "on", "sms_transcripts": "on",
        "note_visibility": "private", "text_batch_minutes": "15", "transcript_quiet_hours": "12",
        "acting_user_email": "rita@acme.test",
    }  # fmt: skip
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_owner_turns_activity_on_with_the_acting_user_found_by_email(client, alice, ats_user):
    client.force_login(alice.user)

    response = client.post("/settings/ats-activity/", _form(note_visibility="public"))
    page = client.get("/settings/ats-activity/").content.decode()

    assert response.status_code == 302
    with tenant_scope(alice.organization):
        rules = selectors.rules_for(alice.organization).rules
    assert rules.enabled and rules.note_visibility == "public"
    assert rules.acting_user_external_id == "4080"
    assert "Writing as Rita Recruiter (rita@acme.test, ATS user 4080)" in page
    assert "visible to everyone who can see the candidate in the ATS" in page


def test_an_email_that_matches_no_ats_user_is_refused_with_a_clear_error(client, alice, ats_user):
    client.force_login(alice.user)

    response = client.post("/settings/ats-activity/", _form(acting_user_email="nobody@acme.test"))

    assert response.status_code == 400
    assert "No user of your ATS has the e-mail nobody@acme.test" in response.content.decode()
    with tenant_scope(alice.organization):
        assert selectors.rules_for(alice.organization).rules.enabled is False


def test_a_recruiter_cannot_change_the_rules(client, bob, ats_user):
    client.force_login(bob.user)

    response = client.post("/settings/ats-activity/", _form())

    assert response.status_code == 403
    with tenant_scope(bob.organization):
        assert selectors.own_rules(bob.organization) is None


def test_a_sub_account_follows_its_parents_rules_until_it_saves_its_own(org, ats_user):
    child = Organization.objects.create(name="Acme West", parent=org)
    with tenant_scope(org):
        services.rules_update(organization=org, acting_user_email="rita@acme.test", enabled=True)

    inherited = selectors.rules_for(child)
    with tenant_scope(child):
        services.rules_update(organization=child, enabled=False)
    own = selectors.rules_for(child)

    assert inherited.rules.enabled and inherited.inherited_for(child)
    assert own.rules.enabled is False and not own.inherited_for(child)


def test_pause_from_the_candidate_page_keeps_waiting_writes_as_paused(
    client, alice, org, candidate, ats_user
):
    with tenant_scope(org):
        services.rules_update(organization=org, acting_user_email="rita@acme.test", enabled=True)
        event = _event(org, candidate)
        services.write_enqueue(
            organization=org, candidate_id=candidate.pk, kind=WriteKind.BOOKING,
            dedupe_key=f"event:{event.pk}", occurred_at=event.occurred_at, events=[event.pk],
            body="Interview booked",
        )  # fmt: skip
    client.force_login(alice.user)

    before = client.get(f"/candidates/{candidate.pk}/").content.decode()
    client.post(f"/candidates/{candidate.pk}/ats-activity/pause/", {"source": "candidate_page"})
    after = client.get(f"/candidates/{candidate.pk}/").content.decode()

    assert "Pause writing to the ATS" in before
    assert "Waiting to be written to the ATS" in before
    assert "Resume writing to the ATS" in after and "ATS recording paused" in after
    assert "Not written (paused)" in after
    with tenant_scope(org):
        assert ActivityWrite.objects.get().status == WriteStatus.PAUSED


def test_the_inbox_thread_offers_the_pause_button(client, alice, org, candidate, ats_user):
    with tenant_scope(org):
        services.rules_update(organization=org, acting_user_email="rita@acme.test", enabled=True)
        conversation = Conversation.objects.create(organization=org, candidate=candidate)
    client.force_login(alice.user)

    page = client.get(f"/inbox/{conversation.pk}/").content.decode()
    client.post(
        f"/candidates/{candidate.pk}/ats-activity/pause/",
        {"source": "inbox", "next": f"/inbox/{conversation.pk}/"},
    )

    assert 'name="source" value="inbox"' in page
    with tenant_scope(org):
        assert WritebackPause.objects.get(candidate=candidate).source == "inbox"


def test_another_organization_cannot_pause_our_candidate(client, mallory, org, candidate):
    client.force_login(mallory.user)

    response = client.post(f"/candidates/{candidate.pk}/ats-activity/pause/")

    assert response.status_code == 404
    with tenant_scope(org):
        assert not WritebackPause.objects.exists()


def test_the_api_pauses_and_resumes_a_candidate(client, alice, org, candidate):
    with tenant_scope(org):
        _, raw = account_services.api_key_create(actor=alice.membership, name="ATS", scope="write")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    url = f"/api/v1/candidates/{candidate.pk}/ats-pause/"

    paused = client.put(url, **auth).json()
    seen = client.get(url, **auth).json()
    resumed = client.delete(url, **auth).json()

    assert paused["paused"] is True and paused["paused_from"] == "api"
    assert seen["paused"] is True
    assert resumed["paused"] is False


def test_a_failed_write_is_listed_with_its_reason_and_retry_queues_it(
    client, alice, org, candidate
):
    with tenant_scope(org):
        event = _event(org, candidate)
        row, _ = services.write_enqueue(
            organization=org, candidate_id=candidate.pk, kind=WriteKind.BOOKING,
            dedupe_key=f"event:{event.pk}", occurred_at=event.occurred_at, events=[event.pk],
            body="Interview booked", status=WriteStatus.FAILED,
            reason="The Greenhouse API key is missing a permission",
        )  # fmt: skip
    client.force_login(alice.user)

    page = client.get("/settings/ats-activity/").content.decode()
    timeline = client.get(f"/candidates/{candidate.pk}/").content.decode()
    client.post(f"/settings/ats-activity/writes/{row.pk}/retry/")
    row.refresh_from_db()

    assert "The Greenhouse API key is missing a permission" in page and "Retry" in page
    assert "Not written: The Greenhouse API key is missing a permission" in timeline
    assert row.status == WriteStatus.PENDING
