from django.db import migrations, models
from django.db.models import Max


def start_after_the_ledger(apps, schema_editor):
    """Cursors made before this field start after the e-mail ledger as it stands: switching
    e-mail opt-outs on for the reader does not write the past."""
    cursor_model = apps.get_model("writeback", "WritebackCursor")
    entry_model = apps.get_model("messaging", "EmailOptOutEntry")
    last = entry_model._base_manager.aggregate(last=Max("pk"))["last"] or 0
    cursor_model._base_manager.update(last_email_opt_out_id=last)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0011_choices_from_registry"),
        ("writeback", "0006_recording_notice"),
    ]

    operations = [
        migrations.AddField(
            model_name="writebackcursor",
            name="last_email_opt_out_id",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(start_after_the_ledger, migrations.RunPython.noop),
    ]
