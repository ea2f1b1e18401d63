"""The message templates' table takes the Library's name (``journeys_messagetemplate`` →
``library_messagetemplate``), keeping its rows and ids; foreign keys follow the renamed table.
The content type moves with it, so admin history and permissions stay attached."""

from django.db import migrations


def _move_content_type(apps, schema_editor, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    if not types.filter(app_label=new, model="messagetemplate").exists():
        types.filter(app_label=old, model="messagetemplate").update(app_label=new)


def forwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, "journeys", "library")


def backwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, "library", "journeys")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("library", "0001_initial"),
        ("journeys", "0006_message_template_moves_to_library"),
        ("scheduling", "0004_message_templates_in_library"),
    ]

    operations = [
        migrations.AlterModelTable(name="messagetemplate", table=None),
        migrations.RunPython(forwards, backwards),
    ]
