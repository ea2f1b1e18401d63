"""The opt-out ledger: append-only lock and unlock entries per phone number."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from messaging.models import (
    Message,
    MessageStatus,
    OptOutAction,
    OptOutEntry,
)
from messaging.services.common import _cancel_queued_texts

# --------------------------------------------------------------------------------------------
# Opt-out ledger
# --------------------------------------------------------------------------------------------


@transaction.atomic
def opt_out_lock(
    *,
    organization,
    phone: str,
    source: str,
    actor=None,
    keyword: str = "",
    message: Message | None = None,
) -> OptOutEntry:
    """Lock ``phone``: a new ledger entry (history is never rewritten) and every queued or held
    text to it canceled."""
    entry = _opt_out_record(
        organization=organization,
        phone=phone,
        locked=True,
        source=source,
        keyword=keyword,
        actor=actor,
        message=message,
    )
    _cancel_queued_texts(
        organization=organization,
        phone=phone,
        reason=f"Canceled: {phone} opted out of texts.",
    )
    return entry


@transaction.atomic
def opt_out_unlock(
    *,
    organization,
    phone: str,
    source: str,
    actor=None,
    keyword: str = "",
    message: Message | None = None,
) -> OptOutEntry:
    """Unlock ``phone`` (the candidate opted back in): a new ledger entry."""
    return _opt_out_record(
        organization=organization,
        phone=phone,
        locked=False,
        source=source,
        keyword=keyword,
        actor=actor,
        message=message,
    )


def _opt_out_record(*, organization, phone: str, locked: bool, **fields) -> OptOutEntry:
    """One ledger row (the ledger is append-only: history is never rewritten)."""
    action = OptOutAction.LOCK if locked else OptOutAction.UNLOCK
    return OptOutEntry.objects.create(
        organization=organization, phone=phone, locked=locked, action=action, **fields
    )


def messages_withdraw_held(*, organization, message_ids, reason: str) -> int:
    """Cancel those of ``message_ids`` still held for quiet hours (a guarded update: a message
    that went out meanwhile is left alone). Returns how many were withdrawn."""
    return Message.objects.filter(
        organization=organization, pk__in=list(message_ids), status=MessageStatus.HELD
    ).update(
        status=MessageStatus.CANCELED, error_message=reason[:1000], status_updated_at=timezone.now()
    )
