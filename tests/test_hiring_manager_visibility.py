"""A hiring manager sees the candidates of the jobs whose ATS hiring team includes them, and
nothing of anyone else's: not in pages, not in the API, not in counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from candidates.models import AtsUser
from recruitflow.tenancy import tenant_scope
from tests.conftest import Persona
from tests.factories import add_member
from tests.journeys.conftest import LONDON_MOBILE, build_ats


@dataclass
class CandidateRows:
    candidate: object
    conversation: object
    message: object
    run: object
    booking: object


def _everything_for(ats, candidate, job: str, body: str) -> CandidateRows:
    """An application on `job` with its transition, a conversation with one inbound text, a
    journey run and a booked interview."""
    from journeys import services as journey_services
    from journeys.models import JourneyRun
    from messaging.models import Channel, Conversation, Direction, Message, MessageStatus
    from scheduling.models import SchedulingTemplate
    from tests.scheduling.helpers import booked

    organization = ats.organization
    application, transition = ats.apply(candidate, job=job, stage="Onsite Interview", new=True)
    with tenant_scope(organization):
        conversation = Conversation.objects.create(
            organization=organization, candidate=candidate, last_message_at=timezone.now()
        )
        message = Message.objects.create(
            organization=organization,
            conversation=conversation,
            candidate=candidate,
            channel=Channel.SMS,
            direction=Direction.INBOUND,
            to_address="+15005550006",
            from_address=candidate.mobile_phone,
            body=body,
            status=MessageStatus.RECEIVED,
        )
        journey = journey_services.journey_create(
            organization=organization, name=f"{job} follow-up"
        )
        run = JourneyRun.objects.create(
            organization=organization,
            journey=journey,
            version=journey.current_version,
            transition=transition,
            application=application,
            candidate=candidate,
            started_at=timezone.now(),
        )
        template, _ = SchedulingTemplate.objects.get_or_create(
            organization=organization, name="Onsite loop", defaults={"event_title": "Onsite"}
        )
    start = timezone.now().replace(microsecond=0) + timedelta(days=2, hours=candidate.pk % 5)
    booking = booked(organization, template, candidate, [], start, title=f"Onsite · {job}")
    return CandidateRows(candidate, conversation, message, run, booking)


@pytest.fixture
def hiring(alice):
    """Acme with Hannah, a hiring manager on the Sales Rep hiring team (in the ATS, under her
    e-mail in another case), Ann applying for Sales Rep and Ben for Backend Engineer."""
    organization = alice.organization
    ats = build_ats(organization)
    with tenant_scope(organization):
        hannah_in_ats = AtsUser.objects.create(
            organization=organization,
            provider="greenhouse",
            external_id="u-hannah",
            name="Hannah Hiring",
            email="Hannah@Acme.test",
        )
        ats.jobs["Sales Rep"].hiring_managers.add(hannah_in_ats)
    membership = add_member(
        organization=organization, email="hannah@acme.test", role=Role.HIRING_MANAGER
    )
    ann = _everything_for(
        ats, ats.candidate(first_name="Ann", last_name="Sales"), "Sales Rep", "Ann: Tuesday works"
    )
    ben = _everything_for(
        ats,
        ats.candidate(
            first_name="Ben",
            last_name="Backend",
            mobile=LONDON_MOBILE,
            email="ben@example.com",
        ),
        "Backend Engineer",
        "Ben: call me after five",
    )
    return {
        "hannah": Persona(membership.user, organization, membership),
        "ann": ann,
        "ben": ben,
        "ats": ats,
    }


def _text(response) -> str:
    return response.content.decode()


@pytest.mark.django_db
def test_hiring_manager_sees_only_their_jobs_candidates_in_the_candidate_pages(hiring, client_for):
    client = client_for(hiring["hannah"])
    ann, ben = hiring["ann"].candidate, hiring["ben"].candidate

    listing = client.get("/candidates/")
    assert listing.status_code == 200
    assert "Ann Sales" in _text(listing) or "Sales, Ann" in _text(listing)
    assert "Backend" not in _text(listing).replace("Backend Engineer", "")

    assert client.get(f"/candidates/{ann.pk}/").status_code == 200
    assert client.get(f"/candidates/{ben.pk}/").status_code == 404


@pytest.mark.django_db
def test_hiring_manager_sees_only_their_jobs_conversations_in_the_inbox(hiring, client_for):
    client = client_for(hiring["hannah"])
    ann, ben = hiring["ann"], hiring["ben"]

    inbox = _text(client.get("/inbox/")) + _text(client.get("/inbox/list/"))
    assert "Ann Sales" in inbox
    assert "Ben Backend" not in inbox and "call me after five" not in inbox

    thread = client.get(f"/inbox/{ann.conversation.pk}/")
    assert thread.status_code == 200 and "Tuesday works" in _text(thread)
    assert client.get(f"/inbox/{ben.conversation.pk}/").status_code == 404
    assert client.get(f"/inbox/{ben.conversation.pk}/poll/").status_code == 404


@pytest.mark.django_db
def test_hiring_manager_sees_only_their_jobs_rows_in_the_api(hiring, client_for):
    client = client_for(hiring["hannah"])
    ann, ben = hiring["ann"], hiring["ben"]

    conversations = client.get("/api/v1/conversations/").json()["results"]
    assert [c["id"] for c in conversations] == [ann.conversation.pk]
    assert client.get(f"/api/v1/conversations/{ben.conversation.pk}/").status_code == 404
    messages = client.get(f"/api/v1/conversations/{ann.conversation.pk}/messages/")
    assert "Tuesday works" in _text(messages)
    assert client.get(f"/api/v1/conversations/{ben.conversation.pk}/messages/").status_code == 404

    bookings = _text(client.get("/api/v1/bookings/"))
    assert "Onsite · Sales Rep" in bookings and "Onsite · Backend Engineer" not in bookings
    assert client.get(f"/api/v1/bookings/{ben.booking.pk}/").status_code == 404
    assert client.get(f"/api/v1/journey-runs/{ben.run.pk}/").status_code == 404
    assert client.get(f"/api/v1/journey-runs/{ann.run.pk}/").status_code == 200


@pytest.mark.django_db
def test_hiring_manager_sees_only_their_jobs_runs_and_interviews(hiring, client_for):
    client = client_for(hiring["hannah"])
    ann, ben = hiring["ann"], hiring["ben"]

    assert client.get(f"/journeys/{ann.run.journey_id}/runs/{ann.run.pk}/").status_code == 200
    assert client.get(f"/journeys/{ben.run.journey_id}/runs/{ben.run.pk}/").status_code == 404
    runs = _text(client.get(f"/journeys/{ben.run.journey_id}/runs/"))
    assert "Ben Backend" not in runs

    schedule = _text(client.get("/schedule/"))
    assert "Ben Backend" not in schedule and "Onsite · Backend Engineer" not in schedule


@pytest.mark.django_db
def test_hiring_manager_dashboard_counts_only_their_candidates(hiring, client_for):
    from candidates import selectors

    organization = hiring["hannah"].organization
    client = client_for(hiring["hannah"])

    response = client.get("/")
    assert response.status_code == 200
    assert response.context["ats"].candidate_count == 1
    with tenant_scope(organization):
        assert selectors.ats_overview(organization=organization).candidate_count == 2


@pytest.mark.django_db
def test_recruiter_still_sees_every_candidate(hiring, bob, client_for):
    client = client_for(bob)
    listing = _text(client.get("/candidates/"))
    assert "Ann" in listing and "Ben" in listing
    assert client.get(f"/candidates/{hiring['ben'].candidate.pk}/").status_code == 200
    assert len(client.get("/api/v1/conversations/").json()["results"]) == 2


@pytest.mark.django_db
def test_hiring_manager_on_no_hiring_team_sees_no_candidate(hiring, client_for):
    from candidates.models import Job

    with tenant_scope(hiring["hannah"].organization):
        for job in Job.objects.all():
            job.hiring_managers.clear()
    client = client_for(hiring["hannah"])

    assert client.get(f"/candidates/{hiring['ann'].candidate.pk}/").status_code == 404
    assert client.get("/api/v1/conversations/").json()["results"] == []
    assert "Ann Sales" not in _text(client.get("/inbox/list/"))


@pytest.mark.django_db
def test_hiring_manager_sees_a_candidate_once_the_ats_puts_them_on_the_jobs_team(
    hiring, client_for
):
    """Recruiters and coordinators on a hiring team count as on it, as Greenhouse says."""
    organization = hiring["hannah"].organization
    client = client_for(hiring["hannah"])
    ben = hiring["ben"].candidate
    assert client.get(f"/candidates/{ben.pk}/").status_code == 404

    with tenant_scope(organization):
        hannah_in_ats = AtsUser.objects.get(external_id="u-hannah")
        hiring["ats"].jobs["Backend Engineer"].coordinators.add(hannah_in_ats)

    assert client.get(f"/candidates/{ben.pk}/").status_code == 200


@pytest.mark.django_db
def test_hiring_manager_cannot_open_editor_pages(hiring, client_for):
    client = client_for(hiring["hannah"])
    ann = hiring["ann"]
    assert client.get("/journeys/new/").status_code == 403
    assert client.post(f"/inbox/{ann.conversation.pk}/lock/").status_code in (403, 404)
    assert client.get("/settings/team/").status_code == 403


@pytest.mark.django_db
def test_hiring_manager_journey_list_counts_only_their_candidates_runs(hiring, client_for):
    response = client_for(hiring["hannah"]).get("/journeys/")
    in_progress = {j.name: j.in_progress for j in response.context["journeys"]}
    assert in_progress == {"Sales Rep follow-up": 1, "Backend Engineer follow-up": 0}


@pytest.mark.django_db
def test_hiring_manager_sees_only_their_candidates_numbers_in_the_opt_out_ledger(
    hiring, alice, client_for
):
    from messaging import services as messaging_services

    organization = hiring["hannah"].organization
    with tenant_scope(organization):
        for rows in (hiring["ann"], hiring["ben"]):
            messaging_services.opt_out_lock(
                organization=organization,
                phone=rows.candidate.mobile_phone,
                source="manual",
                actor=alice.user,
            )
    response = client_for(hiring["hannah"]).get("/api/v1/opt-outs/")
    phones = [entry["phone"] for entry in response.json()["results"]]
    assert phones == [hiring["ann"].candidate.mobile_phone]


@pytest.mark.django_db
def test_candidate_list_tells_a_hiring_manager_whose_candidates_they_see(hiring, client_for):
    from integrations.greenhouse.models import GreenhouseConnection
    from integrations.models import ConnectionStatus

    organization = hiring["hannah"].organization
    with tenant_scope(organization):
        GreenhouseConnection.objects.create(
            organization=organization,
            base_url="https://harvest.greenhouse.io",
            api_key="k",
            status=ConnectionStatus.CONNECTED,
        )
    client = client_for(hiring["hannah"])

    note = _text(client.get("/candidates/"))
    assert "whose hiring team in your ATS includes hannah@acme.test: Sales Rep." in note

    from candidates.models import Job

    with tenant_scope(organization):
        Job.objects.get(name="Sales Rep").hiring_managers.clear()
    empty = _text(client.get("/candidates/"))
    assert "You are on no job's hiring team" in empty
    assert "found by your e-mail address hannah@acme.test" in empty
    assert "Ann Sales" not in empty
