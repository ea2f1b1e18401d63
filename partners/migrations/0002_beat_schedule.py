"""Register the beat entries of partner webhooks: the collector (every 3 s: new rows of the
domains become events and deliveries), the delivery sweep (every 3 s: due retries, and claims
whose worker died) and the purge of the 30-day log (hourly)."""

from django.db import migrations

SCHEDULES = [
    ("Partner webhooks: collect events", "partners.collect", 3),
    ("Partner webhooks: send due deliveries", "partners.deliver_due", 3),
    ("Partner webhooks: purge the delivery log", "partners.purge", 3600),
]


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every in SCHEDULES:
        interval = IntervalSchedule.objects.filter(every=every, period="seconds").first()
        if interval is None:
            interval = IntervalSchedule.objects.create(every=every, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True}
        )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
