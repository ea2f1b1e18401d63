"""Settings → Calendars: the page and each calendar vendor's actions."""

from django.urls import path

from integrations.urls import provider_patterns

from . import settings_views as views

app_name = "calendar_settings"
PAGE = views.PAGE
urlpatterns = [
    path("", views.index, name="index"),
    # Each vendor's actions (and the older addresses it keeps): integrations.urls.
    *provider_patterns(PAGE),
]
