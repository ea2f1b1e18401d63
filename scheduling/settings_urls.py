"""Settings → Calendars: the page and each calendar vendor's actions."""

from django.urls import path

from integrations.urls import action_alias, provider_patterns

from . import settings_views as views

app_name = "calendar_settings"
PAGE = views.PAGE
urlpatterns = [
    path("", views.index, name="index"),
    # Older names of vendor actions (the Enterprise Connect callback is a redirect URI
    # registered at Cronofy): the same handlers as the generic patterns below.
    action_alias("cronofy/", PAGE, "cronofy", "save", "save"),
    action_alias("cronofy/delete/", PAGE, "cronofy", "disconnect", "delete"),
    action_alias("enterprise-connect/", PAGE, "cronofy", "enterprise-start", "enterprise_start"),
    action_alias(
        "enterprise-connect/callback/",
        PAGE,
        "cronofy",
        "enterprise-callback",
        "enterprise_callback",
    ),
    action_alias(
        "enterprise-connect/forget/", PAGE, "cronofy", "enterprise-forget", "enterprise_forget"
    ),
    *provider_patterns(PAGE),
]
