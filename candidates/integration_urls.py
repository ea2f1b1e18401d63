"""Settings → Integrations: connect, test and watch each provider."""

from django.urls import path

from . import integration_views as views

app_name = "integrations"
urlpatterns = [
    path("", views.index, name="index"),
    path("greenhouse/", views.greenhouse_save, name="greenhouse"),
    path("greenhouse/test/", views.greenhouse_test, name="greenhouse_test"),
    path("greenhouse/disconnect/", views.greenhouse_disconnect, name="greenhouse_disconnect"),
    path("lever/", views.lever_save, name="lever"),
    path("lever/test/", views.lever_test, name="lever_test"),
    path("lever/disconnect/", views.lever_disconnect, name="lever_disconnect"),
    path("lever/oauth/start/", views.lever_oauth_start, name="lever_oauth_start"),
    path("lever/oauth/callback/", views.lever_oauth_callback, name="lever_oauth_callback"),
    path("sync/", views.sync_start, name="sync"),
    path("syncs/", views.sync_history, name="syncs"),
    path("syncs/<int:pk>/progress/", views.sync_progress, name="sync_progress"),
]
