"""Scheduling routes of the partner API (mounted in recruitflow.urls api_patterns, namespace
"api")."""

from django.urls import path

from . import api

urlpatterns: list = [
    path(
        "scheduling-templates/",
        api.SchedulingTemplateListView.as_view(),
        name="scheduling-template-list",
    ),
    path(
        "scheduling-templates/<int:pk>/",
        api.SchedulingTemplateDetailView.as_view(),
        name="scheduling-template-detail",
    ),
    path(
        "scheduling-templates/<int:pk>/links/",
        api.SchedulingLinkCreateView.as_view(),
        name="scheduling-template-link-create",
    ),
    path("bookings/", api.BookingListView.as_view(), name="booking-list"),
    path("bookings/<int:pk>/", api.BookingDetailView.as_view(), name="booking-detail"),
]
