"""The demo's recorded video interview: a completed interview with three playable answers on
the Interviews page, waiting for the team's review; added once."""

from __future__ import annotations

import pytest

from interviews.demo import demo_recorded_interview
from interviews.models import AnswerStatus, InterviewStatus, VideoInterview
from journeys import timeline_kinds as journey_kinds
from recruitflow.tenancy import tenant_scope
from tests.interviews.recording_helpers import use_temporary_recordings
from tests.journeys.conftest import build_ats

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_completed_interview_to_review_once(alice, client_for, settings, tmp_path):
    use_temporary_recordings(settings, tmp_path / "recordings")
    organization = alice.organization
    ats = build_ats(organization)
    assert demo_recorded_interview(organization=organization) is None  # nobody applied yet

    candidate = ats.candidate(first_name="Sally", last_name="Sales")
    ats.apply(candidate, job="Sales Rep", stage="Phone Interview", new=True)
    interview = demo_recorded_interview(organization=organization)
    assert demo_recorded_interview(organization=organization) is None  # once

    with tenant_scope(organization):
        assert VideoInterview.objects.filter(organization=organization).count() == 1
        answers = list(interview.answers.order_by("question_index"))
        completed = candidate.events.filter(kind=journey_kinds.VIDEO_INTERVIEW_COMPLETED).get()
    assert interview.status == InterviewStatus.COMPLETED and interview.job.name == "Sales Rep"
    assert [a.status for a in answers] == [AnswerStatus.READY] * 3
    assert all(a.rendition.name and a.poster.name and a.duration_seconds > 5 for a in answers)
    assert completed.data["interview_id"] == interview.pk

    client = client_for(alice)
    listing = client.get("/interviews/", {"status": "completed"}).content.decode()
    assert "Sally Sales" in listing
    review = client.get(f"/interviews/{interview.pk}/").content.decode()
    assert review.count("<video") == 3
