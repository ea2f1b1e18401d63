"""The ATS webhook events move to the one intake (``integrations.WebhookDelivery``), every row
kept as it was (its action becomes the delivery's kind); the candidates sweep's beat entry goes,
the intake's sweep (integrations 0003) takes over. The next migration drops the old table."""

from django.db import migrations

OLD_TASK_NAME = "Queue unprocessed ATS webhooks"
OLD_TASK = "candidates.tasks.webhook_events_sweep"
BATCH = 2000


def forwards(apps, schema_editor):
    # The schedule first: bench.drills.ensure_beat_schedule replays this with today's models,
    # where WebhookEvent no longer exists.
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=OLD_TASK_NAME).delete()
    WebhookEvent = apps.get_model("candidates", "WebhookEvent")
    WebhookDelivery = apps.get_model("integrations", "WebhookDelivery")
    rows = WebhookEvent._base_manager.order_by("pk").iterator(chunk_size=BATCH)
    batch = []
    for event in rows:
        batch.append(
            WebhookDelivery(
                organization_id=event.organization_id,
                provider=event.provider,
                kind=event.action,
                event_id=event.event_id,
                raw_body=event.raw_body,
                received_at=event.received_at,
                state=event.state,
                error=event.error,
                attempts=event.attempts,
                next_attempt_at=event.next_attempt_at,
                processed_at=event.processed_at,
            )
        )
        if len(batch) >= BATCH:
            WebhookDelivery._base_manager.bulk_create(batch, ignore_conflicts=True)
            batch = []
    WebhookDelivery._base_manager.bulk_create(batch, ignore_conflicts=True)


def backwards(apps, schema_editor):
    WebhookEvent = apps.get_model("candidates", "WebhookEvent")
    WebhookDelivery = apps.get_model("integrations", "WebhookDelivery")
    ats = WebhookDelivery._base_manager.filter(provider__in=["greenhouse", "lever"])
    WebhookEvent._base_manager.bulk_create(
        [
            WebhookEvent(
                organization_id=row.organization_id,
                provider=row.provider,
                event_id=row.event_id[:100],
                action=row.kind,
                raw_body=row.raw_body,
                received_at=row.received_at,
                state=row.state,
                error=row.error,
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at,
                processed_at=row.processed_at,
            )
            for row in ats.iterator(chunk_size=BATCH)
        ],
        ignore_conflicts=True,
    )
    ats.delete()
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=OLD_TASK_NAME, defaults={"task": OLD_TASK, "interval": interval, "enabled": True}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("candidates", "0007_sync_run_deferred_resume_at"),
        ("integrations", "0003_webhook_deliveries_sweep_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
