"""Platform staff view of the ATS mirror: read-mostly (the sync owns these rows)."""

from django.contrib import admin

from candidates.models import (
    Application,
    AtsUser,
    Candidate,
    Department,
    Job,
    Office,
    Stage,
    StageTransition,
    SyncCursor,
    SyncRun,
    TimelineEvent,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the sync or webhooks: staff may look and delete, not edit."""

    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Department, Office, AtsUser)
class ReferenceAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "organization", "provider", "external_id", "synced_at")
    list_filter = ("provider",)
    search_fields = ("name", "external_id")


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("name", "organization", "provider", "status", "external_id", "synced_at")
    list_filter = ("provider", "status")
    search_fields = ("name", "external_id")


@admin.register(Stage)
class StageAdmin(ReadOnlyAdmin):
    list_display = ("name", "job", "position", "organization", "provider", "external_id")
    list_filter = ("provider",)
    search_fields = ("name", "external_id")
    list_select_related = ("job",)


@admin.register(Candidate)
class CandidateAdmin(ReadOnlyAdmin):
    list_display = (
        "full_name",
        "primary_email",
        "mobile_phone",
        "organization",
        "provider",
        "external_id",
        "merged_into",
        "deleted_at",
    )
    list_filter = ("provider",)
    search_fields = ("first_name", "last_name", "primary_email", "external_id")
    raw_id_fields = ("merged_into",)


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = (
        "external_id",
        "candidate",
        "job",
        "stage_name",
        "status",
        "organization",
        "last_activity_at",
    )
    list_filter = ("provider", "status")
    search_fields = ("external_id", "candidate__last_name", "candidate__primary_email")
    list_select_related = ("candidate", "job")
    raw_id_fields = ("candidate", "job", "stage")


@admin.register(StageTransition)
class StageTransitionAdmin(ReadOnlyAdmin):
    list_display = (
        "observed_at",
        "organization",
        "candidate",
        "from_stage_name",
        "to_stage_name",
        "from_status",
        "to_status",
        "is_new_application",
        "source",
    )
    list_filter = ("source", "provider", "is_new_application")
    search_fields = ("provider_event_id", "application__external_id")
    list_select_related = ("candidate",)
    raw_id_fields = ("application", "candidate", "job", "from_stage", "to_stage")


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "organization",
        "provider",
        "kind",
        "status",
        "phase",
        "progress_done",
        "progress_total",
        "api_calls",
        "duration_seconds",
    )
    list_filter = ("status", "kind", "provider")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SyncCursor)
class SyncCursorAdmin(ReadOnlyAdmin):
    list_display = ("organization", "provider", "resource", "position", "updated_at")
    list_filter = ("provider", "resource")


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "organization", "candidate", "kind", "summary")
    list_filter = ("kind",)
    raw_id_fields = ("candidate", "application")
