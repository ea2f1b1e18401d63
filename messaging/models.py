"""Conversations and messages (both channels, both directions), their delivery history, the
opt-out ledger and each organization's messaging preferences."""

from __future__ import annotations

import secrets
from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q

from recruitflow.fields import EncryptedTextField
from recruitflow.tenancy import TenantModel

DEFAULT_HELP_REPLY = (
    "Reply STOP to opt out. Questions? Reply here and a recruiter will get back to you."
)
DEFAULT_OPT_OUT_FOOTER = "Reply STOP to opt out."
ALL_DAYS = [0, 1, 2, 3, 4, 5, 6]  # Monday = 0, as datetime.weekday()


def _all_days() -> list[int]:
    return list(ALL_DAYS)


def new_endpoint_token() -> str:
    return secrets.token_urlsafe(24)


class Channel(models.TextChoices):
    SMS = "sms", "Text"
    EMAIL = "email", "E-mail"


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    OPENED = "opened", "Opened"
    UNDELIVERED = "undelivered", "Not delivered"
    FAILED = "failed", "Failed"
    RECEIVED = "received", "Received"
    CANCELED = "canceled", "Canceled"
    HELD = "held", "Held (quiet hours)"
    SKIPPED = "skipped", "Skipped"
    UNKNOWN = "unknown", "Unknown (check before resending)"


class Conversation(TenantModel):
    """All messages with one candidate, on every channel."""

    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="conversations"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text='The team member who owns the conversation (the Inbox\'s "Mine" filter).',
    )
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    unread_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "candidate"], name="one_conversation_per_candidate"
            )
        ]

    def __str__(self) -> str:
        return f"Conversation with candidate {self.candidate_id}"


class Message(TenantModel):
    """One text or e-mail. Outbound rows are the outbox: written and committed before the
    provider is called, then claimed by a conditional UPDATE (queued → sending)."""

    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    candidate = models.ForeignKey(
        "candidates.Candidate",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    to_address = models.CharField(max_length=254)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    html = models.TextField(blank=True)
    # E-mail attachments: [{"filename": "invite.ics", "mimetype": "text/calendar; method=REQUEST",
    # "content": "<text>"}] (text content only, e.g. calendar invitations).
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=20, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    provider = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True, db_index=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    segments = models.PositiveSmallIntegerField(default=0)
    encoding = models.CharField(max_length=10, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, blank=True)
    hold_until = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    status_updated_at = models.DateTimeField(null=True, blank=True)
    # When the provider was last asked whether it has this message (reconcile of an ambiguous
    # send): the recovery sweep asks again only after a pause.
    provider_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="message_idempotency_key_once",
            ),
            # A provider that retries an inbound webhook must never make a second message.
            models.UniqueConstraint(
                fields=["organization", "provider_message_id"],
                condition=Q(direction="inbound") & ~Q(provider_message_id=""),
                name="inbound_message_once",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "channel"], name="message_org_status"),
            models.Index(fields=["organization", "to_address"], name="message_org_to"),
            # Reads by time (analytics' today, the recovery sweeps): a range per organization.
            models.Index(fields=["organization", "sent_at"], name="message_org_sent"),
            models.Index(fields=["organization", "created_at"], name="message_org_created"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.channel} #{self.pk} ({self.status})"


