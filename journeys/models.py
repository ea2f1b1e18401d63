"""Journeys: recruiter-built automations, their versions and steps, the trigger index, runs and
step runs. The message templates their send steps use live in the Library (``library.models``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from library.models import MessageTemplate
from recruitflow.tenancy import TenantModel

# --------------------------------------------------------------------------------------------
# Journeys
# --------------------------------------------------------------------------------------------


class TriggerKind(models.TextChoices):
    ENTERED_STAGE = "entered_stage", "Candidate entered a stage"
    APPLICATION_CREATED = "application_created", "Application created"
    REJECTED = "rejected", "Status became rejected"
    HIRED = "hired", "Status became hired"
    STALE_IN_STAGE = "stale_in_stage", "Stale in a stage for some days"


class ExitRule(models.TextChoices):
    LEFT_STAGE = "left_stage", "Candidate left the stage"
    REJECTED = "rejected", "Candidate was rejected"
    HIRED = "hired", "Candidate was hired"
    OPTED_OUT = "opted_out", "Candidate opted out of texts"
    REPLIED = "replied", "Candidate replied"
    BOOKED = "booked", "Candidate booked an interview"
    COMPLETED_VIDEO_INTERVIEW = "completed_video_interview", "Candidate completed a video interview"


def _default_exit_rules() -> list[str]:
    return [ExitRule.LEFT_STAGE, ExitRule.REJECTED, ExitRule.HIRED, ExitRule.OPTED_OUT]


class Journey(TenantModel):
    """A recruiter-built automation. What it does lives in its versions; ``current_version`` is
    the one new runs start with (the live one). Runs keep the version they started with.

    Once a journey has been activated (published), the builder edits ``draft_version`` (a copy
    of the live version) instead; Publish makes the draft current, Discard deletes it."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    current_version = models.ForeignKey(
        "JourneyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    draft_version = models.ForeignKey(
        "JourneyVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The builder's unpublished edits of a published journey (not live).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def is_published(self) -> bool:
        """Whether the journey has ever gone live: from then on the builder edits a draft."""
        return self.activated_at is not None

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="journey_name_once")
        ]

    def __str__(self) -> str:
        return self.name


