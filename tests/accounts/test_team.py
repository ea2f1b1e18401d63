"""Team management: invitations, roles, removal, organization switching, sub-accounts."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Invitation, Membership, Role
from recruitflow.tenancy import scopes_disabled, tenant_scope
from tests.factories import UserFactory, make_org_with_owner


@pytest.mark.django_db
def test_invited_teammate_gets_an_email_and_joins_with_the_link(
    alice, client_for, client, django_capture_on_commit_callbacks
):
    owner = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            reverse("settings:team"), {"email": "Carol@Acme.test", "role": Role.RECRUITER}
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["carol@acme.test"]
    link = re.search(r"http://\S+/invitations/\S+/", mail.outbox[0].body).group()
    path = link.split("8000", 1)[1]

    carol = UserFactory(email="carol@acme.test")
    client.force_login(carol)
    page = client.get(path)
    assert b"Join Acme Talent" in page.content
    joined = client.post(path)
    assert joined.status_code == 302
    with tenant_scope(alice.organization):
        assert Membership.objects.get(user=carol).role == Role.RECRUITER
    # The link works once.
    again = client.post(path)
    assert again.status_code == 400
    assert b"already been used" in again.content


@pytest.mark.django_db
def test_invitation_is_refused_when_signed_in_with_another_address(alice, mallory, client):
    with tenant_scope(alice.organization):
        invitation = Invitation.objects.create(
            organization=alice.organization, email="carol@acme.test", invited_by=alice.user
        )
    client.force_login(mallory.user)
    response = client.get(reverse("invitation_accept", args=[invitation.token]))
    assert response.status_code == 403
    assert b"different email address" in response.content
    assert b"Acme Talent" not in response.content


@pytest.mark.django_db
def test_new_user_signing_up_from_an_invitation_joins_instead_of_starting_an_org(alice, client):
    with tenant_scope(alice.organization):
        invitation = Invitation.objects.create(
            organization=alice.organization, email="dan@acme.test", invited_by=alice.user
        )
    client.get(reverse("invitation_accept", args=[invitation.token]))
    client.post(
        reverse("account_signup"),
        {
            "email": "dan@acme.test",
            "password1": "a-long-Passphrase-77",
            "password2": "a-long-Passphrase-77",
            "first_name": "Dan",
        },
    )
    with scopes_disabled():
        memberships = list(Membership.objects.filter(user__email="dan@acme.test"))
    assert [m.organization_id for m in memberships] == [alice.organization.pk]


@pytest.mark.django_db
def test_signup_creates_an_organization_owned_by_the_new_user(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "erin@newco.test",
            "password1": "a-long-Passphrase-77",
            "password2": "a-long-Passphrase-77",
            "first_name": "Erin",
            "organization_name": "NewCo Hiring",
        },
    )
    assert response.status_code == 302
    with scopes_disabled():
        membership = Membership.objects.select_related("organization").get(
            user__email="erin@newco.test"
        )
    assert membership.organization.name == "NewCo Hiring"
    assert membership.role == Role.OWNER
    dashboard = client.get(reverse("dashboard"))
    assert b"NewCo Hiring" in dashboard.content


@pytest.mark.django_db
def test_recruiter_cannot_open_team_settings(bob, client_for):
    response = client_for(bob).get(reverse("settings:team"))
    assert response.status_code == 403
    assert b"Only owners and admins" in response.content


@pytest.mark.django_db
def test_admin_changes_a_role_and_removes_a_member(alice, bob, client_for):
    owner = client_for(alice)
    owner.post(reverse("settings:member_role", args=[bob.membership.pk]), {"role": Role.VIEWER})
    with tenant_scope(alice.organization):
        assert Membership.objects.get(pk=bob.membership.pk).role == Role.VIEWER
    owner.post(reverse("settings:member_remove", args=[bob.membership.pk]))
    with tenant_scope(alice.organization):
        assert not Membership.objects.filter(pk=bob.membership.pk).exists()


@pytest.mark.django_db
def test_last_owner_cannot_be_demoted(alice, client_for):
    response = client_for(alice).post(
        reverse("settings:member_role", args=[alice.membership.pk]),
        {"role": Role.ADMIN},
        follow=True,
    )
    assert b"at least one owner" in response.content
    with tenant_scope(alice.organization):
        assert Membership.objects.get(pk=alice.membership.pk).role == Role.OWNER


@pytest.mark.django_db
def test_user_in_two_organizations_switches_between_them(alice, mallory, client_for):
    make_org_with_owner(name="Second Co", email="alice@acme.test")
    alice.user.refresh_from_db()
    client = client_for(alice)
    page = client.get(reverse("dashboard"))
    assert b"Second Co" in page.content and b"Acme Talent" in page.content
    with scopes_disabled():
        second = Membership.objects.get(user=alice.user, organization__name="Second Co")
    client.post(reverse("organization_switch"), {"organization": second.organization_id})
    assert client.session["organization_id"] == second.organization_id
    # Switching into an organization you don't belong to is a 404.
    refused = client.post(reverse("organization_switch"), {"organization": mallory.organization.pk})
    assert refused.status_code == 404


@pytest.mark.django_db
def test_sub_account_is_created_under_the_parent(alice, client_for):
    client = client_for(alice)
    client.post(
        reverse("settings:sub_account_create"), {"name": "Acme EMEA", "time_zone": "Europe/London"}
    )
    with scopes_disabled():
        child = Membership.objects.get(user=alice.user, organization__name="Acme EMEA").organization
    assert child.parent_id == alice.organization.pk
    assert child.ancestors() == [child, alice.organization]


@pytest.mark.django_db
def test_profile_rejects_a_colour_that_is_not_hex(alice, client_for):
    response = client_for(alice).post(
        reverse("settings:organization"),
        {"name": "Acme Talent", "brand_color": "blue", "time_zone": "Europe/London"},
    )
    assert response.status_code == 200
    assert b"Use a hex colour" in response.content
