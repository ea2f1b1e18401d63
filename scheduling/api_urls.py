"""Scheduling routes of the partner API (mounted in recruitflow.urls api_patterns)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
