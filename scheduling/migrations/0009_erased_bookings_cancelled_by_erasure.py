"""Interviews cancelled by an erasure before CancelledBy.ERASURE existed were stored as cancelled
by a team member, with the erasure's reason: they now say the erasure cancelled them."""

from django.db import migrations

ERASURE_REASON = "The candidate's personal data was deleted."


def forwards(apps, schema_editor):
    Booking = apps.get_model("scheduling", "Booking")
    Booking._base_manager.filter(
        cancelled_by="recruiter", cancelled_by_user__isnull=True, cancel_reason=ERASURE_REASON
    ).update(cancelled_by="erasure")


def backwards(apps, schema_editor):
    Booking = apps.get_model("scheduling", "Booking")
    Booking._base_manager.filter(cancelled_by="erasure").update(cancelled_by="recruiter")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0008_booking_cancelled_by_erasure")]

    operations = [migrations.RunPython(forwards, backwards)]
