"""The streaming view of filesystem recordings, at ``/interviews/media/`` (the signed URLs of
``interviews.playback.playback_url``)."""

from django.urls import path

from . import media_views

app_name = "interviews_media"
urlpatterns = [path("<str:token>/", media_views.recording_stream, name="stream")]
