"""Partner webhooks: subscriptions, the events they can receive, one delivery per (event,
subscription) and its attempts log, and the per-organization cursors over the rows the domains
write (the events are read from those rows, never pushed by the domains)."""

from __future__ import annotations

import base64
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from recruitflow.fields import EncryptedTextField
from recruitflow.tenancy import TenantModel

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


class Subscription(TenantModel):
    """Where an organization wants events sent, which ones, and with which secret."""

    url = models.URLField(max_length=1000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text="Names of the event types sent.")
    enabled = models.BooleanField(default=True)
    ordered = models.BooleanField(
        default=False,
        help_text="Deliver in order: a later event waits until the earlier ones are delivered.",
    )
    secret = EncryptedTextField(default=new_secret)
    # After a rotation the old secret keeps signing (a second signature) until this time.
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Since when every attempt failed (cleared by a success); 3 days of it disables.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.description or self.url


class Event(TenantModel):
    """Something that happened, as sent to partners. One row per (type, source row): the key
    makes collecting the same source row twice a no-op."""

    event_id = models.CharField(max_length=40, unique=True, default=new_event_id)
    type = models.CharField(max_length=60)
    source_key = models.CharField(max_length=120)
    # The source (see partners.sources) and row it was read from; test events have none.
    source = models.CharField(max_length=40, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    body = models.TextField(help_text="The JSON payload exactly as signed and sent.")
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    is_test = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "type", "source_key"], name="partner_event_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "source", "source_id"], name="partner_event_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class Delivery(TenantModel):
    """One event for one subscription, retried until delivered or its 3 days are over."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A claim's lease: a sending row whose lease ran out (its worker died) is claimed again.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Start of the current 3-day retry window (reset by a replay).
    window_started_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="one_delivery_per_event")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="partner_delivery_due",
            ),
            models.Index(
                fields=["locked_until"],
                condition=Q(status="sending"),
                name="partner_delivery_leased",
            ),
            models.Index(fields=["subscription", "status", "id"], name="partner_delivery_order"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription} ({self.status})"

    @property
    def retrying(self) -> bool:
        return self.status == DeliveryStatus.PENDING and self.attempts > 0


class DeliveryAttempt(TenantModel):
    """One POST of a delivery: what was sent and what came back (the body read ≤ 64 KB)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    url = models.URLField(max_length=1000)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.delivery_id} → {self.response_status or self.error}"

    @property
    def ok(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300


class SourceCursor(TenantModel):
    """How far the collector has read one source of one organization.

    ``position`` is settled: every source row at or below it was read. Rows above it are read
    again on each pass (the event key makes that a no-op) until a pass that saw them is older
    than the settle window, so a transaction that took an id earlier but committed later is not
    skipped. Time sources use ``position_time`` the same way."""

    source = models.CharField(max_length=40)
    position = models.BigIntegerField(default=0)
    pending_position = models.BigIntegerField(null=True, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)
    position_time = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source"], name="one_partner_cursor_per_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} at {self.position or self.position_time}"


class ConnectionState(TenantModel):
    """The last status the collector saw of one provider connection, so that entering
    "Needs attention" is one event, not one per save."""

    model = models.CharField(max_length=100)
    object_id = models.BigIntegerField()
    status = models.CharField(max_length=20)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "model", "object_id"], name="one_connection_state"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.object_id}: {self.status}"
