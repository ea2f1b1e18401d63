"""The Inbox's unread badge: how many conversations have unread messages, cached per
organization so the sidebar of every page does not count them again.

Every write that changes a conversation's unread count calls ``unread_changed`` (when it happens
and again once its transaction commits, so a page rendered in between cannot keep the old
figure), or ``conversation_read`` when one conversation was read (one fewer); a conversation
deleted with unread messages clears it through a signal (``connect_invalidation``).
``tests/messaging/test_inbox_read.py`` lists every module that writes an unread count and checks
that it tells the badge. The cache lives ``INBOX_BADGE_CACHE_SECONDS`` at most. A person who sees
only some candidates (a hiring manager) gets their own count, uncached.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete

from messaging.models import Conversation
from recruitflow.tenancy import candidates_restricted


def _key(organization_id: int) -> str:
    return f"inbox-unread:{organization_id}"


def unread_conversation_count(*, organization) -> int:
    if candidates_restricted():
        return _count(organization)
    key = _key(organization.pk)
    count = cache.get(key)
    if count is None:
        count = _count(organization)
        cache.set(key, count, settings.INBOX_BADGE_CACHE_SECONDS)
    return count


def _count(organization) -> int:
    return Conversation.unscoped.filter(organization_id=organization.pk, unread_count__gt=0).count()


def unread_changed(*, organization_id: int) -> None:
    """A conversation's unread count changed: the next page counts again."""
    key = _key(organization_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def conversation_read(*, organization_id: int) -> None:
    """One conversation went from unread to read: one fewer on the badge, without counting
    again (the Inbox marks conversations read as they are opened). When the figure is not
    cached, a page that counted before this write commits must not keep its figure."""
    key = _key(organization_id)
    try:
        left = cache.decr(key)
    except ValueError:  # not cached
        left = -1
    if left < 0:
        unread_changed(organization_id=organization_id)


def _conversation_deleted(sender, instance, **kwargs) -> None:
    if instance.unread_count:
        unread_changed(organization_id=instance.organization_id)


def connect_invalidation() -> None:
    """A conversation deleted with unread messages (its candidate removed from the ATS, or a
    cascade) takes its count off the badge at once, not when the cache runs out."""
    post_delete.connect(
        _conversation_deleted, sender=Conversation, dispatch_uid="inbox-badge-conversation-deleted"
    )
