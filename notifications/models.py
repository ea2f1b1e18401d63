"""Notifications for the team: a row per member and thing that happened (read from what the
domains write), the member's choices per kind and channel, the readers' cursors, and the daily
digests sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from recruitflow.tenancy import TenantModel


class Kind(models.TextChoices):
    REPLIED = "replied", "A candidate replied"
    BOOKING = "booking", "An interview was booked, rescheduled or cancelled"
    CONNECTION = "connection", "A connection needs attention"
    SYNC_FAILED = "sync_failed", "An ATS sync failed"
    SENDS_FAILING = "sends_failing", "Messages are failing to send"
    JOURNEY_STEP = "journey_step", "A journey step was held, failed or has an unknown outcome"
    NO_FREE_TIMES = "no_free_times", "A scheduling template has no free times"
    VIDEO_INTERVIEW = "video_interview", "A candidate completed a video interview"


# What a member gets when they never chose: (in the app, e-mail immediately, daily digest).
DEFAULT_CHANNELS: dict[str, tuple[bool, bool, bool]] = {
    Kind.REPLIED: (True, False, True),
    Kind.BOOKING: (True, False, True),
    Kind.CONNECTION: (True, True, False),
    Kind.SYNC_FAILED: (True, True, False),
    Kind.SENDS_FAILING: (True, True, False),
    Kind.JOURNEY_STEP: (True, False, True),
    Kind.NO_FREE_TIMES: (True, True, False),
    Kind.VIDEO_INTERVIEW: (True, False, True),
}


class Notification(TenantModel):
    """One thing a member should know about. ``source_key`` names the row it was read from, so
    a member is told once per source (the reader runs every few seconds and re-reads rows inside
    its settle window)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)  # a path in the app
    source_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The channels chosen when it was written (the member's preferences at that moment).
    in_app = models.BooleanField(default=True)
    email_pending = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)
    digest_pending = models.BooleanField(default=False)
    digested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "source_key"], name="notification_once_per_source"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "user", "created_at"],
                condition=Q(in_app=True, read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["email_pending"], condition=Q(email_pending=True), name="notification_email"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.user}"


class Preference(TenantModel):
    """A member's channels for one kind (absent: ``DEFAULT_CHANNELS``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)
    digest = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "kind"], name="notification_preference_once"
            )
        ]


class ReadCursor(TenantModel):
    """How far the reader got in one source of one organization. Read by id: ``position``
    (settled) and ``pending_position`` seen at ``pending_since`` (settles after the window).
    Read by time: ``position_time``."""

    source = models.CharField(max_length=60)
    position = models.BigIntegerField(default=0)
    pending_position = models.BigIntegerField(null=True, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)
    position_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source"], name="notification_cursor_once"
            )
        ]


class ConnectionSeen(TenantModel):
    """The last status seen of a provider connection, so "needs attention" is told once each
    time a connection enters it."""

    model = models.CharField(max_length=100)
    object_id = models.BigIntegerField()
    status = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "model", "object_id"], name="notification_connection_once"
            )
        ]


class DigestSent(TenantModel):
    """A member's daily digest of one local day: sent once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    item_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "day"], name="notification_digest_once_a_day"
            )
        ]
