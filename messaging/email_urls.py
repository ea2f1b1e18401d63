"""The unsubscribe links of journey e-mails (mounted at the site root); see
:mod:`messaging.email_views`."""

from django.urls import path

from messaging import email_views

app_name = "messaging_email"
urlpatterns = [
    path("email/unsubscribe/<str:token>/", email_views.unsubscribe, name="unsubscribe"),
]
