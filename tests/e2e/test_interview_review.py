"""A reviewer reviews a completed video interview in a real browser: opens it from the Interviews
page, plays an answer (a real 2-second H.264/AAC MP4 streamed through the signed playback URL
with byte ranges), changes the playback speed, rates each answer, recommends, submits, and sees
the interview reviewed with the team's scores; no console error, no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from interviews.models import InterviewStatus, Review, VideoInterview
from recruitflow.tenancy import tenant_scope
from tests.factories import make_org_with_owner
from tests.interviews.review_helpers import (
    make_interview,
    make_template,
    small_jpeg,
    small_mp4,
)
from tests.journeys.conftest import build_ats

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def recordings_dir(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "recordings"), "base_url": None},
        },
    }
    return tmp_path


def test_a_reviewer_plays_an_answer_changes_speed_rates_and_submits(
    live_server, page, csp_violations, browser_errors, recordings_dir
):
    organization, user, _ = make_org_with_owner(
        name="Northwind Hiring", email="nora@northwind.test", first_name="Nora"
    )
    user.set_password("correct-horse-9")
    user.save()
    ats = build_ats(organization)
    candidate = ats.candidate(first_name="Priya", last_name="Raman", email="priya@example.com")
    interview = make_interview(
        organization,
        template=make_template(organization, "Sales screen", reviewers=[user]),
        candidate=candidate,
        job=ats.jobs["Sales Rep"],
        video=small_mp4(),
        poster=small_jpeg(),
    )
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "nora@northwind.test")
    page.fill("input[name=password]", "correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Nora")).to_be_visible()

    page.locator(".sidebar").get_by_role("link", name="Interviews").click()
    row = page.locator(f'tr[data-interview="{interview.pk}"]')
    expect(row).to_contain_text("Sales screen")
    expect(row).to_contain_text("Completed")
    row.get_by_role("link", name="Priya Raman").click()
    expect(page.get_by_role("heading", name="Priya Raman")).to_be_visible()

    videos = page.locator("video[data-review-video]")
    expect(videos).to_have_count(3)
    first = videos.first
    # The speed buttons are a user gesture: the page may then start playback with sound.
    page.locator("[data-speed-control]").get_by_role("button", name="1×", exact=True).click()
    first.scroll_into_view_if_needed()
    first.evaluate("video => video.play()")
    page.wait_for_function(
        "() => document.querySelector('video[data-review-video]').currentTime > 0.3",
        timeout=15_000,
    )
    assert first.evaluate("video => video.videoWidth") == 320  # the real rendition, decoded

    # Faster: every answer plays at 1.5×, the button says so, and the choice is remembered.
    speed = page.locator("[data-speed-control]").get_by_role("button", name="1.5×")
    speed.click()
    expect(speed).to_have_attribute("aria-pressed", "true")
    assert videos.evaluate_all("vs => vs.map(v => v.playbackRate)") == [1.5, 1.5, 1.5]
    before = first.evaluate("video => video.currentTime")
    page.wait_for_function(
        f"() => document.querySelector('video[data-review-video]').currentTime > {before} "
        "|| document.querySelector('video[data-review-video]').ended",
        timeout=15_000,
    )
    first.evaluate("video => video.pause()")
    page.reload()
    expect(
        page.locator("[data-speed-control]").get_by_role("button", name="1.5×")
    ).to_have_attribute("aria-pressed", "true")
    assert (
        page.locator("video[data-review-video]").first.evaluate(
            "video => video.defaultPlaybackRate"
        )
        == 1.5
    )

    # Rate every answer, recommend and submit.
    for number, rating in ((1, "4 · Good"), (2, "5 · Excellent"), (3, "3 · Acceptable")):
        card = page.locator(f'[data-answer="{number}"]')
        card.get_by_label(rating).check()
    page.locator('[data-answer="1"] textarea').fill("Concrete numbers, clear story.")
    page.get_by_label("Overall recommendation").select_option("strong_yes")
    page.get_by_label("Overall notes").fill("Move to onsite.")
    page.get_by_role("button", name="Submit my review").click()

    expect(page.locator(".messages")).to_contain_text("Your review is saved.")
    expect(page.locator("#interview-status")).to_have_text("Reviewed")
    expect(page.locator("#team-reviews")).to_contain_text("Average 4.0/5 from 1 reviewer")
    expect(page.locator("#team-reviews")).to_contain_text("Strong yes")
    expect(page.get_by_role("button", name="Update my review")).to_be_visible()

    with tenant_scope(organization):
        assert VideoInterview.objects.get(pk=interview.pk).status == InterviewStatus.REVIEWED
        review = Review.objects.get(interview=interview)
        assert [r.rating for r in review.ratings.all()] == [4, 5, 3]
        assert review.ratings.get(question_index=0).note == "Concrete numbers, clear story."
    assert not csp_violations, csp_violations
