"""Settings → Video interviews: owners and admins choose how long recordings are kept."""

from __future__ import annotations

import pytest

from interviews import retention
from recruitflow.tenancy import tenant_scope

URL = "/settings/video-interviews/"


@pytest.mark.django_db
def test_an_admin_sees_the_default_180_days_and_saves_another_period(client_for, alice, mallory):
    client = client_for(alice)
    page = client.get(URL)
    assert page.status_code == 200
    assert 'id="retention-days">180 days · default' in page.content.decode()
    assert 'value="180"' in page.content.decode()

    saved = client.post(URL, {"retention_days": "30"}, follow=True)

    assert "Saved: recordings are kept for 30 days." in saved.content.decode()
    assert 'id="retention-days">30 days<' in saved.content.decode()
    with tenant_scope(alice.organization):
        assert retention.retention_days_for(alice.organization) == 30
    with tenant_scope(mallory.organization):
        assert retention.retention_days_for(mallory.organization) == 180


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "Keep recordings at least 1 day."),
        ("4000", "Keep recordings at most 3650 days (10 years)."),
        ("half a year", "Enter a whole number of days, e.g. 180."),
    ],
)
def test_a_period_out_of_range_is_refused_with_how_to_fix_it(client_for, alice, typed, message):
    response = client_for(alice).post(URL, {"retention_days": typed})

    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_scope(alice.organization):
        assert retention.retention_days_for(alice.organization) == 180


@pytest.mark.django_db
def test_a_recruiter_cannot_open_or_change_it(client_for, bob):
    client = client_for(bob)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"retention_days": "1"}).status_code == 403
    with tenant_scope(bob.organization):
        assert retention.retention_days_for(bob.organization) == 180
