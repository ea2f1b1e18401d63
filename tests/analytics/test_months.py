"""The monthly layer the pages read: a year over monthly rows gives what the same days summed
from the daily rows give (totals, the previous period, every day of a chart, with filters), and
storing a day again rebuilds its month."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from django.db.models import Q

from analytics import figures as m
from analytics import freshness, services
from analytics.models import DailyFigure, Grain, MonthlyFigure
from analytics.months import month_of
from analytics.selectors import Filters, figure_set
from recruitflow.tenancy import tenant_scope
from tests.analytics.test_figures import story  # noqa: F401 (the hand-counted story)

pytestmark = pytest.mark.django_db

# Days before the story's day with a text (several months, some in the previous period).
SPREAD = (1, 24, 35, 64, 95, 180, 300, 366, 390)


@pytest.fixture
def spread(story):  # noqa: F811
    with tenant_scope(story.organization):
        for days in SPREAD:
            story.message("Ada", status="delivered", at=story.at(9, days=-days))
            story.message(
                "Cy",
                status="undelivered",
                at=story.at(15, days=-days),
                code="30007",
                explanation="Filtered by the carrier as spam",
            )
            story.message(
                "Ada", direction="inbound", status="received", at=story.at(16, days=-days)
            )
        # A pass stores at most MAX_DAYS_PER_PASS days: the story's year takes several.
        while (
            len(services.rollup_organization(organization=story.organization))
            == services.MAX_DAYS_PER_PASS
        ):
            pass
    return story


def summed_from_days(filters: Filters, last, rows) -> tuple[dict, dict, dict]:
    """Totals of the period, of the one before it, and per day, from the daily rows."""
    current, previous, per_day = defaultdict(int), defaultdict(int), defaultdict(int)
    for day, metric, value in rows.filter(
        day__gte=filters.previous.start, day__lte=last
    ).values_list("day", "metric", "value"):
        if day >= filters.start:
            current[metric] += value
            per_day[(metric, day)] += value
        elif day <= filters.previous.end:
            previous[metric] += value
    return current, previous, per_day


def assert_same(told, filters: Filters, rows) -> None:
    yesterday = filters.end  # the period ends yesterday: every day of it is stored
    with tenant_scope(told.organization):
        figures = figure_set(organization=told.organization, filters=filters)
        current, previous, per_day = summed_from_days(filters, yesterday, rows)
    metrics = set(current) | set(previous)
    assert {m.SENT, m.FAILED, m.REPLIED, m.RUNS_ENTERED, m.LATENCY_START} <= metrics
    for metric in metrics:
        assert figures.total(metric) == current[metric], metric
        assert figures.total(metric, previous=True) == previous[metric], metric
    for metric in m.DAILY_METRICS:
        assert figures.by_day(metric) == [
            per_day[(metric, day)] for day in figures.period_days()
        ], metric


def test_a_year_over_monthly_rows_equals_its_days_summed(spread):
    told = spread
    yesterday = told.day + timedelta(days=9)
    year = Filters(start=yesterday - timedelta(days=364), end=yesterday)
    with tenant_scope(told.organization):
        stored = set(MonthlyFigure.objects.values_list("month", flat=True))
        assert {month_of(told.day - timedelta(days=days)) for days in SPREAD} <= stored
        total = DailyFigure.objects.filter(grain=Grain.TOTAL)
        detail = DailyFigure.objects.filter(grain=Grain.DETAIL)
    assert_same(told, year, total)
    # Periods starting in the middle of a month: seven months, a quarter, a few days.
    middle = month_of(yesterday - timedelta(days=200)) + timedelta(days=14)
    assert_same(told, Filters(start=middle, end=yesterday), total)
    assert_same(told, Filters(start=yesterday - timedelta(days=89), end=yesterday), total)
    assert_same(
        told, Filters(start=told.day - timedelta(days=2), end=told.day + timedelta(days=3)), total
    )
    sales = told.jobs["Sales Rep"].pk
    assert_same(
        told,
        Filters(start=year.start, end=year.end, job_id=sales, channel="sms"),
        detail.filter(job_id=sales).filter(~Q(metric__in=m.CHANNEL_METRICS) | Q(channel="sms")),
    )


def test_storing_a_day_again_rebuilds_its_month(story, bob):  # noqa: F811
    month = month_of(story.day)
    with tenant_scope(story.organization):
        services.rollup_organization(organization=story.organization)
        before = MonthlyFigure.objects.get(month=month, grain=Grain.TOTAL, metric=m.REPLIED)
        rows = MonthlyFigure.objects.filter(month=month).count()
        generation = freshness.stored_generation(story.organization.pk)
        services.rollup_day(organization=story.organization, day=story.day)  # nothing new
        assert MonthlyFigure.objects.filter(month=month).count() == rows
        # The same rows again: the month is left as it was, and so are the pages' cached
        # figures (the stored generation is kept).
        assert freshness.stored_generation(story.organization.pk) == generation
        assert MonthlyFigure.objects.get(pk=before.pk) == before
        # A late reply arrives for the story's day, and the day is rolled up again.
        story.message("Dee", direction="inbound", status="received", at=story.at(23))
        services.rollup_day(organization=story.organization, day=story.day)
        assert freshness.stored_generation(story.organization.pk) != generation
        after = MonthlyFigure.objects.get(month=month, grain=Grain.TOTAL, metric=m.REPLIED)
        figures = figure_set(
            organization=story.organization,
            filters=Filters(start=story.day, end=story.day),
        )
    column = f"day_{story.day.day}"
    assert (before.value, getattr(before, column)) == (2, 2)
    assert (after.value, getattr(after, column)) == (3, 3)
    assert figures.total(m.REPLIED) == 3
