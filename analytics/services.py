"""The rollup: each past day of an organization turned into stored figures.

``rollup_day`` recomputes one day whole (delete, insert, in one transaction): running it again
gives the same rows. ``rollup_organization`` decides which days: every day not stored yet (from
the organization's first activity), and every stored day still inside the settle window — a
delivery report, a reply or a cancellation can still change a day's figures for a while after
it ended, so a day is recomputed on each pass until ``SETTLE`` after its end. Today is never
stored: the page computes it from the raw rows. After its days, each month they fall in is
rebuilt from its stored days (``months.build_month``): the pages read the months.
"""

from __future__ import annotations

import time as clock
from collections import Counter
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from candidates.models import StageTransition
from journeys.models import JourneyRun
from messaging.models import Message
from scheduling.models import SchedulingRequest

from .figures import day_bounds, organization_zone, range_figures, total_figures
from .freshness import stored_changed
from .models import DailyFigure, Grain, MonthlyFigure, RolledDay
from .months import build_month, month_of

SETTLE = timedelta(days=2)
# Days one pass stores at most for one organization (a long backfill goes on at the next pass).
MAX_DAYS_PER_PASS = 62
# Consecutive days read with one set of queries.
DAYS_PER_READ = 31
# How far back a first backfill reaches at most.
MAX_HISTORY_DAYS = 400


def organization_today(organization, now=None) -> date:
    return (now or timezone.now()).astimezone(organization_zone(organization)).date()


# What makes a stored row: a day whose rows are the same again is left as it is.
ROW_FIELDS = (
    "grain",
    "metric",
    "key",
    "label",
    "job_id",
    "journey_id",
    "channel",
    "member_id",
    "value",
)


def _store(*, organization, day: date, detail, started: float) -> tuple[int, bool]:
    """Store ``day``'s rows; returns how many, and whether they changed."""
    totals = total_figures(detail)
    rows = [
        DailyFigure(
            organization=organization,
            day=day,
            grain=grain,
            metric=figure.metric,
            key=figure.key,
            label=figure.label,
            job_id=figure.job_id,
            journey_id=figure.journey_id,
            channel=figure.channel,
            member_id=figure.member_id,
            value=value,
        )
        for grain, figures in ((Grain.DETAIL, detail), (Grain.TOTAL, totals))
        for figure, value in figures.items()
    ]
    stored = DailyFigure.objects.filter(organization=organization, day=day)
    changed = set(stored.values_list(*ROW_FIELDS)) != {
        tuple(getattr(row, name) for name in ROW_FIELDS) for row in rows
    }
    if changed:
        stored.delete()
        DailyFigure.objects.bulk_create(rows, batch_size=2000)
    RolledDay.objects.update_or_create(
        organization=organization,
        day=day,
        defaults={
            "computed_at": timezone.now(),
            "duration_ms": int((clock.monotonic() - started) * 1000),
        },
    )
    return len(rows), changed


def rollup_day(*, organization, day: date) -> int:
    """Store the figures of ``day`` (replacing what was stored); returns how many rows."""
    return rollup_days(organization=organization, days=[day])


def rollup_days(*, organization, days: list[date]) -> int:
    """Store the figures of ``days``: runs of consecutive days are read with one set of
    queries (up to ``DAYS_PER_READ`` at a time), each day replaced in its own transaction when
    its rows changed; then each month with a changed day is rebuilt from its stored days (once
    per month)."""
    stored = 0
    ordered = sorted(set(days))
    changed_months: set[date] = set()
    while ordered:
        run = [ordered.pop(0)]
        while ordered and ordered[0] == run[-1] + timedelta(days=1) and len(run) < DAYS_PER_READ:
            run.append(ordered.pop(0))
        started = clock.monotonic()
        by_day = range_figures(organization, run[0], run[-1])
        for day in run:
            with transaction.atomic():
                count, changed = _store(
                    organization=organization,
                    day=day,
                    detail=by_day.get(day, Counter()),
                    started=started,
                )
            stored += count
            if changed:
                changed_months.add(month_of(day))
            started = clock.monotonic()
    # A month whose days came out the same again is not rebuilt, and the pages' cached figures
    # of the organization stay valid (its stored generation is kept).
    for month in sorted(changed_months):
        with transaction.atomic():
            build_month(DailyFigure, MonthlyFigure, organization_id=organization.pk, month=month)
            stored_changed(organization.pk)
    return stored


def _first_activity(organization) -> date | None:
    firsts = [
        Message.objects.filter(organization=organization).aggregate(first=Min("created_at")),
        JourneyRun.objects.filter(organization=organization).aggregate(first=Min("started_at")),
        SchedulingRequest.objects.filter(organization=organization).aggregate(
            first=Min("created_at")
        ),
        StageTransition.objects.filter(organization=organization).aggregate(
            first=Min("observed_at")
        ),
    ]
    instants = [row["first"] for row in firsts if row["first"] is not None]
    if not instants:
        return None
    return min(instants).astimezone(organization_zone(organization)).date()


def days_due(*, organization, now=None) -> list[date]:
    """The past days the next pass stores, oldest first."""
    now = now or timezone.now()
    yesterday = organization_today(organization, now) - timedelta(days=1)
    stored = dict(
        RolledDay.objects.filter(organization=organization).values_list("day", "computed_at")
    )
    if stored:
        first = min(stored)
    else:
        first = _first_activity(organization) or yesterday + timedelta(days=1)
    first = max(first, yesterday - timedelta(days=MAX_HISTORY_DAYS))
    due = []
    day = first
    while day <= yesterday:
        computed_at = stored.get(day)
        if computed_at is None or computed_at < day_bounds(organization, day)[1] + SETTLE:
            due.append(day)
        day += timedelta(days=1)
    return due[:MAX_DAYS_PER_PASS]


def rollup_organization(*, organization, now=None) -> list[date]:
    """One pass for one organization; returns the days stored."""
    days = days_due(organization=organization, now=now)
    rollup_days(organization=organization, days=days)
    return days
