"""Per-organization TextUs settings (usually set once at the top of an account tree)."""

from django.db import models

from recruitflow.fields import EncryptedTextField
from recruitflow.tenancy import TenantModel

DEFAULT_BASE_URL = "https://next.textus.com"


class TextUsSettings(TenantModel):
    token = EncryptedTextField(help_text="API token of a dedicated TextUs service user.")
    account_slug = models.CharField(max_length=100)
    base_url = models.URLField(default=DEFAULT_BASE_URL)
    signing_secret = EncryptedTextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "TextUs settings"
        verbose_name_plural = "TextUs settings"
        constraints = [models.UniqueConstraint(fields=["organization"], name="one_textus_per_org")]

    def __str__(self) -> str:
        return f"TextUs {self.account_slug} for organization {self.organization_id}"

    def provider_config(self) -> dict:
        return {
            "token": self.token,
            "account_slug": self.account_slug,
            "base_url": self.base_url,
            "webhook_secret": self.signing_secret,
        }
