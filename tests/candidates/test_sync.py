"""The poll against the sandbox ATS over HTTP, with the production clients."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from candidates import services, tasks
from candidates.models import (
    Application,
    Candidate,
    Department,
    Job,
    Office,
    Stage,
    StageTransition,
    SyncCursor,
    SyncRun,
)
from candidates.services import syncs as sync_services
from integrations.greenhouse.client import HarvestV1Client
from integrations.greenhouse.provider import GreenhouseProvider
from integrations.models import ConnectionStatus, ProviderCall
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


def sync(org, *, full: bool = False) -> SyncRun:
    with tenant_scope(org):
        run = services.sync_request(organization=org, full=full, enqueue=False)
        return services.sync_execute(sync_run=run)


def sandbox_counts(sandbox):
    co = sandbox.greenhouse.co
    return {
        "departments": len(co.departments),
        "offices": len(co.offices),
        "jobs": len(co.jobs),
        "stages": len(co.stages),
        "candidates": len(co.candidates),
        "applications": len(co.applications),
    }


def active_application(sandbox, *, skip=0):
    """An active sandbox application and a different stage of its job."""
    co = sandbox.greenhouse.co
    apps = [a for a in co.applications.values() if a["status"] == "active"]
    app = sorted(apps, key=lambda a: a["id"])[skip]
    stage_id = next(s for s in co.job(app["job_id"])["stage_ids"] if s != app["stage_id"])
    return app, stage_id


def test_full_sync_mirrors_the_ats_and_records_counts_and_calls_when_org_is_new(
    alice, sandbox, greenhouse_connection
):
    run = sync(alice.organization)

    expected = sandbox_counts(sandbox)
    assert run.status == "succeeded", run.error
    assert run.kind == "full"
    with tenant_scope(alice.organization):
        assert Department.objects.count() == expected["departments"]
        assert Office.objects.count() == expected["offices"]
        assert Job.objects.count() == expected["jobs"]
        assert Stage.objects.count() == expected["stages"]
        assert Candidate.objects.count() == expected["candidates"]
        assert Application.objects.count() == expected["applications"]
        assert StageTransition.objects.count() == 0  # history is not replayed into journeys
        assert Application.objects.filter(stage__isnull=False).count() > 0
        assert (
            Candidate.objects.exclude(mobile_phone="").filter(mobile_phone__startswith="+").exists()
        )
        calls = list(ProviderCall.objects.filter(sync_run_id=run.pk))
    for key, value in expected.items():
        assert run.counts[key] == value
    assert run.counts["transitions"] == 0
    assert run.api_calls == len(calls) > 0
    # Every page is fetched exactly once.
    urls = Counter((c.method, c.path) for c in calls)
    assert all(n == 1 for n in urls.values()), urls
    assert run.progress_done == run.progress_total > 0
    assert run.finished_at is not None


def test_moving_a_candidate_creates_one_transition_when_the_next_poll_runs(
    alice, sandbox, greenhouse_connection
):
    sync(alice.organization)
    app, to_stage = active_application(sandbox)
    from_name = sandbox.greenhouse.co.stages[app["stage_id"]]["name"]
    to_name = sandbox.greenhouse.co.stages[to_stage]["name"]

    sandbox.greenhouse.move_application(app["id"], to_stage)
    run = sync(alice.organization)

    assert run.kind == "incremental" and run.status == "succeeded", run.error
    with tenant_scope(alice.organization):
        transition = StageTransition.objects.get()
        mirrored = Application.objects.get(external_id=str(app["id"]))
    assert (transition.from_stage_name, transition.to_stage_name) == (from_name, to_name)
    assert transition.to_stage.external_id == str(to_stage)
    assert transition.source == "poll" and not transition.is_new_application
    assert mirrored.stage_name == to_name and mirrored.stage_entered_at is not None
    assert run.counts["transitions"] == 1
    # The incremental poll reads only what changed: a couple of calls, not the whole ATS.
    assert run.api_calls <= 3


def test_rejecting_and_hiring_are_recorded_as_status_transitions_when_polled(
    alice, sandbox, greenhouse_connection
):
    sync(alice.organization)
    rejected, _ = active_application(sandbox, skip=0)
    hired, _ = active_application(sandbox, skip=1)
    sandbox.greenhouse.reject_application(rejected["id"])
    sandbox.greenhouse.hire_application(hired["id"])

    sync(alice.organization)

    with tenant_scope(alice.organization):
        statuses = {
            (t.application.external_id, t.from_status, t.to_status)
            for t in StageTransition.objects.select_related("application")
        }
        hired_row = Application.objects.get(external_id=str(hired["id"]))
    assert statuses == {
        (str(rejected["id"]), "active", "rejected"),
        (str(hired["id"]), "active", "hired"),
    }
    assert hired_row.stage_id is not None  # Greenhouse drops current_stage once hired


def test_new_application_after_first_sync_is_a_new_application_transition_when_polled(
    alice, sandbox, greenhouse_connection
):
    sync(alice.organization)
    job = sandbox.greenhouse.co.jobs[0]
    candidate, _ = sandbox.greenhouse.create_candidate("Ada", "Lovelace", job["id"])

    run = sync(alice.organization)

    with tenant_scope(alice.organization):
        transition = StageTransition.objects.get()
    assert transition.is_new_application
    assert transition.candidate.external_id == str(candidate["id"])
    assert run.counts["transitions"] == 1


def test_sync_waits_out_a_429_and_completes_when_the_rate_limit_is_hit(
    alice, sandbox, greenhouse_connection
):
    sandbox.greenhouse.set_rate_limit(8)  # a full sync of this small company takes 7 calls
    # Another integration sharing the key has used up this window.
    for _ in range(8):
        requests.get(
            f"{sandbox.url}/greenhouse/v1/offices", auth=("sandbox-harvest-key", ""), timeout=5
        )

    run = sync(alice.organization)

    assert run.status == "succeeded", run.error
    with tenant_scope(alice.organization):
        statuses = list(
            ProviderCall.objects.filter(sync_run_id=run.pk).values_list("status", flat=True)
        )
        assert Application.objects.count() == sandbox_counts(sandbox)["applications"]
    assert statuses.count(429) == 1  # waited as told, then paced itself: no second 429


def test_sync_is_paused_not_failed_and_resumes_after_the_window_when_greenhouse_keeps_429ing(
    alice, sandbox, greenhouse_connection, monkeypatch
):
    sleeps: list[float] = []
    build = sync_services.provider_for
    # Record the client's waits instead of sleeping them, so the window never opens.
    monkeypatch.setattr(
        sync_services, "provider_for", lambda conn, **kw: build(conn, sleep=sleeps.append, **kw)
    )
    # Every call is refused, and the epochs in the headers have already passed on arrival
    # (Greenhouse rounds them to the second; here they lag the real reset by a whole window).
    sandbox.greenhouse.set_rate_limit(0, legacy_epoch_retry_after=True, legacy_epoch_lag=10)
    try:
        run = sync(alice.organization)
    finally:
        sandbox.greenhouse.set_rate_limit(None, legacy_epoch_retry_after=False)

    assert run.status == "deferred", run.error
    assert "rate limiting us (429 after 5 attempt(s))" in run.error
    assert run.resume_at >= run.finished_at + timedelta(seconds=59)
    assert len(sleeps) == 4 and all(wait >= 1 for wait in sleeps) and sum(sleeps) >= 15
    with tenant_scope(alice.organization):
        assert not SyncCursor.objects.filter(resource="applications").exists()

    assert tasks.poll_due_organizations() == 0  # not before the window it was given
    with tenant_scope(alice.organization):
        SyncRun.objects.filter(pk=run.pk).update(resume_at=timezone.now() - timedelta(seconds=1))
    assert tasks.poll_due_organizations() == 1  # due although the poll interval has not passed

    with tenant_scope(alice.organization):
        follow_up = SyncRun.objects.get(status="running")
        assert follow_up.kind == run.kind
    follow_up = services.sync_execute(sync_run=follow_up)
    assert follow_up.status == "succeeded", follow_up.error
    with tenant_scope(alice.organization):
        assert Application.objects.count() == sandbox_counts(sandbox)["applications"]


def test_sync_history_says_the_sync_is_paused_and_when_it_resumes_when_rate_limited(
    alice, client_for, greenhouse_connection
):
    resume_at = timezone.now() + timedelta(minutes=2)
    with tenant_scope(alice.organization):
        SyncRun.objects.create(
            organization=alice.organization,
            provider="greenhouse",
            kind="incremental",
            status="deferred",
            started_at=timezone.now(),
            finished_at=timezone.now(),
            resume_at=resume_at,
            error="Greenhouse is rate limiting us (429 after 5 attempt(s)).",
        )

    page = client_for(alice).get(reverse("integrations:syncs")).content.decode()
    settings_page = client_for(alice).get(reverse("integrations:index")).content.decode()

    assert "Paused (rate limited)" in page
    assert "Failed" not in page
    assert "It resumes by itself at <time datetime=" in page
    assert "The last sync is paused" in settings_page
    assert "It resumes by itself at" in settings_page


def test_5xx_mid_pagination_fails_keeps_the_cursor_and_next_sync_recovers_when_ats_recovers(
    alice, sandbox, greenhouse_connection
):
    sync(alice.organization)
    with tenant_scope(alice.organization):
        cursor_before = SyncCursor.objects.get(resource="applications").position
    moved = []
    for skip in range(3):
        app, to_stage = active_application(sandbox, skip=skip)
        sandbox.greenhouse.move_application(app["id"], to_stage)
        moved.append(str(app["id"]))
    # The incremental listing is one page: make it (and its retries) fail.
    sandbox.greenhouse.inject_fault("/v1/applications", status=500, count=10)

    failed = sync(alice.organization)

    assert failed.status == "failed"
    assert "Greenhouse" in failed.error and "500" in failed.error
    with tenant_scope(alice.organization):
        assert SyncCursor.objects.get(resource="applications").position == cursor_before
        assert StageTransition.objects.count() == 0
    sandbox.greenhouse.faults.clear()

    recovered = sync(alice.organization)
    again = sync(alice.organization)

    assert recovered.status == again.status == "succeeded"
    with tenant_scope(alice.organization):
        observed = sorted(
            StageTransition.objects.values_list("application__external_id", flat=True)
        )
        assert SyncCursor.objects.get(resource="applications").position > cursor_before
    assert observed == sorted(moved)  # none missed, none twice
    assert again.counts["transitions"] == 0


def test_5xx_on_a_later_page_of_the_first_sync_keeps_committed_pages_when_it_fails(
    alice, sandbox, greenhouse_connection, monkeypatch
):
    monkeypatch.setattr(GreenhouseProvider, "page_size", 10)
    monkeypatch.setattr(HarvestV1Client.iter_pages, "__kwdefaults__", {"per_page": 10})
    # The first sync reads candidates (with their applications): page 1 succeeds, then page
    # 2 fails through every retry.
    original = sandbox.greenhouse.faults.take

    def fail_second_page(path, *args):
        if path.startswith("/v1/candidates") and fail_second_page.seen:
            return {"status": 503, "delay": 0, "count": 1}
        if path.startswith("/v1/candidates"):
            fail_second_page.seen = True
        return original(path, *args)

    fail_second_page.seen = False
    monkeypatch.setattr(sandbox.greenhouse.faults, "take", fail_second_page)

    failed = sync(alice.organization)

    assert failed.status == "failed" and "503" in failed.error
    first_page = sorted(sandbox.greenhouse.co.candidates)[:10]
    with tenant_scope(alice.organization):
        assert Candidate.objects.count() == 10  # the committed page stays
        assert Application.objects.count() == sum(
            len(sandbox.greenhouse.co.candidates[c]["application_ids"]) for c in first_page
        )
        assert not SyncCursor.objects.filter(resource="applications").exists()
    monkeypatch.setattr(sandbox.greenhouse.faults, "take", original)

    recovered = sync(alice.organization)

    assert recovered.status == "succeeded" and recovered.kind == "full"
    with tenant_scope(alice.organization):
        assert Application.objects.count() == sandbox_counts(sandbox)["applications"]
        assert StageTransition.objects.count() == 0


def test_second_sync_is_refused_when_one_is_already_running(alice, greenhouse_connection):
    with tenant_scope(alice.organization):
        first = services.sync_request(organization=alice.organization, enqueue=False)
        with pytest.raises(services.SyncAlreadyRunning, match="already running"):
            services.sync_request(organization=alice.organization, enqueue=False)
        assert SyncRun.objects.filter(status="running").count() == 1
    assert first.status == "running"


def test_concurrent_requests_start_only_one_sync_when_racing(alice, greenhouse_connection):
    """The partial unique constraint, not a read-then-write check, decides."""
    from django.db import IntegrityError

    with tenant_scope(alice.organization):
        SyncRun.objects.create(
            organization=alice.organization,
            provider="greenhouse",
            kind="full",
            started_at=greenhouse_connection.created_at,
            heartbeat_at=None,
        )
        # A row created behind our back (another process) is still found: stale after 10 min.
        SyncRun.objects.update(heartbeat_at=None, started_at=greenhouse_connection.created_at)
        with pytest.raises((services.SyncAlreadyRunning, IntegrityError)):
            services.sync_request(organization=alice.organization, enqueue=False)


def test_stale_running_sync_is_failed_so_a_new_one_can_start_when_its_worker_died(
    alice, greenhouse_connection
):
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - timedelta(minutes=30)
    with tenant_scope(alice.organization):
        dead = SyncRun.objects.create(
            organization=alice.organization,
            provider="greenhouse",
            kind="full",
            started_at=long_ago,
            heartbeat_at=long_ago,
        )
        fresh = services.sync_request(organization=alice.organization, enqueue=False)
        dead.refresh_from_db()
    assert dead.status == "failed" and "stopped responding" in dead.error
    assert fresh.status == "running"


def test_bad_credentials_fail_the_sync_and_flag_the_connection_when_ats_rejects_them(
    alice, greenhouse_connection
):
    with tenant_scope(alice.organization):
        greenhouse_connection.api_key = "not-a-key"
        greenhouse_connection.save()

    run = sync(alice.organization)

    greenhouse_connection.refresh_from_db()
    assert run.status == "failed" and "Harvest key" in run.error
    assert greenhouse_connection.status == ConnectionStatus.ERROR
    assert greenhouse_connection.last_error == run.error


def test_v3_full_sync_mirrors_the_ats_when_the_connection_uses_oauth(
    alice, sandbox, greenhouse_connection
):
    with tenant_scope(alice.organization):
        greenhouse_connection.api_version = "v3"
        greenhouse_connection.client_id = "sandbox-client-id"
        greenhouse_connection.client_secret = "sandbox-client-secret"
        greenhouse_connection.save()

    run = sync(alice.organization)
    app, to_stage = active_application(sandbox)
    sandbox.greenhouse.move_application(app["id"], to_stage)
    second = sync(alice.organization)

    assert run.status == second.status == "succeeded", run.error or second.error
    assert run.counts["applications"] == sandbox_counts(sandbox)["applications"]
    assert second.counts["transitions"] == 1


def test_lever_sync_mirrors_opportunities_and_records_a_stage_change_when_polled(
    alice, sandbox, lever_connection
):
    run = sync(alice.organization)
    lever = sandbox.lever
    opp = next(o for o in lever.opps.values() if not o["archiveReason"] and
               o["confidentiality"] == "non-confidential")  # fmt: skip
    new_stage = next(s["id"] for s in lever.stages if s["id"] != opp["stage"])
    lever.change_stage(opp["id"], new_stage)

    second = sync(alice.organization)

    assert run.status == second.status == "succeeded", run.error or second.error
    assert run.counts["applications"] > 0 and run.counts["transitions"] == 0
    with tenant_scope(alice.organization):
        transition = StageTransition.objects.get()
        assert Stage.objects.filter(job__isnull=True).count() == len(lever.stages)
    assert transition.to_stage.external_id == new_stage
    assert transition.application.external_id == opp["id"]


def test_ats_sync_command_prints_counts_duration_and_calls_when_run(
    alice, greenhouse_connection, capsys
):
    call_command("ats_sync", alice.organization.slug, "--full")

    out = capsys.readouterr().out
    assert "Status: succeeded" in out
    assert "applications" in out and "API calls:" in out and "Duration:" in out


def test_ats_sync_command_reports_the_error_when_the_sync_fails(alice, greenhouse_connection):
    from django.core.management.base import CommandError

    with tenant_scope(alice.organization):
        greenhouse_connection.api_key = "not-a-key"
        greenhouse_connection.save()

    import io

    out = io.StringIO()
    with pytest.raises(CommandError, match="failed"):
        call_command("ats_sync", str(alice.organization.pk), stdout=out)
    assert "Error: Greenhouse rejected" in out.getvalue()


def test_poll_due_organizations_starts_a_sync_when_the_interval_has_passed(
    alice, mallory, greenhouse_connection, django_capture_on_commit_callbacks, monkeypatch
):
    from candidates import tasks

    queued = []
    monkeypatch.setattr(tasks.run_sync, "delay", lambda *a: queued.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        started = tasks.poll_due_organizations()
    with django_capture_on_commit_callbacks(execute=True):
        again = tasks.poll_due_organizations()  # not due: a sync just started

    assert started == 1 and again == 0
    with tenant_scope(alice.organization):
        run = SyncRun.objects.get()
    assert queued == [(alice.organization.pk, run.pk)]


def test_poll_schedule_is_registered_with_beat_when_migrated():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Poll ATS for changes")
    assert task.task == "candidates.tasks.poll_due_organizations"
    assert task.interval.every == 60 and task.interval.period == "seconds"


def test_admin_test_connection_names_missing_permissions_and_hides_secrets_when_run(
    alice, sandbox, greenhouse_connection, client
):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_superuser("staff@platform.test", "staff@platform.test")
    with tenant_scope(alice.organization):
        greenhouse_connection.api_key = "sandbox-harvest-limited"
        greenhouse_connection.save()
    client.force_login(staff)
    url = "/admin/greenhouse/greenhouseconnection/"

    response = client.post(
        url,
        {"action": "test_connection", "_selected_action": [greenhouse_connection.pk]},
        follow=True,
    )
    page = client.get(f"{url}{greenhouse_connection.pk}/change/").content.decode()

    shown = [str(m) for m in response.context["messages"]]
    assert shown == [f"{alice.organization}: missing Applications → GET: List Applications"]
    assert "sandbox-harvest-limited" not in page
    assert greenhouse_connection.webhook_secret not in page


def test_national_numbers_are_read_in_the_right_country_when_synced():
    from candidates.sync.mapping import normalize_mobile_phone, region_hints_from_emails

    uk = normalize_mobile_phone(
        [("07911 123456", "mobile")], region_hints=region_hints_from_emails(["a@example.co.uk"])
    )
    assert uk == "+447911123456"
    # Without hints, a national UK mobile is still read (it is not a valid US number).
    assert normalize_mobile_phone([("07911 123456", "mobile")]) == "+447911123456"
    assert normalize_mobile_phone([("(415) 555-2671", "mobile")]) == "+14155552671"
    assert normalize_mobile_phone([("+49 151 23456789", "mobile")]) == "+4915123456789"
    assert normalize_mobile_phone([("call me maybe", "mobile")]) == ""
