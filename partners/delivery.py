"""Sending deliveries: claim due ones (``select_for_update(skip_locked=True)``, a lease so a dead
worker's claim runs out), sign (Standard Webhooks, both secrets during a rotation), POST once,
log the attempt, then schedule the next one with exponential backoff and jitter, or give up
when the delivery's 3 days are over. A subscription whose attempts all failed for 3 days is
switched off and its organization's admins get an e-mail.

"Deliver in order": only the oldest undelivered delivery of such a subscription can be claimed,
so a later event waits until the earlier one is delivered (or given up)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts.models import ADMIN_ROLES, Membership
from partners import transport
from partners.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription
from recruitflow.tenancy import scopes_disabled

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=transport.TIMEOUT_SECONDS * 3)
UNDELIVERED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
ORDERED_RUN = 20  # deliveries of one ordered subscription a worker takes at once


def retry_window() -> timedelta:
    return timedelta(seconds=getattr(settings, "PARTNER_WEBHOOK_RETRY_WINDOW_SECONDS", 3 * 86400))


def backoff(attempt: int, *, jitter: float | None = None) -> timedelta:
    """The wait after failed ``attempt`` (1-based): base·2^(n-1) capped, "equal jitter" (half
    fixed, half random) so receivers coming back are not hit by every sender at once."""
    base = getattr(settings, "PARTNER_WEBHOOK_RETRY_BASE_SECONDS", 10.0)
    cap = getattr(settings, "PARTNER_WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600.0)
    ceiling = min(cap, base * (2 ** min(attempt - 1, 30)))
    share = random.random() if jitter is None else jitter
    return timedelta(seconds=ceiling / 2 + share * ceiling / 2)


def signature_header(subscription: Subscription, *, msg_id: str, at: datetime, body: bytes) -> str:
    """``v1,<sig>`` with the current secret, and the previous one's too while it still signs."""
    signatures = [Webhook(subscription.secret).sign(msg_id, at, body)]
    if (
        subscription.previous_secret
        and subscription.previous_secret_expires_at is not None
        and subscription.previous_secret_expires_at > at
    ):
        signatures.append(Webhook(subscription.previous_secret).sign(msg_id, at, body))
    return " ".join(signatures)


def request_headers(subscription: Subscription, *, msg_id: str, at: datetime, body: bytes) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": transport.USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(subscription, msg_id=msg_id, at=at, body=body),
    }


