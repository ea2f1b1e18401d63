"""Settings → Messaging: the page, quiet hours, automatic texts, and each texting and e-mail
vendor's actions."""

from django.urls import path

from integrations.urls import action_alias, capability_disconnect, provider_patterns

from . import settings_views as views

app_name = "messaging_settings"
PAGE = views.PAGE
urlpatterns = [
    path("", views.index, name="index"),
    path("quiet-hours/", views.quiet_hours_save, name="quiet_hours"),
    path("texts/", views.auto_texts_save, name="auto_texts"),
    # Disconnect whichever vendor carries the organization's texts (or e-mails).
    capability_disconnect("sms/disconnect/", PAGE, "sms", "sms_disconnect"),
    capability_disconnect("email/disconnect/", PAGE, "email", "email_disconnect"),
    # Older names of vendor actions: the same handlers as the generic patterns below.
    action_alias("twilio/", PAGE, "twilio", "save", "twilio"),
    action_alias("twilio/test/", PAGE, "twilio", "test", "twilio_test"),
    action_alias("textus/", PAGE, "textus", "save", "textus"),
    action_alias("textus/test/", PAGE, "textus", "test", "textus_test"),
    action_alias("sendgrid/", PAGE, "sendgrid", "save", "sendgrid"),
    action_alias("sendgrid/test/", PAGE, "sendgrid", "test", "sendgrid_test"),
    *provider_patterns(PAGE),
]
