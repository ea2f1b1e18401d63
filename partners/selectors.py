"""Reads of partner webhooks, always given the organization."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from partners.models import Delivery, DeliveryStatus, Subscription


def subscriptions(*, organization) -> QuerySet[Subscription]:
    return Subscription.objects.filter(organization=organization).annotate(
        delivered_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DELIVERED)),
        failing_count=Count(
            "deliveries",
            filter=Q(deliveries__status__in=[DeliveryStatus.FAILED, DeliveryStatus.PENDING])
            & Q(deliveries__attempts__gt=0),
        ),
    )


def deliveries(*, organization, subscription: Subscription | None = None) -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(organization=organization).select_related("event", "subscription")
    if subscription is not None:
        qs = qs.filter(subscription=subscription)
    return qs.order_by("-id")
