"""The dashboard's recruiting numbers: the last seven days with sparklines and what needs the
signed-in member."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import services
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(world, alice):
    s = world
    now = timezone.now()
    with tenant_scope(s.organization):
        s.candidate("Ada", "Sales Rep", "+12125550001")
        s.candidate("Ben", "Sales Rep", "+12125550002")
        s.message("Ada", status="delivered", at=now - timedelta(days=2))
        s.message("Ada", status="delivered", at=now - timedelta(minutes=5))
        s.message(
            "Ben",
            status="failed",
            at=now - timedelta(hours=3),
            code="30005",
            explanation="The number does not exist or is no longer in service.",
        )
        s.message("Ada", direction="inbound", status="received", at=now - timedelta(minutes=2))
        s.candidates["Ada"].conversations.update(assigned_to=alice.user, unread_count=1)
        s.request("Ben", created=now - timedelta(days=13), expires=now + timedelta(hours=20))
        s.request("Ada", created=now - timedelta(days=1), expires=now + timedelta(days=10))
        request = s.request("Ada", created=now - timedelta(days=2), status="booked")
        s.booking(
            request,
            created=now - timedelta(days=1),
            start=now + timedelta(days=2),
            attendees=[alice.user],
        )
        services.rollup_organization(organization=s.organization)
    return s


def test_the_dashboard_shows_the_weeks_numbers_with_sparklines(client_for, alice, week):
    html = client_for(alice).get("/").content.decode()
    assert 'id="recruiting-numbers"' in html
    assert 'data-sparkline="chart-spark-sent"' in html
    assert '<div class="stat">3</div>' in html  # three texts handed over this week
    assert "Replies waiting" in html
    assert "1 in the next 7 days" in html


def test_needs_you_lists_my_unanswered_replies_failed_sends_and_expiring_links(
    client_for, alice, bob, week
):
    html = client_for(alice).get("/").content.decode()
    needs_you = html[html.index('id="needs-you"') :]
    assert "Ada Tester" in needs_you.split("Failed sends")[0]  # her reply is assigned to Alice
    assert "The number does not exist or is no longer in service." in needs_you
    expiring = needs_you.split("Scheduling requests expiring")[1]
    assert "Ben Tester" in expiring and "Ada Tester" not in expiring.split("</ul>")[0]
    # Bob has no reply assigned to him.
    bobs = client_for(bob).get("/").content.decode()
    assert "None waiting." in bobs


def test_the_setup_checklist_stays_until_it_is_complete(client_for, alice, week):
    assert 'id="setup-checklist"' in client_for(alice).get("/").content.decode()
