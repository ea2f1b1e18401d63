"""In the demo, the dashboard and the Analytics page show charts drawn from the seeded history,
the tables under them and a CSV download — in a real browser, with no console error and no CSP
violation."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.e2e.steps import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def drawn_points(canvas) -> int:
    expect(canvas).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    return int(canvas.get_attribute("data-points"))


def test_demo_dashboard_and_analytics_show_charts_and_export_csv(
    live_server, page, csp_violations, settings
):
    settings.SANDBOX_URL = ""  # the demo's own mirror and history, no sandbox to wait for
    call_command("seed_demo")
    sign_in(page, live_server.url, settings.DEMO_EMAIL, "Dana", settings.DEMO_PASSWORD)

    sparkline = page.locator("canvas[data-sparkline='chart-spark-sent']")
    expect(sparkline).to_be_visible()
    assert drawn_points(sparkline) >= 7
    assert page.locator("#recruiting-numbers .stat").first.inner_text() != "0"

    page.get_by_role("link", name="Analytics").first.click()
    expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    for chart in ("messages-over-time", "runs-per-day", "requests-per-day", "latency"):
        canvas = page.locator(f"canvas[data-chart='chart-{chart}']")
        expect(canvas).to_be_visible()
        assert drawn_points(canvas) > 0
        box = canvas.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100
    funnel = page.locator("#table-journeys-funnel")
    expect(funnel).to_contain_text("Entered")
    expect(funnel).to_contain_text("Booked an interview")

    page.locator("#card-messaging details summary").first.click()
    expect(page.locator("#card-messaging details table").first).to_be_visible()

    with page.expect_download() as download_info:
        page.locator("a[data-csv='messaging/messages-over-time']").first.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0] == "Day,Sent,Delivered,Failed,Replied"
    assert len(lines) == 31  # the header and the last 30 days
    assert sum(int(line.split(",")[1]) for line in lines[1:]) > 0

    page.select_option("#filter-channel", "sms")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"channel=sms"))
    assert drawn_points(page.locator("canvas[data-chart='chart-messages-over-time']")) > 0
    assert csp_violations == []
