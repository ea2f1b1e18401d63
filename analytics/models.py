"""Daily rollups of the other domains' rows, per organization.

One :class:`DailyFigure` row holds one count for one day (in the organization's time zone), one
metric and one combination of the dimensions the Analytics filters need. Each day is written
twice: ``grain="total"`` rows without dimensions (what an unfiltered page sums) and
``grain="detail"`` rows per (job, journey, channel, team member) actually present, so a filtered
page sums few rows and an unfiltered one fewer still. Percentiles (time to schedule, trigger
latency) are stored as histograms: ``key`` names a logarithmic bucket (see
``analytics.histogram``) and ``value`` counts what fell in it.

A day is always recomputed whole (delete, then insert, in one transaction), so running the
rollup twice gives the same rows. :class:`RolledDay` records which days are stored; today is
never stored (the page computes it from the raw rows).

:class:`MonthlyFigure` is what the pages read: the daily rows of one calendar month summed per
(grain, metric, key, label, dimensions), rebuilt from them whenever one of its days is stored
again, with the month's count (``value``) and the count of each of its days (``day_1`` …
``day_31``). A year is then twelve-odd rows per series, a period that starts or ends inside a
month adds up those of its days, and a chart per day sums the day columns in the database.
"""

from __future__ import annotations

from django.db import models

from recruitflow.tenancy import TenantModel


class Grain(models.TextChoices):
    TOTAL = "total", "Organization total"
    DETAIL = "detail", "Per job, journey, channel and team member"


class DailyFigure(TenantModel):
    day = models.DateField()
    grain = models.CharField(max_length=10, choices=Grain.choices)
    metric = models.CharField(max_length=40)
    key = models.CharField(max_length=100, blank=True)
    # Dimensions (ids of rows in lower apps, kept as plain numbers so a deleted job or journey
    # does not rewrite history).
    job_id = models.BigIntegerField(null=True, blank=True)
    journey_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    member_id = models.BigIntegerField(null=True, blank=True)
    value = models.BigIntegerField()
    # Words that go with ``key`` (an error code's explanation), when there are any.
    label = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "grain", "day"], name="figure_org_grain_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric}[{self.key}] = {self.value}"


class RolledDay(TenantModel):
    """A day whose figures are stored, and when they were computed."""

    day = models.DateField()
    computed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "day"], name="rolled_day_once")
        ]

    def __str__(self) -> str:
        return f"Figures of {self.day} (computed {self.computed_at:%Y-%m-%d %H:%M})"


DAYS_IN_A_MONTH = 31
DAY_COLUMNS = tuple(f"day_{n}" for n in range(1, DAYS_IN_A_MONTH + 1))


class MonthlyFigure(TenantModel):
    """The daily figures of one month (``month`` is its first day), summed; see the module."""

    month = models.DateField()
    grain = models.CharField(max_length=10, choices=Grain.choices)
    metric = models.CharField(max_length=40)
    key = models.CharField(max_length=100, blank=True)
    job_id = models.BigIntegerField(null=True, blank=True)
    journey_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    member_id = models.BigIntegerField(null=True, blank=True)
    label = models.CharField(max_length=300, blank=True)
    value = models.BigIntegerField()

    class Meta:
        # An unfiltered page reads the total grain of its months; a filtered one the detail
        # rows of one job (or the jobs of an office or department), journey, member or channel.
        indexes = [
            models.Index(fields=["organization", "grain", "month"], name="month_org_grain"),
            models.Index(
                fields=["organization", "grain", "job_id", "month"], name="month_org_grain_job"
            ),
            models.Index(
                fields=["organization", "grain", "journey_id", "month"],
                name="month_org_grain_journey",
            ),
            models.Index(
                fields=["organization", "grain", "member_id", "month"],
                name="month_org_grain_member",
            ),
            models.Index(
                fields=["organization", "grain", "channel", "month"],
                name="month_org_grain_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.metric}[{self.key}] = {self.value}"


for _column in DAY_COLUMNS:
    MonthlyFigure.add_to_class(_column, models.IntegerField(default=0))
