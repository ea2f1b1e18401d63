from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # Deleting a candidate's personal data reaches this app's copies too: its eraser
        # registers itself with candidates.erasure.
        from notifications import erasure  # noqa: F401
