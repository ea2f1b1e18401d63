"""A recruiter clicks Library → Video interview templates in a real browser: creates a template
(introduction, questions with thinking time, answer limit and retakes, expiry, reminder,
reviewers, messages chosen from the Library), reorders a question with the arrows, removes one,
copies the template, sees delete refused while a journey uses it, and sets the retention in
Settings → Video interviews; no console error, no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from interviews import template_services
from interviews.models import VideoTemplate
from journeys import editing
from journeys.models import StepKind
from recruitflow.tenancy import tenant_scope
from tests.e2e.steps import sign_in
from tests.factories import add_member, make_org_with_owner
from tests.interviews.core_helpers import make_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team():
    organization, user, _ = make_org_with_owner(
        name="Northwind Hiring", email="nora@northwind.test", first_name="Nora"
    )
    user.set_password("correct-horse-9")
    user.save()
    reviewer = add_member(organization=organization, email="rui@northwind.test").user
    reviewer.first_name, reviewer.last_name = "Rui", "Costa"
    reviewer.save()
    make_messages(organization)
    return organization, reviewer


def fill_question(page, number: int, text: str, think: str, answer: str, retakes: str) -> None:
    prefix = f"#q{number - 1}"
    page.fill(f"{prefix}_text", text)
    page.fill(f"{prefix}_think_seconds", think)
    page.fill(f"{prefix}_answer_seconds", answer)
    page.fill(f"{prefix}_retakes", retakes)


def question_texts(page) -> list[str]:
    return page.locator("[data-question-row]:not(.blank) textarea").evaluate_all(
        "areas => areas.map(a => a.value)"
    )


def test_recruiter_creates_reorders_copies_a_template_and_cannot_delete_a_used_one(
    live_server, page, csp_violations, team
):
    organization, reviewer = team
    base = live_server.url
    sign_in(page, base, "nora@northwind.test", "Nora")

    page.goto(f"{base}/library/interviews/")
    expect(page.get_by_text("No video interview templates yet")).to_be_visible()
    page.get_by_role("link", name="New video interview template").first.click()
    expect(page.get_by_role("heading", name="New video interview template")).to_be_visible()

    page.get_by_label("Name").fill("Sales screen")
    page.get_by_label("Introduction").fill("Three short questions, about five minutes.")
    page.get_by_label("The link works for (days)").fill("5")
    fill_question(page, 1, "Tell us about yourself.", "30", "90", "1")
    fill_question(page, 2, "Why this role?", "0", "60", "0")
    page.locator("#reviewers").get_by_label("Rui Costa").check()
    page.locator("#message-invitation").get_by_label("E-mail").select_option(
        label="Video Interview Invitation (e-mail)"
    )
    page.locator("#message-reminder").get_by_label("Text message").select_option(
        label="Video Interview Reminder (text)"
    )
    page.get_by_label("Send the reminder after (hours)").fill("24")
    page.locator("#message-completion").get_by_label("E-mail").select_option(
        label="Video Interview Completed (e-mail)"
    )
    page.get_by_role("button", name="Create template").click()

    expect(page.get_by_role("heading", name="Sales screen")).to_be_visible()
    expect(page.locator("#template-status")).to_contain_text("Ready")
    assert question_texts(page) == ["Tell us about yourself.", "Why this role?"]
    expect(page.locator("#q0_think_seconds")).to_have_value("30")
    expect(page.locator("#q0_answer_seconds")).to_have_value("90")
    expect(page.locator("#q0_retakes")).to_have_value("1")
    expect(page.get_by_label("The link works for (days)")).to_have_value("5")
    expect(page.get_by_label("Send the reminder after (hours)")).to_have_value("24")
    expect(page.locator("#reviewers").get_by_label("Rui Costa")).to_be_checked()
    invitation = page.locator("#message-invitation").get_by_label("E-mail")
    expect(invitation.locator("option:checked")).to_have_text("Video Interview Invitation (e-mail)")

    # Move "Why this role?" up, add a third question in the empty row, save: the order on screen.
    page.get_by_role("button", name="Move question 2 up").click()
    assert question_texts(page) == ["Why this role?", "Tell us about yourself."]
    # The arrows are named for the places the questions now have.
    first = page.locator("[data-question-row]").first
    expect(first.locator("[data-question-move='up']")).to_have_attribute(
        "aria-label", "Move question 1 up"
    )
    page.locator("[data-question-row].blank textarea").first.fill("A deal you lost, and why.")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator(".messages")).to_be_visible()
    assert question_texts(page) == [
        "Why this role?",
        "Tell us about yourself.",
        "A deal you lost, and why.",
    ]
    expect(page.locator("#q1_think_seconds")).to_have_value("30")  # moved with its question

    # Remove the middle question.
    page.locator("[data-question-row]").nth(1).get_by_label("Remove").check()
    page.get_by_role("button", name="Save template").click()
    expect(page.locator(".messages")).to_be_visible()
    assert question_texts(page) == ["Why this role?", "A deal you lost, and why."]

    # Copy: the copy opens with the same questions and reviewer.
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("heading", name="Copy of Sales screen")).to_be_visible()
    assert question_texts(page) == ["Why this role?", "A deal you lost, and why."]
    expect(page.locator("#reviewers").get_by_label("Rui Costa")).to_be_checked()

    # A journey uses the original: deleting it is refused, naming the journey.
    with tenant_scope(organization):
        original = VideoTemplate.objects.get(organization=organization, name="Sales screen")
        journey = editing.journey_start(
            organization=organization, name="Sales screening", trigger="entered_stage"
        )
        editing.journey_step_add(
            journey=journey,
            kind=StepKind.SEND_VIDEO_INTERVIEW,
            config={"template_id": original.pk},
        )
    page.goto(f"{base}/library/interviews/{original.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(".messages")).to_contain_text("in Sales screening")
    expect(page.locator(".messages")).to_contain_text("Remove it from those journey steps first.")
    with tenant_scope(organization):
        assert VideoTemplate.objects.filter(pk=original.pk).exists()
        values = template_services.template_values(original)
    assert [q["text"] for q in values["questions"]] == [
        "Why this role?",
        "A deal you lost, and why.",
    ]
    assert values["reviewer_ids"] == [reviewer.pk]
    assert not csp_violations, csp_violations


def test_admin_sets_how_long_recordings_are_kept(
    live_server, page, csp_violations, browser_errors, team
):
    base = live_server.url
    sign_in(page, base, "nora@northwind.test", "Nora")
    page.goto(f"{base}/settings/video-interviews/")
    expect(page.locator("#retention-days")).to_contain_text("default")
    page.get_by_label("Keep recordings for (days)").fill("0")
    page.get_by_role("button", name="Save retention").click()
    expect(page.locator("#retention-form")).to_contain_text("Keep recordings at least 1 day.")
    # The refused form answers 400 (the site's habit for a form with errors): expected here.
    assert [e for e in browser_errors if "status of 400" not in e] == [], browser_errors
    browser_errors.clear()
    page.locator("#retention-form input[name=retention_days]").fill("45")
    page.get_by_role("button", name="Save retention").click()
    expect(page.locator("#retention-days")).to_have_text("45 days")
    page.reload()
    expect(page.locator("#retention-form input[name=retention_days]")).to_have_value("45")
    assert not csp_violations, csp_violations
