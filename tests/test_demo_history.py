"""`seed_demo` gives the demo organization sixty days of history that Simulate, the Runs page
and the candidate timeline agree on: stage changes in office hours ending where each application
is now, the demo journey's runs exactly as Simulate replays them, written once, nothing queued."""

from __future__ import annotations

import re
import zoneinfo
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from analytics.demo import demo_history
from analytics.models import RolledDay
from candidates.models import Application, StageTransition, TimelineEvent
from journeys.demo import DEMO_JOURNEY_NAME
from journeys.models import Journey, JourneyRun, StepRun
from journeys.simulation import simulate
from messaging.models import Message
from recruitflow.tenancy import scopes_disabled, tenant_scope
from scheduling.models import Booking, SchedulingRequest

pytestmark = pytest.mark.django_db


# The history is drawn from a seeded random around "now": a fixed now makes it the same rows
# on every run of the suite (a Tuesday morning in New York).
NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)


@pytest.fixture
def demo(settings, monkeypatch, time_machine):
    """The demo organization after `seed_demo` (its own mirror: no sandbox to wait for), with
    every task the seeding tried to queue."""
    time_machine.move_to(NOW, tick=True)
    settings.SANDBOX_URL = ""
    queued: list[str] = []
    from celery.app.task import Task

    def refuse(task, *args, **kwargs):
        queued.append(task.name)

    monkeypatch.setattr(Task, "apply_async", refuse)
    call_command("seed_demo")
    with scopes_disabled():
        organization = Organization.objects.get(is_demo=True)
    organization.queued = queued
    return organization


def _journey(organization) -> Journey:
    return Journey.objects.select_related("current_version").get(
        organization=organization, name=DEMO_JOURNEY_NAME
    )


def _simulate_shows_the_last_30_days(demo, client):
    with tenant_scope(demo):
        journey = _journey(demo)
        report = simulate(version=journey.current_version, days=30)
        assert report.transitions_considered > 0
        assert report.received, "nobody would have received the journey's messages"
        assert report.messages >= 2 * len(report.received)  # a text and an e-mail each
    client.force_login(get_user_model().objects.get(email=settings.DEMO_EMAIL))
    page = client.get(reverse("journeys:simulate", args=[journey.pk]), {"days": 30})
    assert page.status_code == 200
    text = page.content.decode()
    looked_at = re.search(r"(\d+) stage changes? looked at", text)
    assert looked_at and int(looked_at.group(1)) == report.transitions_considered > 0
    entered = re.search(r'id="stat-entered">(\d+)<', text)
    assert entered and int(entered.group(1)) == len(report.entries) > 0
    # A year back finds more (the sixty days), and nothing older was invented.
    year = client.get(reverse("journeys:simulate", args=[journey.pk]), {"days": 365})
    year_looked_at = re.search(r"(\d+) stage changes? looked at", year.content.decode())
    assert year_looked_at and int(year_looked_at.group(1)) > report.transitions_considered
    with tenant_scope(demo):
        assert simulate(version=journey.current_version, days=365).transitions_considered == (
            simulate(version=journey.current_version, days=61).transitions_considered
        )


def _runs_are_what_simulate_says(demo):
    with tenant_scope(demo):
        journey = _journey(demo)
        report = simulate(version=journey.current_version, days=60)
        runs = list(JourneyRun.objects.select_related("transition"))
        assert len(runs) >= 20
        assert {(r.candidate_id, r.transition.observed_at) for r in runs} == {
            (e.candidate_id, e.entered_at) for e in report.entries
        }
        simulated = {(e.candidate_id, e.entered_at): e for e in report.entries}
        for run in runs:
            entry = simulated[(run.candidate_id, run.transition.observed_at)]
            assert run.started_at >= run.transition.observed_at
            assert run.status == ("exited" if entry.exited_reason else "completed")
            sent = {
                s.position: s
                for s in StepRun.objects.filter(run=run).select_related("message")
                if s.message
            }
            for step in entry.steps:
                if step.channel and step.sends:
                    message = sent[step.position].message
                    # Sent when Simulate says, quiet hours included (seconds later).
                    assert timedelta(0) <= message.created_at - step.at < timedelta(seconds=10)
        # Nothing is left waiting for the engine: activating the journey sends nothing old.
        assert not StepRun.objects.exclude(status__in=["done", "skipped", "canceled"]).exists()
        assert not Message.objects.filter(status__in=["queued", "sending", "held"]).exists()
    assert demo.queued == []


