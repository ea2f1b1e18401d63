"""Deleting a candidate's personal data: every personal field in every app is emptied (the
candidate's own, messages, bookings, recordings and reviews, the timeline's texts), the rows and
their counts stay, the erasure is recorded without personal data, only owners and admins (and
read-and-write API keys) may do it, another organization is untouched, and a sync does not
bring the data back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Role
from candidates.erasure import ERASED, erase_candidate
from candidates.models import Candidate, CandidateErasure, TimelineEvent
from candidates.sync.writer import MirrorWriter
from integrations.base import ExtCandidate
from interviews.models import AnswerRating, InterviewStatus, Review, VideoInterview
from messaging.models import Conversation, Message, MessageEvent
from recruitflow.tenancy import tenant_scope
from scheduling.models import (
    BookedSlot,
    Booking,
    BookingStatus,
    RequestSource,
    RequestStatus,
    SchedulingRequest,
    SchedulingTemplate,
)
from tests.factories import add_member
from tests.interviews.recordings import recorded_answer
from tests.journeys.conftest import build_ats
from tests.scheduling.helpers import booked

NAME = "Rita Recorded"


@pytest.fixture(autouse=True)
def recordings_folder(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "recordings"), "base_url": None},
        },
    }
    return tmp_path / "recordings"


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _history(organization, *, first_name: str, interviewer):
    """A candidate with something in every app: a recorded and reviewed video interview,
    an e-mail and a text both ways with delivery history, a past and an upcoming booking and a
    pending scheduling request, and timeline entries that name them."""
    ats = build_ats(organization)
    answer = recorded_answer(ats, first_name=first_name)
    interview = answer.interview
    candidate = interview.candidate
    now = timezone.now()
    with tenant_scope(organization):
        Candidate.objects.filter(pk=candidate.pk).update(
            emails=[{"value": f"{first_name.lower()}@example.com", "type": "personal"}],
            phones=[{"value": "+1 212 555 0100", "type": "mobile"}],
            primary_email=f"{first_name.lower()}@example.com",
            mobile_phone="+12125550100",
            tags=["referral"],
            time_zone="America/New_York",
        )
        review = Review.objects.create(
            organization=organization,
            interview=interview,
            reviewer=interviewer,
            recommendation="yes",
            notes=f"{first_name} mentioned her divorce and her new address.",
        )
        AnswerRating.objects.create(
            organization=organization, review=review, question_index=0, rating=4, note="Calm."
        )
        conversation = Conversation.objects.create(organization=organization, candidate=candidate)
        email = Message.objects.create(
            organization=organization,
            conversation=conversation,
            candidate=candidate,
            channel="email",
            direction="outbound",
            to_address=f"{first_name.lower()}@example.com",
            from_address="jobs@acme.test",
            subject=f"Hi {first_name}, your interview",
            body=f"Dear {first_name}, see you Monday.",
            html=f"<p>Dear {first_name}</p>",
            attachments=[{"filename": "invite.ics", "mimetype": "text/calendar", "content": "X"}],
            status="delivered",
        )
        text = Message.objects.create(
            organization=organization,
            conversation=conversation,
            candidate=candidate,
            channel="sms",
            direction="inbound",
            to_address="+12125550199",
            from_address="+12125550100",
            body="I live at 12 Elm Street",
            status="failed",
            error_message="+12125550100 is unreachable",
        )
        MessageEvent.objects.create(
            organization=organization,
            message=email,
            status="delivered",
            raw={"email": f"{first_name.lower()}@example.com"},
            occurred_at=now,
        )
        template = SchedulingTemplate.objects.create(
            organization=organization, name="Onsite", event_title="Onsite with {{ candidate }}"
        )
    past = booked(
        organization,
        template,
        candidate,
        [interviewer],
        now - timedelta(days=3),
        title=f"Onsite with {first_name}",
    )
    upcoming = booked(
        organization,
        template,
        candidate,
        [interviewer],
        now + timedelta(days=3),
        title=f"Onsite with {first_name}",
    )
    with tenant_scope(organization):
        pending = SchedulingRequest.objects.create(
            organization=organization,
            template=template,
            candidate=candidate,
            source=RequestSource.RECRUITER,
            expires_at=now + timedelta(days=7),
        )
        TimelineEvent.objects.create(
            organization=organization,
            candidate=candidate,
            kind="message_sent",
            summary=f"E-mail sent to {first_name.lower()}@example.com: Hi {first_name}",
            detail=f"Dear {first_name}, see you Monday.",
            data={"message_id": email.pk, "to": f"{first_name.lower()}@example.com"},
            occurred_at=now,
        )
    return {
        "candidate": candidate,
        "interview": interview,
        "answer": answer,
        "review": review,
        "messages": (email, text),
        "bookings": (past, upcoming),
        "pending": pending,
    }


@pytest.fixture
def rita(alice, bob):
    return _history(alice.organization, first_name="Rita", interviewer=bob.user)


@pytest.fixture
def tess(mallory):
    return _history(mallory.organization, first_name="Tess", interviewer=mallory.user)


def _counts(organization) -> dict:
    with tenant_scope(organization):
        return {
            "candidates": Candidate.objects.count(),
            "messages": Message.objects.count(),
            "events": MessageEvent.objects.count(),
            "bookings": Booking.objects.count(),
            "requests": SchedulingRequest.objects.count(),
            "interviews": VideoInterview.objects.count(),
            "reviews": Review.objects.count(),
        }


@pytest.mark.django_db
def test_an_admin_erases_every_personal_field_across_apps_and_every_count_stays(
    client_for, alice, rita, tess, recordings_folder
):
    candidate = rita["candidate"]
    before = _counts(alice.organization)
    theirs_before = _counts(tess["candidate"].organization)
    assert len(_files(recordings_folder)) == 6  # both organizations' original, rendition, poster

    response = client_for(alice).post(
        f"/candidates/{candidate.pk}/erase/", {"confirmation": f"  {NAME.lower()} "}, follow=True
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "The candidate&#x27;s personal data was deleted (2 messages" in page
    assert "Personal data deleted</strong>" in page and "Alice" in page
    assert "Rita" not in page and "rita@example.com" not in page and "212" not in page
    organization = alice.organization
    with tenant_scope(organization):
        candidate.refresh_from_db()
        email, text = (Message.objects.get(pk=m.pk) for m in rita["messages"])
        past, upcoming = (Booking.objects.get(pk=b.pk) for b in rita["bookings"])
        review = Review.objects.get(pk=rita["review"].pk)
        rating = AnswerRating.objects.get(review=review)
        interview = VideoInterview.objects.get(pk=rita["interview"].pk)
        answer = interview.answers.get()
        timeline = list(TimelineEvent.objects.filter(candidate=candidate).order_by("pk"))
        pending = SchedulingRequest.objects.get(pk=rita["pending"].pk)
        record = CandidateErasure.objects.get(candidate=candidate)
        event_raw = MessageEvent.objects.get(message=email).raw
    # The candidate's own fields.
    assert (candidate.first_name, candidate.last_name) == (ERASED, "")
    assert (candidate.emails, candidate.phones, candidate.tags) == ([], [], [])
    assert (candidate.primary_email, candidate.mobile_phone, candidate.time_zone) == ("", "", "")
    assert candidate.erased_at is not None and candidate.external_id  # the ATS id stays
    # Messages: contents and addresses gone, channel, direction and status kept.
    for message in (email, text):
        assert (message.to_address, message.from_address, message.body) == (ERASED,) * 3
        assert (message.html, message.attachments) == ("", [])
    assert (email.subject, email.status, email.channel) == (ERASED, "delivered", "email")
    assert (text.error_message, text.direction, text.subject) == (ERASED, "inbound", "")
    assert event_raw == {}
    # Bookings: titles gone, the upcoming one cancelled and its hold freed, times kept.
    assert (past.title, upcoming.title) == (ERASED, ERASED)
    assert past.status == BookingStatus.CONFIRMED and past.start == rita["bookings"][0].start
    assert upcoming.status == BookingStatus.CANCELLED
    assert upcoming.cancel_reason == "The candidate's personal data was deleted."
    with tenant_scope(organization):
        assert not BookedSlot.objects.filter(booking=upcoming, active=True).exists()
        # No Cancellation Notification went to an address that no longer exists.
        assert Message.objects.count() == before["messages"]
    assert pending.status == RequestStatus.CANCELLED
    # Recordings and reviewers' notes gone; ratings and recommendation stay for the averages.
    assert interview.recordings_deleted_at is not None
    assert (answer.original.name, answer.rendition.name, answer.poster.name) == ("", "", "")
    assert (review.notes, rating.note, rating.rating, review.recommendation) == (
        ERASED,
        ERASED,
        4,
        "yes",
    )
    # The timeline keeps its entries by kind and time, with no text about the person.
    (sent, erased_entry) = timeline
    assert (sent.kind, sent.summary, sent.detail, sent.data) == (
        "message_sent",
        "Message sent",
        "",
        {},
    )
    assert erased_entry.kind == "personal_data_erased"
    assert erased_entry.summary.startswith("Personal data deleted by Alice")
    assert "Rita" not in erased_entry.detail and "2 messages" in erased_entry.detail
    # Counts stay; the record says who and how many, nothing of the candidate.
    assert _counts(organization) == before
    assert record.requested_by == alice.user and record.api_key is None
    assert record.counts["messages"] == 2 and record.counts["recording_files"] == 3
    assert record.counts["bookings"] == 2 and record.counts["reviews"] == 2
    assert "Rita" not in str(record.counts) + str(record.problems)
    # The other organization's candidate is untouched.
    assert _counts(tess["candidate"].organization) == theirs_before
    with tenant_scope(tess["candidate"].organization):
        other = Candidate.objects.get(pk=tess["candidate"].pk)
        assert other.first_name == "Tess" and other.erased_at is None
        assert Message.objects.get(pk=tess["messages"][0].pk).body == "Dear Tess, see you Monday."
        assert Booking.objects.get(pk=tess["bookings"][1].pk).status == BookingStatus.CONFIRMED
    assert len(_files(recordings_folder)) == 3
    assert all(
        f"/interviews/{tess['candidate'].organization_id}/" in str(p)
        for p in _files(recordings_folder)
    )


@pytest.mark.django_db
def test_a_wrong_confirmation_deletes_nothing_and_says_what_to_type(client_for, alice, rita):
    candidate = rita["candidate"]

    response = client_for(alice).post(
        f"/candidates/{candidate.pk}/erase/", {"confirmation": "Rita"}, follow=True
    )

    assert f"Nothing was deleted: type {NAME} in the box" in response.content.decode()
    with tenant_scope(alice.organization):
        candidate.refresh_from_db()
        assert candidate.first_name == "Rita" and candidate.erased_at is None
        assert not CandidateErasure.objects.exists()


@pytest.mark.django_db
def test_only_owners_and_admins_may_erase_and_only_they_see_the_button(
    client, client_for, alice, bob, rita
):
    candidate = rita["candidate"]
    url = f"/candidates/{candidate.pk}/erase/"
    owner_page = client_for(alice).get(f"/candidates/{candidate.pk}/").content.decode()
    assert "Delete this candidate's personal data" in owner_page
    assert f"Type <strong>{NAME}</strong> to confirm" in owner_page

    recruiter = client_for(bob)
    assert (
        "Delete this candidate"
        not in recruiter.get(f"/candidates/{candidate.pk}/").content.decode()
    )
    assert recruiter.post(url, {"confirmation": NAME}).status_code == 403
    assert (
        recruiter.post(
            f"/api/v1/candidates/{candidate.pk}/erase/", content_type="application/json"
        ).status_code
        == 403
    )
    with tenant_scope(alice.organization):
        _, read_key = account_services.api_key_create(
            actor=alice.membership, name="Reports", scope="read"
        )
    refused = client.post(
        f"/api/v1/candidates/{candidate.pk}/erase/", HTTP_AUTHORIZATION=f"Bearer {read_key}"
    )
    assert refused.status_code == 403
    assert "read-only" in refused.json()["detail"]
    with tenant_scope(alice.organization):
        candidate.refresh_from_db()
        assert candidate.first_name == "Rita"


@pytest.mark.django_db
def test_the_api_erases_with_a_read_and_write_key_and_records_the_key(
    client, alice, mallory, rita, tess
):
    with tenant_scope(alice.organization):
        key, raw = account_services.api_key_create(
            actor=alice.membership, name="Data requests", scope="write"
        )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    candidate = rita["candidate"]

    response = client.post(f"/api/v1/candidates/{candidate.pk}/erase/", **auth)
    # Another organization's candidate is not found.
    theirs = client.post(f"/api/v1/candidates/{tess['candidate'].pk}/erase/", **auth)

    assert response.status_code == 200
    body = response.json()
    assert body["candidate"] == candidate.pk
    assert body["requested_by"] == "the API key “Data requests”"
    assert body["counts"]["messages"] == 2 and body["counts"]["video_interviews"] == 1
    assert body["problems"] == []
    assert theirs.status_code == 404
    with tenant_scope(alice.organization):
        record = CandidateErasure.objects.get()
        assert (record.api_key_id, record.requested_by_id) == (key.pk, None)
        assert Candidate.objects.get(pk=candidate.pk).first_name == ERASED
    with tenant_scope(mallory.organization):
        assert Candidate.objects.get(pk=tess["candidate"].pk).first_name == "Tess"


@pytest.mark.django_db
def test_a_sync_after_the_erasure_does_not_bring_the_name_or_addresses_back(
    client_for, alice, rita
):
    candidate = rita["candidate"]
    client_for(alice).post(f"/candidates/{candidate.pk}/erase/", {"confirmation": NAME})

    with tenant_scope(alice.organization):
        writer = MirrorWriter(organization=alice.organization, provider=candidate.provider)
        ids = writer.upsert_candidates(
            [
                ExtCandidate(
                    external_id=candidate.external_id,
                    first_name="Rita",
                    last_name="Recorded",
                    emails=[("rita@example.com", "personal")],
                    phones=[("+12125550100", "mobile")],
                ),
                ExtCandidate(external_id="new-1", first_name="Nina", last_name="New"),
            ]
        )
        candidate.refresh_from_db()
        newcomer = Candidate.objects.get(external_id="new-1")

    assert ids[candidate.external_id] == candidate.pk  # their applications still sync to them
    assert (candidate.first_name, candidate.primary_email, candidate.emails) == (ERASED, "", [])
    assert newcomer.first_name == "Nina" and ids["new-1"] == newcomer.pk


@pytest.mark.django_db
def test_an_open_video_interview_stops_taking_answers(alice, bob, rita):
    with tenant_scope(alice.organization):
        VideoInterview.objects.filter(pk=rita["interview"].pk).update(
            status=InterviewStatus.STARTED
        )
        erase_candidate(
            organization=alice.organization, candidate=rita["candidate"], requested_by=alice.user
        )
        interview = VideoInterview.objects.get(pk=rita["interview"].pk)
    assert interview.status == InterviewStatus.CANCELLED


@pytest.mark.django_db
def test_an_admin_who_is_not_the_owner_may_erase(client, alice, rita):
    admin = add_member(organization=alice.organization, email="ada@acme.test", role=Role.ADMIN)
    client.force_login(admin.user)

    client.post(f"/candidates/{rita['candidate'].pk}/erase/", {"confirmation": NAME})

    with tenant_scope(alice.organization):
        record = CandidateErasure.objects.get()
    assert record.requested_by == admin.user


@pytest.mark.django_db
def test_the_older_records_the_ats_merged_into_the_candidate_are_erased_too(alice, rita):
    candidate = rita["candidate"]
    with tenant_scope(alice.organization):
        older = Candidate.objects.create(
            organization=alice.organization,
            provider=candidate.provider,
            external_id="merged-1",
            first_name="Rita",
            last_name="Maiden",
            primary_email="rita.maiden@example.com",
            merged_into=candidate,
        )
        Message.objects.create(
            organization=alice.organization,
            candidate=older,
            channel="email",
            direction="inbound",
            to_address="jobs@acme.test",
            from_address="rita.maiden@example.com",
            body="My old address is 3 Oak Road",
        )

        record = erase_candidate(
            organization=alice.organization, candidate=candidate, requested_by=alice.user
        )
        older.refresh_from_db()
        message = Message.objects.get(candidate=older)
        records = CandidateErasure.objects.count()

    assert record.candidate_id == candidate.pk
    assert (older.first_name, older.primary_email, older.erased_at) == (
        ERASED,
        "",
        record.erased_at,
    )
    assert (message.body, message.from_address) == (ERASED, ERASED)
    assert records == 2  # one record per erased row
