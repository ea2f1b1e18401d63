"""What the parts of messaging's writes share: outcomes, the timeline, queueing the
delivery tasks (by name: the task module imports the services, never the reverse; one message
alone, or several of an organization together), and fitting provider values to their
columns."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from candidates.models import Candidate, TimelineEvent
from messaging import selectors
from messaging.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    OptOutSource,
)
from recruitflow.tasks import task_named

# How long after an ambiguous send the provider is asked whether it has the text: long enough
# for a request still in flight to have landed.
RECONCILE_AFTER_S = 60
# The e-mail vendor's activity search may show an accepted e-mail only after a while: "not found" there
# proves it was never accepted only this long after the send.
EMAIL_ACTIVITY_SETTLE_S = 15 * 60

# Provider statuses (normalized DeliveryStatus) → ours. Anything else is history only.
DELIVERY_STATUS_MAP: dict[str, str] = {
    "queued": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "opened": MessageStatus.OPENED,
    "clicked": MessageStatus.OPENED,
    "undelivered": MessageStatus.UNDELIVERED,
    "bounced": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "dropped": MessageStatus.FAILED,
    "canceled": MessageStatus.CANCELED,
}
OPTED_OUT_CODE = "21610"


class CannotSend(Exception):
    """The message cannot go out; ``reason`` says why, in words for a recruiter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeliveryOutcome(enum.StrEnum):
    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"
    UNKNOWN = "unknown"
    CANCELED = "canceled"
    NOT_CLAIMED = "not_claimed"
    REQUEUED = "requeued"
    # The provider account has no room this second: still queued, try again in retry_after.
    THROTTLED = "throttled"
    # An unexpected error while delivering one message of several (logged): the others went
    # on; the recovery sweep settles this one (queued or sending).
    ERROR = "error"


@dataclass(frozen=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    retry_after: float | None = None


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _timeline_entry(
    *, organization, candidate_id, kind: str, summary: str, detail: str = "", **data
):
    """A candidate's timeline entry, unsaved (None without a candidate)."""
    if candidate_id is None:
        return None
    return TimelineEvent(
        organization=organization,
        candidate_id=candidate_id,
        kind=kind,
        summary=summary[:500],
        detail=detail,
        data=data,
        occurred_at=timezone.now(),
    )


def _timeline(*, organization, candidate, kind: str, summary: str, detail: str = "", **data):
    entry = _timeline_entry(
        organization=organization,
        candidate_id=candidate.pk if candidate is not None else None,
        kind=kind,
        summary=summary,
        detail=detail,
        **data,
    )
    if entry is not None:
        entry.save()
    return entry


def _conversation_for(*, organization, candidate: Candidate) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        organization=organization, candidate=candidate
    )
    return conversation


DELIVER_TASK = "messaging.tasks.message_deliver"
DELIVER_BATCH_TASK = "messaging.tasks.message_deliver_batch"
# The same for messages someone is waiting for right now (a stage change's first messages):
# routed at the one-message priority instead of after the stage-change path.
DELIVER_URGENT_BATCH_TASK = "messaging.tasks.message_deliver_urgent_batch"
RECONCILE_TASK = "messaging.tasks.message_reconcile"
# At most this many messages of one organization are handed to one delivery task. A task
# sends them one after another, so a batch must stay short next to the queued-stale sweep.
DELIVERY_BATCH = 25


def _enqueue(message: Message) -> None:
    organization_id, message_id = message.organization_id, message.pk
    batch = _BATCH.get()
    if batch is not None:
        batch.queued += 1
        transaction.on_commit(lambda: batch.add(organization_id, message_id))
        return
    transaction.on_commit(lambda: task_named(DELIVER_TASK).delay(organization_id, message_id))


def _deliver_now(organization_id: int, message_ids: list[int], *, urgent: bool = False) -> None:
    """Queue the delivery of ``message_ids`` (queued messages of one organization): one task per
    :data:`DELIVERY_BATCH`, and a message alone through the one-message task."""
    batch_task = DELIVER_URGENT_BATCH_TASK if urgent else DELIVER_BATCH_TASK
    for start in range(0, len(message_ids), DELIVERY_BATCH):
        chunk = message_ids[start : start + DELIVERY_BATCH]
        if len(chunk) == 1:
            task_named(DELIVER_TASK).delay(organization_id, chunk[0])
        else:
            task_named(batch_task).delay(organization_id, chunk)


