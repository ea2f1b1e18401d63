"""Per-organization Twilio settings. Placed on a parent organization they apply to its
sub-accounts unless a sub-account has its own (see ``messaging.selectors.sms_provider_for``)."""

from django.db import models

from recruitflow.fields import EncryptedTextField
from recruitflow.tenancy import TenantModel

DEFAULT_BASE_URL = "https://api.twilio.com"


class TwilioSettings(TenantModel):
    account_sid = models.CharField(max_length=64)
    auth_token = EncryptedTextField(help_text="Also the key Twilio signs webhooks with.")
    messaging_service_sid = models.CharField(
        max_length=64, blank=True, help_text="MG…; preferred over a single number."
    )
    from_number = models.CharField(max_length=32, blank=True, help_text="E.164")
    base_url = models.URLField(default=DEFAULT_BASE_URL)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Twilio settings"
        verbose_name_plural = "Twilio settings"
        constraints = [models.UniqueConstraint(fields=["organization"], name="one_twilio_per_org")]

    def __str__(self) -> str:
        return f"Twilio {self.account_sid} for organization {self.organization_id}"

    def provider_config(self) -> dict:
        return {
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "messaging_service_sid": self.messaging_service_sid,
            "from_number": self.from_number,
            "base_url": self.base_url,
        }
