"""The journey builder in a real browser: a live journey's steps are dragged by their handle
into a new order, with a mouse and with a finger on a touch screen (saved: still so after a
reload), a step edit makes a draft ("Draft — not live") while the live
version keeps running, Publish shows what changes in words and makes it live; the candidate's
timeline shows a run as one entry that expands on a click."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from candidates.models import TimelineEvent
from journeys import editing, services
from journeys.models import JourneyRun, JourneyStep
from journeys.timeline_kinds import JOURNEY_COMPLETED, JOURNEY_ENTERED, JOURNEY_SENT
from recruitflow.tenancy import tenant_scope
from tests.e2e.steps import sign_in
from tests.factories import make_org_with_owner
from tests.journeys.test_builder import Hiring

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-9"


def _live_journey(organization, hiring):
    """Onsite invitation: text, wait a day, e-mail; published and active."""
    journey = services.journey_create(organization=organization, name="Onsite invitation")
    version = journey.current_version
    editing.journey_trigger_update(
        journey=journey,
        trigger="entered_stage",
        exit_rules=version.exit_rules,
        stage_names=["Onsite Interview"],
        job_ids=[hiring.sales_rep.pk],
    )
    editing.journey_step_add(journey=journey, kind="send_sms", message_template=hiring.sms)
    editing.journey_step_add(journey=journey, kind="wait")
    editing.journey_step_add(journey=journey, kind="send_email", message_template=hiring.email)
    return services.journey_activate(journey=journey)


@pytest.fixture
def northwind(db):
    """Rita's organization with the live "Onsite invitation" journey: (organization, hiring,
    journey)."""
    organization, _, _ = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    with tenant_scope(organization):
        hiring = Hiring(organization)
        return organization, hiring, _live_journey(organization, hiring)


def _run_with_events(organization, hiring, journey):
    candidate, application = hiring.candidate("Priya", "Natarajan")
    transition = hiring.moved(application)
    journey.refresh_from_db()
    run = JourneyRun.objects.create(
        organization=organization,
        journey=journey,
        version=journey.current_version,
        transition=transition,
        application=application,
        candidate=candidate,
        started_at=timezone.now(),
        status="completed",
    )
    data = {"journey_id": journey.pk, "journey": journey.name, "run_id": run.pk}
    for kind, summary in [
        (JOURNEY_ENTERED, "Entered journey “Onsite invitation”"),
        (JOURNEY_SENT, "Journey “Onsite invitation”, step 1: text sent"),
        (JOURNEY_SENT, "Journey “Onsite invitation”, step 3: e-mail sent"),
        (JOURNEY_COMPLETED, "Finished journey “Onsite invitation”"),
    ]:
        TimelineEvent.objects.create(
            organization=organization,
            candidate=candidate,
            kind=kind,
            summary=summary,
            data=data,
            occurred_at=timezone.now(),
        )
    return candidate


def _summaries(page) -> list[str]:
    return [s.strip() for s in page.locator("#step-list .step-summary").all_inner_texts()]


def test_drag_a_step_edit_into_a_draft_publish_it_and_see_a_run_grouped_on_the_timeline(
    live_server, page, csp_violations, one_request_at_a_time, northwind
):
    organization, hiring, journey = northwind
    with tenant_scope(organization):
        candidate = _run_with_events(organization, hiring, journey)
        live_version = journey.current_version_id
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, base, "rita@northwind.test", "Rita")

    # --- The builder: a flow of cards, the trigger in one sentence ---------------------------
    page.goto(f"{base}/journeys/{journey.pk}/")
    expect(page.locator("#trigger-sentence")).to_have_text(
        "When a candidate enters Onsite Interview on Sales Rep"
    )
    expect(page.locator("#sample-note")).to_contain_text("Samples use Priya Natarajan's data")
    expect(page.locator("#draft-label")).to_have_count(0)
    assert _summaries(page) == [
        "Send text message “Onsite invitation (text)”",
        "Wait 1 day",
        "Send e-mail “Onsite details (e-mail)”",
    ]

    # --- Drag the e-mail above the text by its handle, with the mouse: saved, still so after a
    # reload ------------------------------------------------------------------------------------
    steps = page.locator("#step-list > li.step")
    steps.nth(2).locator(".drag-handle").drag_to(steps.nth(0), target_position={"x": 40, "y": 5})
    expect(page.locator("#draft-label")).to_have_text("Draft — not live")
    expect(page.locator("#step-list .step-summary").first).to_have_text(
        "Send e-mail “Onsite details (e-mail)”"
    )
    page.reload()
    assert _summaries(page) == [
        "Send e-mail “Onsite details (e-mail)”",
        "Send text message “Onsite invitation (text)”",
        "Wait 1 day",
    ]
    expect(page.locator("#draft-banner")).to_contain_text("version 1 keeps running")

    # --- Click a card to edit it in place: the wait becomes two days --------------------------
    page.locator("#step-list > li.step").nth(2).locator(".step-summary").click()
    wait_step = page.locator("#step-list > li.step.editing")
    wait_step.get_by_label("Days").fill("2")
    wait_step.get_by_role("button", name="Save step").click()
    expect(page.locator("#step-list .step-summary").nth(2)).to_have_text("Wait 2 days")
    expect(page.locator("#draft-label")).to_contain_text("Draft")
    with tenant_scope(organization):
        journey.refresh_from_db()
        assert journey.current_version_id == live_version  # still the live one
        assert [s.kind for s in JourneyStep.objects.filter(version_id=live_version)] == [
            "send_sms",
            "wait",
            "send_email",
        ]

    # --- Publish: what changes, in words; then it is live ------------------------------------
    page.get_by_role("button", name="Publish").click()
    diff = page.locator("#publish-diff")
    expect(diff).to_contain_text(
        "Moves “Send e-mail “Onsite details (e-mail)”” from step 3 to step 1."
    )
    expect(diff).to_contain_text("Step 3 changes from “Wait 1 day” to “Wait 2 days”.")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".messages")).to_contain_text("Published: “Onsite invitation” is live.")
    expect(page.locator("#journey-status")).to_have_text("Active")
    expect(page.locator("#draft-label")).to_have_count(0)
    with tenant_scope(organization):
        journey.refresh_from_db()
        assert journey.draft_version_id is None
        assert journey.current_version_id != live_version

    # --- The candidate's timeline: the run is one entry that expands -------------------------
    page.goto(f"{base}/candidates/{candidate.pk}/")
    run_entry = page.locator("#timeline li.timeline-run")
    expect(run_entry).to_have_count(1)
    expect(run_entry).to_contain_text("Journey “Onsite invitation”")
    expect(run_entry).to_contain_text("4 events")
    inner = run_entry.locator("details ol.timeline li.timeline-entry")
    expect(inner.first).to_be_hidden()
    run_entry.locator("summary").click()
    expect(inner).to_have_count(4)
    expect(inner.nth(3)).to_be_visible()
    expect(inner.nth(3)).to_contain_text("Entered journey “Onsite invitation”")

    assert csp_violations == []


def _touch_drag(page, handle, target, fraction: float) -> None:
    """A finger presses ``handle``, slides to ``fraction`` of the height of ``target`` and
    lifts: real touch input (Chromium turns it into pointer events of type "touch")."""
    start, end = handle.bounding_box(), target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    to_y = end["y"] + end["height"] * fraction
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for n in range(1, 9):
        point = {"x": x, "y": y + (to_y - y) * n / 8}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_a_finger_drags_a_step_on_a_touch_screen_and_the_draft_shows_it(
    live_server, page, browser, browser_errors, one_request_at_a_time, northwind
):
    organization, _, journey = northwind
    base = live_server.url
    context = browser.new_context(has_touch=True, viewport={"width": 412, "height": 900})
    phone = context.new_page()
    phone.on("pageerror", lambda exc: browser_errors.append(f"{phone.url}: {exc}"))
    phone.on(
        "console",
        lambda message: (
            browser_errors.append(f"{phone.url}: {message.text}")
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        sign_in(phone, base, "rita@northwind.test", "Rita")
        phone.goto(f"{base}/journeys/{journey.pk}/")
        steps = phone.locator("#step-list > li.step")
        steps.first.scroll_into_view_if_needed()
        # The text message (step 1) goes below the wait (step 2).
        _touch_drag(phone, steps.nth(0).locator(".drag-handle"), steps.nth(1), 0.8)
        expect(phone.locator("#draft-label")).to_have_text("Draft — not live")
        expect(phone.locator("#step-list .step-summary").first).to_have_text("Wait 1 day")
        phone.reload()
        assert _summaries(phone) == [
            "Wait 1 day",
            "Send text message “Onsite invitation (text)”",
            "Send e-mail “Onsite details (e-mail)”",
        ]
        expect(phone.locator("#draft-banner")).to_contain_text("version 1 keeps running")
    finally:
        context.close()
    with tenant_scope(organization):
        journey.refresh_from_db()
        live = [s.kind for s in JourneyStep.objects.filter(version=journey.current_version)]
        draft = [s.kind for s in JourneyStep.objects.filter(version=journey.draft_version)]
    assert live == ["send_sms", "wait", "send_email"]  # the live version is untouched
    assert draft == ["wait", "send_sms", "send_email"]


def test_discarding_a_draft_brings_back_the_live_steps(
    live_server, page, csp_violations, one_request_at_a_time, northwind
):
    organization, _, journey = northwind
    live_version = journey.current_version_id
    base = live_server.url
    confirms: list[str] = []

    def answer(dialog):
        confirms.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    sign_in(page, base, "rita@northwind.test", "Rita")
    page.goto(f"{base}/journeys/{journey.pk}/")

    # An edit to the live journey goes to a draft: the wait becomes three days.
    page.locator("#step-list > li.step").nth(1).locator(".step-summary").click()
    wait_step = page.locator("#step-list > li.step.editing")
    wait_step.get_by_label("Days").fill("3")
    wait_step.get_by_role("button", name="Save step").click()
    expect(page.locator("#step-list .step-summary").nth(1)).to_have_text("Wait 3 days")
    expect(page.locator("#draft-label")).to_contain_text("Draft")

    # Discard it: asked first, then the builder shows the live steps again.
    page.get_by_role("button", name="Discard draft").click()
    expect(page.locator(".messages")).to_contain_text(
        "Draft discarded: the builder shows the live version again."
    )
    assert confirms == [
        "Discard the draft? Its changes are lost and the live version stays as it is."
    ]
    expect(page.locator("#draft-label")).to_have_count(0)
    assert _summaries(page) == [
        "Send text message “Onsite invitation (text)”",
        "Wait 1 day",
        "Send e-mail “Onsite details (e-mail)”",
    ]
    expect(page.locator("#journey-status")).to_have_text("Active")
    with tenant_scope(organization):
        journey.refresh_from_db()
        assert journey.draft_version_id is None
        assert journey.current_version_id == live_version

    assert csp_violations == []
