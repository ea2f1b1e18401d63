"""The Analytics page, its CSV exports and the API: what a member sees, in their organization
only, with clear answers to bad filters."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Role
from analytics import services
from analytics.models import RolledDay
from analytics.tasks import rollup_sweep
from candidates.models import AtsUser
from recruitflow.tenancy import tenant_scope
from tests.conftest import Persona
from tests.factories import add_member

pytestmark = pytest.mark.django_db


def key_for(persona) -> dict:
    with tenant_scope(persona.organization):
        _, raw = account_services.api_key_create(
            actor=persona.membership, name="Analytics key", scope="read"
        )
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def texts(world, alice):
    """Three texts on the story's day (two delivered, one failed with 30007) and one today."""
    s = world
    with tenant_scope(s.organization):
        s.candidate("Ada", "Sales Rep", "+12125550001")
        s.message("Ada", status="delivered", at=s.at(10))
        s.message("Ada", status="delivered", at=s.at(11))
        s.message(
            "Ada",
            status="undelivered",
            at=s.at(12),
            code="30007",
            explanation="Filtered by the carrier as spam",
        )
        s.message("Ada", status="delivered", at=timezone.now() - timedelta(minutes=1))
        services.rollup_organization(organization=s.organization)
    return s


def period(story) -> dict:
    return {"start": (story.day - timedelta(days=1)).isoformat(), "end": story.day.isoformat()}


def test_the_page_shows_the_cards_with_charts_tables_and_csv_links(client_for, alice, texts):
    response = client_for(alice).get("/analytics/", period(texts))
    assert response.status_code == 200
    html = response.content.decode()
    for title in ("Messaging", "Journeys", "Scheduling", "Responsiveness"):
        assert f"<h2>{title}</h2>" in html
    assert 'data-chart="chart-messages-over-time"' in html
    assert "chart.umd.min.js" in html and "js/charts.js" in html
    assert "/analytics/messaging/error-codes.csv?" in html
    assert "Filtered by the carrier as spam" in html
    assert 'href="/analytics/"' in html  # the sidebar entry


def test_today_is_counted_live_without_waiting_for_the_rollup(client_for, alice, texts):
    response = client_for(alice).get("/api/v1/analytics/", {"start": texts.day.isoformat()})
    # Today is not stored; the text sent a minute ago is counted anyway.
    assert response.status_code == 200
    messaging = response.json()["cards"][0]
    sent = next(f for f in messaging["figures"] if f["label"] == "Sent")
    assert sent["value"] == 4


def _sent(html: str) -> str:
    """The Messaging card's "Sent" figure as the page shows it."""
    card = html[html.index('id="card-messaging"') :]
    label = card.index('<div class="stat-label">Sent</div>')
    figure = card.rindex('<div class="stat">', 0, label)
    return card[figure + len('<div class="stat">') : card.index("</div>", figure)]


def test_the_cached_cards_follow_a_rollup_and_todays_next_count(client_for, alice, texts, settings):
    """The cards are rendered once per state of their figures: the same page again is the same
    page, a text stored by a rollup shows at once, and today's figures are at most
    ANALYTICS_TODAY_CACHE_SECONDS old."""
    settings.ANALYTICS_TODAY_CACHE_SECONDS = 2
    client = client_for(alice)
    query = {"start": (texts.day - timedelta(days=1)).isoformat()}
    first = client.get("/analytics/", query).content.decode()
    assert _sent(first) == "4"
    assert _sent(client.get("/analytics/", query).content.decode()) == "4"

    with tenant_scope(texts.organization):
        texts.message("Ada", status="delivered", at=texts.at(15))  # a past day, rolled up again
        services.rollup_day(organization=texts.organization, day=texts.day)
    assert _sent(client.get("/analytics/", query).content.decode()) == "5"

    with tenant_scope(texts.organization):
        texts.message("Ada", status="delivered", at=timezone.now() - timedelta(seconds=5))
    # Today's figures were counted less than 2 seconds ago: the page shows that count…
    assert _sent(client.get("/analytics/", query).content.decode()) == "5"
    # …and the next count once they are older.
    time.sleep(2.1)
    assert _sent(client.get("/analytics/", query).content.decode()) == "6"


def test_csv_export_has_the_tables_rows(client_for, alice, texts):
    response = client_for(alice).get("/analytics/messaging/error-codes.csv", period(texts))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["Code", "What it means", "Messages"],
        ["30007", "Filtered by the carrier as spam", "1"],
    ]
    chart = client_for(alice).get("/analytics/messaging/messages-over-time.csv", period(texts))
    rows = list(csv.reader(io.StringIO(chart.content.decode())))
    assert rows[0] == ["Day", "Sent", "Delivered", "Failed", "Replied"]
    assert rows[2] == [texts.day.isoformat(), "3", "2", "1", "0"]


