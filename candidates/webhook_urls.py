"""Inbound ATS webhooks: /webhooks/<provider>/<endpoint token>/."""

from django.urls import path

from candidates import webhooks

app_name = "webhooks"
urlpatterns = [
    path("greenhouse/<str:token>/", webhooks.greenhouse, name="greenhouse"),
    path("lever/<str:token>/", webhooks.lever, name="lever"),
]
