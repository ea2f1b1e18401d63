"""ATS activity write-back: the rules, per-candidate pauses, the read cursor and the outbox.

Every write to the ATS is an :class:`ActivityWrite` row with a unique dedupe key derived from
what it records (the timeline event, the conversation's batch window, the booking change…), so
reading the same event twice, or a worker retrying, never writes twice.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from recruitflow.tenancy import TenantModel


class NoteVisibility(models.TextChoices):
    ADMIN_ONLY = "admin_only", "Admin only (the ATS's site admins)"
    PRIVATE = "private", "Private (people who can see private notes)"
    PUBLIC = "public", "Public (everyone on the candidate, interviewers included)"


class WritebackRules(TenantModel):
    """What an organization writes to its ATS. A sub-account without its own row follows the
    nearest organization up its tree that has one (``selectors.rules_for``)."""

    enabled = models.BooleanField(
        default=False, help_text="Master switch: nothing is written to the ATS while off."
    )
    outbound_emails = models.BooleanField(default=True)
    outbound_texts = models.BooleanField(default=True)
    first_reply = models.BooleanField(default=True)
    later_replies = models.BooleanField(default=True)
    bookings = models.BooleanField(default=True)
    opt_outs = models.BooleanField(default=True)
    journey_events = models.BooleanField(default=False)
    video_interviews = models.BooleanField(
        default=True,
        help_text="When a candidate completes a video interview: the review link in the "
        "candidate's “Video Interview” custom field (where the ATS has one) and a note.",
    )
    note_visibility = models.CharField(
        max_length=20, choices=NoteVisibility.choices, default=NoteVisibility.PRIVATE
    )
    text_batch_minutes = models.PositiveSmallIntegerField(
        default=15,
        validators=[MinValueValidator(0), MaxValueValidator(24 * 60)],
        help_text="Texts of one conversation within this many minutes share one note (0: one "
        "note per text).",
    )
    sms_transcripts = models.BooleanField(
        default=True,
        help_text="Upload each SMS conversation to the candidate in the ATS as a PDF transcript "
        "once it has been quiet for the hours below, and a new version after later texts.",
    )
    transcript_quiet_hours = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(14 * 24)],
        help_text="Hours without a text before a conversation's transcript is uploaded.",
    )
    candidate_notice = models.BooleanField(
        default=False,
        help_text="E-mail each candidate once, when their first activity is about to be written "
        "to the ATS, that the conversation is recorded there, with a link to stop it.",
    )
    acting_user_email = models.EmailField(blank=True)
    acting_user_external_id = models.CharField(max_length=100, blank=True)
    acting_user_name = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="one_writeback_rules_per_org")
        ]

    def __str__(self) -> str:
        return f"ATS activity rules of organization {self.organization_id}"


class PauseSource(models.TextChoices):
    CANDIDATE_PAGE = "candidate_page", "Candidate page"
    INBOX = "inbox", "Inbox"
    API = "api", "API"
    CANDIDATE_LINK = "candidate_link", "The candidate's link"


class WritebackPause(TenantModel):
    """A candidate whose activity is not written to the ATS (kept here, marked paused)."""

    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="writeback_pauses"
    )
    source = models.CharField(max_length=20, choices=PauseSource.choices)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "candidate"], name="one_writeback_pause_per_candidate"
            )
        ]

    def __str__(self) -> str:
        return f"Write-back paused for candidate {self.candidate_id}"


class NoticeOutcome(models.TextChoices):
    SENT = "sent", "Sent"
    NOT_SENT = "not_sent", "Not sent"


class RecordingNotice(TenantModel):
    """The one-time "this conversation is recorded in our ATS" e-mail of a candidate: one row
    per candidate ever (the unique constraint is what makes two workers send one notice),
    whether it went out (``message``) or why not (``reason``: no address, the ATS says not to
    e-mail them, the address unsubscribed)."""

    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="recording_notices"
    )
    outcome = models.CharField(max_length=20, choices=NoticeOutcome.choices)
    reason = models.CharField(max_length=500, blank=True)
    message = models.ForeignKey(
        "messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "candidate"], name="one_recording_notice_per_candidate"
            )
        ]

    def __str__(self) -> str:
        return f"Recording notice of candidate {self.candidate_id}: {self.outcome}"


class WritebackCursor(TenantModel):
    """How far the reader has turned timeline events and opt-out entries (texts' and e-mail's
    ledgers) into outbox rows."""

    last_event_id = models.BigIntegerField(default=0)
    last_opt_out_id = models.BigIntegerField(default=0)
    last_email_opt_out_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="one_writeback_cursor_per_org")
        ]


class WriteKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    TEXTS = "texts", "Texts"
    REPLY = "reply", "Reply"
    BOOKING = "booking", "Booking"
    OPT_OUT = "opt_out", "Opt-out"
    JOURNEY = "journey", "Journey"
    DELIVERY = "delivery", "Delivery problem"
    ATTACHMENT = "attachment", "File"
    VIDEO_INTERVIEW = "video_interview", "Video interview"
    LINK_FIELD = "link_field", "Candidate field"


class WriteStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be written"
    WRITING = "writing", "Being written"
    WRITTEN = "written", "Written"
    FAILED = "failed", "Failed"
    PAUSED = "paused", "Not written (paused)"
    RULE_OFF = "rule_off", "Not written (rule off)"


class ActivityWrite(TenantModel):
    """One ATS write (the outbox). ``events`` are the timeline event ids it records (a batch of
    texts records several); ``marker`` is the text the written body carries so an ambiguous
    failure can be settled by reading the ATS back (``ambiguous``). Attachments carry their
    bytes in ``data``, or name a ``producer`` (see ``services.register_attachment_producer``)
    that renders them when the write runs."""

    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="ats_writes"
    )
    kind = models.CharField(max_length=20, choices=WriteKind.choices)
    dedupe_key = models.CharField(max_length=200)
    events = models.JSONField(default=list, blank=True)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    email_to = models.CharField(max_length=254, blank=True)
    email_from = models.CharField(max_length=254, blank=True)
    visibility = models.CharField(max_length=20, blank=True)
    marker = models.CharField(max_length=64)
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    data = models.BinaryField(null=True, blank=True)
    producer = models.CharField(max_length=100, blank=True)
    producer_args = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=WriteStatus.choices, default=WriteStatus.PENDING, db_index=True
    )
    reason = models.TextField(blank=True)
    ambiguous = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=20, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    written_at = models.DateTimeField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], name="activity_write_once"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="activity_write_due"),
            models.Index(fields=["organization", "candidate"], name="activity_write_candidate"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for candidate {self.candidate_id}: {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in (WriteStatus.PENDING, WriteStatus.WRITING)
