"""The demo's sixty days of history: consistent with its stage changes, rolled up, written
once."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Organization
from analytics.demo import demo_history
from analytics.models import RolledDay
from candidates.models import StageTransition
from journeys.models import JourneyRun
from messaging.models import Message
from recruitflow.tenancy import scopes_disabled, tenant_scope
from scheduling.models import Booking

pytestmark = pytest.mark.django_db


def test_seed_demo_writes_sixty_days_of_consistent_history_once(settings):
    settings.SANDBOX_URL = ""
    call_command("seed_demo")
    with scopes_disabled():
        organization = Organization.objects.get(is_demo=True)
    with tenant_scope(organization):
        transitions = StageTransition.objects.all()
        oldest = transitions.order_by("observed_at").first().observed_at
        assert timezone.now() - oldest > timedelta(days=40)
        runs = JourneyRun.objects.select_related("transition")
        assert runs.count() >= 20
        # Every run starts after the stage change that triggered it, into the trigger stage.
        for run in runs:
            assert run.transition.to_stage_name == "Onsite Interview"
            assert run.started_at >= run.transition.observed_at
        assert Message.objects.filter(direction="inbound").exists()
        assert Message.objects.filter(status__in=["failed", "undelivered"]).exists()
        for booking in Booking.objects.select_related("request"):
            assert booking.created_at >= booking.request.created_at
        zone = organization.time_zone
        first_day = timezone.localtime(oldest, zoneinfo.ZoneInfo(zone)).date()
        today = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(zone)).date()
        assert RolledDay.objects.count() == (today - first_day).days
        counts = (transitions.count(), runs.count(), Message.objects.count())
        assert demo_history(organization=organization) is None  # written once
        call_command("seed_demo")
        assert (transitions.count(), runs.count(), Message.objects.count()) == counts
