from django.db import models

from integrations.models import ATSConnection
from recruitflow.fields import EncryptedTextField


class HarvestVersion(models.TextChoices):
    V3 = "v3", "Harvest v3 (OAuth client credentials)"
    V1 = "v1", "Harvest v1 (API key; Greenhouse retires it)"


class GreenhouseConnection(ATSConnection):
    api_version = models.CharField(
        max_length=2, choices=HarvestVersion.choices, default=HarvestVersion.V3
    )
    api_key = EncryptedTextField(blank=True, help_text="Harvest v1 API key.")
    client_id = models.CharField(max_length=200, blank=True)
    client_secret = EncryptedTextField(blank=True)
    token_url = models.URLField(blank=True, help_text="Leave empty for Greenhouse's own.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="one_greenhouse_per_org")
        ]

    def __str__(self) -> str:
        return f"Greenhouse ({self.api_version}) for organization {self.organization_id}"
