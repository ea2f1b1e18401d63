"""Register the beat entries of the Journeys engine: the dispatcher (every few seconds), the
sweep that matches transitions whose match task was lost (every minute) and the
stale-in-stage starter (every ten minutes). Intervals can be changed in the Django admin."""

from django.conf import settings
from django.db import migrations

SCHEDULES = [
    (
        "Journeys: run due steps",
        "journeys.dispatch_due",
        lambda: getattr(settings, "JOURNEYS_DISPATCH_INTERVAL_SECONDS", 5),
    ),
    ("Journeys: match missed transitions", "journeys.match_sweep", lambda: 60),
    ("Journeys: start stale-in-stage runs", "journeys.start_stale_runs", lambda: 600),
]


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every in SCHEDULES:
        seconds = every()
        interval = IntervalSchedule.objects.filter(every=seconds, period="seconds").first()
        if interval is None:
            interval = IntervalSchedule.objects.create(every=seconds, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True}
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0003_engine_fields"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
