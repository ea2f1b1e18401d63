from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "Partner webhooks"

    def ready(self):
        # Deleting a candidate's personal data reaches this app's copies too: its eraser
        # registers itself with candidates.erasure.
        from partners import erasure  # noqa: F401
