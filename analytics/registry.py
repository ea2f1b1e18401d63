"""The card registry of the Analytics page (and of its API and CSV exports).

A card turns a :class:`~analytics.selectors.FigureSet` into numbers, charts and tables. Every
chart is also a table (``CardData.all_tables``), so each can be read without the chart and
downloaded as CSV. Domains that land later (video interviews, write-back, partner webhooks)
add their cards with :func:`register`; the page shows them in registration order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import escape
from django.utils.safestring import mark_safe

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


@dataclass
class Stat:
    label: str
    value: float | None
    previous: float | None = None
    unit: str = "count"  # "count", "percent" or "seconds"
    hint: str = ""

    @property
    def text(self) -> str:
        return format_value(self.value, self.unit)

    @property
    def previous_text(self) -> str:
        return format_value(self.previous, self.unit)

    @property
    def change(self) -> str:
        """The change against the previous period, in words ("+12 %", "new", "no change")."""
        if self.value is None or self.previous is None:
            return ""
        if self.previous == 0:
            return "new" if self.value else "no change"
        ratio = (self.value - self.previous) / self.previous * 100
        if abs(ratio) < 0.5:
            return "no change"
        return f"{ratio:+.0f} %"


@dataclass
class Chart:
    slug: str
    title: str
    kind: str  # "line" or "bar"
    labels: list[str]
    series: Sequence[tuple[str, Sequence[float | None]]]
    first_column: str = "Day"
    unit: str = "count"

    @property
    def dom_id(self) -> str:
        return f"chart-{self.slug}"

    @property
    def has_data(self) -> bool:
        return any(value for _, values in self.series for value in values)

    def as_table(self) -> Table:
        rows = [
            [label, *(values[i] for _, values in self.series)]
            for i, label in enumerate(self.labels)
        ]
        return Table(
            slug=self.slug,
            title=self.title,
            columns=[self.first_column, *(name for name, _ in self.series)],
            rows=rows,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "labels": self.labels,
            "unit": self.unit,
            "series": [{"name": name, "values": values} for name, values in self.series],
        }


@dataclass
class Table:
    slug: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    empty: str = "Nothing in this period."

    def body_html(self) -> str:
        """The rows as escaped ``<tr>`` elements (a year of days renders in a millisecond,
        where a template loop over every cell takes most of the page's time)."""
        return mark_safe(  # noqa: S308 — every cell is escaped
            "".join(
                "<tr>"
                + "".join(f"<td>{'—' if value is None else escape(value)}</td>" for value in row)
                + "</tr>"
                for row in self.rows
            )
        )


@dataclass
class CardData:
    slug: str
    title: str
    stats: list[Stat] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def all_tables(self) -> list[Table]:
        return [chart.as_table() for chart in self.charts] + self.tables

    def table(self, slug: str) -> Table | None:
        return next((table for table in self.all_tables if table.slug == slug), None)


@dataclass(frozen=True)
class Card:
    slug: str
    title: str
    build: Callable[..., CardData]


CARDS: dict[str, Card] = {}


def register(card: Card) -> Card:
    """Add a card to the Analytics page (a second registration of a slug replaces it)."""
    CARDS[card.slug] = card
    return card


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "seconds":
        return format_duration(value)
    return f"{int(value):,}"


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < MINUTE:
        return f"{seconds:.1f} s"
    if seconds < HOUR:
        return f"{seconds / MINUTE:.0f} min"
    if seconds < DAY:
        return f"{seconds / HOUR:.1f} h"
    return f"{seconds / DAY:.1f} days"
