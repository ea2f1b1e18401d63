"""An admin connects the sandbox Greenhouse in a real browser, runs the first sync, and sees a
stage change made in the ATS on the candidate's timeline: by webhook within seconds, and by the
regular sync when webhooks are off."""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from integrations.sandbox.server import SandboxServer
from tests.factories import make_org_with_owner

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0, n_candidates=30) as server:
        yield server


@pytest.fixture(autouse=True)
def celery_runs_in_process(settings):
    """Celery work (the sync, webhook processing) runs eagerly inside the web request here, so
    the browser sees its outcome. The real-worker path (queue, worker, on-commit enqueue) is
    covered by the backend tests of the sync engine."""
    from recruitflow.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def _sandbox_api(sandbox, path: str) -> str:
    return f"{sandbox.url}/greenhouse/_sandbox/api/{path}"


def _active_application(sandbox, *, skip: int = 0) -> tuple[dict, dict, dict]:
    """(candidate, application, target stage) for an active application in the sandbox."""
    jobs = {j["id"]: j for j in requests.get(_sandbox_api(sandbox, "jobs"), timeout=5).json()}
    items = requests.get(
        _sandbox_api(sandbox, "candidates"), params={"status": "active", "per_page": 50}, timeout=5
    ).json()["items"]
    found = []
    for candidate in items:
        if not candidate["email"]:
            continue
        for application in candidate["applications"]:
            stages = jobs[application["job_id"]]["stages"]
            others = [s for s in stages if s["id"] != application["stage_id"]]
            if application["status"] == "active" and others:
                found.append((candidate, application, others[-1]))
    return found[skip]


def _wait_for_delivery(sandbox, action: str, seconds: float = 10) -> dict:
    """The sandbox's delivery of `action`, once it has been answered. Waiting for it also keeps
    the browser from racing the webhook request: the live server shares one in-memory SQLite
    connection between its threads."""
    deadline = time.monotonic() + seconds
    entry: dict = {}
    while time.monotonic() < deadline:
        deliveries = requests.get(_sandbox_api(sandbox, "deliveries"), timeout=5).json()
        matching = [d for d in deliveries if d.get("action") == action]
        entry = matching[-1] if matching else {}
        if entry.get("status") in ("delivered", "failed"):
            return entry
        time.sleep(0.2)
    return entry


def _open_timeline(page, base: str, email: str):
    page.goto(f"{base}/candidates/?q={email}")
    page.locator("table#candidates a").first.click()
    return page.locator("#timeline")


