"""The review page: answers in order with their players, the reviewer's own review, the team's
scores once you have given yours, averages over several reviewers, and the status change."""

from __future__ import annotations

import re

import pytest

from accounts.models import Role
from candidates.models import TimelineEvent
from interviews.models import AnswerStatus, InterviewStatus, Review, VideoInterview
from interviews.timeline_kinds import VIDEO_INTERVIEW_REVIEWED
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member
from tests.interviews.review_helpers import QUESTIONS, add_review, make_interview, make_template
from tests.journeys.conftest import build_ats


@pytest.fixture
def completed(alice):
    ats = build_ats(alice.organization)
    template = make_template(alice.organization)
    candidate = ats.candidate(first_name="Ann", last_name="Sales", email="ann@ex.com")
    return make_interview(
        alice.organization, template=template, candidate=candidate, job=ats.jobs["Sales Rep"]
    )


def _review_post(recommendation="yes", ratings=(4, 5, 3), notes="Clear and concise."):
    data = {"recommendation": recommendation, "notes": notes}
    for index, rating in enumerate(ratings):
        if rating is not None:
            data[f"rating_{index}"] = str(rating)
        data[f"note_{index}"] = f"answer {index + 1} thoughts"
    return data


def _refresh(organization, interview) -> VideoInterview:
    with tenant_scope(organization):
        return VideoInterview.objects.get(pk=interview.pk)


def _events(organization, interview) -> list[TimelineEvent]:
    with tenant_scope(organization):
        return list(
            TimelineEvent.objects.filter(
                kind=VIDEO_INTERVIEW_REVIEWED, candidate=interview.candidate
            ).order_by("id")
        )


