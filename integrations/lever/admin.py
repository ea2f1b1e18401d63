"""Staff view of Lever connections. Secrets are never shown: not even masked in forms."""

from django.contrib import admin, messages

from integrations.connections import connection_test
from integrations.lever.models import LeverConnection
from recruitflow.tenancy import tenant_scope


@admin.action(description="Test connection")
def test_connection(modeladmin, request, queryset):
    """Check credentials and permissions; name each missing permission as the ATS shows it."""
    for connection in queryset.select_related("organization"):
        with tenant_scope(connection.organization):
            result = connection_test(connection)
        if result.ok:
            modeladmin.message_user(
                request, f"{connection.organization}: connected, every permission granted."
            )
        elif result.missing:
            names = "; ".join(check.label for check in result.missing)
            modeladmin.message_user(
                request, f"{connection.organization}: missing {names}", level=messages.WARNING
            )
        else:
            modeladmin.message_user(
                request, f"{connection.organization}: {result.error}", level=messages.ERROR
            )


def masked(obj, names) -> str:
    """Which secrets are set, with their last 4 characters at most."""
    parts = []
    for name in names:
        value = getattr(obj, name, "") or ""
        parts.append(f"{name}: {'…' + value[-4:] if len(value) > 8 else ('set' if value else '—')}")
    return ", ".join(parts)


@admin.register(LeverConnection)
class LeverConnectionAdmin(admin.ModelAdmin):
    list_display = (
        "organization",
        "auth_method",
        "status",
        "last_checked_at",
        "last_webhook_at",
        "poll_interval_minutes",
    )
    list_filter = ("status", "auth_method")
    list_select_related = ("organization",)
    search_fields = ("organization__name", "organization__slug")
    exclude = ("api_key", "access_token", "refresh_token", "signature_token", "webhook_secret")
    readonly_fields = (
        "status",
        "last_error",
        "last_checked_at",
        "last_webhook_at",
        "token_expires_at",
        "endpoint_token",
        "secrets",
    )
    actions = [test_connection]

    @admin.display(description="Secrets")
    def secrets(self, obj) -> str:
        return masked(
            obj, ("api_key", "access_token", "refresh_token", "signature_token", "webhook_secret")
        )
