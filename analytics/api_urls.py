"""The analytics endpoints of the partner API (mounted under /api/v1/)."""

from django.urls import path

from . import api

urlpatterns: list = [
    path("analytics/", api.AnalyticsView.as_view(), name="analytics"),
]
