"""Video interviews: Library video interview templates (questions and the messages around them),
the interview a candidate records through a signed link, each answer's recording (uploaded in
chunks, then processed into an MP4 rendition and a poster frame), and the reviews of the team.

An interview keeps a copy of its template's questions at send time (``questions``), so editing a
template never changes what a candidate already received. Each answer take is one
:class:`Answer` row; the take that counts is the last one uploaded for its question
(``is_final``). Recordings are files in Django's storage (``interviews.storage``), never public.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from recruitflow.tenancy import TenantModel

from .storage import recordings_storage


def new_interview_token() -> str:
    """An unguessable URL token (192 bits) for the candidate's recorder link."""
    return secrets.token_urlsafe(24)


# The messages of a video interview template, in the order recruiters meet them. Each is an
# e-mail and/or a text message from the Library (``<key>_email`` / ``<key>_sms`` fields).
MESSAGE_KINDS: tuple[tuple[str, str], ...] = (
    ("invitation", "Video Interview Invitation"),
    ("reminder", "Video Interview Reminder"),
    ("completion", "Video Interview Completed"),
)
MESSAGE_LABELS = dict(MESSAGE_KINDS)


def _message_field(label: str, channel: str, name: str):
    # A named reverse relation, so the Library can say a video template uses the message
    # (library.services.template_uses reads every relation to MessageTemplate).
    return models.ForeignKey(
        "library.MessageTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name=f"video_{name}_uses",
        verbose_name=f"{label} ({channel})",
    )


class VideoTemplate(TenantModel):
    """An on-demand video interview: an introduction, questions, and its messages."""

    name = models.CharField(max_length=200)
    intro = models.TextField(
        blank=True,
        help_text="Shown to the candidate before the first question: who you are, what to "
        "expect, how long it takes.",
    )
    expiry_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="The link stops working this many days after it was sent.",
    )
    reminder_after_hours = models.PositiveSmallIntegerField(
        default=48,
        help_text="Send the Video Interview Reminder when not started after this long; "
        "0: no reminder.",
    )
    invitation_email = _message_field("Video Interview Invitation", "e-mail", "invitation_email")
    invitation_sms = _message_field("Video Interview Invitation", "text", "invitation_sms")
    reminder_email = _message_field("Video Interview Reminder", "e-mail", "reminder_email")
    reminder_sms = _message_field("Video Interview Reminder", "text", "reminder_sms")
    completion_email = _message_field("Video Interview Completed", "e-mail", "completion_email")
    completion_sms = _message_field("Video Interview Completed", "text", "completion_sms")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        # How the Library names it where a message template is used ("1 video interview
        # template (Sales screen)").
        verbose_name = "video interview template"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="video_template_name_once"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def message_template(self, kind: str, channel: str):
        """The Library template of message ``kind`` for ``channel`` ("email"/"sms"), or None."""
        return getattr(self, f"{kind}_{channel}")


class VideoQuestion(TenantModel):
    """One question of a template, in order."""

    template = models.ForeignKey(VideoTemplate, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()
    think_seconds = models.PositiveSmallIntegerField(
        default=30,
        validators=[MaxValueValidator(600)],
        help_text="Time to read and think before recording starts; 0: record right away.",
    )
    answer_seconds = models.PositiveSmallIntegerField(
        default=120,
        validators=[MinValueValidator(15), MaxValueValidator(900)],
        help_text="The longest an answer may be.",
    )
    retakes = models.PositiveSmallIntegerField(
        default=1,
        validators=[MaxValueValidator(5)],
        help_text="How many times the candidate may record this answer again.",
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text[:80]

    def snapshot(self) -> dict:
        """What an interview keeps of this question when it is sent."""
        return {
            "text": self.text,
            "think_seconds": self.think_seconds,
            "answer_seconds": self.answer_seconds,
            "retakes": self.retakes,
        }


class VideoTemplateReviewer(TenantModel):
    """A team member who reviews the interviews of a template (told when one is completed)."""

    template = models.ForeignKey(VideoTemplate, on_delete=models.CASCADE, related_name="reviewers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "user"], name="video_reviewer_once")
        ]


class InterviewStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    STARTED = "started", "Started"
    COMPLETED = "completed", "Completed"
    REVIEWED = "reviewed", "Reviewed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


# Statuses in which the candidate may still record.
OPEN_STATUSES = (InterviewStatus.INVITED, InterviewStatus.STARTED)


class InterviewSource(models.TextChoices):
    JOURNEY = "journey", "A journey step"
    RECRUITER = "recruiter", "A team member"
    API = "api", "The API"


class VideoInterview(TenantModel):
    """One candidate's video interview: the recorder link, its questions and its status."""

    template = models.ForeignKey(VideoTemplate, on_delete=models.PROTECT, related_name="interviews")
    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="video_interviews"
    )
    application = models.ForeignKey(
        "candidates.Application", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey(
        "candidates.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token = models.CharField(max_length=64, unique=True, default=new_interview_token)
    status = models.CharField(
        max_length=20, choices=InterviewStatus.choices, default=InterviewStatus.INVITED
    )
    source = models.CharField(
        max_length=20, choices=InterviewSource.choices, default=InterviewSource.RECRUITER
    )
    # The template's intro and questions when it was sent: [{"text", "think_seconds",
    # "answer_seconds", "retakes"}, ...]; answers refer to them by index.
    intro = models.TextField(blank=True)
    questions = models.JSONField(default=list)
    step_run_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Set when retention or an erasure deleted the recordings (a tombstone stays).
    recordings_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "step_run_id"],
                condition=Q(step_run_id__isnull=False),
                name="one_video_interview_per_step_run",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="video_org_status"),
            models.Index(fields=["organization", "created_at"], name="video_org_created"),
            models.Index(fields=["organization", "expires_at"], name="video_org_expires"),
        ]

    def __str__(self) -> str:
        return f"Video interview #{self.pk} ({self.get_status_display()})"