def _sixty_days_of_office_hours_ending_where_each_application_is(demo):
    zone = zoneinfo.ZoneInfo(demo.time_zone)
    with tenant_scope(demo):
        transitions = list(StageTransition.objects.order_by("observed_at", "pk"))
        oldest, newest = transitions[0].observed_at, transitions[-1].observed_at
        assert timedelta(days=50) < timezone.now() - oldest <= timedelta(days=60)
        assert timezone.now() - newest < timedelta(days=4)
        # Recruiters' moves (not candidates applying): weekdays far more, in office hours.
        moves = [t.observed_at.astimezone(zone) for t in transitions if not t.is_new_application]
        days = Counter(m.weekday() for m in moves)
        weekday, weekend = sum(days[d] for d in range(5)) / 5, (days[5] + days[6]) / 2
        assert weekday > 4 * weekend
        in_hours = [m for m in moves if 7 <= m.hour < 22]
        assert len(in_hours) == len(moves)
        assert sum(1 for m in moves if 8 <= m.hour < 18) > 0.75 * len(moves)
        # Each application's last stage change lands on its current stage and status.
        last: dict[int, StageTransition] = {}
        for t in transitions:
            last[t.application_id] = t
        applications = Application.objects.in_bulk(list(last))
        for application_id, t in last.items():
            application = applications[application_id]
            assert t.to_stage_name == application.stage_name, application
            assert (t.to_status or "active") == application.status, application
        # Replies, failures, bookings past and cancelled.
        assert Message.objects.filter(direction="inbound").exists()
        assert Message.objects.filter(status__in=["failed", "undelivered"]).exists()
        bookings = Booking.objects.all()
        assert bookings.filter(start__lt=timezone.now()).exists()
        assert bookings.filter(status="cancelled").exists()
        for booking in bookings.select_related("request"):
            assert booking.created_at >= booking.request.created_at
        assert SchedulingRequest.objects.count() == JourneyRun.objects.count()
        # The Insight rollups saw every day of it.
        first_day = timezone.localtime(oldest, zone).date()
        today = timezone.localtime(timezone.now(), zone).date()
        assert RolledDay.objects.count() == (today - first_day).days


def _seed_demo_again_adds_nothing(demo):
    def counts():
        with tenant_scope(demo):
            return [
                model.objects.count()
                for model in (
                    StageTransition,
                    JourneyRun,
                    StepRun,
                    Message,
                    Booking,
                    TimelineEvent,
                )
            ]

    before = counts()
    assert before[0] > 100
    with tenant_scope(demo):
        assert demo_history(organization=demo) is None
    call_command("seed_demo")
    assert counts() == before


def _a_candidates_timeline_shows_the_past_weeks(demo, client):
    with tenant_scope(demo):
        run = JourneyRun.objects.select_related("candidate").order_by("started_at").first()
        candidate = run.candidate
    client.force_login(get_user_model().objects.get(email=settings.DEMO_EMAIL))
    page = client.get(reverse("candidates:detail", args=[candidate.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "to Onsite Interview" in text  # the stage change that started the journey
    assert f"Entered journey “{DEMO_JOURNEY_NAME}”" in text
    assert "Text sent: Hi " in text
    when = timezone.localtime(run.started_at, zoneinfo.ZoneInfo(demo.time_zone))
    assert when.strftime("%b") in text and (" EST" in text or " EDT" in text)
    assert timezone.now() - run.started_at > timedelta(hours=12)


# Seeding takes a while (the video interview's recordings are processed like any upload), so
# each test seeds once and checks several things.


def test_simulate_the_runs_page_and_the_timeline_tell_the_same_history(demo, client):
    _simulate_shows_the_last_30_days(demo, client)
    _runs_are_what_simulate_says(demo)
    _a_candidates_timeline_shows_the_past_weeks(demo, client)


def test_sixty_days_consistent_with_the_mirror_rolled_up_and_written_once(demo):
    _sixty_days_of_office_hours_ending_where_each_application_is(demo)
    _seed_demo_again_adds_nothing(demo)


def test_history_waits_for_the_example_journey_and_the_synced_jobs(alice):
    """Before the first sync (no jobs, no example journey) nothing is written, so the next
    start writes the whole history rather than stage changes no journey ran on."""
    organization = alice.organization
    with tenant_scope(organization):
        assert demo_history(organization=organization) is None
        assert not StageTransition.objects.exists()
        assert not Message.objects.exists()
