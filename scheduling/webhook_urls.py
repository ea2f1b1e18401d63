"""Cronofy callbacks: /webhooks/cronofy/<endpoint token>/... (see scheduling.webhooks)."""

from django.urls import path

from scheduling import webhooks

app_name = "scheduling_webhooks"
urlpatterns = [
    path("cronofy/<str:token>/", webhooks.cronofy, name="cronofy"),
    path(
        "cronofy/<str:token>/authorization/",
        webhooks.cronofy_authorization,
        name="cronofy-authorization",
    ),
]
