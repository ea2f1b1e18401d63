"""The monthly layer over the daily rollup: a month's rows rebuilt from its stored days.

Takes the models as arguments so the migration that builds the months of days stored before
the layer existed uses the same code with its historical models.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.db.models import Case, IntegerField, Sum, Value, When

from .models import DAY_COLUMNS

GROUPING = ("grain", "metric", "key", "label", "job_id", "journey_id", "channel", "member_id")


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    """The last day of ``month`` (given by any of its days)."""
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def months_between(first: date, last: date) -> list[date]:
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = month_end(month) + timedelta(days=1)
    return months


def build_month(daily_model, monthly_model, *, organization_id: int, month: date) -> int:
    """Replace the rows of ``month`` with the sums of its stored days: one grouped
    ``INSERT … SELECT`` per grain, inside the database (a month of detail rows is tens of
    thousands). Returns how many rows. Call it inside a transaction."""
    month = month_of(month)
    last = month_end(month)
    per_day = {
        column: Sum(
            Case(
                When(day=month + timedelta(days=n), then="value"),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        for n, column in enumerate(DAY_COLUMNS)
    }
    monthly_model.objects.filter(
        organization_id=organization_id, grain__in=("total", "detail"), month=month
    ).delete()
    table = connection.ops.quote_name(monthly_model._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(column)
        for column in (*GROUPING, "value", *DAY_COLUMNS, "organization_id", "month")
    )
    stored = 0
    for grain in ("total", "detail"):
        sums = (
            daily_model.objects.filter(
                organization_id=organization_id, grain=grain, day__gte=month, day__lte=last
            )
            .values(*GROUPING)
            .annotate(month_value=Sum("value"), **per_day)
            .order_by()
        )
        select, params = sums.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                # Quoted names of the model's own table and columns, and the ORM's own query.
                f"INSERT INTO {table} ({columns}) SELECT sums.*, %s, %s FROM ({select}) sums",  # noqa: S608
                (organization_id, month, *params),
            )
            stored += cursor.rowcount
    return stored
