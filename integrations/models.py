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


class WebhookDelivery(TenantModel):
    """One webhook delivery from a vendor, stored raw after its signature was verified and
    before it is applied (:mod:`integrations.intake`). ``event_id`` is the vendor's identity of
    the delivery (a Greenhouse event id, a Twilio ``status:<sid>:<status>``, a Cronofy
    ``<channel>:<type>:<since>``…): a replay finds the stored row and stores nothing.

    ``state``: received (waiting to be applied), processed, ignored (nothing in it to apply) or
    failed (``error`` says why; with ``next_attempt_at`` set the sweep tries it again, without it
    it failed for good and waits for staff's Reprocess)."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=20)
    kind = models.CharField(
        max_length=60, blank=True, help_text="What the vendor says it is (its action or type)."
    )
    event_id = models.CharField(max_length=200, blank=True)
    url = models.TextField(blank=True, help_text="The public URL the vendor called.")
    headers = models.JSONField(default=dict, blank=True)
    raw_body = models.TextField(blank=True)
    received_at = models.DateTimeField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.RECEIVED)
    error = models.TextField(blank=True)
    # How many times it was applied (or tried); the sweep gives up after a few.
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the sweep should queue it (again): set while it still needs applying (received, or
    # failed on a transient error), empty once it is done or failed for good.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    KIND_LABELS = {
        "status": "Delivery status",
        "inbound": "Inbound text",
        "delivery": "Webhook delivery",
        "events": "E-mail events",
    }

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider", "event_id"],
                condition=~models.Q(event_id=""),
                name="webhook_delivery_once",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "provider", "-received_at"],
                name="webhook_delivery_latest",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind or 'delivery'} {self.event_id or self.pk}"

    @property
    def kind_label(self) -> str:
        """The kind in words ("Delivery status", "candidate stage change")."""
        return self.KIND_LABELS.get(self.kind, self.kind.replace("_", " ") or "delivery")
