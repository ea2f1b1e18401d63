"""Settings → Video interviews, mounted at ``/settings/video-interviews/``."""

from django.urls import path

from . import settings_views as views

app_name = "interview_settings"
urlpatterns = [path("", views.index, name="index")]
