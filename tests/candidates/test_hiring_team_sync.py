"""The hiring team comes from the ATS by the poll, and decides which candidates a hiring manager
sees: synced from the sandbox Greenhouse and Lever over HTTP, with the production clients."""

from __future__ import annotations

import pytest

from accounts.models import Role
from candidates import services
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member

pytestmark = pytest.mark.django_db

TEAM = ("hiring_managers", "recruiters", "coordinators")


def _sync(organization) -> None:
    with tenant_scope(organization):
        run = services.sync_request(organization=organization, full=True, enqueue=False)
        run = services.sync_execute(sync_run=run)
    assert run.status == "succeeded", run.error


def _listed_ids(client) -> tuple[set[str], int]:
    """The ATS ids of the candidates on the candidate list, and how many there are."""
    response = client.get("/candidates/?page=1")
    assert response.status_code == 200
    return {c.external_id for c in response.context["page"].object_list}, response.context["total"]


def test_hiring_manager_sees_the_candidates_of_the_greenhouse_jobs_whose_hiring_team_has_them(
    alice, bob, sandbox, greenhouse_connection, client
):
    co = sandbox.greenhouse.co
    manager_id = co.jobs[0]["hiring_team"]["hiring_managers"][0]
    team_jobs = {
        job["id"] for job in co.jobs if any(manager_id in job["hiring_team"][r] for r in TEAM)
    }
    expected = {
        str(a["candidate_id"]) for a in co.applications.values() if a.get("job_id") in team_jobs
    }
    _sync(alice.organization)
    # The member's sign-in e-mail is the ATS user's, in another case.
    hannah = add_member(
        organization=alice.organization,
        email=co.user(manager_id)["email"].upper(),
        role=Role.HIRING_MANAGER,
    )

    client.force_login(hannah.user)
    shown, total = _listed_ids(client)
    client.force_login(bob.user)
    everyone, everyone_total = _listed_ids(client)

    assert shown == expected and total == len(expected)
    assert 0 < total < everyone_total


def test_hiring_manager_sees_the_candidates_of_the_lever_postings_they_manage(
    alice, bob, sandbox, lever_connection, client
):
    lever = sandbox.lever
    posting = lever.postings[0]
    manager = posting["hiringManager"]
    managed = {p["id"] for p in lever.postings if manager in (p["hiringManager"], p["owner"])}
    expected = {o["id"] for o in lever.opps.values() if o.get("posting") in managed}
    _sync(alice.organization)
    hannah = add_member(
        organization=alice.organization,
        email=lever.users_by_id[manager]["email"],
        role=Role.HIRING_MANAGER,
    )

    client.force_login(hannah.user)
    shown, total = _listed_ids(client)
    client.force_login(bob.user)
    _, everyone_total = _listed_ids(client)

    assert shown and shown <= expected
    assert total < everyone_total
