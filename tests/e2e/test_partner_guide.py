"""A partner opens the API reference (Swagger UI) in a real browser, sees the webhook payloads
documented there, follows its link to the Partner guide and finds its sections — with no console
error and no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

SCHEMA_RENDER_MS = 30_000

SECTIONS = [
    ("Authentication", "authentication"),
    ("Pagination", "pagination"),
    ("Idempotency", "idempotency"),
    ("Webhooks", "webhooks"),
    ("Verifying signatures", "verifying-signatures"),
]


def test_swagger_ui_links_to_the_partner_guide_and_its_sections(
    live_server, page, csp_violations, browser_errors
):
    page.goto(f"{live_server.url}/api/v1/docs/")
    info = page.locator(".swagger-ui .information-container")
    expect(info.get_by_role("heading", name="RecruitFlow partner API")).to_be_visible(
        timeout=SCHEMA_RENDER_MS
    )
    # The payloads of the webhooks are listed with the operations (an OpenAPI 3.1 schema).
    webhooks = page.locator(".swagger-ui .webhooks")
    expect(webhooks).to_contain_text("candidate.stage_changed")
    expect(webhooks).to_contain_text("journey.run_finished")

    link = info.get_by_role("link", name="Partner guide").first
    expect(link).to_have_attribute("href", "/api/v1/guide/")
    with page.context.expect_page() as opened:  # Swagger UI opens description links in a tab
        link.click()
    page = opened.value
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/api/v1/guide/"
    expect(page.get_by_role("heading", name="Partner guide", level=1)).to_be_visible()
    for title, anchor in SECTIONS:
        heading = page.locator(f"#{anchor}")
        expect(heading).to_have_text(title)
        expect(heading).to_be_visible()
    # The guide shows how to verify a signature, and leads back to the reference.
    expect(page.locator("main")).to_contain_text("webhook-signature")
    page.get_by_role("navigation").get_by_role("link", name="API reference").click()
    page.wait_for_url(f"{live_server.url}/api/v1/docs/")
    # Swagger UI draws the page once it has fetched and parsed the whole schema: allow
    # it the time a busy machine takes.
    expect(
        page.locator(".swagger-ui .information-container").get_by_role(
            "heading", name="RecruitFlow partner API"
        )
    ).to_be_visible(timeout=SCHEMA_RENDER_MS)
    assert csp_violations == []
