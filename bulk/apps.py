from django.apps import AppConfig


class BulkConfig(AppConfig):
    name = "bulk"
    verbose_name = "Bulk actions on candidates"

    def ready(self):
        # Deleting a candidate's personal data reaches this app's copies too: its eraser
        # registers itself with candidates.erasure.
        from bulk import erasure  # noqa: F401
