from django.db import models

from integrations.models import ATSConnection
from recruitflow.fields import EncryptedTextField


class LeverAuth(models.TextChoices):
    API_KEY = "api_key", "API key"
    OAUTH = "oauth", "OAuth"


class LeverConnection(ATSConnection):
    auth_method = models.CharField(
        max_length=10, choices=LeverAuth.choices, default=LeverAuth.API_KEY
    )
    api_key = EncryptedTextField(blank=True)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    signature_token = EncryptedTextField(blank=True, help_text="Lever's webhook signature token.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="one_lever_per_org")]

    def __str__(self) -> str:
        return f"Lever ({self.auth_method}) for organization {self.organization_id}"
