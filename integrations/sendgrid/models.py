"""Per-organization SendGrid settings."""

from django.db import models

from recruitflow.fields import EncryptedTextField
from recruitflow.tenancy import TenantModel

DEFAULT_BASE_URL = "https://api.sendgrid.com"


class SendGridSettings(TenantModel):
    api_key = EncryptedTextField()
    from_email = models.EmailField()
    from_name = models.CharField(max_length=200, blank=True)
    reply_to = models.EmailField(blank=True)
    base_url = models.URLField(default=DEFAULT_BASE_URL)
    event_public_key = models.TextField(
        blank=True, help_text="Event Webhook signature verification key (ECDSA, base64)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SendGrid settings"
        verbose_name_plural = "SendGrid settings"
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="one_sendgrid_per_org")
        ]

    def __str__(self) -> str:
        return f"SendGrid {self.from_email} for organization {self.organization_id}"

    def provider_config(self) -> dict:
        return {
            "api_key": self.api_key,
            "from_email": self.from_email,
            "from_name": self.from_name,
            "reply_to": self.reply_to,
            "base_url": self.base_url,
            "webhook_public_key": self.event_public_key,
        }
