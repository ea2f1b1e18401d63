"""The bell after its member signed out in another tab: its poll stops and the page goes to
sign-in (and back to the same page afterwards) instead of drawing the sign-in page inside the
bell."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import Membership
from recruitflow.tenancy import tenant_scope
from tests.factories import make_org_with_owner

pytestmark = pytest.mark.django_db

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TRIGGER": "notification-bell-count"}


@pytest.fixture
def acme():
    org, owner, _ = make_org_with_owner(name="Acme Talent", email="alice@acme.test")
    return org, owner


def test_a_signed_in_members_poll_gets_the_count(acme, client):
    _org, alice = acme
    client.force_login(alice)
    response = client.get(reverse("notifications:bell"), **POLL)
    assert response.status_code == 200
    assert 'id="notification-bell-count"' in response.content.decode()


def test_after_signing_out_the_poll_stops_and_sends_the_page_to_sign_in(acme, client):
    _org, alice = acme
    client.force_login(alice)
    client.post(reverse("account_logout"))  # in another tab
    response = client.get(
        reverse("notifications:bell"),
        HTTP_HX_CURRENT_URL="http://testserver/analytics/?start=2026-01-01&end=2026-01-31",
        **POLL,
    )
    assert response.status_code == 286  # htmx stops polling
    assert response.content == b""  # nothing drawn in the bell
    target = urlsplit(response["HX-Redirect"])
    assert target.path == reverse("account_login")
    assert parse_qs(target.query)["next"] == ["/analytics/?start=2026-01-01&end=2026-01-31"]


def test_the_way_back_after_sign_in_never_leaves_the_site(client):
    response = client.get(
        reverse("notifications:bell"), HTTP_HX_CURRENT_URL="https://evil.example/phish", **POLL
    )
    assert response.status_code == 286
    assert parse_qs(urlsplit(response["HX-Redirect"]).query)["next"] == ["/"]


def test_without_htmx_a_signed_out_visitor_gets_401_not_the_sign_in_page(client):
    response = client.get(reverse("notifications:bell"))
    assert response.status_code == 401
    assert b"<form" not in response.content


def test_a_member_removed_from_the_organization_stops_polling_without_a_page(acme, client):
    org, alice = acme
    client.force_login(alice)
    with tenant_scope(org):
        Membership.objects.filter(user=alice).delete()
    response = client.get(reverse("notifications:bell"), **POLL)
    assert response.status_code == 286
    assert response.content == b""
    assert "HX-Redirect" not in response
