"""Settings → Integrations: the page, each ATS vendor's actions, and the syncs."""

from django.urls import path

from integrations.urls import provider_patterns

from . import integration_views as views

app_name = "integrations"
PAGE = views.PAGE
urlpatterns = [
    path("", views.index, name="index"),
    path("sync/", views.sync_start, name="sync"),
    path("syncs/", views.sync_history, name="syncs"),
    path("syncs/<int:pk>/progress/", views.sync_progress, name="sync_progress"),
    # Each vendor's actions (and the older addresses it keeps): integrations.urls.
    *provider_patterns(PAGE),
]
