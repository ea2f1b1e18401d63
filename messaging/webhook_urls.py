"""Messaging provider callbacks: /webhooks/<provider>/<endpoint token>/...

The token is the organization's ``MessagingPreferences.endpoint_token``; the full URLs of an
organization come from ``messaging.selectors.callback_urls``.
"""

from django.urls import path

from messaging import email_webhooks, webhooks

app_name = "messaging_webhooks"
urlpatterns = [
    path("twilio/<str:token>/status/", webhooks.twilio_status, name="twilio-status"),
    path("twilio/<str:token>/inbound/", webhooks.twilio_inbound, name="twilio-inbound"),
    path("textus/<str:token>/", webhooks.textus, name="textus"),
    path("sendgrid/<str:token>/events/", webhooks.sendgrid_events, name="sendgrid-events"),
    path(
        "sendgrid/<str:token>/inbound/",
        email_webhooks.sendgrid_inbound,
        name="email-inbound",
    ),
]
