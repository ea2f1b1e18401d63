"""MessageTemplate moved to the Library (``library.0001``): the journey step's foreign key points
at it there, and journeys forgets the model. State only: the table, its rows and the column are
untouched."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0005_restrict_instead_of_protect"),
        ("library", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="journeystep",
                    name="message_template",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.RESTRICT,
                        related_name="steps",
                        to="library.messagetemplate",
                    ),
                ),
                migrations.DeleteModel(name="MessageTemplate"),
            ],
        ),
    ]
