"""The bell's unread count, cached per member so the top bar of every page does not count it
again. Every write that changes it (new notifications, read marks) calls ``unread_changed``
when it happens and again once its transaction commits; the cache lives
``NOTIFICATIONS_BADGE_CACHE_SECONDS`` at most."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from notifications.models import Notification


def _key(organization_id: int, user_id: int) -> str:
    return f"bell-unread:{organization_id}:{user_id}"


def unread_count(*, organization, user) -> int:
    key = _key(organization.pk, user.pk)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(
            organization=organization, user=user, in_app=True, read_at=None
        ).count()
        cache.set(key, count, settings.NOTIFICATIONS_BADGE_CACHE_SECONDS)
    return count


def unread_changed(*, organization_id: int, user_ids: Iterable[int]) -> None:
    """These members' unread counts changed: their next page counts again."""
    keys = [_key(organization_id, user_id) for user_id in set(user_ids)]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))
