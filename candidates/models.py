"""The ATS mirror: what RecruitFlow knows of each organization's jobs, stages and candidates, and
every change of stage or status it has observed (StageTransition, the input of Journeys)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import validate_time_zone
from integrations.screens import choices_for
from recruitflow.tenancy import TenantModel


class Provider(models.TextChoices):
    """Where a mirrored row comes from. The ATS identifiers are the registry's
    (:func:`provider_choices`); only our own source is named here."""

    # Candidates who first reached us through a public scheduling link (not in an ATS yet).
    RECRUITFLOW = "recruitflow", "RecruitFlow"


def provider_choices() -> list[tuple[str, str]]:
    """Every ATS the installed vendor apps provide, then RecruitFlow itself: evaluated when the
    choices are read, so adding an ATS vendor changes no model and needs no migration."""
    return [*choices_for("ats"), *Provider.choices]


class ApplicationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REJECTED = "rejected", "Rejected"
    HIRED = "hired", "Hired"
    CONVERTED = "converted", "Converted"
    ARCHIVED = "archived", "Archived"


class Mirrored(TenantModel):
    """A row copied from an ATS, keyed by (organization, provider, external_id)."""

    provider = models.CharField(max_length=20, choices=provider_choices)
    external_id = models.CharField(max_length=100)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider", "external_id"],
                name="%(app_label)s_%(class)s_external_key",
            )
        ]


class Department(Mirrored):
    name = models.CharField(max_length=255)
    parent_external_id = models.CharField(max_length=100, blank=True)

    class Meta(Mirrored.Meta):
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Office(Mirrored):
    name = models.CharField(max_length=255)
    location = models.CharField(max_length=255, blank=True)

    class Meta(Mirrored.Meta):
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AtsUser(Mirrored):
    """A person in the ATS (recruiter, coordinator, hiring manager)."""

    name = models.CharField(max_length=255)
    email = models.EmailField(blank=True)

    class Meta(Mirrored.Meta):
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Job(Mirrored):
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=20, blank=True)
    departments = models.ManyToManyField(Department, blank=True, related_name="jobs")
    offices = models.ManyToManyField(Office, blank=True, related_name="jobs")
    recruiters = models.ManyToManyField(AtsUser, blank=True, related_name="recruiting_jobs")
    coordinators = models.ManyToManyField(AtsUser, blank=True, related_name="coordinating_jobs")
    hiring_managers = models.ManyToManyField(AtsUser, blank=True, related_name="managed_jobs")

    # The job's hiring team, as the ATS keeps it (its hiring team, or a posting's owner and
    # hiring manager): a hiring manager member sees the candidates of these jobs only.
    HIRING_TEAM = ("recruiters", "coordinators", "hiring_managers")

    class Meta(Mirrored.Meta):
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(Mirrored):
    # None for ATSs whose stages are global to the account, not per job.
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(max_length=255)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta(Mirrored.Meta):
        ordering = ["job_id", "position"]

    def __str__(self) -> str:
        return self.name


class Candidate(Mirrored):
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    emails = models.JSONField(default=list, blank=True)  # [{"value": ..., "type": ...}]
    phones = models.JSONField(default=list, blank=True)  # [{"value": ..., "type": ...}]
    primary_email = models.EmailField(blank=True, db_index=True)
    can_email = models.BooleanField(
        default=True,
        help_text="The ATS allows e-mailing this candidate (its can_email flag); "
        "when off, no e-mail goes to them.",
    )
    mobile_phone = models.CharField(max_length=32, blank=True, help_text="E.164")
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="The candidate's own time zone when known (set by a team member or chosen on a "
        "booking page); our field, never overwritten by a sync.",
    )
    time_zone_source = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    # When an admin deleted the candidate's personal data (candidates.erasure): the row stays so
    # counts stay, and a sync no longer writes the ATS's copy of it back.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta(Mirrored.Meta):
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or "(no name)"


class CandidateErasure(TenantModel):
    """The record of one deletion of a candidate's personal data: who asked, when, and how many
    rows of each kind were emptied (counts only; nothing of the candidate)."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="erasures")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erased_at = models.DateTimeField()
    # {"messages": 12, "bookings": 1, "recording_files": 6, ...}
    counts = models.JSONField(default=dict, blank=True)
    # What could not be done, in words (e.g. a calendar event a service refused to remove).
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-erased_at", "-id"]

    def __str__(self) -> str:
        return f"Erasure of candidate {self.candidate_id} at {self.erased_at:%Y-%m-%d %H:%M} UTC"


class Application(Mirrored):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="applications")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)
    stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL)
    stage_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.ACTIVE
    )
    source_name = models.CharField(max_length=255, blank=True)
    prospect = models.BooleanField(default=False)
    applied_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    stage_entered_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(Mirrored.Meta):
        ordering = ["-last_activity_at"]
        indexes = [
            models.Index(fields=["organization", "job", "stage"]),
            models.Index(fields=["organization", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_id} for {self.job_id} at {self.stage_name}"


class TransitionSource(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    POLL = "poll", "Poll"


class StageTransition(TenantModel):
    """An observed change of an application's stage or status. Written in the same transaction
    as the mirror update and the sync cursor; the input of Journeys."""

    provider = models.CharField(max_length=20, choices=provider_choices)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="transitions"
    )
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="transitions")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_stage_name = models.CharField(max_length=255, blank=True)
    to_stage_name = models.CharField(max_length=255, blank=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    is_new_application = models.BooleanField(default=False)
    observed_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=10, choices=TransitionSource.choices)
    provider_event_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-observed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider", "provider_event_id"],
                condition=~models.Q(provider_event_id=""),
                name="transition_once_per_provider_event",
            )
        ]
        indexes = [models.Index(fields=["organization", "-observed_at"])]

    def __str__(self) -> str:
        return f"{self.from_stage_name or '—'} → {self.to_stage_name} ({self.to_status})"


class SyncCursor(TenantModel):
    """How far the poll has read one resource of one provider."""

    provider = models.CharField(max_length=20, choices=provider_choices)
    resource = models.CharField(max_length=40)
    position = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider", "resource"], name="one_cursor_per_resource"
            )
        ]


class SyncKind(models.TextChoices):
    FULL = "full", "Full"
    INCREMENTAL = "incremental", "Incremental"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (another sync was running)"
    # The ATS kept rate limiting us: the run stopped and resumes from its cursor at resume_at.
    DEFERRED = "deferred", "Paused (rate limited)"


class SyncRun(TenantModel):
    provider = models.CharField(max_length=20, choices=provider_choices)
    kind = models.CharField(max_length=20, choices=SyncKind.choices)
    status = models.CharField(max_length=20, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)  # {"applications": 120, "transitions": 3}
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    phase = models.CharField(max_length=40, blank=True)
    api_calls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    resume_at = models.DateTimeField(null=True, blank=True)  # when a deferred run picks up again

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # The database refuses a second running sync of one organization.
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(status="running"),
                name="one_running_sync_per_org",
            )
        ]

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class TimelineEvent(TenantModel):
    """Something that happened to a candidate, written by any domain (messages, journeys,
    scheduling). Stage transitions are shown on the timeline from their own table."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="events")
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=40)
    summary = models.CharField(max_length=500)
    detail = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
