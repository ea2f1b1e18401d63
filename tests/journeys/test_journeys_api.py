"""The partner API for journeys and their runs: nested writes, versions, activation, tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as account_services
from journeys.models import (
    Journey,
    JourneyRun,
    JourneyStep,
    JourneyVersion,
    RunStatus,
    StepRun,
    StepRunStatus,
)
from recruitflow.tenancy import tenant_scope
from tests.journeys.test_builder import Hiring

pytestmark = pytest.mark.django_db


def key_for(persona, scope="write") -> dict:
    with tenant_scope(persona.organization):
        _, raw = account_services.api_key_create(
            actor=persona.membership, name=f"{scope} key", scope=scope
        )
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def hiring(alice):
    return Hiring(alice.organization)


@pytest.fixture
def api(client, alice):
    auth = key_for(alice)

    class Api:
        def get(self, path, **params):
            return client.get(f"/api/v1/{path}", params, **auth)

        def post(self, path, data=None):
            return client.post(
                f"/api/v1/{path}", data or {}, content_type="application/json", **auth
            )

        def patch(self, path, data):
            return client.patch(f"/api/v1/{path}", data, content_type="application/json", **auth)

        def delete(self, path):
            return client.delete(f"/api/v1/{path}", **auth)

    return Api()


def onsite_payload(hiring, **overrides) -> dict:
    return {
        "name": "Onsite invitation",
        "trigger": {"kind": "entered_stage"},
        "criteria": {"stage_names": ["Onsite Interview"], "job_ids": [hiring.sales_rep.pk]},
        "exit_rules": ["left_stage", "rejected", "opted_out"],
        "steps": [
            {"kind": "send_sms", "message_template_id": hiring.sms.pk},
            {"kind": "wait", "config": {"mode": "duration", "days": 2, "hours": 0, "minutes": 0}},
            {"kind": "send_email", "message_template_id": hiring.email.pk},
        ],
        **overrides,
    }


def start_run(alice, hiring, journey_id, *, status=RunStatus.ACTIVE, first="Ada", last="Byron"):
    candidate, application = hiring.candidate(first, last)
    transition = hiring.moved(application)
    with tenant_scope(alice.organization):
        journey = Journey.objects.get(pk=journey_id)
        version = journey.current_version
        run = JourneyRun.objects.create(
            organization=alice.organization,
            journey=journey,
            version=version,
            transition=transition,
            application=application,
            candidate=candidate,
            status=status,
            started_at=timezone.now() - timedelta(minutes=5),
        )
        step = JourneyStep.objects.get(version=version, position=1)
        StepRun.objects.create(
            organization=alice.organization,
            run=run,
            step=step,
            position=1,
            status=StepRunStatus.DONE,
            due_at=run.started_at,
            finished_at=timezone.now(),
        )
    return run


def test_a_journey_is_created_with_its_trigger_criteria_exit_rules_and_steps(api, hiring):
    response = api.post("journeys/", onsite_payload(hiring))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Onsite invitation"
    assert body["is_active"] is False
    assert body["version"] == 1
    assert body["trigger"] == {"kind": "entered_stage", "stale_days": None}
    assert body["criteria"]["stage_names"] == ["Onsite Interview"]
    assert body["criteria"]["job_ids"] == [hiring.sales_rep.pk]
    assert body["trigger_summary"] == "Enters Onsite Interview · Sales Rep"
    assert [(s["position"], s["kind"]) for s in body["steps"]] == [
        (1, "send_sms"),
        (2, "wait"),
        (3, "send_email"),
    ]
    assert body["steps"][0]["message_template_id"] == hiring.sms.pk
    assert body["steps"][1]["config"] == {"mode": "duration", "days": 2, "hours": 0, "minutes": 0}

    fetched = api.get(f"journeys/{body['id']}/").json()
    assert fetched == body
    listed = api.get("journeys/").json()["results"]
    assert [j["name"] for j in listed] == ["Onsite invitation"]


def test_bad_steps_are_refused_with_what_to_fix_and_nothing_is_created(alice, api, hiring):
    payload = onsite_payload(
        hiring,
        steps=[
            {"kind": "send_sms", "message_template_id": hiring.email.pk},
            {"kind": "wait", "config": {"mode": "duration", "days": 0}},
            {"kind": "wait", "config": {"mode": "until", "weekdays": [1], "time": "09:00\n"}},
            {"kind": "exit", "config": {"days": 1}},
        ],
    )
    response = api.post("journeys/", payload)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "“Onsite details (e-mail)” is e-mail template" in errors["steps[1]"][0]
    assert "needs text message one" in errors["steps[1]"][0]
    assert errors["steps[2]"] == [
        "A wait needs a length: enter at least one minute (or remove the step)."
    ]
    assert errors["steps[3]"] == [
        "Enter the time to wait until as HH:MM on a 24-hour clock, e.g. 09:00."
    ]
    assert errors["steps[4]"] == [
        "“Exit the journey” takes no settings here; leave them empty ({})."
    ]
    with tenant_scope(alice.organization):
        assert not Journey.objects.exists()


def test_unknown_references_are_not_found_and_a_taken_name_conflicts(api, hiring):
    response = api.post(
        "journeys/",
        onsite_payload(hiring, steps=[{"kind": "send_sms", "message_template_id": 9999}]),
    )
    assert response.status_code == 404
    assert response.json()["detail"].startswith(
        "message_template_id: no message template 9999 in your organization."
    )
    response = api.post(
        "journeys/", onsite_payload(hiring, criteria={"job_ids": [hiring.sales_rep.pk, 9999]})
    )
    assert response.status_code == 404
    assert "criteria.job_ids: no job 9999 in your organization" in response.json()["detail"]
    assert api.post("journeys/", onsite_payload(hiring)).status_code == 201
    again = api.post("journeys/", onsite_payload(hiring, name="ONSITE  invitation"))
    assert again.status_code == 409
    assert again.json()["detail"] == (
        "Another journey is already called “ONSITE invitation”. Choose another name."
    )


def test_activation_refusal_lists_the_problems_then_activate_and_pause(api, hiring):
    journey = api.post("journeys/", onsite_payload(hiring, steps=[{"kind": "send_sms"}])).json()
    refused = api.post(f"journeys/{journey['id']}/activate/")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "Step 1 (Send text message) has no message template: choose one from the Library."
    )
    api.patch(
        f"journeys/{journey['id']}/",
        {"steps": [{"kind": "send_sms", "message_template_id": hiring.sms.pk}]},
    )
    active = api.post(f"journeys/{journey['id']}/activate/")
    assert active.status_code == 200
    assert active.json()["is_active"] is True
    paused = api.post(f"journeys/{journey['id']}/pause/")
    assert paused.json()["is_active"] is False


def test_changing_a_journey_with_runs_starts_a_new_version_and_runs_keep_theirs(alice, api, hiring):
    journey = api.post("journeys/", onsite_payload(hiring)).json()
    run = start_run(alice, hiring, journey["id"])
    # Renaming touches no version.
    renamed = api.patch(f"journeys/{journey['id']}/", {"name": "Onsite · Sales Rep"}).json()
    assert renamed["version"] == 1
    # Steps and criteria do: version 2, with the untouched parts copied.
    changed = api.patch(
        f"journeys/{journey['id']}/",
        {
            "criteria": {"office_ids": [hiring.new_york.pk]},
            "steps": [{"kind": "send_sms", "message_template_id": hiring.sms.pk}],
        },
    )
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert body["version"] == 2
    assert body["criteria"]["stage_names"] == ["Onsite Interview"]
    assert body["criteria"]["office_ids"] == [hiring.new_york.pk]
    assert [s["kind"] for s in body["steps"]] == ["send_sms"]
    assert body["runs_in_progress"] == 1
    with tenant_scope(alice.organization):
        run.refresh_from_db()
        assert run.version.number == 1
        assert run.version.steps.count() == 3
        assert JourneyVersion.objects.filter(journey_id=journey["id"]).count() == 2
    # The same steps again change nothing.
    again = api.patch(
        f"journeys/{journey['id']}/",
        {"steps": [{"kind": "send_sms", "message_template_id": hiring.sms.pk}]},
    ).json()
    assert again["version"] == 2


def test_runs_are_listed_filtered_and_read_one_by_one(alice, api, hiring):
    journey = api.post("journeys/", onsite_payload(hiring)).json()
    running = start_run(alice, hiring, journey["id"])
    done = start_run(alice, hiring, journey["id"], status=RunStatus.COMPLETED, first="Grace")
    listed = api.get(f"journeys/{journey['id']}/runs/").json()["results"]
    assert {r["id"] for r in listed} == {running.pk, done.pk}
    only = api.get(f"journeys/{journey['id']}/runs/", status="completed").json()["results"]
    assert [(r["id"], r["candidate"]["name"]) for r in only] == [(done.pk, "Grace Byron")]
    bad = api.get(f"journeys/{journey['id']}/runs/", status="finished")
    assert bad.status_code == 400
    assert "Use one of: active, completed, exited, failed, canceled." in str(bad.json())

    detail = api.get(f"journey-runs/{running.pk}/").json()
    assert detail["journey_id"] == journey["id"]
    assert detail["version"] == 1
    assert detail["status"] == "active"
    assert [(s["position"], s["kind"], s["status"]) for s in detail["step_runs"]] == [
        (1, "send_sms", "done")
    ]


def test_a_journey_that_never_ran_is_deleted_one_with_runs_is_kept(alice, api, hiring):
    scratch = api.post("journeys/", {"name": "Scratch", "trigger": {"kind": "hired"}}).json()
    assert api.delete(f"journeys/{scratch['id']}/").status_code == 204
    journey = api.post("journeys/", onsite_payload(hiring)).json()
    start_run(alice, hiring, journey["id"])
    refused = api.delete(f"journeys/{journey['id']}/")
    assert refused.status_code == 409
    assert "Pause it instead" in str(refused.json())
    assert api.get(f"journeys/{journey['id']}/").status_code == 200


def test_read_only_keys_read_but_do_not_write(alice, client, api, hiring):
    journey = api.post("journeys/", onsite_payload(hiring)).json()
    read_only = key_for(alice, scope="read")
    assert client.get("/api/v1/journeys/", **read_only).status_code == 200
    for path in (f"journeys/{journey['id']}/activate/", "journeys/"):
        response = client.post(
            f"/api/v1/{path}", onsite_payload(hiring), content_type="application/json", **read_only
        )
        assert response.status_code == 403
        assert "read-only" in response.json()["detail"]
    with tenant_scope(alice.organization):
        assert Journey.objects.get().is_active is False


def test_another_organizations_key_sees_none_of_it(alice, mallory, client, api, hiring):
    journey = api.post("journeys/", onsite_payload(hiring)).json()
    run = start_run(alice, hiring, journey["id"])
    theirs = key_for(mallory)
    assert client.get("/api/v1/journeys/", **theirs).json()["results"] == []
    for path in (
        f"journeys/{journey['id']}/",
        f"journeys/{journey['id']}/runs/",
        f"journey-runs/{run.pk}/",
    ):
        assert client.get(f"/api/v1/{path}", **theirs).status_code == 404, path
    response = client.post(
        f"/api/v1/journeys/{journey['id']}/activate/", content_type="application/json", **theirs
    )
    assert response.status_code == 404
    response = client.patch(
        f"/api/v1/journeys/{journey['id']}/",
        {"name": "Mine now"},
        content_type="application/json",
        **theirs,
    )
    assert response.status_code == 404
    # Nor can a template of another organization be used.
    mallory_hiring = Hiring(mallory.organization)
    response = client.post(
        "/api/v1/journeys/",
        onsite_payload(hiring, name="Borrowed"),
        content_type="application/json",
        **theirs,
    )
    assert response.status_code == 404
    assert "in your organization" in response.json()["detail"]
    assert mallory_hiring.sms.pk != hiring.sms.pk


@pytest.mark.usefixtures("page_cache_off")  # kept answers: tests/api/test_kept_answers.py
def test_journey_list_costs_the_same_queries_for_many_journeys(alice, api, hiring):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("journeys/").status_code == 200
        return len(ctx.captured_queries)

    api.post("journeys/", onsite_payload(hiring, name="J0"))
    api.get("journeys/")
    small = count()
    for n in range(1, 8):
        api.post("journeys/", onsite_payload(hiring, name=f"J{n}"))
    assert count() == small


def test_a_journey_is_created_with_its_trigger(api):
    response = api.post("journeys/", {"name": "Welcome"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"trigger": ["This field is required."]}
    response = api.post("journeys/", {"name": "Nudge", "trigger": {"kind": "stale_in_stage"}})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "trigger.stale_days": ["Enter how many days in the stage make a candidate stale."]
    }


def test_nested_errors_name_the_field_and_the_step_position(api, hiring):
    response = api.post(
        "journeys/",
        {
            "name": "Broken",
            "trigger": {"kind": "whenever"},
            "criteria": {"job_ids": [hiring.sales_rep.pk, "x"]},
            "steps": [{"kind": "send_sms"}, {"message_template_id": hiring.sms.pk}],
        },
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["trigger.kind"] == ['"whenever" is not a valid choice.']
    assert errors["criteria.job_ids[2]"] == ["A valid integer is required."]
    assert errors["steps[2].kind"] == ["This field is required."]
    assert all(isinstance(v, list) for v in errors.values())
