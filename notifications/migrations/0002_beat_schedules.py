"""Register the beat entries of notifications: the reader every 5 seconds, the digests every 5
minutes (each member's is sent once a day, from 08:00 in their zone) and the check for
scheduling templates with no free times once a day (06:00 UTC)."""

from django.db import migrations

COLLECT = ("Notifications: read what happened", "notifications.collect_sweep", 5)
DIGESTS = ("Notifications: daily digests", "notifications.digest_sweep", 300)
FREE_TIMES = "Notifications: templates with no free times"


def _interval(apps, seconds: int):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    interval = IntervalSchedule.objects.filter(every=seconds, period="seconds").first()
    return interval or IntervalSchedule.objects.create(every=seconds, period="seconds")


def create_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for name, task, seconds in (COLLECT, DIGESTS):
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={"task": task, "interval": _interval(apps, seconds), "enabled": True},
        )
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="6", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.update_or_create(
        name=FREE_TIMES,
        defaults={"task": "notifications.free_times_sweep", "crontab": crontab, "enabled": True},
    )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[COLLECT[0], DIGESTS[0], FREE_TIMES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
