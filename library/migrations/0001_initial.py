"""The Library becomes its own app: MessageTemplate moves here from journeys.

Only Django's idea of the model moves (state only): the table, its rows, their ids and every
foreign key to them stay as they are. ``0002`` then gives the table the Library's name."""

import django.db.models.deletion
import django.db.models.manager
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The table exists, created by journeys.
        ("journeys", "0005_restrict_instead_of_protect"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="MessageTemplate",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=200)),
                        (
                            "channel",
                            models.CharField(
                                choices=[("email", "E-mail"), ("sms", "Text message")],
                                max_length=10,
                            ),
                        ),
                        ("subject", models.CharField(blank=True, max_length=500)),
                        (
                            "html_body",
                            models.TextField(
                                blank=True, help_text="E-mail only; merge fields are escaped."
                            ),
                        ),
                        (
                            "text_body",
                            models.TextField(
                                blank=True,
                                help_text="The text message, or the e-mail's plain-text part (derived from the HTML body unless edited).",
                            ),
                        ),
                        (
                            "text_body_edited",
                            models.BooleanField(
                                default=False,
                                help_text="The e-mail's plain-text part was written by hand.",
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "organization",
                            models.ForeignKey(
                                editable=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="accounts.organization",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "journeys_messagetemplate",
                        "ordering": ["name", "id"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("organization", "name"), name="message_template_name_once"
                            )
                        ],
                    },
                    managers=[
                        ("objects", django.db.models.manager.Manager()),
                        ("unscoped", django.db.models.manager.Manager()),
                    ],
                ),
            ],
        ),
    ]
