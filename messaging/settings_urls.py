"""Settings → Messaging: the page, quiet hours, automatic texts, and each texting and e-mail
vendor's actions."""

from django.urls import path

from integrations.urls import capability_disconnect, provider_patterns

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
    # Each vendor's actions (and the older addresses it keeps): integrations.urls.
    *provider_patterns(PAGE),
]
