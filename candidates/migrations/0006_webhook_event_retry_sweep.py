"""Webhook events remember when the sweep should queue them (again); the sweep runs every
minute from beat. Events left ``received`` before this migration are queued by its first run."""

from django.db import migrations, models
from django.db.models import F

TASK_NAME = "Queue unprocessed ATS webhooks"
TASK = "candidates.tasks.webhook_events_sweep"


def schedule_and_backfill(apps, schema_editor):
    WebhookEvent = apps.get_model("candidates", "WebhookEvent")
    WebhookEvent._base_manager.filter(state="received").update(next_attempt_at=F("received_at"))
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval = IntervalSchedule.objects.filter(every=60, period="seconds").first()
    if interval is None:
        interval = IntervalSchedule.objects.create(every=60, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME, defaults={"task": TASK, "interval": interval, "enabled": True}
    )


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("candidates", "0005_alter_application_provider_alter_atsuser_provider_and_more"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookevent",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="webhookevent",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.RunPython(schedule_and_backfill, unschedule),
    ]
