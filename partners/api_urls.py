"""The partners endpoints of the partner API (mounted under /api/v1/, namespace "api")."""

from django.urls import path

from . import api

urlpatterns: list = [
    path(
        "webhook-subscriptions/",
        api.SubscriptionListView.as_view(),
        name="webhook-subscription-list",
    ),
    path(
        "webhook-subscriptions/<int:pk>/",
        api.SubscriptionDetailView.as_view(),
        name="webhook-subscription-detail",
    ),
    path(
        "webhook-subscriptions/<int:pk>/rotate-secret/",
        api.SubscriptionRotateView.as_view(),
        name="webhook-subscription-rotate",
    ),
    path(
        "webhook-subscriptions/<int:pk>/test/",
        api.SubscriptionTestView.as_view(),
        name="webhook-subscription-test",
    ),
    path(
        "webhook-subscriptions/<int:pk>/replay-failed/",
        api.SubscriptionReplayFailedView.as_view(),
        name="webhook-subscription-replay-failed",
    ),
    path(
        "webhook-subscriptions/<int:pk>/deliveries/",
        api.SubscriptionDeliveryListView.as_view(),
        name="webhook-delivery-list",
    ),
    path("webhook-deliveries/<int:pk>/", api.DeliveryDetailView.as_view(), name="webhook-delivery"),
    path(
        "webhook-deliveries/<int:pk>/replay/",
        api.DeliveryReplayView.as_view(),
        name="webhook-delivery-replay",
    ),
    path("webhook-event-types/", api.EventTypeListView.as_view(), name="webhook-event-types"),
]
