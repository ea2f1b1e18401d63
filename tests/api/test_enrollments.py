"""`POST /journeys/{id}/enrollments/`: a candidate put in a journey by hand, with the engine's
checks and a reason on the timeline."""

from __future__ import annotations

import pytest

from candidates.models import Application, TimelineEvent
from journeys import services as journey_services
from journeys.models import Journey, JourneyRun, StepRun
from messaging import services as messaging_services
from messaging.models import OptOutSource
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def journey(api, hiring, alice):
    body = api.post(
        "journeys/",
        {
            "name": "Onsite invitation",
            "trigger": {"kind": "entered_stage"},
            "criteria": {"stage_names": ["Onsite Interview"], "job_ids": [hiring.sales_rep.pk]},
            "exit_rules": ["left_stage", "rejected", "opted_out"],
            "steps": [{"kind": "send_sms", "message_template_id": hiring.sms.pk}],
        },
    ).json()
    assert api.post(f"journeys/{body['id']}/activate/").status_code == 200
    return body


def enroll(api, journey, candidate, **extra):
    return api.post(
        f"journeys/{journey['id']}/enrollments/",
        {"candidate_id": candidate.pk, "reason": "Asked for the details again", **extra},
    )


def test_enrolment_starts_a_run_and_puts_the_reason_on_the_timeline(api, hiring, journey, alice):
    sam, application = hiring.candidate("Sam", "Okafor")
    hiring.moved(application)

    response = enroll(api, journey, sam)

    assert response.status_code == 201, response.content
    run = response.json()
    assert run["candidate"]["id"] == sam.pk and run["status"] == "active"
    assert run["application_id"] == application.pk
    with tenant_scope(alice.organization):
        assert StepRun.objects.filter(run_id=run["id"]).count() == 1
        event = TimelineEvent.objects.get(candidate=sam, kind="journey_entered")
    assert "Added to journey “Onsite invitation” by API key" in event.summary
    assert event.summary.endswith("Asked for the details again")
    assert event.data["run_id"] == run["id"] and event.data["manual"] is True

    again = enroll(api, journey, sam)
    assert again.status_code == 422 and again.json()["code"] == "already_enrolled"


def test_an_opted_out_candidate_is_refused_with_the_engines_reason(api, hiring, journey, alice):
    sam, application = hiring.candidate("Sam", "Okafor", mobile="+447700900123")
    hiring.moved(application)
    with tenant_scope(alice.organization):
        messaging_services.opt_out_lock(
            organization=alice.organization, phone="+447700900123", source=OptOutSource.MANUAL
        )

    response = enroll(api, journey, sam)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("#problem-enrollment_refused")
    assert body["code"] == "opted_out"
    assert "+447700900123 opted out of texts" in body["detail"]
    with tenant_scope(alice.organization):
        assert not JourneyRun.objects.filter(candidate=sam).exists()


@pytest.mark.parametrize(
    ("setup", "code", "words"),
    [
        ("wrong_stage", "criteria", "doesn't meet the journey's stage criterion"),
        ("rejected", "rejected", "would leave at once: rejected"),
        ("no_change", "no_stage_change", "No stage change"),
        ("paused", "paused", "is not live"),
    ],
)
def test_ineligible_candidates_are_refused_with_the_check_that_failed(
    api, hiring, journey, alice, setup, code, words
):
    stage = "Recruiter Phone Screen" if setup == "wrong_stage" else "Onsite Interview"
    sam, application = hiring.candidate("Sam", "Okafor", stage=stage)
    if setup != "no_change":
        hiring.moved(application, to=stage)
    if setup == "rejected":
        with tenant_scope(alice.organization):
            Application.objects.filter(pk=application.pk).update(status="rejected")
    if setup == "paused":
        with tenant_scope(alice.organization):
            journey_services.journey_pause(journey=Journey.objects.get(pk=journey["id"]), user=None)

    response = enroll(api, journey, sam)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert words in response.json()["detail"]
    with tenant_scope(alice.organization):
        assert not JourneyRun.objects.filter(candidate=sam).exists()


def test_enrolment_of_another_organizations_candidate_is_404(api, hiring, journey, mallory):
    from tests.journeys.test_builder import Hiring

    eve, application = Hiring(mallory.organization).candidate("Eve", "Secret")
    response = enroll(api, journey, eve)
    assert response.status_code == 404 and "No candidate" in response.json()["detail"]
    missing_reason = api.post(f"journeys/{journey['id']}/enrollments/", {"candidate_id": eve.pk})
    assert missing_reason.status_code == 400 and "reason" in missing_reason.json()["errors"]
