"""The scheduling template's messages now point at the Library's MessageTemplate (moved from
journeys). Only Django's state changes: the columns already reference the same table."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0003_message_relations_named"),
        ("library", "0001_initial"),
    ]
    # Before journeys forgets its MessageTemplate, nothing may still point at it.
    run_before = [("journeys", "0006_message_template_moves_to_library")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="schedulingtemplate",
                    name="cancellation_email",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scheduling_cancellation_email_uses",
                        to="library.messagetemplate",
                        verbose_name="Cancellation Notification (e-mail)",
                    ),
                ),
                migrations.AlterField(
                    model_name="schedulingtemplate",
                    name="cancellation_sms",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scheduling_cancellation_sms_uses",
                        to="library.messagetemplate",
                        verbose_name="Cancellation Notification (text)",
                    ),
                ),
                migrations.AlterField(
                    model_name="schedulingtemplate",
                    name="day_before_email",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scheduling_day_before_email_uses",
                        to="library.messagetemplate",
                        verbose_name="Day Before Interview Reminder (e-mail)",
                    ),
                ),
                migrations.AlterField(
                    model_name="schedulingtemplate",
                    name="day_before_sms",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scheduling_day_before_sms_uses",
                        to="library.messagetemplate",
                        verbose_name="Day Before Interview Reminder (text)",
                    ),
                ),
                migrations.AlterField(
                    model_name="schedulingtemplate",
                    name="invitation_email",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scheduling_invitation_email_uses",
                        to="library.messagetemplate",
                        verbose_name="Interview Invitation (e-mail)",
                    ),
                ),
                migrations.AlterField(
                    model_name="schedulingtemplate",
                    name="invitation_sms",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scheduling_invitation_sms_uses",
                        to="library.messagetemplate",
                        verbose_name="Interview Invitation (text)",
                    ),
                ),
                migrations.AlterField(
                    model_name="schedulingtemplate",
                    name="reminder_email",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scheduling_reminder_email_uses",
                        to="library.messagetemplate",
                        verbose_name="Reminder to Schedule (e-mail)",
                    ),
                ),
                migrations.AlterField(
                    model_name="schedulingtemplate",
                    name="reminder_sms",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scheduling_reminder_sms_uses",
                        to="library.messagetemplate",
                        verbose_name="Reminder to Schedule (text)",
                    ),
                ),
                migrations.AlterField(
                    model_name="schedulingtemplate",
                    name="request_email",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scheduling_request_email_uses",
                        to="library.messagetemplate",
                        verbose_name="Request to Schedule (e-mail)",
                    ),
                ),
                migrations.AlterField(
                    model_name="schedulingtemplate",
                    name="request_sms",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="scheduling_request_sms_uses",
                        to="library.messagetemplate",
                        verbose_name="Request to Schedule (text)",
                    ),
                ),
            ],
        ),
    ]
