"""Reads: a member's notifications, their unread count and their preferences."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications import badge
from notifications.models import Kind, Notification
from notifications.preferences import Channels, channels_for

PAGE_SIZE = 50


def notifications_of(*, organization, user) -> QuerySet[Notification]:
    """The member's notifications shown in the app, newest first."""
    return Notification.objects.filter(organization=organization, user=user, in_app=True)


def unread_count(*, organization, user) -> int:
    """The bell's figure (cached per member: ``notifications.badge``)."""
    return badge.unread_count(organization=organization, user=user)


def preferences_of(*, organization, user) -> list[tuple[str, str, Channels]]:
    """(kind, its label, the member's channels) for every kind."""
    chosen = channels_for(organization=organization, user_ids=[user.pk])
    return [(kind, label, chosen[(user.pk, kind)]) for kind, label in Kind.choices]
