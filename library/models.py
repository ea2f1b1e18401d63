"""The Library's message templates: e-mails and text messages that journeys, the Inbox and
scheduling send.

Template text is rendered by ``library.templating`` (a sandboxed Jinja2 environment over plain
dicts); the fields a template may use are listed there.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from recruitflow.tenancy import TenantModel


class TemplateChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message"


class MessageTemplate(TenantModel):
    """An e-mail (subject, HTML body, plain-text body) or a text message in the Library."""

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=10, choices=TemplateChannel.choices)
    subject = models.CharField(max_length=500, blank=True)
    html_body = models.TextField(blank=True, help_text="E-mail only; merge fields are escaped.")
    text_body = models.TextField(
        blank=True,
        help_text="The text message, or the e-mail's plain-text part (derived from the HTML "
        "body unless edited).",
    )
    text_body_edited = models.BooleanField(
        default=False, help_text="The e-mail's plain-text part was written by hand."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="message_template_name_once"
            )
        ]

    def __str__(self) -> str:
        return self.name
