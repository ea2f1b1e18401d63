"""The candidates part of the partner API: search (phone in any format), filters, cursor pages
under inserts, applications, the stage-change feed, the timeline, tenant isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from candidates.models import Application, Candidate, StageTransition, TimelineEvent
from recruitflow.tenancy import tenant_scope
from tests.journeys.test_builder import Hiring

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [c["name"] for c in response.json()["results"]]


@pytest.mark.parametrize(
    "typed",
    ["+44 7700 900123", "07700 900123", "0044 7700-900123", "7700900123"],
)
def test_search_by_phone_in_another_format_finds_the_candidate(api, hiring, typed):
    hiring.candidate("Sam", "Okafor", mobile="+447700900123")
    hiring.candidate("Ada", "Byron", mobile="+14155550100")

    assert names(api.get("candidates/", {"q": typed})) == ["Sam Okafor"]
    assert names(api.get("candidates/", {"phone": typed})) == ["Sam Okafor"]


def test_search_by_a_us_number_written_nationally(api, hiring):
    hiring.candidate("Ada", "Byron", mobile="+14155550100")
    hiring.candidate("Sam", "Okafor", mobile="+447700900123")
    assert names(api.get("candidates/", {"q": "(415) 555-0100"})) == ["Ada Byron"]


def test_search_by_name_and_email(api, hiring):
    hiring.candidate("Sam", "Okafor", email="sam.okafor@example.com")
    hiring.candidate("Ada", "Byron", email="ada@example.org")

    assert names(api.get("candidates/", {"q": "okafor"})) == ["Sam Okafor"]
    assert names(api.get("candidates/", {"q": "ada byron"})) == ["Ada Byron"]
    assert names(api.get("candidates/", {"email": "SAM.OKAFOR@example.com"})) == ["Sam Okafor"]
    assert names(api.get("candidates/", {"q": "nobody-like-this"})) == []


def test_filters_by_job_stage_status_and_updated_since(api, hiring, alice):
    sam, _ = hiring.candidate("Sam", "Okafor", stage="Onsite Interview")
    ada, _ = hiring.candidate("Ada", "Byron", job=hiring.engineer, stage="Application Review")
    cy, cy_app = hiring.candidate("Cy", "Ng", stage="Recruiter Phone Screen")
    with tenant_scope(alice.organization):
        Application.objects.filter(pk=cy_app.pk).update(status="rejected")
        long_ago = timezone.now() - timedelta(days=30)
        Candidate.objects.filter(pk__in=[ada.pk, cy.pk]).update(synced_at=long_ago)

    assert names(api.get("candidates/", {"job": hiring.engineer.pk})) == ["Ada Byron"]
    assert names(api.get("candidates/", {"stage": "onsite interview"})) == ["Sam Okafor"]
    assert names(api.get("candidates/", {"status": "rejected"})) == ["Cy Ng"]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert names(api.get("candidates/", {"updated_since": since})) == ["Sam Okafor"]
    both = api.get("candidates/", {"job": hiring.sales_rep.pk, "status": "active"})
    assert names(both) == ["Sam Okafor"]


def test_bad_filters_are_400_problems_naming_the_parameter(api):
    response = api.get("candidates/", {"status": "sleeping", "updated_since": "yesterday"})
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert set(response.json()["errors"]) == {"status", "updated_since"}
    short = api.get("candidates/", {"phone": "12-34"})
    assert "at least 6 digits" in short.json()["errors"]["phone"][0]


def test_detail_lists_the_applications_with_job_and_stage(api, hiring):
    sam, application = hiring.candidate("Sam", "Okafor")
    body = api.get(f"candidates/{sam.pk}/").json()
    assert body["mobile_phone"] == "+447700900123"
    (app,) = body["applications"]
    assert app["id"] == application.pk
    assert app["job"] == {"id": hiring.sales_rep.pk, "name": "Sales Rep"}
    assert app["stage"]["name"] == "Onsite Interview" and app["status"] == "active"
    assert api.get(f"applications/{application.pk}/").json() == app
    listed = api.get("applications/", {"candidate": sam.pk}).json()["results"]
    assert [a["id"] for a in listed] == [application.pk]


def test_cursor_pages_neither_repeat_nor_skip_while_candidates_are_added(api, hiring):
    for n in range(7):
        hiring.candidate(f"First{n}", "Batch")
    seen, url, added = [], "candidates/?page_size=3", 0
    while url:
        page = api.get(url).json()
        seen += [c["id"] for c in page["results"]]
        if added < 2:  # a sync adds candidates between two page requests
            hiring.candidate(f"Late{added}", "Arrival")
            added += 1
        url = page["next"]
    assert len(seen) == len(set(seen)) == 7  # the first seven, each once


def test_another_organizations_candidates_are_404_and_never_listed(api, mallory):
    theirs_hiring = Hiring(mallory.organization)
    theirs, application = theirs_hiring.candidate("Eve", "Secret")

    for path in (
        f"candidates/{theirs.pk}/",
        f"candidates/{theirs.pk}/timeline/",
        f"applications/{application.pk}/",
    ):
        response = api.get(path)
        assert response.status_code == 404 and response["Content-Type"] == PROBLEM
    assert names(api.get("candidates/", {"q": "Eve"})) == []
    feed = api.get("stage-transitions/").json()["results"]
    assert feed == []


def test_stage_change_feed_runs_oldest_first_and_its_next_link_never_ends(api, hiring, alice):
    _, first_app = hiring.candidate("Sam", "Okafor")
    _, second_app = hiring.candidate("Ada", "Byron")
    older = hiring.moved(first_app, ago=timedelta(hours=3))
    newer = hiring.moved(second_app, ago=timedelta(hours=2))
    hiring.moved(first_app, ago=timedelta(seconds=1))  # still settling: not shown yet

    page = api.get("stage-transitions/", {"page_size": 1}).json()
    assert [t["id"] for t in page["results"]] == [older.pk]
    page = api.get(page["next"]).json()
    assert [t["id"] for t in page["results"]] == [newer.pk]
    assert page["results"][0]["to_stage_name"] == "Onsite Interview"
    last = page["next"]
    assert last and api.get(last).json()["results"] == []

    later = hiring.moved(second_app, ago=timedelta(minutes=5))
    assert [t["id"] for t in api.get(last).json()["results"]] == [later.pk]
    since = (timezone.now() - timedelta(hours=2, minutes=30)).isoformat()
    from_since = api.get("stage-transitions/", {"since": since}).json()["results"]
    assert [t["id"] for t in from_since] == [newer.pk, later.pk]
    with tenant_scope(alice.organization):
        assert StageTransition.objects.count() == 4


def test_timeline_lists_the_candidates_events_newest_first(api, hiring, alice):
    sam, application = hiring.candidate("Sam", "Okafor")
    now = timezone.now()
    with tenant_scope(alice.organization):
        for minutes, summary in ((10, "Text sent"), (5, "Text delivered")):
            TimelineEvent.objects.create(
                organization=alice.organization,
                candidate=sam,
                application=application,
                kind="message_sent",
                summary=summary,
                occurred_at=now - timedelta(minutes=minutes),
            )
    events = api.get(f"candidates/{sam.pk}/timeline/").json()["results"]
    assert [e["summary"] for e in events] == ["Text delivered", "Text sent"]
    assert events[0]["application_id"] == application.pk
