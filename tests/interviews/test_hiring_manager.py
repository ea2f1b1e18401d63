"""A hiring manager sees only the interviews of the jobs whose ATS hiring team includes them: in
the list, on the review page and when playing a recording (tests/test_hiring_manager_visibility.py
proves the same for the other pages)."""

from __future__ import annotations

import re

import pytest

from accounts.models import Role
from candidates.models import AtsUser
from interviews.models import Answer, InterviewStatus, Review
from interviews.playback import playback_url
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member
from tests.interviews.review_helpers import make_interview, make_template, small_mp4
from tests.journeys.conftest import build_ats


@pytest.fixture
def hiring(alice, settings, tmp_path):
    """Hannah manages Sales Rep hiring. Ann applied for Sales Rep, Ben for Backend Engineer, and
    Cat for both (her interview is for Backend Engineer): Hannah sees Ann's interview only."""
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "recordings"), "base_url": None},
        },
    }
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
    hannah = add_member(
        organization=organization, email="hannah@acme.test", role=Role.HIRING_MANAGER
    ).user
    template = make_template(organization)
    interviews = {}
    for first, applied, job in (
        ("Ann", ("Sales Rep",), "Sales Rep"),
        ("Ben", ("Backend Engineer",), "Backend Engineer"),
        ("Cat", ("Sales Rep", "Backend Engineer"), "Backend Engineer"),
    ):
        candidate = ats.candidate(first_name=first, last_name="Applicant", email=f"{first}@ex.com")
        for name in applied:
            ats.apply(candidate, job=name)
        interviews[first] = make_interview(
            organization,
            template=template,
            candidate=candidate,
            job=ats.jobs[job],
            video=small_mp4(),
        )
    return {"hannah": hannah, "interviews": interviews, "organization": organization}


@pytest.mark.django_db
def test_the_list_shows_only_the_interviews_of_their_jobs(hiring, client):
    client.force_login(hiring["hannah"])
    html = client.get("/interviews/").content.decode()
    rows = re.findall(r'<tr data-interview="(\d+)">', html)
    assert rows == [str(hiring["interviews"]["Ann"].pk)]
    assert "Ben Applicant" not in html and "Cat Applicant" not in html
    assert "As a hiring manager you see the interviews of the jobs" in html
    # The job filter offers only their job.
    assert "Backend Engineer" not in html


@pytest.mark.django_db
def test_the_review_page_of_another_jobs_interview_is_not_found(hiring, client):
    client.force_login(hiring["hannah"])
    ann, ben, cat = (hiring["interviews"][n] for n in ("Ann", "Ben", "Cat"))
    assert client.get(f"/interviews/{ann.pk}/").status_code == 200
    for hidden in (ben, cat):
        assert client.get(f"/interviews/{hidden.pk}/").status_code == 404
        posted = client.post(f"/interviews/{hidden.pk}/", {"recommendation": "yes"})
        assert posted.status_code == 404


@pytest.mark.django_db
def test_a_hiring_manager_reviews_their_jobs_interview(hiring, client):
    client.force_login(hiring["hannah"])
    ann = hiring["interviews"]["Ann"]
    response = client.post(
        f"/interviews/{ann.pk}/", {"recommendation": "strong_yes", "rating_0": "5"}
    )
    assert response.status_code == 302
    with tenant_scope(hiring["organization"]):
        review = Review.objects.get(interview=ann)
        assert review.reviewer == hiring["hannah"]
        assert review.interview.status == InterviewStatus.REVIEWED


@pytest.mark.django_db
def test_playback_plays_their_jobs_recordings_and_refuses_the_others(hiring, client):
    client.force_login(hiring["hannah"])
    with tenant_scope(hiring["organization"]):
        urls = {
            name: playback_url(
                Answer.objects.get(interview=interview, question_index=0), "rendition"
            )
            for name, interview in hiring["interviews"].items()
        }
    own = client.get(urls["Ann"])
    assert own.status_code == 200 and b"".join(own.streaming_content) == small_mp4()
    # A playback URL of another job's candidate (copied from a colleague's page) plays nothing.
    assert client.get(urls["Ben"]).status_code == 404
