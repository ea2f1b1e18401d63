"""Inbound ATS webhooks: /webhooks/<provider>/<endpoint token>/."""

app_name = "webhooks"
urlpatterns: list = []
