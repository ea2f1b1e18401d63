from django.urls import path  # noqa: F401

app_name = "scheduling_webhooks"
urlpatterns: list = []
