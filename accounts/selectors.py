"""Reads of accounts data. Cross-tenant lookups are named and explicit here."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from recruitflow import changes
from recruitflow.tenancy import scopes_disabled

from .models import ApiKey, Invitation, Membership, Organization


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_resolve(*, raw_key: str) -> ApiKey | None:
    """The active key matching a raw `rf_...` secret, with its organization; None otherwise.
    With the page cache on, an active key is kept in the cache until a key, user, membership or
    organization is written (`changes.ACCOUNTS`: a revoked key is read again, and refused, on
    its next request)."""
    entry = f"rf:apikey:v1:{hash_api_key(raw_key)}"
    key = None
    if settings.PAGE_CACHE:
        generations, key = changes.read_kept(entry, changes.ACCOUNTS)
    if key is None:
        with scopes_disabled():
            key = (
                ApiKey.objects.select_related("organization")
                .filter(hashed_key=hash_api_key(raw_key), revoked_at__isnull=True)
                .first()
            )
        if key is None or not key.organization.is_active:
            return None
        if settings.PAGE_CACHE:
            changes.keep(entry, generations, key, settings.PAGE_CACHE_SECONDS)
    now = timezone.now()
    # Recording last use costs a write; once a minute per key is plenty.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        with scopes_disabled():
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def memberships_key(user_id: int) -> str:
    """Where `memberships_of_user` keeps a user's memberships (the signed-in request reads it
    ahead, `recruitflow.kept_user`)."""
    return f"rf:memberships:v1:{user_id}"


def memberships_of_user(*, user) -> list[Membership]:
    """All of a user's memberships across organizations (the organization switcher). Read on
    every signed-in request: with the page cache on (a cache shared by every process), kept in
    the cache until a user, membership or organization is written (`changes.ACCOUNTS`)."""
    key = memberships_key(user.pk)
    if settings.PAGE_CACHE:
        generations, kept = changes.read_kept(key, changes.ACCOUNTS)
        if kept is not None:
            return kept
    with scopes_disabled():
        memberships = list(
            Membership.objects.select_related("organization")
            .filter(user=user, organization__is_active=True)
            .order_by("organization__name")
        )
    if settings.PAGE_CACHE:
        changes.keep(key, generations, memberships, settings.PAGE_CACHE_SECONDS)
    return memberships


def membership_for_session(
    *, user, organization_id: int | None, memberships: list[Membership] | None = None
) -> Membership | None:
    """The membership a session acts through: the chosen organization if the user belongs to it,
    else their first organization, else None. ``memberships``: the user's, when already read."""
    if memberships is None:
        memberships = memberships_of_user(user=user)
    for membership in memberships:
        if membership.organization_id == organization_id:
            return membership
    return memberships[0] if memberships else None


def organization_members(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user")


def organization_invitations(*, organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organization=organization, accepted_at__isnull=True)


def invitation_by_token(*, token: str) -> Invitation | None:
    """Invitation links are bearer capabilities, so this lookup crosses tenants on purpose."""
    with scopes_disabled():
        return Invitation.objects.select_related("organization").filter(token=token).first()


def organization_api_keys(*, organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=organization).select_related("created_by")


def organization_sub_accounts(*, organization: Organization) -> QuerySet[Organization]:
    return Organization.objects.filter(parent=organization, is_active=True)