class AnswerStatus(models.TextChoices):
    RECORDING = "recording", "Uploading"
    UPLOADED = "uploaded", "Uploaded, waiting to be processed"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Could not be played; asked to record again"


def recording_path(answer: Answer, filename: str) -> str:
    return (
        f"interviews/{answer.organization_id}/{answer.interview_id}/{answer.upload_id}/{filename}"
    )


class Answer(TenantModel):
    """One recorded take of one question. Its bytes arrive in chunks (``bytes_received`` is the
    resume point); when the last chunk is in, a task makes the rendition and the poster."""

    interview = models.ForeignKey(VideoInterview, on_delete=models.CASCADE, related_name="answers")
    question_index = models.PositiveSmallIntegerField()
    attempt = models.PositiveSmallIntegerField(default=1)
    upload_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        max_length=20, choices=AnswerStatus.choices, default=AnswerStatus.RECORDING
    )
    content_type = models.CharField(max_length=100, blank=True)
    bytes_received = models.BigIntegerField(default=0)
    chunks_received = models.PositiveIntegerField(default=0)
    original = models.FileField(
        upload_to=recording_path, storage=recordings_storage, max_length=300, blank=True
    )
    rendition = models.FileField(
        upload_to=recording_path, storage=recordings_storage, max_length=300, blank=True
    )
    poster = models.FileField(
        upload_to=recording_path, storage=recordings_storage, max_length=300, blank=True
    )
    duration_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    is_final = models.BooleanField(
        default=False, help_text="The take that counts: the last one uploaded for its question."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["question_index", "attempt"]
        constraints = [
            models.UniqueConstraint(
                fields=["interview", "question_index", "attempt"], name="answer_take_once"
            ),
            models.UniqueConstraint(
                fields=["interview", "question_index"],
                condition=Q(is_final=True),
                name="one_final_answer_per_question",
            ),
        ]

    def __str__(self) -> str:
        return f"Answer {self.question_index + 1}, take {self.attempt}"


class Recommendation(models.TextChoices):
    STRONG_YES = "strong_yes", "Strong yes"
    YES = "yes", "Yes"
    NO = "no", "No"
    STRONG_NO = "strong_no", "Strong no"


class Review(TenantModel):
    """One reviewer's view of one interview: a recommendation, notes, and per-answer ratings."""

    interview = models.ForeignKey(VideoInterview, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    recommendation = models.CharField(max_length=20, choices=Recommendation.choices, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interview", "reviewer"], name="one_review_per_reviewer"
            )
        ]


class AnswerRating(TenantModel):
    """A reviewer's rating (1–5) and note on one answer."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="ratings")
    question_index = models.PositiveSmallIntegerField()
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["question_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "question_index"], name="one_rating_per_answer"
            )
        ]


class InterviewPolicy(TenantModel):
    """An organization's video interview settings (one row; defaults when missing)."""

    retention_days = models.PositiveSmallIntegerField(
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Recordings are deleted this many days after the interview was completed "
        "(or expired); a note stays on the candidate's timeline.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="one_interview_policy_per_org")
        ]
