"""Register the beat entries of ATS activity write-back: the reader (timeline events and
opt-outs → outbox rows) and the outbox worker, every few seconds. Intervals can be changed in
the Django admin."""

from django.conf import settings
from django.db import migrations

SCHEDULES = [
    (
        "ATS activity: read what happened",
        "writeback.read_activity",
        lambda: getattr(settings, "WRITEBACK_INTERVAL_SECONDS", 5),
    ),
    (
        "ATS activity: write the outbox",
        "writeback.write_due",
        lambda: getattr(settings, "WRITEBACK_INTERVAL_SECONDS", 5),
    ),
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
        ("writeback", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
