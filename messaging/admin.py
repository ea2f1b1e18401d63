from django.contrib import admin

from messaging.models import (
    Conversation,
    Message,
    MessageEvent,
    MessagingPreferences,
    OptOutEntry,
)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("id", "organization", "candidate", "unread_count", "last_message_at")
    raw_id_fields = ("candidate",)


class MessageEventInline(admin.TabularInline):
    model = MessageEvent
    extra = 0
    readonly_fields = ("status", "error_code", "provider_event_id", "raw", "occurred_at")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "organization", "channel", "direction", "to_address", "status")
    list_filter = ("channel", "direction", "status")
    search_fields = ("to_address", "provider_message_id")
    raw_id_fields = ("conversation", "candidate", "sent_by")
    inlines = [MessageEventInline]


@admin.register(OptOutEntry)
class OptOutEntryAdmin(admin.ModelAdmin):
    list_display = ("phone", "organization", "action", "source", "keyword", "created_at")
    list_filter = ("action", "source")
    search_fields = ("phone",)

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger is history: never deleted

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MessagingPreferences)
class MessagingPreferencesAdmin(admin.ModelAdmin):
    list_display = ("organization", "sms_window_start", "sms_window_end")
