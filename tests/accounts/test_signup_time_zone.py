"""Sign-up starts the new organization in the time zone the browser reported."""

import pytest
from django.urls import reverse

from accounts.models import Membership
from recruitflow.tenancy import scopes_disabled


def _sign_up(client, **extra):
    return client.post(
        reverse("account_signup"),
        {
            "email": "erin@newco.test",
            "password1": "a-long-Passphrase-77",
            "password2": "a-long-Passphrase-77",
            "first_name": "Erin",
            "organization_name": "NewCo Hiring",
            **extra,
        },
    )


def _new_organization():
    with scopes_disabled():
        return (
            Membership.objects.select_related("organization")
            .get(user__email="erin@newco.test")
            .organization
        )


@pytest.mark.django_db
def test_the_sign_up_page_asks_the_browser_for_its_zone_with_a_static_script(client):
    page = client.get(reverse("account_signup")).content.decode()
    assert 'name="time_zone"' in page
    assert 'type="hidden"' in page
    assert "js/signup_time_zone.js" in page
    assert "<script>" not in page  # nothing inline: the CSP stays intact


@pytest.mark.django_db
def test_the_new_organization_takes_the_zone_the_browser_reported(client):
    response = _sign_up(client, time_zone="America/Chicago")
    assert response.status_code == 302
    assert _new_organization().time_zone == "America/Chicago"
    assert "times in America/Chicago" in client.get(reverse("dashboard")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reported", ["", "Etc/Unknown", "Mars/Olympus_Mons", "EST", "<script>", "x" * 300]
)
def test_a_missing_or_unknown_zone_starts_the_organization_in_utc_without_an_error(
    client, reported
):
    response = _sign_up(client, time_zone=reported)
    assert response.status_code == 302, response.content.decode()[:500]
    assert _new_organization().time_zone == "UTC"


@pytest.mark.django_db
def test_a_browser_reporting_etc_utc_gets_plain_utc(client):
    _sign_up(client, time_zone="Etc/UTC")
    assert _new_organization().time_zone == "UTC"


@pytest.mark.django_db
def test_signing_up_without_the_field_at_all_still_works(client):
    response = _sign_up(client)
    assert response.status_code == 302
    assert _new_organization().time_zone == "UTC"