@pytest.mark.django_db
def test_the_page_plays_the_answers_in_order_with_a_speed_control(alice, completed, client_for):
    response = client_for(alice).get(f"/interviews/{completed.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    positions = [html.index(question) for question in QUESTIONS]
    assert positions == sorted(positions)
    # Each answer plays through a short-lived signed URL of the streaming view, never a file path.
    sources = re.findall(r'<video[^>]*src="([^"]+)"', html)
    assert len(sources) == 3
    assert all(src.startswith("/interviews/media/") for src in sources)
    assert "recordings" not in "".join(sources)
    for speed in ("0.75", "1", "1.25", "1.5", "2"):
        assert f'data-speed="{speed}"' in html
    assert 'src="/static/js/review.js"' in html
    assert "2 s recorded" in html


@pytest.mark.django_db
def test_answers_still_processing_or_failed_say_so(alice, client_for):
    ats = build_ats(alice.organization)
    interview = make_interview(
        alice.organization,
        template=make_template(alice.organization),
        candidate=ats.candidate(),
        answers=[AnswerStatus.READY, AnswerStatus.PROCESSING, AnswerStatus.FAILED],
    )
    html = client_for(alice).get(f"/interviews/{interview.pk}/").content.decode()
    assert len(re.findall(r"<video", html)) == 1
    assert 'data-answer-state="processing"' in html and "Still processing" in html
    assert 'data-answer-state="failed"' in html
    assert "The candidate was asked to record this answer again" in html
    assert "The upload was empty." in html


@pytest.mark.django_db
def test_submitting_the_first_review_marks_the_interview_reviewed(alice, completed, client_for):
    client = client_for(alice)
    response = client.post(f"/interviews/{completed.pk}/", _review_post())
    assert response.status_code == 302

    interview = _refresh(alice.organization, completed)
    assert interview.status == InterviewStatus.REVIEWED and interview.reviewed_at is not None
    with tenant_scope(alice.organization):
        review = Review.objects.get(interview=interview)
        assert review.recommendation == "yes" and review.notes == "Clear and concise."
        assert [(r.question_index, r.rating) for r in review.ratings.all()] == [
            (0, 4),
            (1, 5),
            (2, 3),
        ]
    (event,) = _events(alice.organization, completed)
    assert "reviewed the video interview (Sales screen)" in event.summary
    assert "recommendation: yes" in event.summary and "average 4.0/5" in event.summary
    assert event.data["interview_id"] == completed.pk

    page = client.get(f"/interviews/{completed.pk}/").content.decode()
    assert "Your review is saved." in page and "Update my review" in page
    assert 'id="interview-status">Reviewed<' in page


@pytest.mark.django_db
def test_changing_your_review_keeps_one_review_and_one_timeline_entry(alice, completed, client_for):
    client = client_for(alice)
    client.post(f"/interviews/{completed.pk}/", _review_post())
    client.post(
        f"/interviews/{completed.pk}/", _review_post("strong_no", (1, None, 2), "Changed my mind")
    )
    with tenant_scope(alice.organization):
        review = Review.objects.get(interview=completed)
        assert review.recommendation == "strong_no"
        assert {r.question_index: r.rating for r in review.ratings.all()} == {0: 1, 1: None, 2: 2}
    assert len(_events(alice.organization, completed)) == 1


@pytest.mark.django_db
def test_the_teams_scores_show_only_after_you_submit_yours(alice, bob, completed, client_for):
    add_review(alice.organization, completed, alice.user, [5, 4, 3], "strong_yes", "Great hire")
    client = client_for(bob)

    before = client.get(f"/interviews/{completed.pk}/").content.decode()
    assert 'id="team-reviews"' not in before and "Great hire" not in before
    assert "1 teammate reviewed this interview" in before
    assert "once you submit yours" in before

    client.post(f"/interviews/{completed.pk}/", _review_post("no", (3, 2, 1)))
    after = client.get(f"/interviews/{completed.pk}/").content.decode()
    assert 'id="team-reviews"' in after and "Great hire" in after
    assert 'data-reviewer="alice@acme.test"' in after and 'data-reviewer="bob@acme.test"' in after


@pytest.mark.django_db
def test_averages_per_answer_and_overall_over_several_reviewers(alice, bob, completed, client):
    carol = add_member(organization=alice.organization, email="carol@acme.test").user
    add_review(alice.organization, completed, alice.user, [5, 4, 3])
    add_review(alice.organization, completed, bob.user, [3, 2, None])
    add_review(alice.organization, completed, carol, [4, 3, 5])
    client.force_login(carol)
    html = client.get(f"/interviews/{completed.pk}/").content.decode()
    averages = dict(re.findall(r'data-answer-average="(\d)"><strong>([\d.]+)</strong>', html))
    assert averages == {"1": "4.0", "2": "3.0", "3": "4.0"}
    # (5+4+3+3+2+4+3+5) / 8 ratings
    assert re.search(r"Average <strong>3.6</strong>/5 from 3 reviewers", html)


@pytest.mark.django_db
def test_a_second_reviewer_adds_a_review_and_the_status_stays_reviewed(
    alice, bob, completed, client_for
):
    client_for(alice).post(f"/interviews/{completed.pk}/", _review_post())
    first_reviewed_at = _refresh(alice.organization, completed).reviewed_at
    client_for(bob).post(f"/interviews/{completed.pk}/", _review_post("no", (2, 2, 2)))
    interview = _refresh(alice.organization, completed)
    assert interview.status == InterviewStatus.REVIEWED
    assert interview.reviewed_at == first_reviewed_at
    with tenant_scope(alice.organization):
        assert Review.objects.filter(interview=completed).count() == 2
    assert len(_events(alice.organization, completed)) == 2


@pytest.mark.django_db
def test_a_review_without_a_recommendation_is_refused_with_the_reason(alice, completed, client_for):
    response = client_for(alice).post(f"/interviews/{completed.pk}/", _review_post(""))
    assert response.status_code == 200
    assert "Choose a recommendation (strong yes, yes, no or strong no)" in response.content.decode()
    with tenant_scope(alice.organization):
        assert not Review.objects.exists()
    assert _refresh(alice.organization, completed).status == InterviewStatus.COMPLETED


@pytest.mark.django_db
def test_a_rating_outside_one_to_five_is_refused(alice, completed, client_for):
    response = client_for(alice).post(f"/interviews/{completed.pk}/", _review_post(ratings=(9,)))
    assert "Rate from 1 (poor) to 5 (excellent)." in response.content.decode()
    with tenant_scope(alice.organization):
        assert not Review.objects.exists()


@pytest.mark.django_db
def test_an_unfinished_interview_cannot_be_reviewed_yet(alice, client_for):
    ats = build_ats(alice.organization)
    interview = make_interview(
        alice.organization,
        template=make_template(alice.organization),
        candidate=ats.candidate(),
        status=InterviewStatus.STARTED,
        answers="none",
    )
    client = client_for(alice)
    page = client.get(f"/interviews/{interview.pk}/").content.decode()
    assert 'id="review-form"' not in page and "has not finished this interview yet" in page
    assert "Not recorded yet." in page
    refused = client.post(f"/interviews/{interview.pk}/", _review_post())
    assert "can be reviewed once the candidate has finished it" in refused.content.decode()
    with tenant_scope(alice.organization):
        assert not Review.objects.exists()


@pytest.mark.django_db
def test_a_viewer_reads_the_teams_scores_but_cannot_review(alice, completed, client):
    add_review(alice.organization, completed, alice.user, [5, 4, 3], "strong_yes", "Great hire")
    viewer = add_member(organization=alice.organization, email="vic@acme.test", role=Role.VIEWER)
    client.force_login(viewer.user)
    page = client.get(f"/interviews/{completed.pk}/").content.decode()
    assert 'id="review-form"' not in page and "Great hire" in page
    assert 'id="share"' not in page
    refused = client.post(f"/interviews/{completed.pk}/", _review_post())
    assert "Your role can read reviews but not write them." in refused.content.decode()
    with tenant_scope(alice.organization):
        assert Review.objects.count() == 1


@pytest.mark.django_db
def test_another_organizations_interview_is_not_found(mallory, completed, client_for):
    client = client_for(mallory)
    assert client.get(f"/interviews/{completed.pk}/").status_code == 404
    assert client.post(f"/interviews/{completed.pk}/", _review_post()).status_code == 404
    assert _refresh(completed.organization, completed).status == InterviewStatus.COMPLETED
