"""The messaging providers' stored callbacks move to the one intake
(``integrations.WebhookDelivery``), every row kept: its dedupe key becomes the delivery's event
id; an applied one is processed; one never applied is received again (the intake's sweep applies
it); one that failed to apply is failed with a time to try again, except a body that could not
be read when it arrived (stored with its error and never tried), which failed for good. The
recovery sweep no longer re-applies callbacks: its beat entry is renamed to say so. The next
migration drops the old table."""

from django.db import migrations
from django.utils import timezone

BATCH = 2000
OLD_NAME = "Recover stuck messages and callbacks"
NEW_NAME = "Recover stuck messages"


def forwards(apps, schema_editor):
    # The schedule first: bench.drills.ensure_beat_schedule replays this with today's models,
    # where ProviderWebhookEvent no longer exists.
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=OLD_NAME).update(name=NEW_NAME)
    ProviderWebhookEvent = apps.get_model("messaging", "ProviderWebhookEvent")
    WebhookDelivery = apps.get_model("integrations", "WebhookDelivery")
    now = timezone.now()
    batch = []
    for event in ProviderWebhookEvent._base_manager.order_by("pk").iterator(chunk_size=BATCH):
        if event.processed_at is not None:
            state, next_at = "processed", None
        elif not event.error:
            state, next_at = "received", now
        elif event.attempts:
            state, next_at = "failed", now
        else:
            state, next_at = "failed", None
        batch.append(
            WebhookDelivery(
                organization_id=event.organization_id,
                provider=event.provider,
                kind=event.kind,
                event_id=event.dedupe_key,
                url=event.url,
                headers=event.headers,
                raw_body=event.raw_body,
                received_at=event.received_at,
                state=state,
                error=event.error,
                attempts=event.attempts,
                next_attempt_at=next_at,
                processed_at=event.processed_at or (now if state == "failed" else None),
            )
        )
        if len(batch) >= BATCH:
            WebhookDelivery._base_manager.bulk_create(batch, ignore_conflicts=True)
            batch = []
    WebhookDelivery._base_manager.bulk_create(batch, ignore_conflicts=True)


def backwards(apps, schema_editor):
    ProviderWebhookEvent = apps.get_model("messaging", "ProviderWebhookEvent")
    WebhookDelivery = apps.get_model("integrations", "WebhookDelivery")
    rows = WebhookDelivery._base_manager.filter(provider__in=["twilio", "textus", "sendgrid"])
    ProviderWebhookEvent._base_manager.bulk_create(
        [
            ProviderWebhookEvent(
                organization_id=row.organization_id,
                provider=row.provider,
                kind=row.kind[:20],
                dedupe_key=row.event_id,
                url=row.url,
                headers=row.headers,
                raw_body=row.raw_body,
                received_at=row.received_at,
                processed_at=row.processed_at if row.state == "processed" else None,
                attempts=row.attempts,
                error=row.error,
            )
            for row in rows.iterator(chunk_size=BATCH)
        ],
        ignore_conflicts=True,
    )
    rows.delete()
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NEW_NAME).update(name=OLD_NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_recovery_schedule"),
        ("integrations", "0003_webhook_deliveries_sweep_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
