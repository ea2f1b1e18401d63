"""Settings → Webhooks (mounted at "" in recruitflow.urls)."""

from django.urls import path

from . import views

app_name = "partners"

urlpatterns: list = [
    path("settings/webhooks/", views.index, name="settings"),
    path("settings/webhooks/new/", views.create, name="create"),
    path("settings/webhooks/<int:subscription_id>/", views.detail, name="detail"),
    path("settings/webhooks/<int:subscription_id>/rotate/", views.rotate, name="rotate"),
    path("settings/webhooks/<int:subscription_id>/test/", views.test, name="test"),
    path("settings/webhooks/<int:subscription_id>/delete/", views.delete, name="delete"),
    path(
        "settings/webhooks/<int:subscription_id>/replay-failed/",
        views.replay_failed,
        name="replay_failed",
    ),
    path("settings/webhooks/deliveries/<int:delivery_id>/", views.delivery_detail, name="delivery"),
    path(
        "settings/webhooks/deliveries/<int:delivery_id>/replay/",
        views.delivery_replay,
        name="delivery_replay",
    ),
]
