"""The writeback endpoints of the partner API (mounted under /api/v1/)."""

from django.urls import path

from writeback import api

urlpatterns: list = [
    path(
        "candidates/<int:pk>/ats-pause/",
        api.CandidateAtsPauseView.as_view(),
        name="candidate-ats-pause",
    ),
]
