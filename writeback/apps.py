from django.apps import AppConfig


class WritebackConfig(AppConfig):
    name = "writeback"
    verbose_name = "ATS activity write-back"

    def ready(self):
        # Deleting a candidate's personal data reaches this app's copies too: its eraser
        # registers itself with candidates.erasure.
        from writeback import erasure  # noqa: F401
