"""The Interviews page: tabs by status with counts, filters by job, template and reviewer, each
row's times with the zone and its average score, pagination and the empty state."""

from __future__ import annotations

import re

import pytest

from accounts.models import Role
from interviews.models import InterviewStatus
from tests.factories import add_member
from tests.interviews.review_helpers import add_review, make_interview, make_template
from tests.journeys.conftest import build_ats


def _rows(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<tr data-interview="(\d+)">', html)


@pytest.fixture
def board(alice, bob):
    """Acme (in New York time) with two templates and five interviews in every status."""
    organization = alice.organization
    organization.time_zone = "America/New_York"
    organization.save(update_fields=["time_zone"])
    ats = build_ats(organization)
    sales = make_template(organization, "Sales screen", reviewers=[bob.user])
    engineering = make_template(organization, "Engineering screen")
    people = {}
    for first, job, template, status in (
        ("Ann", "Sales Rep", sales, InterviewStatus.COMPLETED),
        ("Ben", "Backend Engineer", engineering, InterviewStatus.REVIEWED),
        ("Cid", "Sales Rep", sales, InterviewStatus.INVITED),
        ("Dee", "Account Executive", sales, InterviewStatus.EXPIRED),
        ("Eve", "Backend Engineer", engineering, InterviewStatus.STARTED),
    ):
        candidate = ats.candidate(first_name=first, last_name="Tester", email=f"{first}@ex.com")
        people[first] = make_interview(
            organization,
            template=template,
            candidate=candidate,
            job=ats.jobs[job],
            status=status,
            answers="ready" if status in ("completed", "reviewed") else "none",
        )
    return {"ats": ats, "sales": sales, "engineering": engineering, "people": people}


@pytest.mark.django_db
def test_the_page_lists_every_interview_with_status_tabs_and_their_counts(alice, board, client_for):
    response = client_for(alice).get("/interviews/")
    html = response.content.decode()
    assert response.status_code == 200
    assert len(_rows(response)) == 5
    for label in ("Invited", "Started", "Completed", "Reviewed", "Expired"):
        assert re.search(rf'data-status="{label.lower()}"[^>]*>{label} <span[^>]*>1</span>', html)
    assert "Ann Tester" in html and "Sales screen" in html and "Sales Rep" in html
    # Sent and completed times are shown in the organization's zone, with the zone.
    assert "EST" in html or "EDT" in html


@pytest.mark.django_db
def test_a_status_tab_keeps_only_that_status(alice, board, client_for):
    response = client_for(alice).get("/interviews/?status=completed")
    assert _rows(response) == [str(board["people"]["Ann"].pk)]


@pytest.mark.django_db
def test_filters_by_job_template_and_reviewer(alice, bob, board, client_for):
    client = client_for(alice)
    people, ats = board["people"], board["ats"]

    by_job = _rows(client.get(f"/interviews/?job={ats.jobs['Backend Engineer'].pk}"))
    assert set(by_job) == {str(people["Ben"].pk), str(people["Eve"].pk)}

    by_template = _rows(client.get(f"/interviews/?template={board['sales'].pk}"))
    assert set(by_template) == {str(people[n].pk) for n in ("Ann", "Cid", "Dee")}

    # Bob reviews the sales template's interviews, and he also reviewed Ben's.
    add_review(alice.organization, people["Ben"], bob.user, [4, 4, 4])
    by_reviewer = _rows(client.get(f"/interviews/?reviewer={bob.user.pk}"))
    assert set(by_reviewer) == {str(people[n].pk) for n in ("Ann", "Cid", "Dee", "Ben")}

    both = _rows(client.get(f"/interviews/?reviewer={bob.user.pk}&status=reviewed"))
    assert both == [str(people["Ben"].pk)]


@pytest.mark.django_db
def test_tab_counts_follow_the_other_filters(alice, board, client_for):
    html = client_for(alice).get(f"/interviews/?template={board['engineering'].pk}").content
    html = html.decode()
    assert re.search(r'data-status="reviewed"[^>]*>Reviewed <span[^>]*>1</span>', html)
    assert re.search(r'data-status="completed"[^>]*>Completed <span[^>]*>0</span>', html)


@pytest.mark.django_db
def test_each_row_shows_the_average_of_every_reviewers_ratings(alice, bob, board, client_for):
    ben = board["people"]["Ben"]
    add_review(alice.organization, ben, alice.user, [5, 4, 3])
    add_review(alice.organization, ben, bob.user, [2, 3, None])
    html = client_for(alice).get("/interviews/?status=reviewed").content.decode()
    row = html[html.index(f'data-interview="{ben.pk}"') :]
    row = row[: row.index("</tr>")]
    # (5 + 4 + 3 + 2 + 3) / 5 ratings
    assert "<strong>3.4</strong>" in row and "2 reviews" in row


@pytest.mark.django_db
def test_bad_filter_values_are_ignored_rather_than_failing(alice, board, client_for):
    response = client_for(alice).get("/interviews/?status=nonsense&job=abc&reviewer=-1&page=x")
    assert response.status_code == 200
    assert len(_rows(response)) == 5


@pytest.mark.django_db
def test_the_list_is_paginated(alice, board, client_for):
    ats, sales = board["ats"], board["sales"]
    for n in range(51):
        candidate = ats.candidate(first_name=f"P{n}", last_name="Page", email=f"p{n}@ex.com")
        make_interview(alice.organization, template=sales, candidate=candidate, answers="none")
    client = client_for(alice)
    first = client.get("/interviews/")
    assert len(_rows(first)) == 50 and "Page 1 of 2" in first.content.decode()
    assert len(_rows(client.get("/interviews/?page=2"))) == 6


@pytest.mark.django_db
def test_the_empty_state_says_how_to_send_the_first_interview(alice, client_for):
    html = client_for(alice).get("/interviews/").content.decode()
    assert "No video interviews yet" in html
    assert "Library → Video interview templates" in html
    assert "Send video interview" in html and "candidate's page" in html


@pytest.mark.django_db
def test_a_filter_that_matches_nothing_offers_to_clear_it(alice, board, client_for):
    html = client_for(alice).get(f"/interviews/?template={board['engineering'].pk}&status=invited")
    assert "No interviews match" in html.content.decode()


@pytest.mark.django_db
def test_another_organizations_interviews_never_show(alice, mallory, board, client_for):
    ats = build_ats(mallory.organization)
    template = make_template(mallory.organization, "Mallory screen")
    make_interview(
        mallory.organization,
        template=template,
        candidate=ats.candidate(first_name="Zed", last_name="Other", email="zed@ex.com"),
    )
    html = client_for(alice).get("/interviews/").content.decode()
    assert "Zed Other" not in html and "Mallory screen" not in html
    assert len(_rows(client_for(mallory).get("/interviews/"))) == 1


@pytest.mark.django_db
def test_a_viewer_sees_the_page_too(alice, board, client):
    membership = add_member(
        organization=alice.organization, email="vic@acme.test", role=Role.VIEWER
    )
    client.force_login(membership.user)
    assert len(_rows(client.get("/interviews/"))) == 5
