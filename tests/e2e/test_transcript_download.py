"""A recruiter downloads a candidate's SMS transcript from the Inbox thread in a real browser and
gets the PDF with the conversation in it."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from playwright.sync_api import expect

from tests.factories import make_org_with_owner
from tests.writeback.transcript_data import DECEMBER_1_2PM_UTC, brand, make_thread

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_recruiter_downloads_the_sms_transcript_from_the_inbox_thread(
    live_server, page, csp_violations, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    org, user, _membership = make_org_with_owner(
        name="Northwind Hiring", email="rita@northwind.test", first_name="Rita"
    )
    brand(org)
    thread = make_thread(org, member=user, start=DECEMBER_1_2PM_UTC)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "rita@northwind.test")
    page.fill("input[name=password]", "correct-horse-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome, Rita")).to_be_visible()

    page.goto(f"{live_server.url}/inbox/{thread.conversation.pk}/")
    link = page.get_by_role("link", name="Download transcript (PDF)")
    expect(link).to_be_visible()
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.startswith("sms-transcript-sam-okafor-")
    assert download.suggested_filename.endswith(".pdf")
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    text = " ".join(
        " ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages
    )
    assert "SMS transcript with Sam Okafor" in text
    assert "All times are in America/New_York" in text
    for message in thread.messages:
        assert message.body in text
    assert csp_violations == []
