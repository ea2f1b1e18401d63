from django.contrib import admin

from partners.models import Delivery, DeliveryAttempt, Event, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("url", "organization", "enabled", "ordered", "failing_since", "created_at")
    list_filter = ("enabled", "ordered")
    exclude = ("secret", "previous_secret")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "organization", "occurred_at", "created_at")
    list_filter = ("type",)
    search_fields = ("event_id", "source_key")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "subscription", "status", "attempts", "next_attempt_at")
    list_filter = ("status",)
    raw_id_fields = ("event", "subscription")


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ("delivery", "number", "response_status", "duration_ms", "started_at")
    raw_id_fields = ("delivery",)
