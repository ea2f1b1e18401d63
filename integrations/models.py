"""What every per-organization provider connection has in common."""

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from recruitflow.fields import EncryptedTextField
from recruitflow.tenancy import TenantModel


class ConnectionStatus(models.TextChoices):
    NOT_CONNECTED = "not_connected", "Not connected"
    CONNECTED = "connected", "Connected"
    ERROR = "error", "Needs attention"
    DISCONNECTED = "disconnected", "Disconnected"


def _webhook_secret() -> str:
    return secrets.token_hex(24)


def _endpoint_token() -> str:
    return secrets.token_urlsafe(18)


class ATSConnection(TenantModel):
    """One organization's connection to an ATS: credentials (encrypted), where to reach it, who
    acts on writes, and how it is doing."""

    base_url = models.URLField(
        help_text="Leave the default unless you use a regional host or the sandbox."
    )
    acting_user_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="The ATS user that notes and attachments are written as.",
    )
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.NOT_CONNECTED
    )
    last_error = models.TextField(blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    webhook_secret = EncryptedTextField(default=_webhook_secret)
    # The last part of this organization's webhook URL: routes a delivery to its connection
    # before the signature is checked with that connection's secret.
    endpoint_token = models.CharField(max_length=32, unique=True, default=_endpoint_token)
    last_webhook_at = models.DateTimeField(null=True, blank=True)
    poll_interval_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ProviderCall(TenantModel):
    """One attempt of one outbound call to a provider: the audit trail of every external call."""

    provider = models.CharField(max_length=20)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)
    sync_run_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    started_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["organization", "provider", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.provider} {self.method} {self.path} → {self.status}"
