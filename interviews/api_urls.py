"""Video interview routes of the partner API (mounted in recruitflow.urls api_patterns,
namespace "api")."""

from django.urls import path

from . import api

urlpatterns: list = [
    path("video-templates/", api.VideoTemplateListView.as_view(), name="video-template-list"),
    path(
        "video-templates/<int:pk>/",
        api.VideoTemplateDetailView.as_view(),
        name="video-template-detail",
    ),
    path("video-interviews/", api.VideoInterviewListView.as_view(), name="video-interview-list"),
    path(
        "video-interviews/<int:pk>/",
        api.VideoInterviewDetailView.as_view(),
        name="video-interview-detail",
    ),
]