class JourneyVersion(TenantModel):
    """Trigger, criteria, exit rules and steps of one version of a journey. A version that has
    runs is never edited: the first edit after that copies it into a new version.

    Criteria are lists chosen from synced values; an empty list means "any". Stages, tags and
    sources match by name (case-insensitive) because ATS stages of different jobs share names;
    jobs, offices and departments by our ids."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(default=1)
    trigger = models.CharField(
        max_length=30, choices=TriggerKind.choices, default=TriggerKind.ENTERED_STAGE
    )
    stale_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For the stale-in-stage trigger."
    )
    stage_names = models.JSONField(default=list, blank=True)
    starter_stage = models.CharField(
        max_length=60,
        blank=True,
        help_text="A starter copy's stage (its role, in words) that matched none of the "
        "organization's stages; publishing is refused until the trigger is saved again.",
    )
    job_ids = models.JSONField(default=list, blank=True)
    office_ids = models.JSONField(default=list, blank=True)
    department_ids = models.JSONField(default=list, blank=True)
    statuses = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    sources = models.JSONField(default=list, blank=True)
    exit_rules = models.JSONField(default=_default_exit_rules, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["journey_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="journey_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.journey} v{self.number}"


class StepKind(models.TextChoices):
    SEND_EMAIL = "send_email", "Send e-mail"
    SEND_SMS = "send_sms", "Send text message"
    WAIT = "wait", "Wait"
    CONDITION = "condition", "Continue only if"
    EXIT = "exit", "Exit the journey"
    SEND_SCHEDULING_REQUEST = "send_scheduling_request", "Send scheduling request"
    SEND_VIDEO_INTERVIEW = "send_video_interview", "Send video interview"


class ConditionCheck(models.TextChoices):
    STILL_IN_STAGE = "still_in_stage", "Still in the trigger stage"
    REPLIED = "replied", "Has replied"
    HAS_MOBILE = "has_mobile", "Has a mobile number"
    HAS_EMAIL = "has_email", "Has an e-mail address"
    BOOKED = "booked", "Has booked an interview"
    COMPLETED_VIDEO_INTERVIEW = "completed_video_interview", "Has completed a video interview"


class JourneyStep(TenantModel):
    """One step of a version, in ``position`` order.

    ``config`` by kind:
    - wait: ``{"mode": "duration", "days": 2, "hours": 0, "minutes": 0}`` or
      ``{"mode": "until", "weekdays": [0, 1, 2, 3, 4], "time": "09:00"}`` (the next such
      weekday and time in the candidate's time zone);
    - condition: ``{"check": <ConditionCheck>, "expect": true}``; when the check does not give
      ``expect`` the run ends (exited, with the reason);
    - send_email / send_sms: uses ``message_template``; config may hold overrides later;
    - send_scheduling_request / send_video_interview: ``{"template_id": <id>}`` of the
      scheduling / interview Library template.
    """

    version = models.ForeignKey(JourneyVersion, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=30, choices=StepKind.choices)
    # RESTRICT (here, on runs' versions and on step runs' steps): a template a step sends
    # cannot be deleted on its own, yet deleting a whole organization is not blocked.
    message_template = models.ForeignKey(
        MessageTemplate,
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="steps",
    )
    config = models.JSONField(default=dict, blank=True)
    # The step of the version this one was copied from: how Publish tells a moved or changed
    # step from a removed and an added one.
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["version_id", "position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_kind_display()}"


class JourneyTriggerKey(TenantModel):
    """The matching index: one row per (active version, trigger, stage key). A transition looks
    up only the rows of its organization, trigger and stage (or "" = any stage), so matching
    never scans every journey. Rebuilt when a journey is activated, paused or edited."""

    version = models.ForeignKey(JourneyVersion, on_delete=models.CASCADE, related_name="keys")
    trigger = models.CharField(max_length=30, choices=TriggerKind.choices)
    stage_key = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "trigger", "stage_key"], name="journey_key_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.trigger}:{self.stage_key or '*'} → {self.version}"


class RunStatus(models.TextChoices):
    ACTIVE = "active", "In progress"
    COMPLETED = "completed", "Completed"
    EXITED = "exited", "Exited"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class JourneyRun(TenantModel):
    """One candidate going through one version of a journey, started by one transition."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(JourneyVersion, on_delete=models.RESTRICT, related_name="runs")
    transition = models.ForeignKey(
        "candidates.StageTransition", on_delete=models.CASCADE, related_name="journey_runs"
    )
    application = models.ForeignKey(
        "candidates.Application", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="journey_runs"
    )
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.ACTIVE)
    reason = models.CharField(max_length=500, blank=True)
    exit_rule = models.CharField(
        max_length=30,
        blank=True,
        help_text="The exit rule (an ExitRule value, or “condition”) that ended the run.",
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "transition"], name="one_run_per_transition")
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="journey_run_status"),
            # Runs by start time per organization (analytics' today, the Runs page).
            models.Index(fields=["organization", "started_at"], name="journey_run_started"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.journey_id} ({self.status})"


class StepRunStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    HELD = "held", "Held (quiet hours)"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown (check before resending)"
    CANCELED = "canceled", "Canceled"


class StepRun(TenantModel):
    """One execution of a step within a run. Pending rows with ``due_at`` are swept by the
    dispatcher (``select_for_update(skip_locked=True)``)."""

    run = models.ForeignKey(JourneyRun, on_delete=models.CASCADE, related_name="step_runs")
    step = models.ForeignKey(JourneyStep, on_delete=models.RESTRICT, related_name="+")
    position = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=20, choices=StepRunStatus.choices, default=StepRunStatus.PENDING
    )
    due_at = models.DateTimeField()
    message = models.ForeignKey(
        "messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    held_until = models.DateTimeField(
        null=True, blank=True, help_text="When a send held for quiet hours goes out."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="one_step_run_per_position")
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="step_run_due"),
            models.Index(fields=["status", "finished_at"], name="step_run_finished"),
        ]

    def __str__(self) -> str:
        return f"Step {self.position} of run {self.run_id} ({self.status})"


class MatchCursor(TenantModel):
    """The last StageTransition id matched against journeys, per organization: the sweep that
    catches transitions whose on-commit match task was lost. Also how far the exit sweep has
    read replies/bookings (timeline events) and opt-outs, and the row matching locks so two
    matches of one organization run one after the other."""

    last_transition_id = models.BigIntegerField(default=0)
    last_event_id = models.BigIntegerField(default=0)
    last_opt_out_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="one_match_cursor_per_org")
        ]

    def __str__(self) -> str:
        return f"Match cursor {self.last_transition_id} of organization {self.organization_id}"
