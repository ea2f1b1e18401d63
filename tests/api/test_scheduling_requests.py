"""`/scheduling-requests/`: invite a candidate to book (once, whatever the retries), list and
read the invitations; the Partner guide page the problem types point to."""

from __future__ import annotations

import pytest

from recruitflow.tenancy import tenant_scope
from scheduling.models import SchedulingRequest
from tests.scheduling import conftest as scheduling

# The scheduling tests' fixtures (an organization in London, interviewers, templates, a candidate).
sched_org, interviewers, library_messages = (
    scheduling.sched_org,
    scheduling.interviewers,
    scheduling.library_messages,
)
make_template, scheduling_template = scheduling.make_template, scheduling.scheduling_template
make_candidate, candidate = scheduling.make_candidate, scheduling.candidate
outbox, monday_morning, delivery_queued = (
    scheduling.outbox,
    scheduling.monday_morning,
    scheduling.delivery_queued,
)

pytestmark = pytest.mark.django_db


def test_a_request_is_made_sent_once_and_read_back(
    api, sched_org, scheduling_template, candidate, outbox, monday_morning
):
    body = {"template_id": scheduling_template.pk, "candidate_id": candidate.pk}

    first = api.post("scheduling-requests/", body, key="invite-1")
    retry = api.post("scheduling-requests/", body, key="invite-1")

    assert first.status_code == 201, first.content
    created = first.json()
    assert created["template"] == {"id": scheduling_template.pk, "name": "Onsite interview"}
    assert created["candidate_id"] == candidate.pk
    assert created["status"] == "pending" and created["source"] == "api"
    assert retry.status_code == 200 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == created
    with tenant_scope(sched_org):
        assert SchedulingRequest.objects.filter(candidate=candidate).count() == 1
    email, text = outbox(candidate)  # the Request to Schedule went out once, on each channel
    assert created["url"] in email.html and created["url"] in text.body

    assert api.get(f"scheduling-requests/{created['id']}/").json() == created
    listed = api.get("scheduling-requests/", {"candidate": candidate.pk, "status": "pending"})
    assert [r["id"] for r in listed.json()["results"]] == [created["id"]]
    assert api.get("scheduling-requests/", {"status": "booked"}).json()["results"] == []


def test_refusals_are_problems(api, make_template, candidate, mallory, monday_morning):
    nobody = make_template(name="Nobody", required=[])
    refused = api.post(
        "scheduling-requests/", {"template_id": nobody.pk, "candidate_id": candidate.pk}
    )
    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("#problem-scheduling_refused")
    missing = api.post("scheduling-requests/", {"template_id": nobody.pk, "candidate_id": 999999})
    assert missing.status_code == 404
    assert api.get("scheduling-requests/999999/").status_code == 404


def test_the_partner_guide_is_a_public_page_with_an_anchor_per_problem_type(client):
    page = client.get("/api/v1/guide/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1" in html and "Partner guide" in html
    for anchor in ("problem-validation", "problem-idempotency_conflict", "verifying-signatures"):
        assert f'id="{anchor}"' in html
    assert "webhook-signature" in html and "Idempotency-Key" in html
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["externalDocs"]["url"] == "/api/v1/guide/"
    assert "[Partner guide](/api/v1/guide/)" in schema["info"]["description"]
