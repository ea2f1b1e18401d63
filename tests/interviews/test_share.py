"""The hiring manager's share link: made on the review page with a chosen expiry and told to
the timeline; opens a read-only review page without an account, plays the recordings (with byte
ranges), and stops working when it expires or if it was changed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from candidates.models import TimelineEvent
from interviews import sharing
from interviews.models import InterviewStatus, VideoInterview
from interviews.timeline_kinds import VIDEO_INTERVIEW_SHARED
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member
from tests.interviews.review_helpers import (
    QUESTIONS,
    add_review,
    make_interview,
    make_template,
    small_jpeg,
    small_mp4,
)
from tests.journeys.conftest import build_ats


@pytest.fixture
def recordings_dir(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "recordings"), "base_url": None},
        },
    }
    return tmp_path


@pytest.fixture
def interview(alice, bob, recordings_dir):
    ats = build_ats(alice.organization)
    candidate = ats.candidate(first_name="Ann", last_name="Sales", email="ann@ex.com")
    made = make_interview(
        alice.organization,
        template=make_template(alice.organization),
        candidate=candidate,
        job=ats.jobs["Sales Rep"],
        status=InterviewStatus.REVIEWED,
        video=small_mp4(),
        poster=small_jpeg(),
    )
    add_review(alice.organization, made, bob.user, [4, 3, 5], "strong_yes", "Hire her")
    return made


def _share(client, interview, days="7") -> str:
    response = client.post(f"/interviews/{interview.pk}/share/", {"days": days})
    assert response.status_code == 302, response.content.decode()[:500]
    page = client.get(f"/interviews/{interview.pk}/").content.decode()
    url = re.search(r'value="(http[^"]+/interviews/shared/[^"]+/)" id="share-url"', page)
    assert url, "the review page shows the new link"
    return url.group(1).split("127.0.0.1:8000", 1)[-1]


@pytest.mark.django_db
def test_a_recruiter_shares_the_interview_and_the_timeline_says_so(alice, interview, client_for):
    client = client_for(alice)
    page = client.get(f"/interviews/{interview.pk}/").content.decode()
    assert '<option value="7" selected>7 days</option>' in page  # the default

    path = _share(client, interview, days="3")
    assert path.startswith("/interviews/shared/")
    # Shown once: a reload does not show the link again.
    assert 'id="share-created"' not in client.get(f"/interviews/{interview.pk}/").content.decode()

    with tenant_scope(alice.organization):
        (event,) = TimelineEvent.objects.filter(kind=VIDEO_INTERVIEW_SHARED)
    assert event.candidate_id == interview.candidate_id
    assert "shared the video interview (Sales screen)" in event.summary
    assert "expires in 3 days" in event.summary
    expires = timezone.datetime.fromisoformat(event.data["expires_at"])
    assert timedelta(days=3) - timedelta(minutes=1) < expires - timezone.now() <= timedelta(days=3)
    assert event.data["shared_by"] == alice.user.pk


@pytest.mark.django_db
def test_anyone_with_the_link_sees_a_read_only_review_page(alice, interview, client_for):
    path = _share(client_for(alice), interview)
    response = Client().get(path)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ann Sales" in html and "Acme Talent" in html
    assert all(question in html for question in QUESTIONS)
    assert "Hire her" in html and "Strong yes" in html
    assert "This link works until" in html
    assert "<form" not in html and "csrfmiddlewaretoken" not in html
    assert response["Referrer-Policy"] == "no-referrer"
    sources = re.findall(r'<video[^>]*src="([^"]+)"', html)
    assert sources == [f"{path}answers/{n}/video/" for n in range(3)]
    assert f'poster="{path}answers/0/poster/"' in html


@pytest.mark.django_db
def test_the_shared_recordings_stream_with_byte_ranges(alice, interview, client_for):
    path = _share(client_for(alice), interview)
    video = small_mp4()
    anonymous = Client()

    whole = anonymous.get(f"{path}answers/1/video/")
    assert whole.status_code == 200 and whole["Content-Type"] == "video/mp4"
    assert b"".join(whole.streaming_content) == video
    assert whole["Accept-Ranges"] == "bytes"

    part = anonymous.get(f"{path}answers/1/video/", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(video)}"
    assert b"".join(part.streaming_content) == video[100:200]

    tail = anonymous.get(f"{path}answers/1/video/", HTTP_RANGE="bytes=-50")
    assert b"".join(tail.streaming_content) == video[-50:]

    beyond = anonymous.get(f"{path}answers/1/video/", HTTP_RANGE=f"bytes={len(video) + 5}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(video)}"

    poster = anonymous.get(f"{path}answers/0/poster/")
    assert poster["Content-Type"] == "image/jpeg"
    assert b"".join(poster.streaming_content) == small_jpeg()

    assert anonymous.get(f"{path}answers/7/video/").status_code == 404
    assert anonymous.get(f"{path}answers/0/original/").status_code == 404


@pytest.mark.django_db
def test_an_expired_link_gets_a_clear_page_and_plays_nothing(alice, interview, client_for):
    path = _share(client_for(alice), interview, days="1")
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        page = Client().get(path)
        media = Client().get(f"{path}answers/0/video/")
    html = page.content.decode()
    assert page.status_code == 410
    assert "This link has expired" in html and "Ask the recruiter who sent it for a new one" in html
    assert "Ann Sales" not in html and "Hire her" not in html
    assert media.status_code == 404
    # Within its day it worked.
    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        assert Client().get(path).status_code == 200


@pytest.mark.django_db
def test_a_changed_link_gets_a_clear_page(alice, interview, client_for):
    path = _share(client_for(alice), interview)
    signed = path.split("/")[3]
    # Pointing the same signature at another interview, or cutting it, proves nothing.
    forged = sharing.signing.dumps(
        {"o": interview.organization_id, "i": interview.pk + 1, "x": 4102444800},
        salt="another.salt",
    )
    for bad in (signed[:-3] + "abc", signed[: len(signed) // 2], forged, "nothing"):
        response = Client().get(f"/interviews/shared/{bad}/")
        html = response.content.decode()
        assert response.status_code == 404
        assert "This link is not valid" in html and "Ann Sales" not in html
        assert Client().get(f"/interviews/shared/{bad}/answers/0/video/").status_code == 404


@pytest.mark.django_db
def test_a_cancelled_interview_is_no_longer_shared(alice, interview, client_for):
    path = _share(client_for(alice), interview)
    with tenant_scope(alice.organization):
        VideoInterview.objects.filter(pk=interview.pk).update(status=InterviewStatus.CANCELLED)
    response = Client().get(path)
    assert response.status_code == 404 and "Ann Sales" not in response.content.decode()


@pytest.mark.django_db
def test_deleted_recordings_are_said_on_the_shared_page(alice, interview, client_for):
    path = _share(client_for(alice), interview)
    with tenant_scope(alice.organization):
        VideoInterview.objects.filter(pk=interview.pk).update(recordings_deleted_at=timezone.now())
    html = Client().get(path).content.decode()
    assert "The recordings were deleted on" in html and "<video" not in html
    assert Client().get(f"{path}answers/0/video/").status_code == 404


@pytest.mark.django_db
def test_an_expiry_that_is_not_offered_is_refused_with_the_choices(alice, interview, client_for):
    response = client_for(alice).post(f"/interviews/{interview.pk}/share/", {"days": "365"})
    assert response.status_code == 400
    assert "Choose how long the link works: 1, 3, 7, 14, 30 days." in response.content.decode()
    with tenant_scope(alice.organization):
        assert not TimelineEvent.objects.filter(kind=VIDEO_INTERVIEW_SHARED).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.VIEWER, Role.HIRING_MANAGER])
def test_only_recruiters_and_admins_create_share_links(alice, interview, client, role):
    member = add_member(organization=alice.organization, email="someone@acme.test", role=role)
    client.force_login(member.user)
    response = client.post(f"/interviews/{interview.pk}/share/", {"days": "7"})
    assert response.status_code in (403, 404)
    with tenant_scope(alice.organization):
        assert not TimelineEvent.objects.filter(kind=VIDEO_INTERVIEW_SHARED).exists()