def messages_enqueue(*, organization_id: int, message_ids: Iterable[int]) -> None:
    """Queue the delivery of queued messages of one organization once the current transaction
    commits (nothing when it rolls back), up to :data:`DELIVERY_BATCH` to a task."""
    ids = list(dict.fromkeys(message_ids))
    if ids:
        transaction.on_commit(lambda: _deliver_now(organization_id, ids))


class _Batch:
    """The messages queued inside :func:`messages_batched`, per organization, as their
    transactions commit."""

    def __init__(self, *, urgent: bool) -> None:
        self.urgent = urgent
        self.queued = 0
        self.pending: dict[int, list[int]] = {}

    def add(self, organization_id: int, message_id: int) -> None:
        ids = self.pending.setdefault(organization_id, [])
        if message_id not in ids:
            ids.append(message_id)
        if len(ids) >= DELIVERY_BATCH:
            del self.pending[organization_id]
            _deliver_now(organization_id, ids, urgent=self.urgent)

    def flush(self) -> None:
        pending, self.pending = self.pending, {}
        for organization_id, ids in pending.items():
            _deliver_now(organization_id, ids, urgent=self.urgent)


_BATCH: ContextVar[_Batch | None] = ContextVar("messaging_delivery_batch", default=None)


@contextmanager
def messages_batched(*, urgent: bool = False) -> Iterator[None]:
    """Messages queued inside the block (``message_send``, a retry) are delivered together: as
    their transactions commit they gather per organization, each :data:`DELIVERY_BATCH` goes to
    one delivery task at once, and the rest when the block ends (or, inside a transaction, when
    it commits). A message whose transaction rolls back is never queued; one queued alone
    (outside such a block, or the only one of its organization in it) goes to the one-message
    task. For producers that queue many messages in one go: bulk sends, journey steps.
    ``urgent``: someone is waiting for these messages now (the first messages of stage
    changes), so their tasks go ahead of the stage-change path, as a message alone does,
    instead of after it with the bulk sends."""
    if _BATCH.get() is not None:  # already inside one: the outer block delivers
        yield
        return
    batch = _Batch(urgent=urgent)
    token = _BATCH.set(batch)
    try:
        yield
    finally:
        _BATCH.reset(token)
        if batch.queued:
            # After the adds of the block's transactions: committed → delivered, rolled back →
            # gone.
            transaction.on_commit(batch.flush)


def _enqueue_reconcile(message: Message, *, countdown: float = RECONCILE_AFTER_S) -> None:
    organization_id, message_id = message.organization_id, message.pk
    transaction.on_commit(
        lambda: task_named(RECONCILE_TASK).apply_async(
            (organization_id, message_id), countdown=countdown
        )
    )


def _channel_label(channel: str) -> str:
    return "Text" if channel == Channel.SMS else "E-mail"


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


def _cancel_queued_texts(*, organization, phone: str, reason: str) -> int:
    now = timezone.now()
    return Message.objects.filter(
        organization=organization,
        channel=Channel.SMS,
        direction=Direction.OUTBOUND,
        to_address=phone,
        status__in=[MessageStatus.QUEUED, MessageStatus.HELD],
    ).update(status=MessageStatus.CANCELED, error_message=reason, status_updated_at=now)


def _opt_out_reason(organization, phone: str) -> str:
    entry = selectors.opt_out_latest(organization=organization, phone=phone)
    when = entry.created_at.date().isoformat() if entry else "an earlier date"
    how = (
        f"by texting {entry.keyword.upper() or 'STOP'}"
        if entry and entry.source == OptOutSource.KEYWORD
        else {
            OptOutSource.PROVIDER_ERROR_21610: "by texting STOP (reported by the provider)",
            OptOutSource.MANUAL: "(marked by a team member)",
            OptOutSource.PROVIDER_WEBHOOK: "(reported by the texting provider)",
        }.get(entry.source if entry else "", "by texting STOP")
    )
    return f"{phone} opted out on {when} {how}; they get no texts until they reply START."
