"""The delivery recovery sweep (beat, every minute): every state a worker can die in is
revisited, and nothing is ever sent blindly.

- A message still ``sending`` after ``MESSAGING_SENDING_STALE_SECONDS``: its worker (or its
  database connection) died between the claim and writing the provider's answer. It becomes
  ``unknown`` and the provider is asked at once (:func:`messaging.services.message_reconcile`):
  adopted when the provider has it, put back to ``queued`` and sent once when the provider
  provably never got it.
- A message still ``queued`` after ``MESSAGING_QUEUED_STALE_SECONDS`` (longer for one that
  waits for a retry): its task was lost. It is queued again; the claim (queued → sending) makes
  a second task harmless.
- A message ``unknown`` whose reconcile task was lost (or could not settle it yet) is asked
  about again, at most every :data:`UNKNOWN_RECHECK`, for :data:`UNKNOWN_HORIZON`.

Provider callbacks left unapplied are the one webhook intake's sweep's
(:func:`integrations.intake.sweep`), with every other vendor's deliveries.

Crosses organizations on purpose (beat fan-out); each message is handled inside its own
organization's scope.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from messaging import services
from messaging.models import Direction, Message, MessageEvent, MessageStatus
from recruitflow.tenancy import scopes_disabled, tenant_scope

logger = logging.getLogger(__name__)

# A message that waits for a retry of its task is queued for up to the longest backoff
# (``messaging.tasks._backoff``: 10 minutes); it is queued again only after this.
RETRY_WAIT = timedelta(minutes=15)
UNKNOWN_RECHECK = timedelta(minutes=15)
UNKNOWN_HORIZON = timedelta(days=3)
BATCH = 500


def _seconds(name: str, default: int) -> timedelta:
    return timedelta(seconds=getattr(settings, name, default))


@dataclass
class RecoveryReport:
    sending_settled: int = 0
    queued_requeued: int = 0
    unknown_asked: int = 0


def _organizations(ids) -> dict:
    return {org.pk: org for org in Organization.objects.filter(pk__in=set(ids), is_active=True)}


def delivery_recover(*, now: datetime | None = None) -> RecoveryReport:
    """Run every part of the sweep once; returns what it did."""
    now = now or timezone.now()
    report = RecoveryReport()
    with scopes_disabled():
        outbound = Message.unscoped.filter(direction=Direction.OUTBOUND)
        sending = list(
            outbound.filter(
                status=MessageStatus.SENDING,
                status_updated_at__lt=now - _seconds("MESSAGING_SENDING_STALE_SECONDS", 300),
            ).values_list("organization_id", "pk")[:BATCH]
        )
        queued_stale = now - _seconds("MESSAGING_QUEUED_STALE_SECONDS", 300)
        queued = list(
            outbound.filter(status=MessageStatus.QUEUED, status_updated_at__lt=queued_stale)
            .exclude(attempts__gt=0, status_updated_at__gte=now - RETRY_WAIT)
            .values_list("organization_id", "pk")[:BATCH]
        )
        unknown = list(
            outbound.filter(
                status=MessageStatus.UNKNOWN,
                status_updated_at__lt=now - timedelta(seconds=services.RECONCILE_AFTER_S * 5),
                status_updated_at__gte=now - UNKNOWN_HORIZON,
            )
            .exclude(provider_checked_at__gte=now - UNKNOWN_RECHECK)
            .values_list("organization_id", "pk")[:BATCH]
        )
    organizations = _organizations(org_id for org_id, _ in [*sending, *queued, *unknown])

    def each(rows, handle) -> int:
        done = 0
        for org_id, pk in rows:
            organization = organizations.get(org_id)
            if organization is None:
                continue
            with tenant_scope(organization):
                try:
                    done += int(bool(handle(organization, pk, now)))
                except Exception:  # one broken row must not stop the sweep
                    logger.exception("Recovering %s %s failed", handle.__name__, pk)
        return done

    report.sending_settled = each(sending, message_sending_settle)
    report.queued_requeued = each(queued, message_queued_requeue)
    report.unknown_asked = each(unknown, message_unknown_ask)
    return report


def message_sending_settle(organization, message_id: int, now: datetime) -> bool:
    """A message left ``sending`` by a worker that died: ``unknown``, then the provider is
    asked (adopt, or queue it again when the provider never got it). Never resent blindly."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(organization=organization, pk=message_id, status=MessageStatus.SENDING)
            .first()
        )
        if message is None:
            return False
        label = "text" if message.channel == "sms" else "e-mail"
        message.status = MessageStatus.UNKNOWN
        message.status_updated_at = now
        message.error_message = (
            f"The send of this {label} was cut off (the worker stopped before the provider's "
            "answer was saved); the provider is asked whether it has it before anything is "
            "sent again."
        )
        message.save(update_fields=["status", "status_updated_at", "error_message"])
        MessageEvent.objects.create(
            organization=organization,
            message=message,
            status=MessageStatus.UNKNOWN,
            raw={"recovered": "sending past its deadline"},
            occurred_at=now,
        )
    services.message_reconcile(organization=organization, message_id=message_id)
    return True


def message_queued_requeue(organization, message_id: int, now: datetime) -> bool:
    """A queued message whose task was lost: queued again (the claim makes a duplicate task
    harmless). ``status_updated_at`` records the requeue, so the next sweep waits again."""
    with transaction.atomic():
        touched = Message.objects.filter(
            organization=organization, pk=message_id, status=MessageStatus.QUEUED
        ).update(status_updated_at=now)
        if touched:
            services._enqueue(Message.objects.get(pk=message_id))
    return bool(touched)


def message_unknown_ask(organization, message_id: int, now: datetime) -> bool:
    """Ask the provider again about a message still ``unknown`` (its reconcile task was lost
    or could not settle it). True when it settled."""
    outcome = services.message_reconcile(organization=organization, message_id=message_id)
    return outcome.outcome in (services.DeliveryOutcome.SENT, services.DeliveryOutcome.REQUEUED)
