"""A recruiter sends a video interview from the candidate's page ("Send video interview"), sees
it Invited on the page and in the Interviews list with its invitation e-mail queued; then
creates a share link on a completed interview's review page and a signed-out visitor, in a new
browser context, opens it and plays an answer; a personal meeting link on My calendar is refused
without https:// and then saved and shown again; no console error, no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from interviews.models import VideoInterview
from library.models import MessageTemplate
from messaging.models import Direction, Message
from recruitflow.tenancy import tenant_scope
from tests.e2e.steps import sign_in
from tests.e2e.test_interview_review import recordings_dir  # noqa: F401 (fixture)
from tests.e2e.test_video_templates import team  # noqa: F401 (fixture)
from tests.interviews.core_helpers import save_template
from tests.interviews.review_helpers import make_interview, make_template, small_jpeg, small_mp4
from tests.journeys.conftest import build_ats

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_recruiter_sends_a_video_interview_from_the_candidate_page(
    live_server,
    page,
    csp_violations,
    team,  # noqa: F811
):
    organization, _ = team
    with tenant_scope(organization):
        messages = {
            key: MessageTemplate.objects.get(organization=organization, name=name)
            for key, name in (
                ("invitation_email", "Video Interview Invitation (e-mail)"),
                ("completion_email", "Video Interview Completed (e-mail)"),
            )
        }
    save_template(organization, messages=messages, name="Sales screen")
    candidate = build_ats(organization).candidate(
        first_name="Priya", last_name="Raman", email="priya@example.com"
    )
    base = live_server.url
    sign_in(page, base, "nora@northwind.test", "Nora")

    page.goto(f"{base}/candidates/{candidate.pk}/")
    panel = page.locator("#video-interviews")
    expect(panel).to_contain_text("No video interview sent yet.")
    panel.get_by_label("Send a video interview").select_option(label="Sales screen")
    page.once("dialog", lambda dialog: dialog.accept())
    panel.get_by_role("button", name="Send video interview").click()

    expect(page.locator(".messages")).to_contain_text(
        "Video interview “Sales screen” sent to Priya Raman. The link works for 7 days."
    )
    row = page.locator("#video-interviews li[data-interview]")
    expect(row).to_contain_text("Sales screen")
    expect(row).to_contain_text("Invited")

    page.locator(".sidebar").get_by_role("link", name="Interviews").click()
    with tenant_scope(organization):
        interview = VideoInterview.objects.get(candidate=candidate)
        sent = list(
            Message.objects.filter(candidate=candidate, direction=Direction.OUTBOUND).values_list(
                "subject", flat=True
            )
        )
    listed = page.locator(f'tr[data-interview="{interview.pk}"]')
    expect(listed).to_contain_text("Priya Raman")
    expect(listed).to_contain_text("Invited")
    assert len(sent) == 1 and sent[0].startswith("Your video interview"), sent
    assert not csp_violations, csp_violations


def test_a_share_link_plays_for_a_signed_out_hiring_manager(
    live_server,
    page,
    browser,
    settings,
    csp_violations,
    team,  # noqa: F811
    recordings_dir,  # noqa: F811
):
    settings.PUBLIC_BASE_URL = live_server.url  # the links the site writes point at it
    organization, _ = team
    ats = build_ats(organization)
    candidate = ats.candidate(first_name="Priya", last_name="Raman", email="priya@example.com")
    interview = make_interview(
        organization,
        template=make_template(organization, "Sales screen"),
        candidate=candidate,
        job=ats.jobs["Sales Rep"],
        video=small_mp4(),
        poster=small_jpeg(),
    )
    base = live_server.url
    sign_in(page, base, "nora@northwind.test", "Nora")
    page.goto(f"{base}/interviews/{interview.pk}/")
    page.locator("#share-form").get_by_label("Link works for").select_option(label="3 days")
    page.get_by_role("button", name="Create share link").click()
    expect(page.locator("#share-created")).to_contain_text("Share link created")
    url = page.locator("#share-url").input_value()
    assert "/interviews/shared/" in url

    visitor = browser.new_context()
    errors: list[str] = []
    try:
        tab = visitor.new_page()
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.goto(url)
        expect(tab.get_by_role("heading", name="Priya Raman")).to_be_visible()
        video = tab.locator("video[data-review-video]").first
        video.evaluate("v => { v.muted = true; return v.play(); }")
        tab.wait_for_function(
            "() => document.querySelector('video[data-review-video]').currentTime > 0.3",
            timeout=15_000,
        )
        assert video.evaluate("v => v.videoWidth") == 320
    finally:
        visitor.close()
    assert not errors, errors
    assert not csp_violations, csp_violations


def test_recruiter_sets_a_personal_meeting_link_on_my_calendar(
    live_server,
    page,
    csp_violations,
    browser_errors,
    team,  # noqa: F811
):
    base = live_server.url
    sign_in(page, base, "nora@northwind.test", "Nora")
    page.goto(f"{base}/schedule/calendar/")
    card = page.locator("#meeting-link")
    card.get_by_label("Your personal meeting link").fill("meet.example.com/nora")
    card.get_by_role("button", name="Save meeting link").click()
    expect(page.locator("#meeting-link .errors").first).to_contain_text(
        "Enter the full meeting address starting with https://"
    )
    # The refused form answers 400 (the site's habit for a form with errors): expected here.
    assert [e for e in browser_errors if "status of 400" not in e] == [], browser_errors
    browser_errors.clear()
    card = page.locator("#meeting-link")
    card.get_by_label("Your personal meeting link").fill("https://meet.example.com/nora")
    card.get_by_role("button", name="Save meeting link").click()
    page.goto(f"{base}/schedule/calendar/")
    expect(page.locator("#meeting-link").get_by_label("Your personal meeting link")).to_have_value(
        "https://meet.example.com/nora"
    )
    assert not csp_violations, csp_violations
