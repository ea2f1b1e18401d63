"""What the parts of messaging's writes share: outcomes, the timeline, queueing the
delivery tasks (by name: the task module imports the services, never the reverse), and fitting
provider values to their columns."""

from __future__ import annotations

import enum
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


@dataclass(frozen=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    retry_after: float | None = None


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _timeline(*, organization, candidate, kind: str, summary: str, detail: str = "", **data):
    if candidate is None:
        return None
    return TimelineEvent.objects.create(
        organization=organization,
        candidate=candidate,
        kind=kind,
        summary=summary[:500],
        detail=detail,
        data=data,
        occurred_at=timezone.now(),
    )


def _conversation_for(*, organization, candidate: Candidate) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        organization=organization, candidate=candidate
    )
    return conversation


DELIVER_TASK = "messaging.tasks.message_deliver"
RECONCILE_TASK = "messaging.tasks.message_reconcile"


def _enqueue(message: Message) -> None:
    organization_id, message_id = message.organization_id, message.pk
    transaction.on_commit(lambda: task_named(DELIVER_TASK).delay(organization_id, message_id))


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