class MessageEvent(TenantModel):
    """One step of a message's delivery history (from the send or a provider callback)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20)
    error_code = models.CharField(max_length=40, blank=True)
    provider_event_id = models.CharField(max_length=200, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider_event_id"],
                condition=~Q(provider_event_id=""),
                name="message_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} for message {self.message_id}"


class OptOutAction(models.TextChoices):
    LOCK = "lock", "Opted out"
    UNLOCK = "unlock", "Opted back in"


class OptOutSource(models.TextChoices):
    KEYWORD = "keyword", "Candidate texted a keyword"
    PROVIDER_ERROR_21610 = (
        "provider_error_21610",
        "Provider refused: the number opted out (error 21610)",
    )
    MANUAL = "manual", "Set by a team member"
    PROVIDER_WEBHOOK = "provider_webhook", "Provider reported it"


class OptOutEntry(TenantModel):
    """The opt-out ledger: one row per change, never updated or deleted. A phone number is
    locked when its latest entry is a lock."""

    phone = models.CharField(max_length=32, help_text="E.164")
    locked = models.BooleanField()
    action = models.CharField(max_length=10, choices=OptOutAction.choices)
    source = models.CharField(max_length=30, choices=OptOutSource.choices)
    keyword = models.CharField(max_length=40, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "opt-out entries"
        indexes = [
            models.Index(fields=["organization", "phone", "-created_at"], name="optout_latest"),
            models.Index(fields=["organization", "created_at"], name="optout_org_created"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} {self.action} ({self.source})"


class MessagingPreferences(TenantModel):
    """Quiet hours and the automatic texts of one organization. Windows are in the candidate's
    time zone; a message outside the window is held until it opens, never dropped."""

    sms_window_start = models.TimeField(default=time(8, 0))
    sms_window_end = models.TimeField(default=time(21, 0))
    sms_days = models.JSONField(
        default=_all_days, help_text="Days texts may go out (0 = Monday … 6 = Sunday)."
    )
    email_window_start = models.TimeField(null=True, blank=True)
    email_window_end = models.TimeField(null=True, blank=True)
    email_days = models.JSONField(default=_all_days)
    help_reply = models.TextField(default=DEFAULT_HELP_REPLY)
    opt_out_footer = models.CharField(max_length=200, default=DEFAULT_OPT_OUT_FOOTER)
    endpoint_token = models.CharField(
        max_length=64,
        unique=True,
        default=new_endpoint_token,
        editable=False,
        help_text="Names the organization in the URLs providers call back "
        "(/webhooks/<provider>/<token>/...).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "messaging preferences"
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="one_messaging_prefs_per_org")
        ]

    def __str__(self) -> str:
        return f"Messaging preferences of organization {self.organization_id}"

    def window(self, channel: str):
        """``(start, end, days)`` of the sending window, or None when there are no quiet hours."""
        if channel == Channel.SMS:
            return self.sms_window_start, self.sms_window_end, list(self.sms_days)
        if self.email_window_start and self.email_window_end:
            return self.email_window_start, self.email_window_end, list(self.email_days)
        return None


class EmailOptOutSource(models.TextChoices):
    UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link in an e-mail"
    ONE_CLICK = "one_click", "One-click unsubscribe in their mail app"
    PROVIDER_UNSUBSCRIBE = "provider_unsubscribe", "Unsubscribed (e-mail provider)"
    SPAM_REPORT = "spam_report", "Marked an e-mail as spam"
    BOUNCE = "bounce", "Address bounced"
    MANUAL = "manual", "Set by a team member"


class EmailOptOutEntry(TenantModel):
    """The e-mail opt-out ledger, beside the texts' :class:`OptOutEntry`: one row per change,
    never updated or deleted. An address (lower-cased) is locked when its latest entry is a
    lock."""

    email = models.EmailField(max_length=254)
    locked = models.BooleanField()
    action = models.CharField(max_length=10, choices=OptOutAction.choices)
    source = models.CharField(max_length=30, choices=EmailOptOutSource.choices)
    detail = models.CharField(max_length=500, blank=True)
    provider_event_id = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "e-mail opt-out entry"
        verbose_name_plural = "e-mail opt-out entries"
        indexes = [
            models.Index(
                fields=["organization", "email", "-created_at"], name="email_optout_latest"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} {self.action} ({self.source})"


class EmailReplyEndpoint(TenantModel):
    """The HTTP basic auth credentials the e-mail provider sends with the replies it posts to
    the organization's reply endpoint (Inbound Parse signs nothing)."""

    username = models.CharField(max_length=40)
    password = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="one_email_reply_endpoint")
        ]

    def __str__(self) -> str:
        return f"E-mail reply endpoint of organization {self.organization_id}"
