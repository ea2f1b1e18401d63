"""What the Analytics page, its CSV exports and the API show: every registered card built from
one :class:`~analytics.selectors.FigureSet`, with the names of the ids in it and the choices of
the filters. A fixed number of queries whatever the period, the filters or the volume."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cached_property

from django.db.models import F

from accounts import selectors as account_selectors
from candidates import selectors as candidate_selectors
from candidates.models import Department, Job, Office
from journeys.models import Journey, JourneyStep, StepKind

from . import cards as builtin_cards
from .freshness import digest
from .registry import CARDS, CardData, Table
from .selectors import FigureSet, Filters, figure_set

assert builtin_cards  # the four built-in cards register on import


@dataclass
class Choice:
    value: int | str
    label: str


@dataclass
class AnalyticsPage:
    filters: Filters
    figures: FigureSet
    names: builtin_cards.Names
    jobs: list[Choice]
    offices: list[Choice]
    departments: list[Choice]
    journeys: list[Choice]
    members: list[Choice]

    @cached_property
    def cards(self) -> list[CardData]:
        return [card.build(self.figures, self.names) for card in CARDS.values()]

    def card(self, slug: str) -> CardData | None:
        """One card, built alone unless the page already built them all (a CSV export)."""
        if "cards" in self.__dict__:
            return next((card for card in self.cards if card.slug == slug), None)
        card = CARDS.get(slug)
        return card.build(self.figures, self.names) if card is not None else None

    def cache_key(self) -> str | None:
        """What the cards are built from (the figures' freshness, the filters, the names in
        them), or None when they must not be cached (the figures are not)."""
        if self.figures.freshness is None:
            return None
        return "analytics:cards:" + digest(
            self.figures.freshness,
            self.filters.as_query(),
            self.figures.today,
            self.names.journeys,
            self.names.members,
            self.names.steps,
        )


def visible_job_ids(*, organization, membership, email: str):
    """The jobs a member's figures are limited to: a hiring manager sees the jobs of their
    hiring teams only; None (every job) for everyone else."""
    if membership is None or not membership.sees_only_hiring_team_candidates:
        return None
    return set(
        candidate_selectors.hiring_team_jobs(organization=organization, email=email).values_list(
            "pk", flat=True
        )
    )


def analytics_page(*, organization, filters: Filters, visible_jobs=None, now=None):
    figures = figure_set(
        organization=organization, filters=filters, visible_job_ids=visible_jobs, now=now
    )
    journeys = list(Journey.objects.filter(organization=organization).values_list("pk", "name"))
    members = [
        (membership.user_id, membership.user.get_full_name() or membership.user.email)
        for membership in account_selectors.organization_members(organization=organization)
    ]
    steps: dict[int, dict[int, str]] = {}
    for journey_id, position, kind in JourneyStep.objects.filter(
        organization=organization, version__journey__current_version=F("version")
    ).values_list("version__journey_id", "position", "kind"):
        steps.setdefault(journey_id, {})[position] = dict(StepKind.choices).get(kind, kind)
    names = builtin_cards.Names(journeys=dict(journeys), members=dict(members), steps=steps)
    jobs = Job.objects.filter(organization=organization)
    if visible_jobs is not None:
        jobs = jobs.filter(pk__in=visible_jobs)
    return AnalyticsPage(
        filters=filters,
        figures=figures,
        names=names,
        jobs=[Choice(pk, name) for pk, name in jobs.order_by("name").values_list("pk", "name")],
        offices=[
            Choice(pk, name)
            for pk, name in Office.objects.filter(organization=organization)
            .order_by("name")
            .values_list("pk", "name")
        ],
        departments=[
            Choice(pk, name)
            for pk, name in Department.objects.filter(organization=organization)
            .order_by("name")
            .values_list("pk", "name")
        ],
        journeys=[Choice(pk, name) for pk, name in sorted(journeys, key=lambda j: j[1])],
        members=[Choice(pk, name) for pk, name in sorted(members, key=lambda m: m[1])],
    )


def table_csv(table: Table) -> str:
    """A table as CSV text (the chart's numbers, or the table's rows)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if value is None else _csv_safe(value) for value in row])
    return out.getvalue()


def _csv_safe(value):
    # A cell starting with = + - @ is a formula to a spreadsheet: names come from the ATS.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
