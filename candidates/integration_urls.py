"""Settings → Integrations: the page, each ATS vendor's actions, and the syncs."""

from django.urls import path

from integrations.urls import action_alias, provider_patterns

from . import integration_views as views

app_name = "integrations"
PAGE = views.PAGE
urlpatterns = [
    path("", views.index, name="index"),
    path("sync/", views.sync_start, name="sync"),
    path("syncs/", views.sync_history, name="syncs"),
    path("syncs/<int:pk>/progress/", views.sync_progress, name="sync_progress"),
    # Older names of vendor actions (the Lever OAuth callback is the redirect URI registered at
    # Lever): the same handlers as the generic patterns below.
    action_alias("greenhouse/", PAGE, "greenhouse", "save", "greenhouse"),
    action_alias("greenhouse/test/", PAGE, "greenhouse", "test", "greenhouse_test"),
    action_alias("greenhouse/disconnect/", PAGE, "greenhouse", "disconnect", "greenhouse_disconnect"),
    action_alias("lever/", PAGE, "lever", "save", "lever"),
    action_alias("lever/test/", PAGE, "lever", "test", "lever_test"),
    action_alias("lever/disconnect/", PAGE, "lever", "disconnect", "lever_disconnect"),
    action_alias("lever/oauth/start/", PAGE, "lever", "oauth-start", "lever_oauth_start"),
    action_alias("lever/oauth/callback/", PAGE, "lever", "oauth-callback", "lever_oauth_callback"),
    *provider_patterns(PAGE),
]
