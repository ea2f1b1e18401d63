"""A recruiter writes message templates in the Library in a real browser: merge fields from the
picker, a live preview with a real candidate's name, the SMS segment counter, an unknown field
refused with its line, then saved."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from library.models import MessageTemplate
from recruitflow.tenancy import tenant_scope
from tests.e2e.steps import sign_in
from tests.factories import make_org_with_owner
from tests.library.test_templating import make_onsite_candidate

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_recruiter_writes_a_text_with_live_preview_segments_and_errors(
    live_server, page, csp_violations, browser_errors
):
    organization, _, _ = make_org_with_owner(
        name="Northwind Hiring", email="nora@northwind.test", first_name="Nora"
    )
    make_onsite_candidate(organization, first_name="Priya", last_name="Raman")
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, base, "nora@northwind.test", "Nora")

    page.locator(".sidebar").get_by_role("link", name="Library").click()
    expect(page.locator("#library-scheduling-templates")).to_contain_text("0 scheduling templates")
    page.locator("#library-message-templates").get_by_role("link", name="New text message").click()
    expect(page.get_by_role("heading", name="New text message")).to_be_visible()
    # The preview starts with the most recent candidate.
    expect(page.locator("#preview-candidate")).to_contain_text("Priya Raman")

    page.fill("input[name=name]", "Onsite invitation (text)")
    body = page.locator("textarea[name=text_body]")
    body.click()
    body.press_sequentially("Hi ")
    page.locator("#merge-fields").get_by_role("button", name="First name", exact=True).click()
    expect(body).to_have_value("Hi {{ candidate.first_name }}")
    body.press("End")
    body.press_sequentially(", we'd love to see you for the ")
    page.locator("#merge-fields").get_by_role("button", name="Job", exact=True).click()
    body.press_sequentially(" onsite!")

    expect(page.locator("#preview-sms")).to_have_text(
        "Hi Priya, we'd love to see you for the Sales Rep onsite!"
    )
    counter = page.locator("[data-sms-counter]")
    expect(counter).to_contain_text("1 segment")
    expect(counter).to_contain_text("GSM-7")
    expect(page.locator("#preview-segments")).to_contain_text("1 segment · GSM-7 · 56 characters")

    # One emoji makes it UCS-2 (70 characters a segment), live as typed.
    body.press_sequentially(" 🎉")
    expect(counter).to_contain_text("UCS-2")
    expect(counter).to_contain_text("because of “🎉”")
    expect(page.locator("#preview-segments")).to_contain_text("UCS-2 because of “🎉”")

    # An unknown merge field: the preview names it and its line; saving is refused, text kept.
    body.press("Enter")
    body.press_sequentially("{{ candidate.nickname }}")
    problems = page.locator("#preview-problems")
    expect(problems).to_contain_text(
        "Text message, line 2: unknown merge field {{ candidate.nickname }}"
    )
    page.get_by_role("button", name="Create template").click()
    expect(page.locator(".messages")).to_contain_text("Nothing you typed is lost")
    expect(page.locator("#text_body-errors")).to_contain_text(
        "Line 2: unknown merge field {{ candidate.nickname }}"
    )
    expect(page.locator("textarea[name=text_body]")).to_contain_text("{{ candidate.nickname }}")
    with tenant_scope(organization):
        assert not MessageTemplate.objects.exists()

    # Fix it and save.
    page.fill(
        "textarea[name=text_body]",
        "Hi {{ candidate.first_name }}, we'd love to see you for the {{ job.name }} onsite! 🎉",
    )
    expect(page.locator("#preview-problems")).to_have_count(0)
    page.get_by_role("button", name="Create template").click()
    expect(page.locator(".messages")).to_contain_text(
        "Template “Onsite invitation (text)” created."
    )
    # The previews of the broken text and the refused save answered 400 on purpose (the
    # browser logs those); nothing else may have gone wrong.
    expected = [e for e in browser_errors if "status of 400 (Bad Request)" in e]
    assert expected and len(expected) == len(browser_errors), browser_errors
    browser_errors.clear()
    expect(page).to_have_url(re.compile(r"/library/templates/\d+/$"))
    with tenant_scope(organization):
        template = MessageTemplate.objects.get()
    assert template.channel == "sms" and template.text_body.endswith("onsite! 🎉")
    assert csp_violations == []


def test_recruiter_writes_an_email_previewed_in_a_sandboxed_frame(
    live_server, page, csp_violations
):
    organization, _, _ = make_org_with_owner(
        name="Northwind Hiring", email="nora@northwind.test", first_name="Nora"
    )
    make_onsite_candidate(organization, first_name="Priya", last_name="Raman")
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, base, "nora@northwind.test", "Nora")

    page.goto(f"{base}/library/templates/")
    expect(page.locator("#templates-empty")).to_contain_text("No message templates yet")
    page.locator("#templates-empty").get_by_role("link", name="New e-mail").click()
    page.fill("input[name=name]", "Onsite interview invitation")
    page.fill("input[name=subject]", "Your onsite for {{ job.name }}")
    # Inline styles are for the HTML source (the visual editor has no place for them).
    page.get_by_role("button", name="HTML source").click()
    page.fill(
        "#id_html_body",
        '<p class="greeting" style="color: #b91c1c">Hi {{ candidate.first_name }},</p>\n'
        '<p>Please <a href="{{ scheduling_link }}">pick a time</a> with {{ recruiter.name }}.</p>',
    )
    expect(page.locator("#preview-subject")).to_have_text("Your onsite for Sales Rep")
    frame = page.frame_locator("#preview-html")
    expect(frame.locator("body")).to_contain_text("Hi Priya,")
    expect(frame.locator("a")).to_have_text("pick a time")
    # The e-mail's own inline styles apply in the preview (its frame has its own policy).
    expect(frame.locator("p.greeting")).to_have_css("color", "rgb(185, 28, 28)")
    expect(page.locator("#preview-text")).to_contain_text(
        "Please pick a time (https://example.com/schedule/sample) with Morgan Lee."
    )
    # The plain-text part follows the HTML until written by hand.
    text_part = page.locator("textarea[name=text_body]")
    expect(text_part).to_have_value(re.compile(r"pick a time \(\{\{ scheduling_link \}\}\)"))
    expect(text_part).to_have_attribute("readonly", "")

    # Search another candidate for the preview: sample data when none matches.
    page.fill("#preview-candidate-search", "nobody-here")
    expect(page.locator("#preview-for")).to_contain_text("With sample data")
    expect(frame.locator("body")).to_contain_text("Hi Jordan,")

    page.get_by_role("button", name="Create template").click()
    expect(page.locator(".messages")).to_contain_text("created.")
    with tenant_scope(organization):
        template = MessageTemplate.objects.get()
    assert template.text_body.startswith("Hi {{ candidate.first_name }},")
    assert csp_violations == []