def _wait_for_timeline(page, timeline, text: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while text not in timeline.inner_text() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    expect(timeline).to_contain_text(text)


def test_admin_connects_greenhouse_syncs_and_sees_moves_by_webhook_and_by_poll(
    live_server, page, csp_violations, sandbox, settings
):
    settings.SANDBOX_URL = sandbox.url
    settings.PUBLIC_BASE_URL = live_server.url
    make_org_with_owner(name="Northwind Hiring", email="admin@northwind.test", first_name="Nora")
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "admin@northwind.test")
    page.fill("input[name=password]", "correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Nora")).to_be_visible()

    # Settings → Integrations: connect the sandbox Greenhouse with credentials.
    page.get_by_role("link", name="Settings").click()
    page.locator(".tabs").get_by_role("link", name="Integrations").click()
    expect(page.locator("#greenhouse")).to_contain_text("Not connected")
    page.get_by_role("button", name="Use the sandbox").click()
    expect(page.locator("#greenhouse_base_url")).to_have_value(f"{sandbox.url}/greenhouse")
    expect(page.locator("#greenhouse-form input[name=api_key]")).to_be_hidden()  # v3 chosen
    page.get_by_role("button", name="Connect Greenhouse").click()

    # The permission check passes, item by item, with Greenhouse's own labels.
    expect(page.get_by_text("Greenhouse is connected")).to_be_visible()
    result = page.locator("#greenhouse-test-result")
    expect(result).to_contain_text("Every permission RecruitFlow needs is granted")
    expect(result).to_contain_text("Candidates → GET: List Candidates")
    assert result.locator("li.missing").count() == 0
    expect(page.locator("[data-connection-status]").first).to_have_text("Connected")
    secret_field = page.locator("#greenhouse-form input[name=client_secret]")
    assert secret_field.input_value() == ""  # a stored secret is never sent back

    # First full sync: the progress bar reaches done.
    page.locator("#sync-panel").get_by_role("button", name="Full resync").click()
    progress = page.locator("#sync-progress")
    expect(progress).to_have_attribute("data-status", "succeeded", timeout=30000)
    expect(progress).to_contain_text("Done")
    expect(progress).to_contain_text("100%")
    expect(page.locator("#sync-runs")).to_contain_text("Succeeded")
    page.get_by_role("link", name="Candidates").first.click()
    expect(page.locator("#candidate-counts")).to_contain_text(re.compile(r"\d+ candidates"))
    # The filters apply on change through the page's script, which runs once the page has
    # loaded (on a busy machine the list can be drawn before it has).
    page.wait_for_load_state("load")
    # Choosing a job narrows the list and offers that job's stages.
    job_select = page.locator("#f-job")
    job_id = job_select.locator("option").nth(1).get_attribute("value")
    job_select.select_option(job_id)
    expect(page).to_have_url(re.compile(rf"job={job_id}"))
    expect(page.locator("#f-stage option").first).to_have_text("All stages of this job")

    # Webhooks: paste our URL and secret into the (sandbox) ATS.
    page.goto(f"{base}/settings/integrations/")
    webhook_url = page.locator("#greenhouse-webhook-url").inner_text().strip()
    webhook_secret = page.locator("#greenhouse-webhook-secret").inner_text().strip()
    assert webhook_url.startswith(f"{base}/webhooks/greenhouse/")
    hook = requests.post(
        _sandbox_api(sandbox, "webhook"),
        json={"url": webhook_url, "secret": webhook_secret, "enabled": True},
        timeout=10,
    ).json()
    assert hook["enabled"], hook  # our endpoint answered Greenhouse's ping
    page.reload()
    expect(page.locator("#greenhouse-webhooks")).to_contain_text("ping")

    # A recruiter moves a candidate on the sandbox Greenhouse screen...
    candidate, application, target = _active_application(sandbox)
    page.goto(f"{sandbox.url}/greenhouse/_sandbox/?q={candidate['email']}")
    row = page.locator("tr", has=page.locator(f"input[value='{application['id']}']")).first
    row.locator("select[name=stage_id]").select_option(str(target["id"]))
    moved_at = time.monotonic()
    row.get_by_role("button", name="Move").click()
    # ...Greenhouse delivers the webhook within seconds...
    delivery = _wait_for_delivery(sandbox, "candidate_stage_change")
    assert delivery["status"] == "delivered", delivery
    assert time.monotonic() - moved_at < 5
    # ...and the move is on the candidate's timeline, by webhook.
    timeline = _open_timeline(page, base, candidate["email"])
    _wait_for_timeline(
        page,
        timeline,
        f"Moved from {application['stage_name']} to {target['name']} · "
        f"{application['job_name']} · via webhook",
    )
    expect(timeline).to_contain_text("UTC")  # the organization's time zone

    # Webhooks off: a move is picked up by the next sync (the poll).
    requests.post(
        _sandbox_api(sandbox, "webhook"), json={"url": None, "enabled": False}, timeout=10
    )
    candidate, application, target = _active_application(sandbox, skip=1)
    moved = requests.post(
        _sandbox_api(sandbox, f"applications/{application['id']}/move"),
        json={"stage_id": target["id"]},
        timeout=10,
    )
    assert moved.status_code == 200
    line = f"Moved from {application['stage_name']} to {target['name']}"
    timeline = _open_timeline(page, base, candidate["email"])
    expect(timeline).not_to_contain_text(line)
    page.goto(f"{base}/settings/integrations/syncs/")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#sync-runs tbody tr").first).to_contain_text("Incremental")
    expect(page.locator("#sync-progress")).to_have_attribute("data-status", "succeeded")
    timeline = _open_timeline(page, base, candidate["email"])
    expect(timeline).to_contain_text(f"{line} · {application['job_name']} · via sync")

    assert csp_violations == []
