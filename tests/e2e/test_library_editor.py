"""A recruiter writes an e-mail template in the Library's visual editor in a real browser: bold
text, a merge field inserted from the picker as a chip, a checked link, a list; saved, reloaded
as it was, the HTML source showing the real {{ … }} code; the list shows the e-mail rendered
with sample values. A body the editor can't hold opens as HTML source with the reason."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from library import services
from library.models import MessageTemplate
from recruitflow.tenancy import tenant_scope
from tests.e2e.steps import sign_in
from tests.factories import make_org_with_owner
from tests.library.test_templating import make_onsite_candidate

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_recruiter_writes_bold_text_and_a_merge_field_chip_that_survive_a_reload(
    live_server, page, csp_violations
):
    organization, _, _ = make_org_with_owner(
        name="Northwind Hiring", email="nora@northwind.test", first_name="Nora"
    )
    make_onsite_candidate(organization, first_name="Priya", last_name="Raman")
    base = live_server.url
    sign_in(page, base, "nora@northwind.test", "Nora")

    page.goto(f"{base}/library/templates/")
    page.locator("#templates-empty").get_by_role("link", name="New e-mail").click()
    page.fill("input[name=name]", "Onsite news")
    page.fill("input[name=subject]", "News for {{ candidate.first_name }}")

    # The body opens in the visual editor; the HTML source is one click away.
    body = page.get_by_role("textbox", name="HTML body")
    expect(body).to_be_visible()
    expect(page.locator("#id_html_body")).to_be_hidden()
    toolbar = page.get_by_role("toolbar", name="Formatting")
    body.click()
    body.press_sequentially("Hello ")
    toolbar.locator("[data-command=bold]").click()
    expect(toolbar.locator("[data-command=bold]")).to_have_attribute("aria-pressed", "true")
    body.press_sequentially("big news")
    toolbar.locator("[data-command=bold]").click()
    body.press_sequentially(" for ")
    page.locator("#merge-fields").get_by_role("button", name="First name", exact=True).click()
    body.press_sequentially("!")
    chip = body.locator(".merge-field-chip")
    expect(chip).to_have_text("First name")

    # A link is checked before it is set: a bare domain gets https://, nonsense is refused.
    body.press("Enter")
    body.press_sequentially("See the team")
    for _ in "the team":
        body.press("Shift+ArrowLeft")
    toolbar.locator("[data-command=link]").click()
    page.fill("#link-address", "not a link")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("[data-link-error]")).to_contain_text(
        "isn't an address a candidate can open"
    )
    page.fill("#link-address", "example.com/team")
    page.get_by_role("button", name="Apply").click()
    expect(body.locator("a")).to_have_attribute("href", "https://example.com/team")

    # A numbered list.
    body.press("End")
    body.press("Enter")
    toolbar.locator("[data-command=orderedList]").click()
    body.press_sequentially("Bring your ID")

    # The preview renders the chip with the chosen candidate's name.
    frame = page.frame_locator("#preview-html")
    expect(frame.locator("strong")).to_have_text("big news")
    expect(frame.locator("body")).to_contain_text("Hello big news for Priya!")
    expect(frame.locator("ol li")).to_have_text("Bring your ID")

    page.get_by_role("button", name="Create template").click()
    expect(page.locator(".messages")).to_contain_text("Template “Onsite news” created.")
    with tenant_scope(organization):
        template = MessageTemplate.objects.get()
    assert template.html_body == (
        "<p>Hello <strong>big news</strong> for {{ candidate.first_name }}!</p>\n"
        '<p>See <a href="https://example.com/team">the team</a></p>\n'
        "<ol><li>Bring your ID</li></ol>"
    )

    # Reloaded: the bold text and the chip are back in the editor.
    page.reload()
    body = page.get_by_role("textbox", name="HTML body")
    expect(body.locator("strong")).to_have_text("big news")
    expect(body.locator('.merge-field-chip[data-merge-field="candidate.first_name"]')).to_have_text(
        "First name"
    )

    # The HTML source shows the template code; back to the visual editor, nothing changed.
    page.get_by_role("button", name="HTML source").click()
    source = page.locator("#id_html_body")
    expect(source).to_be_visible()
    expect(source).to_have_value(template.html_body)
    expect(page.get_by_role("button", name="HTML source")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="HTML source").click()
    expect(body.locator(".merge-field-chip")).to_have_count(1)
    expect(body.locator("ol li")).to_have_text("Bring your ID")

    # The list shows the e-mail rendered with sample values, not its code.
    page.goto(f"{base}/library/templates/")
    row = page.locator("#message-templates tbody tr", has_text="Onsite news")
    expect(row.locator("[data-template-preview]")).to_contain_text("News for Jordan")
    expect(row.locator("[data-template-preview]")).to_contain_text("Hello big news for Jordan!")
    expect(row.locator("[data-template-preview]")).not_to_contain_text("{{")
    assert csp_violations == []


def test_body_the_editor_cannot_hold_opens_as_html_source_saying_why(
    live_server, page, csp_violations
):
    organization, user, _ = make_org_with_owner(
        name="Northwind Hiring", email="nora@northwind.test", first_name="Nora"
    )
    conditional = (
        '{% if stage.name == "Onsite Interview" %}'
        '<p style="color: #b91c1c">See you onsite, {{ candidate.first_name }}.</p>{% endif %}'
    )
    with tenant_scope(organization):
        template = services.message_template_save(
            organization=organization,
            actor=user,
            name="Onsite reminder",
            channel="email",
            subject="Your onsite",
            html_body=conditional,
        )
    base = live_server.url
    sign_in(page, base, "nora@northwind.test", "Nora")

    page.goto(f"{base}/library/templates/{template.pk}/")
    note = page.locator("#visual-note")
    expect(note).to_contain_text("{% … %} blocks such as {% if %}")
    expect(note).to_contain_text("style on <p>")
    expect(page.locator("#id_html_body")).to_have_value(conditional)
    expect(page.locator(".rich-editor-content")).to_be_hidden()
    toggle = page.get_by_role("button", name="HTML source")
    expect(toggle).to_have_attribute("aria-pressed", "true")

    # Asking for the visual editor keeps the source and says why.
    toggle.click()
    expect(note).to_contain_text("so it stays in HTML source")
    expect(page.locator("#id_html_body")).to_have_value(conditional)

    # Without the condition and the style the visual editor takes it, the field as a chip.
    page.fill("#id_html_body", "<p>See you onsite, {{ candidate.first_name }}.</p>")
    toggle.click()
    expect(note).to_be_hidden()
    expect(page.locator("#id_html_body")).to_be_hidden()
    body = page.locator(".rich-editor-content")
    expect(body.locator(".merge-field-chip")).to_have_text("First name")

    # Pasted from Google Docs: its all-bold wrapper and inline styles go (their meaning stays),
    # and a pasted {{ field }} becomes a chip; no style is ever parsed under the page's CSP.
    body.click()
    body.press("Control+End")
    page.evaluate(
        """(html) => {
          const data = new DataTransfer();
          data.setData("text/html", html);
          data.setData("text/plain", "Bring your ID to the office");
          document.querySelector(".rich-editor-content").dispatchEvent(
            new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true})
          );
        }""",
        '<meta charset="utf-8"><b style="font-weight:normal;" id="docs-internal-guid-5e1f">'
        '<p dir="ltr"><span style="font-weight:700;color:#000">Bring</span>'
        '<span style="font-weight:400"> your ID to {{ office.name }}</span></p></b>',
    )
    expect(body.locator("strong")).to_have_text("Bring")
    expect(body.locator('.merge-field-chip[data-merge-field="office.name"]')).to_have_text("Office")
    page.get_by_role("button", name="Save template").click()
    expect(page.locator(".messages")).to_contain_text("saved.")
    with tenant_scope(organization):
        template.refresh_from_db()
    assert template.html_body.startswith("<p>See you onsite, {{ candidate.first_name }}.")
    assert "<strong>Bring</strong> your ID to {{ office.name }}</p>" in template.html_body
    assert "style" not in template.html_body and "docs-internal" not in template.html_body
    expect(page).to_have_url(re.compile(rf"/library/templates/{template.pk}/$"))
    assert csp_violations == []
