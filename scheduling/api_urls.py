"""Scheduling routes of the partner API (mounted in recruitflow.urls api_patterns, namespace
"api")."""

from django.urls import path

from . import api, request_api

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
    path(
        "scheduling-requests/",
        request_api.SchedulingRequestListView.as_view(),
        name="scheduling-request-list",
    ),
    path(
        "scheduling-requests/<int:pk>/",
        request_api.SchedulingRequestDetailView.as_view(),
        name="scheduling-request-detail",
    ),
    path("bookings/", api.BookingListView.as_view(), name="booking-list"),
    path("bookings/<int:pk>/", api.BookingDetailView.as_view(), name="booking-detail"),
]
