"""Reads of the stored figures: the filters of the Analytics page and the API, and the sums
they select, for the chosen period and the one before it (for the comparison).

One query sums the stored months of both periods (``models.MonthlyFigure``: a month's total, or
its days where a chart needs them or the period starts or ends inside it); today (never
stored) is computed from the raw rows by ``figures.day_figures`` and filtered the same way.
The number of queries does not depend on the length of the period or the volume of data.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import product

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, F, Q, Sum, Value, When

from candidates.models import Job
from recruitflow import page_cache
from recruitflow.tenancy import candidates_restricted, tenant_scope

from . import figures as m
from .figures import Figure, day_figures
from .freshness import digest, stored_generation, stored_seconds
from .models import DAY_COLUMNS, Grain, MonthlyFigure, RolledDay
from .months import month_end, months_between
from .services import organization_today

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30


class FilterError(ValueError):
    """A filter value the page cannot use; the message says which and why."""


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    job_id: int | None = None
    office_id: int | None = None
    department_id: int | None = None
    journey_id: int | None = None
    channel: str = ""
    member_id: int | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Filters:
        length = timedelta(days=self.days)
        return replace(self, start=self.start - length, end=self.end - length)

    @property
    def has_dimension(self) -> bool:
        return any(
            (
                self.job_id,
                self.office_id,
                self.department_id,
                self.journey_id,
                self.channel,
                self.member_id,
            )
        )

    def as_query(self) -> dict[str, str]:
        query = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        for name in ("job", "office", "department", "journey", "member"):
            value = getattr(self, f"{name}_id")
            if value:
                query[name] = str(value)
        if self.channel:
            query["channel"] = self.channel
        return query


def _date(query, name: str, default: date) -> date:
    raw = (query.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"“{raw}” is not a date: use the form 2026-01-31 for {name}.") from None


def _id(query, name: str) -> int | None:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise FilterError(f"The {name} filter must be the number of a {name}, not “{raw}”.")
    return int(raw)


def filters_from_query(query, *, organization, now=None) -> Filters:
    """Filters from a page's or the API's query string; raises :class:`FilterError`."""
    today = organization_today(organization, now)
    end = _date(query, "end", today)
    start = _date(query, "start", end - timedelta(days=DEFAULT_PERIOD_DAYS - 1))
    if start > end:
        raise FilterError("The start date is after the end date.")
    if end > today:
        raise FilterError(f"The end date is in the future (today is {today.isoformat()}).")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise FilterError(f"Choose at most {MAX_PERIOD_DAYS} days.")
    channel = (query.get("channel") or "").strip()
    if channel not in ("", "sms", "email"):
        raise FilterError("The channel must be sms (texts) or email.")
    return Filters(
        start=start,
        end=end,
        job_id=_id(query, "job"),
        office_id=_id(query, "office"),
        department_id=_id(query, "department"),
        journey_id=_id(query, "journey"),
        channel=channel,
        member_id=_id(query, "member"),
    )


@dataclass
class FigureSet:
    """Summed figures of the period (``current``) and of the one before it (``previous``):
    rows of (day, metric, key, label, journey_id, member_id, channel, value), by metric. A
    metric no card charts per day has its rows on the period's first day. The rows are read
    when first asked for (a page whose cards are cached never reads them)."""

    filters: Filters
    today: date
    stored_until: date | None
    # What the figures were built from (stored generation, today's stamp, the jobs), for
    # caching what is built from them; None when they must not be cached.
    freshness: str | None = None
    load: Callable[[], list[tuple]] | None = field(default=None, repr=False, compare=False)
    _periods: tuple[dict, dict] | None = field(default=None, repr=False, compare=False)

    @property
    def current(self) -> dict[str, list[tuple]]:
        return self._grouped()[0]

    @property
    def previous(self) -> dict[str, list[tuple]]:
        return self._grouped()[1]

    def _grouped(self) -> tuple[dict, dict]:
        if self._periods is None:
            current: dict[str, list[tuple]] = {}
            previous: dict[str, list[tuple]] = {}
            start = self.filters.start
            for row in self.load() if self.load else ():
                (current if row[0] >= start else previous).setdefault(row[1], []).append(row)
            self._periods = (current, previous)
        return self._periods

    def rows(self, metric: str, *, previous: bool = False) -> list[tuple]:
        return (self.previous if previous else self.current).get(metric, [])

    def total(self, metric: str, *, previous: bool = False, key: str | None = None) -> int:
        return sum(
            row[7] for row in self.rows(metric, previous=previous) if key is None or row[2] == key
        )

    def by_day(self, metric: str) -> list[int]:
        counts: dict[date, int] = defaultdict(int)
        for row in self.rows(metric):
            counts[row[0]] += row[7]
        return [counts.get(day, 0) for day in self.period_days()]

    def by(self, metric: str, index: int, *, previous: bool = False) -> dict:
        """Sums by one column (2 key, 4 journey, 5 member, 6 channel)."""
        counts: dict = defaultdict(int)
        for row in self.rows(metric, previous=previous):
            counts[row[index]] += row[7]
        return dict(counts)

    def labels(self, metric: str) -> dict[str, str]:
        return {row[2]: row[3] for row in self.rows(metric) if row[3]}

    def period_days(self) -> list[date]:
        return [self.filters.start + timedelta(days=i) for i in range(self.filters.days)]


def today_figures(organization, today: date) -> tuple[str | None, Counter[Figure]]:
    """Today's figures from the raw rows, computed at most every
    ``ANALYTICS_TODAY_CACHE_SECONDS`` per organization, with the stamp of that computation
    (None when not cached: for a member who sees only some candidates, whose figures come from
    a narrower scope, or with the cache off)."""
    seconds = getattr(settings, "ANALYTICS_TODAY_CACHE_SECONDS", 30)
    if candidates_restricted() or seconds <= 0:
        return None, day_figures(organization, today)
    key = f"analytics:today:v2:{organization.pk}:{today.isoformat()}"
    found = cache.get(key)
    # Recounted by one request a little before they go stale: a page showing them is kept only
    # until then, and one made in their last second would not be kept at all (every request
    # would render it until the next count).
    lead = min(5.0, seconds / 4)
    if (
        found is not None
        and found[2] + seconds - time.time() < lead
        and cache.add(f"{key}:recount", 1, timeout=int(lead) + 1)
    ):
        found = None
    if found is None:
        found = (uuid.uuid4().hex, day_figures(organization, today), time.time())
        cache.set(key, found, seconds)
    stamp, figures, counted_at = found
    # A page showing them is kept (recruitflow.page_cache) only until they are recounted.
    page_cache.fresh_until(counted_at + seconds)
    return stamp, figures


def _job_ids(organization, filters: Filters, visible_job_ids) -> set[int] | None:
    """The jobs the job, office and department filters (and a hiring manager's hiring teams)
    leave; None when they leave every job."""
    if not (filters.job_id or filters.office_id or filters.department_id) and (
        visible_job_ids is None
    ):
        return None
    jobs = Job.objects.filter(organization=organization)
    if filters.job_id:
        jobs = jobs.filter(pk=filters.job_id)
    if filters.office_id:
        jobs = jobs.filter(offices__pk=filters.office_id)
    if filters.department_id:
        jobs = jobs.filter(departments__pk=filters.department_id)
    if visible_job_ids is not None:
        jobs = jobs.filter(pk__in=visible_job_ids)
    return set(jobs.values_list("pk", flat=True))


def _matches(figure: Figure, filters: Filters, job_ids) -> bool:
    if job_ids is not None and figure.job_id not in job_ids:
        return False
    if filters.journey_id and figure.journey_id != filters.journey_id:
        return False
    wrong_channel = figure.metric in m.CHANNEL_METRICS and figure.channel != filters.channel
    if filters.channel and wrong_channel:
        return False
    wrong_member = figure.metric in m.MEMBER_METRICS and figure.member_id != filters.member_id
    return not (filters.member_id and wrong_member)


def _kept(column: str, metrics) -> Case:
    return Case(When(metric__in=sorted(metrics), then=F(column)), default=Value(None))


def _selected(filters: Filters, job_ids) -> Q:
    """Which stored rows the filters select. A metric no filter applies to is read from the
    organization-total grain (a filter by team member leaves runs whole, one by channel leaves
    scheduling whole); the others from the detail rows of the chosen job, journey, channel or
    member, which an index of each finds without reading the rest."""
    everywhere = Q()  # what applies to every metric
    if job_ids is not None:
        everywhere &= Q(job_id__in=sorted(job_ids))
    if filters.journey_id:
        everywhere &= Q(journey_id=filters.journey_id)
    some = []  # (the metrics it applies to, the condition)
    if filters.channel:
        some.append((m.CHANNEL_METRICS, Q(channel=filters.channel)))
    if filters.member_id:
        some.append((m.MEMBER_METRICS, Q(member_id=filters.member_id)))
    selected = Q(pk__in=[])
    for applies in product((True, False), repeat=len(some)):
        condition = everywhere
        metrics: frozenset[str] | None = None  # None: every metric
        for (these, where), on in zip(some, applies, strict=True):
            if on:
                condition &= where
                metrics = these if metrics is None else metrics & these
        outside = frozenset().union(
            *(these for (these, _), on in zip(some, applies, strict=True) if not on)
        )
        if metrics is not None:
            metrics -= outside
            if not metrics:
                continue
            condition &= Q(metric__in=sorted(metrics))
        elif outside:
            condition &= ~Q(metric__in=sorted(outside))
        filtered = bool(everywhere) or any(applies)
        selected |= Q(grain=Grain.DETAIL if filtered else Grain.TOTAL) & condition
    return selected


def _stored_rows(organization, filters: Filters, job_ids, last: date) -> list[tuple]:
    """The stored days from the previous period's start to ``last`` as rows of (day, metric,
    key, label, journey_id, member_id, channel, value), read from the monthly rows in one
    grouped query. A month wholly inside a period counts by its total, unless a card charts
    the metric per day (then its day columns, as they are for a month only partly inside)."""
    first, previous_end = filters.previous.start, filters.previous.end
    months = months_between(first, last)
    current = [month for month in months if month >= filters.start and month_end(month) <= last]
    previous = [month for month in months if month >= first and month_end(month) <= previous_end]
    by_day = Q(month__in=current, metric__in=sorted(m.DAILY_METRICS)) | ~Q(
        month__in=current + previous
    )
    grouped = (
        MonthlyFigure.objects.filter(organization=organization, month__gte=months[0])
        .filter(month__lte=months[-1])
        .filter(_selected(filters, job_ids))
        .annotate(
            by_month=Case(When(by_day, then=F("month")), default=Value(None)),
            period_day=Case(
                When(month__in=current, then=Value(filters.start)),
                default=Value(first),
            ),
            kept_journey=_kept("journey_id", m.TOTAL_KEEPS_JOURNEY),
            kept_member=_kept("member_id", m.TOTAL_KEEPS_MEMBER),
            kept_channel=_kept("channel", m.TOTAL_KEEPS_CHANNEL),
        )
        .values_list(
            "by_month",
            "period_day",
            "metric",
            "key",
            "label",
            "kept_journey",
            "kept_member",
            "kept_channel",
        )
        .annotate(total=Sum("value"), **{f"{column}_sum": Sum(column) for column in DAY_COLUMNS})
        .order_by()
    )
    rows = []
    for month, period_day, metric, key, label, journey, member, channel, total, *days in grouped:
        dims = (journey, member, channel or "")
        if month is None:
            rows.append((period_day, metric, key, label, *dims, total))
            continue
        daily = metric in m.DAILY_METRICS
        counts: dict[date, int] = defaultdict(int)
        for offset, count in enumerate(days):
            if not count:
                continue
            day = month + timedelta(days=offset)
            if filters.start <= day <= last:
                counts[day if daily else filters.start] += count
            elif first <= day <= previous_end:
                counts[first] += count
        rows.extend((day, metric, key, label, *dims, count) for day, count in counts.items())
    return rows


def _stored_until(organization, today: date, generation: str) -> date | None:
    """The last stored day before today, cached under the stored generation."""
    key = f"analytics:stored-until:{organization.pk}:{generation}:{today.isoformat()}"
    found = cache.get(key)
    if found is None:
        found = (
            RolledDay.objects.filter(organization=organization, day__lt=today)
            .order_by("-day")
            .values_list("day", flat=True)
            .first(),
        )
        cache.set(key, found, stored_seconds())
    return found[0]


def _stored_rows_cached(organization, filters: Filters, job_ids, last: date, generation: str):
    """The stored days' rows, cached under the organization's stored generation (a rollup that
    rebuilds a month replaces it)."""
    jobs = sorted(job_ids) if job_ids is not None else None
    key = f"analytics:stored:{organization.pk}:{generation}:"
    key += digest(filters.as_query(), jobs, last.isoformat())
    found = cache.get(key)
    if found is None:
        found = _stored_rows(organization, filters, job_ids, last)
        cache.set(key, found, stored_seconds())
    return found


def _today_rows(today: date, counts: Counter[Figure], filters: Filters, job_ids) -> list[tuple]:
    matching = Counter(
        {figure: value for figure, value in counts.items() if _matches(figure, filters, job_ids)}
    )
    return [
        (
            today,
            figure.metric,
            figure.key,
            figure.label,
            figure.journey_id,
            figure.member_id,
            figure.channel,
            value,
        )
        for figure, value in m.total_figures(matching).items()
    ]


def figure_set(*, organization, filters: Filters, visible_job_ids=None, now=None) -> FigureSet:
    """The figures of ``filters``' period and the period before it. ``visible_job_ids``
    limits them to those jobs (a hiring manager's hiring teams). A fixed number of queries:
    the jobs the filters leave (when they name any), the monthly rows and the last stored day
    (both cached until the next rollup), and today's figures from the raw rows (cached)."""
    today = organization_today(organization, now)
    job_ids = _job_ids(organization, filters, visible_job_ids)
    generation = stored_generation(organization.pk)
    last = min(filters.end, today - timedelta(days=1))
    today_stamp: str | None = "past"
    today_counts: Counter[Figure] = Counter()
    if filters.end >= today:
        today_stamp, today_counts = today_figures(organization, today)

    def load() -> list[tuple]:
        # Possibly after the caller's scope ended; the monthly rows are the organization's
        # (no candidate's), so its scope is the one they need.
        with tenant_scope(organization):
            rows = list(_stored_rows_cached(organization, filters, job_ids, last, generation))
        if filters.end >= today:
            rows.extend(_today_rows(today, today_counts, filters, job_ids))
        return rows

    jobs = digest(sorted(job_ids or []), job_ids is None)
    return FigureSet(
        filters=filters,
        today=today,
        stored_until=_stored_until(organization, today, generation),
        freshness=None if today_stamp is None else f"{generation}:{today_stamp}:{jobs}",
        load=load,
    )