def deliveries_claim(*, limit: int = 50, now: datetime | None = None) -> list[int]:
    """Claim due deliveries across organizations (beat fan-out); returns their ids.

    Three kinds, each locked with ``skip_locked`` so workers never wait on each other: sends
    whose lease ran out (their worker died), the head of each ordered subscription (its oldest
    undelivered delivery, when due), and due deliveries of the other subscriptions."""
    now = now or timezone.now()
    with scopes_disabled(), transaction.atomic():
        live = Delivery.unscoped.filter(subscription__enabled=True)
        ids = list(
            live.filter(status=DeliveryStatus.SENDING, locked_until__lt=now)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:limit]
        )
        heads = list(
            # The oldest undelivered delivery of each ordered subscription (an aggregate, not
            # DISTINCT ON: the embedded SQLite database has no DISTINCT ON).
            live.filter(subscription__ordered=True, status__in=UNDELIVERED)
            .order_by()
            .values("subscription_id")
            .annotate(head=Min("pk"))
            .values_list("head", flat=True)
        )
        if heads and len(ids) < limit:
            locked_heads = list(
                Delivery.unscoped.filter(
                    pk__in=heads, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
                )
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", "subscription_id")[: limit - len(ids)]
            )
            for head, subscription_id in locked_heads:
                # The head's worker also takes the run behind it, sent in order after it.
                ids.append(head)
                ids += list(
                    Delivery.unscoped.filter(
                        subscription_id=subscription_id,
                        pk__gt=head,
                        status=DeliveryStatus.PENDING,
                        next_attempt_at__lte=now,
                    )
                    .order_by("pk")
                    .select_for_update(skip_locked=True, of=("self",))
                    .values_list("pk", flat=True)[: ORDERED_RUN - 1]
                )
        if len(ids) < limit:
            ids += list(
                live.filter(
                    subscription__ordered=False,
                    status=DeliveryStatus.PENDING,
                    next_attempt_at__lte=now,
                )
                .order_by("next_attempt_at", "pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[: limit - len(ids)]
            )
        if ids:
            Delivery.unscoped.filter(pk__in=ids).update(
                status=DeliveryStatus.SENDING, locked_until=now + LEASE
            )
    return ids


@dataclass
class Outcome:
    delivery: Delivery
    answer: transport.Answer
    headers: dict
    started_at: datetime


def deliveries_send(*, delivery_ids: list[int], http: requests.Session | None = None) -> int:
    """POST claimed deliveries one after the other, then record every attempt and what follows
    from it in one transaction. Returns how many were delivered.

    A worker that dies between a POST and this record leaves the claim to run out: the delivery
    is sent again (at least once; the receiver deduplicates on ``webhook-id``)."""
    if not delivery_ids:
        return 0
    with scopes_disabled():
        claimed = list(
            Delivery.unscoped.select_related("event", "subscription")
            .filter(pk__in=delivery_ids, status=DeliveryStatus.SENDING)
            .order_by("pk")
        )
    http = http or transport.session()
    outcomes = []
    stopped: set[int] = set()  # ordered subscriptions whose earlier delivery just failed
    held: list[int] = []
    for delivery in claimed:
        if delivery.subscription_id in stopped:
            held.append(delivery.pk)
            continue
        at = timezone.now()
        body = delivery.event.body.encode()
        headers = request_headers(delivery.subscription, msg_id=delivery.event.event_id, at=at,
                                  body=body)  # fmt: skip
        answer = transport.post(http, delivery.subscription.url, body=body, headers=headers)
        outcomes.append(Outcome(delivery, answer, headers, at))
        if not answer.ok and delivery.subscription.ordered:
            stopped.add(delivery.subscription_id)
    _record(outcomes, held=held)
    return sum(1 for o in outcomes if o.answer.ok)


def delivery_send(*, delivery_id: int, http: requests.Session | None = None) -> bool:
    """POST one claimed delivery; True when the receiver took it."""
    return deliveries_send(delivery_ids=[delivery_id], http=http) == 1


def _record(outcomes: list[Outcome], *, held: list[int] | None = None) -> None:
    now = timezone.now()
    window = retry_window()
    attempts = []
    recovered: set[int] = set()
    failing: dict[int, datetime] = {}
    with scopes_disabled(), transaction.atomic():
        for o in outcomes:
            delivery, answer = o.delivery, o.answer
            number = delivery.attempts + 1
            error = answer.error or ("" if answer.ok else f"Answered {answer.status}.")
            attempts.append(
                DeliveryAttempt(
                    organization_id=delivery.organization_id,
                    delivery=delivery,
                    number=number,
                    url=delivery.subscription.url,
                    request_headers=o.headers,
                    request_body=delivery.event.body,
                    response_status=answer.status,
                    response_headers=answer.headers,
                    response_body=answer.body,
                    error=error[:500],
                    duration_ms=answer.duration_ms,
                    started_at=o.started_at,
                )
            )
            common: dict[str, Any] = {"last_status_code": answer.status, "last_error": error[:500]}
            if answer.ok:
                recovered.add(delivery.subscription_id)
                continue
            failing.setdefault(delivery.subscription_id, o.started_at)
            fields: dict[str, Any]
            if now - delivery.window_started_at >= window:
                fields = {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
            else:
                fields = {
                    "status": DeliveryStatus.PENDING,
                    "next_attempt_at": now + backoff(number),
                }
            # Only the claim holder writes: a row replayed or re-claimed meanwhile is left alone.
            Delivery.unscoped.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
                attempts=number, locked_until=None, **common, **fields
            )
        DeliveryAttempt.unscoped.bulk_create(attempts)
        if held:  # not tried: they wait behind the failed one again
            Delivery.unscoped.filter(pk__in=held, status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.PENDING, locked_until=None
            )
        by_code: dict[int | None, list[int]] = {}
        for o in outcomes:
            if o.answer.ok:
                by_code.setdefault(o.answer.status, []).append(o.delivery.pk)
        for code, ids in by_code.items():
            Delivery.unscoped.filter(pk__in=ids, status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.DELIVERED,
                delivered_at=now,
                next_attempt_at=None,
                locked_until=None,
                attempts=F("attempts") + 1,
                last_status_code=code,
                last_error="",
            )
        if recovered:
            Subscription.unscoped.filter(pk__in=recovered, failing_since__isnull=False).update(
                failing_since=None
            )
        for subscription_id, since in failing.items():
            if subscription_id in recovered:
                continue
            Subscription.unscoped.filter(pk=subscription_id, failing_since__isnull=True).update(
                failing_since=since
            )
    for subscription_id in failing:
        if subscription_id not in recovered:
            subscription_disable_if_failing(subscription_id=subscription_id, now=now)


def subscription_disable_if_failing(*, subscription_id: int, now: datetime | None = None) -> bool:
    """Switch off a subscription whose every attempt failed for the retry window, and tell its
    organization's admins. True when it was switched off now."""
    now = now or timezone.now()
    with scopes_disabled():
        switched = Subscription.unscoped.filter(
            pk=subscription_id, enabled=True, failing_since__lte=now - retry_window()
        ).update(
            enabled=False,
            disabled_reason="Switched off: every delivery failed for 3 days.",
        )
        if not switched:
            return False
        subscription = Subscription.unscoped.select_related("organization").get(pk=subscription_id)
        admins = list(
            Membership.unscoped.filter(organization=subscription.organization, role__in=ADMIN_ROLES)
            .select_related("user")
            .values_list("user__email", flat=True)
        )
    recipients = sorted({email for email in admins if email})
    if recipients:
        context = {
            "subscription": subscription,
            "organization": subscription.organization,
            "url": settings.PUBLIC_BASE_URL + reverse("partners:settings"),
        }
        try:
            send_mail(
                subject=f"A webhook of {subscription.organization.name} was switched off",
                message=render_to_string("partners/email/subscription_disabled.txt", context),
                from_email=None,
                recipient_list=recipients,
            )
        except Exception:  # the switch-off stands; the page says so even if mail is down
            logger.exception("Could not e-mail the admins about subscription %s", subscription_id)
    return True


def deliver_due(*, batches: int = 20, batch: int = 50, http: requests.Session | None = None) -> int:
    """Claim and send due deliveries until none are due (or ``batches`` ran). Returns how many
    were delivered."""
    http = http or transport.session()
    delivered = 0
    for _ in range(batches):
        ids = deliveries_claim(limit=batch)
        if not ids:
            break
        delivered += deliveries_send(delivery_ids=ids, http=http)
    return delivered
