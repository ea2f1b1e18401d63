"""Writes of partner webhooks: subscriptions (create, change, rotate the secret, delete), test
events and replays. Keyword-only, atomic; the settings page and the API both call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.http_errors import UnsafeURL
from partners import event_types
from partners.collector import cursor_locked, payload_body
from partners.models import (
    Delivery,
    DeliveryStatus,
    Event,
    Subscription,
    new_event_id,
    new_secret,
)
from partners.sources import all_sources, connection_sources
from partners.transport import check_url
from recruitflow.tasks import task_named
from recruitflow.tenancy import tenant_scope

ROTATION_OVERLAP = timedelta(hours=24)
MAX_SUBSCRIPTIONS = 20


def clean_event_types(values) -> list[str]:
    known = set(event_types.names())
    chosen = [str(v) for v in values or []]
    unknown = sorted(set(chosen) - known)
    if unknown:
        raise ValidationError(
            {"event_types": f"Unknown event type(s): {', '.join(unknown)}."}, code="unknown"
        )
    if not chosen:
        raise ValidationError({"event_types": "Choose at least one event type."}, code="required")
    return sorted(set(chosen))


def clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": "Enter the address that receives the webhooks."})
    if len(url) > 1000:
        raise ValidationError({"url": "The address is longer than 1,000 characters."})
    try:
        check_url(url)
    except UnsafeURL as exc:
        raise ValidationError({"url": str(exc)}, code="unsafe") from exc
    return url


def cursors_start(*, organization) -> None:
    """Start the organization's cursors at the present, if they are not running yet, so events
    from now on are read (history is not sent)."""
    now = timezone.now()
    with tenant_scope(organization):
        for source in [*all_sources(), *connection_sources()]:
            with transaction.atomic():
                cursor_locked(organization, source, now)


@transaction.atomic
def subscription_create(
    *,
    organization,
    url: str,
    event_types: list[str],
    description: str = "",
    enabled: bool = True,
    ordered: bool = False,
    actor=None,
) -> Subscription:
    if Subscription.objects.filter(organization=organization).count() >= MAX_SUBSCRIPTIONS:
        raise ValidationError(f"An organization can have at most {MAX_SUBSCRIPTIONS} webhooks.")
    subscription = Subscription.objects.create(
        organization=organization,
        url=clean_url(url),
        event_types=clean_event_types(event_types),
        description=(description or "").strip()[:200],
        enabled=enabled,
        ordered=ordered,
        created_by=actor,
    )
    transaction.on_commit(lambda: cursors_start(organization=organization))
    return subscription


@transaction.atomic
def subscription_update(*, subscription: Subscription, **changes) -> Subscription:
    """Change any of url, event_types, description, enabled, ordered. Switching a subscription
    back on clears its failure clock."""
    if "url" in changes:
        subscription.url = clean_url(changes["url"])
    if "event_types" in changes:
        subscription.event_types = clean_event_types(changes["event_types"])
    if "description" in changes:
        subscription.description = (changes["description"] or "").strip()[:200]
    if "ordered" in changes:
        subscription.ordered = bool(changes["ordered"])
    if "enabled" in changes:
        enabled = bool(changes["enabled"])
        if enabled and not subscription.enabled:
            subscription.failing_since = None
            subscription.disabled_reason = ""
        if not enabled and subscription.enabled:
            subscription.disabled_reason = "Switched off by a team member."
        subscription.enabled = enabled
    subscription.save()
    return subscription


@dataclass
class Rotation:
    subscription: Subscription
    secret: str


@transaction.atomic
def subscription_rotate_secret(*, subscription: Subscription, now: datetime | None = None):
    """A new secret; the old one keeps signing (a second signature) for 24 hours."""
    now = now or timezone.now()
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = now + ROTATION_OVERLAP
    subscription.secret = new_secret()
    subscription.save()
    return Rotation(subscription, subscription.secret)


@transaction.atomic
def subscription_delete(*, subscription: Subscription) -> None:
    subscription.delete()


def _kick() -> None:
    transaction.on_commit(lambda: task_named("partners.deliver_due").delay())


@transaction.atomic
def test_event_send(*, subscription: Subscription) -> Delivery:
    """Queue a ``webhook.test`` event for this subscription alone (even when switched off it is
    not sent; the page says so)."""
    now = timezone.now()
    event_id = new_event_id()
    event = Event.objects.create(
        organization=subscription.organization,
        event_id=event_id,
        type=event_types.TEST_EVENT,
        source_key=event_id,
        body=payload_body(
            event_types.TEST_EVENT,
            {
                "message": "This is a test event from RecruitFlow.",
                "subscription_id": subscription.pk,
            },
            now,
        ),
        occurred_at=now,
        is_test=True,
    )
    delivery = Delivery.objects.create(
        organization=subscription.organization,
        subscription=subscription,
        event=event,
        next_attempt_at=now,
        window_started_at=now,
    )
    _kick()
    return delivery


@transaction.atomic
def delivery_replay(*, delivery: Delivery) -> Delivery:
    """Send a delivery again now (same webhook-id, so a receiver that has it can tell), with a
    fresh retry window. A delivery being sent right now is left alone."""
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).exclude(status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now, window_started_at=now
    )
    delivery.refresh_from_db()
    _kick()
    return delivery


@transaction.atomic
def deliveries_replay_failed(*, subscription: Subscription, since: datetime) -> int:
    """Replay every delivery of ``subscription`` created since ``since`` whose last attempt
    failed (given up, or waiting for a retry). Returns how many."""
    now = timezone.now()
    count = (
        Delivery.objects.filter(subscription=subscription, created_at__gte=since, attempts__gt=0)
        .filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.PENDING])
        .update(status=DeliveryStatus.PENDING, next_attempt_at=now, window_started_at=now)
    )
    if count:
        _kick()
    return count