def test_an_unknown_table_is_not_found(client_for, alice, texts):
    assert client_for(alice).get("/analytics/messaging/nothing.csv").status_code == 404


def test_a_bad_filter_says_what_is_wrong(client_for, alice, texts):
    client = client_for(alice)
    page = client.get("/analytics/", {"start": "yesterday"})
    assert page.status_code == 400
    assert "is not a date" in page.content.decode()
    api = client.get("/api/v1/analytics/", {"start": "2026-02-10", "end": "2026-01-01"})
    assert api.status_code == 400
    assert "start date is after the end date" in str(api.json())
    csv_answer = client.get("/analytics/messaging/error-codes.csv", {"channel": "fax"})
    assert csv_answer.status_code == 400
    assert "sms (texts) or email" in csv_answer.content.decode()


def test_the_api_gives_the_same_numbers_as_the_page(client, client_for, alice, texts):
    body = client.get("/api/v1/analytics/", period(texts), **key_for(alice)).json()
    assert body["start"] == period(texts)["start"]
    messaging = {card["slug"]: card for card in body["cards"]}["messaging"]
    figures = {f["label"]: f["value"] for f in messaging["figures"]}
    assert (figures["Sent"], figures["Delivered"], figures["Failed"]) == (3, 2, 1)
    error_codes = {t["slug"]: t for t in messaging["tables"]}["error-codes"]
    assert error_codes["rows"] == [["30007", "Filtered by the carrier as spam", 1]]
    page = client_for(alice).get("/analytics/", period(texts)).content.decode()
    assert '<div class="stat">3</div>\n      <div class="stat-label">Sent</div>' in page


def test_another_organization_sees_only_its_own_figures(client, client_for, mallory, texts):
    body = client.get("/api/v1/analytics/", period(texts), **key_for(mallory)).json()
    messaging = {card["slug"]: card for card in body["cards"]}["messaging"]
    assert {f["label"]: f["value"] for f in messaging["figures"]}["Sent"] == 0
    page = client_for(mallory).get("/analytics/", period(texts)).content.decode()
    assert "Filtered by the carrier as spam" not in page
    exported = client_for(mallory).get("/analytics/messaging/error-codes.csv", period(texts))
    assert exported.content.decode().strip() == "Code,What it means,Messages"


def test_the_rollup_sweep_stores_every_organizations_days(alice, mallory, texts):
    assert rollup_sweep.apply().get() >= 2
    with tenant_scope(texts.organization):
        assert RolledDay.objects.filter(day=texts.day).exists()


def test_a_hiring_manager_sees_the_figures_of_their_hiring_teams_jobs_only(
    client_for, alice, world
):
    s = world
    with tenant_scope(s.organization):
        hannah_in_ats = AtsUser.objects.create(
            organization=s.organization,
            provider="greenhouse",
            external_id="u-hannah",
            name="Hannah Hiring",
            email="hannah@acme.test",
        )
        s.jobs["Sales Rep"].hiring_managers.add(hannah_in_ats)
        s.candidate("Ada", "Sales Rep", "+12125550001")
        s.candidate("Eve", "Engineer", "+442079460005")
        s.message("Ada", status="delivered", at=s.at(10))
        s.message("Eve", status="delivered", at=s.at(11))
        s.message("Eve", status="delivered", at=s.at(12))
        services.rollup_organization(organization=s.organization)
    membership = add_member(
        organization=s.organization, email="hannah@acme.test", role=Role.HIRING_MANAGER
    )
    hannah = Persona(membership.user, s.organization, membership)

    def sent(persona) -> int:
        body = client_for(persona).get("/api/v1/analytics/", period(s)).json()
        figures = {card["slug"]: card for card in body["cards"]}["messaging"]["figures"]
        return {f["label"]: f["value"] for f in figures}["Sent"]

    assert sent(alice) == 3
    assert sent(hannah) == 1
    page = client_for(hannah).get("/analytics/", period(s)).content.decode()
    assert "Sales Rep" in page and "Engineer" not in page


def test_a_csv_export_is_made_once_per_state_of_its_figures(client_for, alice, texts):
    client = client_for(alice)
    query = period(texts)
    url = "/analytics/messaging/messages-over-time.csv"
    first = client.get(url, query).content.decode()
    assert client.get(url, query).content.decode() == first

    with tenant_scope(texts.organization):
        texts.message("Ada", status="delivered", at=texts.at(15))  # a past day, rolled up again
        services.rollup_day(organization=texts.organization, day=texts.day)
    rows = list(csv.reader(io.StringIO(client.get(url, query).content.decode())))
    assert rows[2] == [texts.day.isoformat(), "4", "3", "1", "0"]  # one more sent and delivered
    assert client.get("/analytics/messaging/nothing.csv", query).status_code == 404
