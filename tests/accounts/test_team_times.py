"""Settings → Team: joined, last sign-in and the invitations' sent and expiry times are shown in
the organization's zone, with the zone named."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import Invitation, Membership, Role
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


def cell(html: str, attribute: str, near: str) -> str:
    """The text of the ``<td data-<attribute>>`` in the table row that contains ``near``."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        if near in row:
            match = re.search(rf"<td[^>]*data-{attribute}>(.*?)</td>", row, re.S)
            assert match, f"no {attribute} cell in the row of {near}"
            return re.sub(r"<[^>]+>", "", match.group(1)).strip()
    raise AssertionError(f"no row with {near}")


def test_member_and_invitation_times_are_in_the_organizations_zone(alice, bob, client_for):
    org = alice.organization
    org.time_zone = "America/New_York"
    org.save(update_fields=["time_zone"])
    # 14:30 UTC on 15 January is 09:30 in New York (EST).
    joined = datetime(2026, 1, 15, 14, 30, tzinfo=UTC)
    signed_in = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)  # 08:05 EDT
    with tenant_scope(org):
        Membership.objects.filter(pk=bob.membership.pk).update(created_at=joined)
        invitation = Invitation.objects.create(
            organization=org,
            email="carol@acme.test",
            role=Role.RECRUITER,
            invited_by=alice.user,
            expires_at=datetime(2099, 3, 1, 23, 0, tzinfo=UTC),  # 18:00 EST
        )
        Invitation.objects.filter(pk=invitation.pk).update(
            created_at=datetime(2026, 2, 1, 4, 0, tzinfo=UTC)  # 23:00 EST the day before
        )
    bob.user.last_login = signed_in
    bob.user.save(update_fields=["last_login"])

    html = client_for(alice).get(reverse("settings:team")).content.decode()

    assert cell(html, "joined", "bob@acme.test") == "15 Jan 2026 09:30 (America/New_York)"
    assert cell(html, "last-sign-in", "bob@acme.test") == "1 Jul 2026 08:05 (America/New_York)"
    assert cell(html, "sent", "carol@acme.test") == "31 Jan 2026 23:00 (America/New_York)"
    assert cell(html, "expires", "carol@acme.test") == "1 Mar 2099 18:00 (America/New_York)"
    assert "times in America/New_York" in html


def test_a_member_who_never_signed_in_is_said_so(alice, bob, client_for):
    bob.user.last_login = None
    bob.user.save(update_fields=["last_login"])

    html = client_for(alice).get(reverse("settings:team")).content.decode()

    assert cell(html, "last-sign-in", "bob@acme.test") == "Never signed in"


def test_an_expired_invitation_still_says_when_it_expired(alice, client_for):
    with tenant_scope(alice.organization):
        Invitation.objects.create(
            organization=alice.organization,
            email="late@acme.test",
            role=Role.VIEWER,
            invited_by=alice.user,
            expires_at=datetime(2020, 5, 4, 10, 0, tzinfo=UTC),
        )

    html = client_for(alice).get(reverse("settings:team")).content.decode()

    assert cell(html, "expires", "late@acme.test") == "expired 4 May 2020 10:00 (UTC)"
