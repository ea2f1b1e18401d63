"""Build the monthly rows of the days stored before the monthly layer existed (the pages read
the months; the next rollup pass would otherwise show those months empty)."""

from django.db import migrations

from analytics.months import build_month, month_of


def build_months(apps, schema_editor):
    DailyFigure = apps.get_model("analytics", "DailyFigure")
    MonthlyFigure = apps.get_model("analytics", "MonthlyFigure")
    RolledDay = apps.get_model("analytics", "RolledDay")
    months = {
        (organization_id, month_of(day))
        for organization_id, day in RolledDay.objects.values_list("organization_id", "day")
    }
    for organization_id, month in sorted(months):
        build_month(DailyFigure, MonthlyFigure, organization_id=organization_id, month=month)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0003_monthly_figures")]

    operations = [migrations.RunPython(build_months, migrations.RunPython.noop)]
