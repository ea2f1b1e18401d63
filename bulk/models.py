"""A bulk action on a filtered candidates list: who started it, when, with which filter, what
it does (enrol in a journey, send a Library template) and, per candidate, what became of it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from recruitflow.tenancy import TenantModel


class BulkKind(models.TextChoices):
    ENROL = "enrol", "Enrol in a journey"
    SEND = "send", "Send a template"


class BulkStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class ItemOutcome(models.TextChoices):
    PENDING = "pending", "Waiting"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class BulkAction(TenantModel):
    # The confirm form's token: the same form posted twice starts one action.
    token = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=BulkKind.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The list's query string as it was ("" for candidates ticked one by one).
    filters = models.JSONField(default=dict, blank=True)
    selected_all = models.BooleanField(default=False)
    journey = models.ForeignKey(
        "journeys.Journey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template = models.ForeignKey(
        "library.MessageTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The journey's or template's name when it started, kept if it is renamed or deleted.
    target_name = models.CharField(max_length=255)
    reason = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=BulkStatus.choices, default=BulkStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "token"], name="bulk_action_token")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.target_name} ({self.total})"


class BulkActionItem(TenantModel):
    """One candidate of a bulk action and its outcome, in the words the services gave."""

    action = models.ForeignKey(BulkAction, on_delete=models.CASCADE, related_name="items")
    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="+"
    )
    outcome = models.CharField(
        max_length=10, choices=ItemOutcome.choices, default=ItemOutcome.PENDING
    )
    detail = models.CharField(max_length=500, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)
    run_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["action", "candidate"], name="bulk_item_once")
        ]
        indexes = [models.Index(fields=["action", "outcome"], name="bulk_item_outcome")]
