"""Staff view of Cronofy settings and calendar connections. Secrets and tokens are never shown:
not even masked in forms."""

from django.contrib import admin

from integrations.cronofy.models import CalendarConnection, CronofySettings
from integrations.greenhouse.admin import masked


@admin.register(CronofySettings)
class CronofySettingsAdmin(admin.ModelAdmin):
    list_display = (
        "organization",
        "client_id",
        "data_center",
        "service_account_email",
        "updated_at",
    )
    list_filter = ("data_center",)
    list_select_related = ("organization",)
    search_fields = ("organization__name", "organization__slug", "client_id")
    exclude = (
        "client_secret",
        "previous_client_secret",
        "service_account_access_token",
        "service_account_refresh_token",
    )
    readonly_fields = ("service_account_id", "service_account_expires_at", "secrets")

    @admin.display(description="Secrets")
    def secrets(self, obj) -> str:
        return masked(obj, ("client_secret", "previous_client_secret"))


@admin.register(CalendarConnection)
class CalendarConnectionAdmin(admin.ModelAdmin):
    list_display = ("organization", "email", "auth_method", "data_center", "status", "updated_at")
    list_filter = ("status", "auth_method", "data_center")
    list_select_related = ("organization",)
    search_fields = ("organization__name", "email", "sub")
    exclude = ("access_token", "refresh_token")
    readonly_fields = (
        "sub",
        "profile_id",
        "token_expires_at",
        "scope",
        "channel_id",
        "status",
        "last_error",
        "authorization_state",
        "connected_at",
    )
