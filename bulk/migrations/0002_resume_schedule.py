"""Register the beat entry that queues again a bulk action whose worker stopped (every minute).
The interval can be changed in the Django admin."""

from django.db import migrations

NAME = "Bulk actions: resume stalled runs"
TASK = "bulk.resume_stalled"
EVERY_SECONDS = 60


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval = IntervalSchedule.objects.filter(every=EVERY_SECONDS, period="seconds").first()
    if interval is None:
        interval = IntervalSchedule.objects.create(every=EVERY_SECONDS, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=NAME, defaults={"task": TASK, "interval": interval, "enabled": True}
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("bulk", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
