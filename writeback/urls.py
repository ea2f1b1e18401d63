from django.urls import path

from writeback import public_views, transcript_views, views

app_name = "writeback"

urlpatterns: list = [
    path("settings/ats-activity/", views.settings_page, name="settings"),
    path("settings/ats-activity/inherit/", views.settings_inherit, name="inherit"),
    path("settings/ats-activity/writes/<int:write_id>/retry/", views.write_retry, name="retry"),
    path(
        "candidates/<int:candidate_id>/ats-activity/pause/",
        views.candidate_pause,
        name="candidate_pause",
    ),
    path(
        "candidates/<int:candidate_id>/ats-activity/resume/",
        views.candidate_resume,
        name="candidate_resume",
    ),
    # Public: the page the candidate's recording notice links to (a signed token is the key).
    path("ats-notice/<str:token>/", public_views.notice_page, name="notice"),
    path(
        "inbox/<int:pk>/transcript.pdf",
        transcript_views.transcript_download,
        name="transcript-download",
    ),
]
