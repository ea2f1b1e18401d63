"""Writes of accounts data: organizations, memberships, invitations, API keys."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from recruitflow.tenancy import scopes_disabled, tenant_scope

from .models import ApiKey, ApiKeyScope, Invitation, Membership, Organization, Role
from .selectors import hash_api_key


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organization_create(
    *, name: str, owner, parent: Organization | None = None, time_zone: str = "UTC"
) -> Organization:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the organization a name."})
    organization = Organization.objects.create(
        name=name, slug=_unique_slug(name), parent=parent, time_zone=time_zone
    )
    with tenant_scope(organization):
        Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    return organization


@transaction.atomic
def organization_update(*, organization: Organization, **fields) -> Organization:
    for field, value in fields.items():
        setattr(organization, field, value)
    organization.full_clean()
    organization.save()
    return organization


def _require_admin(actor: Membership) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Only owners and admins can manage the team.")


@transaction.atomic
def invitation_create(*, actor: Membership, email: str, role: str) -> Invitation:
    _require_admin(actor)
    organization = actor.organization
    email = email.strip().lower()
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise ValidationError({"role": "Only an owner can invite another owner."})
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {organization.name}."})
    Invitation.objects.filter(
        organization=organization, email__iexact=email, accepted_at__isnull=True
    ).update(revoked_at=timezone.now())
    invitation = Invitation.objects.create(
        organization=organization, email=email, role=role, invited_by=actor.user
    )
    transaction.on_commit(lambda: invitation_send(invitation=invitation))
    return invitation


def invitation_url(invitation: Invitation) -> str:
    return settings.PUBLIC_BASE_URL + reverse("invitation_accept", args=[invitation.token])


def invitation_send(*, invitation: Invitation) -> None:
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "inviter": invitation.invited_by,
        "url": invitation_url(invitation),
    }
    send_mail(
        subject=f"You're invited to {invitation.organization.name} on RecruitFlow",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    _require_admin(actor)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])


class InvitationError(Exception):
    """An invitation can't be accepted; the message says why and what to do."""


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> Membership:
    if invitation.accepted_at is not None:
        raise InvitationError("This invitation has already been used.")
    if invitation.revoked_at is not None:
        raise InvitationError("This invitation was withdrawn. Ask an admin for a new one.")
    if invitation.is_expired:
        raise InvitationError("This invitation has expired. Ask an admin to send a new one.")
    if (user.email or "").lower() != invitation.email.lower():
        raise InvitationError(
            "This invitation was sent to a different email address. Sign in with that address."
        )
    with tenant_scope(invitation.organization):
        membership, _ = Membership.objects.get_or_create(
            organization=invitation.organization, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return membership


@transaction.atomic
def membership_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    _require_admin(actor)
    if Role.OWNER in (role, membership.role) and actor.role != Role.OWNER:
        raise ValidationError("Only an owner can grant or remove the owner role.")
    if membership.role == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership) -> None:
    _require_admin(actor)
    if membership.role == Role.OWNER:
        if actor.role != Role.OWNER:
            raise ValidationError("Only an owner can remove an owner.")
        _ensure_another_owner(membership)
    membership.delete()


def _ensure_another_owner(membership: Membership) -> None:
    owners = Membership.objects.filter(organization_id=membership.organization_id, role=Role.OWNER)
    if not owners.exclude(pk=membership.pk).exists():
        raise ValidationError(
            "An organization needs at least one owner. Make someone else owner first."
        )


def api_key_create(*, actor: Membership, name: str, scope: str) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw secret, which is never retrievable again."""
    _require_admin(actor)
    if scope not in ApiKeyScope.values:
        raise ValidationError({"scope": "Choose read or write."})
    prefix = secrets.token_hex(4)
    raw = f"rf_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        organization=actor.organization,
        name=name.strip() or "API key",
        prefix=prefix,
        hashed_key=hash_api_key(raw),
        scope=scope,
        created_by=actor.user,
    )
    return key, raw


def api_key_revoke(*, actor: Membership, api_key: ApiKey) -> None:
    _require_admin(actor)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


@transaction.atomic
def demo_seed(*, email: str, password: str) -> Organization:
    """The demo organization of `make run`: idempotent."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    User = get_user_model()
    user, created = User.objects.get_or_create(username=email, defaults={"email": email})
    if created or not user.check_password(password):
        user.set_password(password)
        user.first_name, user.last_name = "Dana", "Demo"
        user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    with scopes_disabled():
        membership = (
            Membership.objects.select_related("organization")
            .filter(user=user, organization__is_demo=True)
            .first()
        )
    if membership:
        return membership.organization
    organization = organization_create(
        name="Acme Robotics", owner=user, time_zone="America/New_York"
    )
    organization.is_demo = True
    organization.brand_color = "#0f766e"
    organization.save(update_fields=["is_demo", "brand_color"])
    return organization
