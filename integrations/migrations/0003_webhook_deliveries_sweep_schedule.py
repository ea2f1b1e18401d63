"""Register the beat entry of the one webhook sweep (every 30 seconds): every vendor's stored
deliveries whose apply task was lost, or whose retry after a transient failure is due."""

from django.db import migrations

TASK_NAME = "Apply webhook deliveries left unapplied"
TASK = "integrations.tasks.webhook_deliveries_sweep"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval = IntervalSchedule.objects.filter(every=30, period="seconds").first()
    if interval is None:
        interval = IntervalSchedule.objects.create(every=30, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME, defaults={"task": TASK, "interval": interval, "enabled": True}
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_webhook_delivery"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
