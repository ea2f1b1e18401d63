"""The Django admin of the one webhook intake: every vendor's stored deliveries, for support."""

from django.contrib import admin

from integrations import intake
from integrations.models import WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """What each vendor sent, when, and whether it was applied; Reprocess applies the selected
    deliveries again (what they already applied is recognised and not applied twice)."""

    list_display = (
        "received_at",
        "organization",
        "provider",
        "kind",
        "state",
        "attempts",
        "event_id",
        "short_error",
    )
    list_filter = ("provider", "state", "organization")
    search_fields = ("event_id", "kind", "error")
    date_hierarchy = "received_at"
    list_per_page = 50
    actions = ["reprocess"]
    readonly_fields = (
        "organization",
        "provider",
        "kind",
        "event_id",
        "url",
        "headers",
        "raw_body",
        "received_at",
        "state",
        "error",
        "attempts",
        "next_attempt_at",
        "processed_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Error")
    def short_error(self, obj: WebhookDelivery) -> str:
        return obj.error if len(obj.error) <= 120 else obj.error[:119] + "…"

    @admin.action(description="Reprocess the selected webhook deliveries")
    def reprocess(self, request, queryset):
        count = intake.reprocess(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} webhook delivery(ies) queued to be applied again.")
