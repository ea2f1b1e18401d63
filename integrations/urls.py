"""Settings → Integrations: connect, test and watch each provider."""

app_name = "integrations"
urlpatterns: list = []
