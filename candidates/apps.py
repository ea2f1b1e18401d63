from django.apps import AppConfig


class CandidatesConfig(AppConfig):
    name = "candidates"
    verbose_name = "Candidates"

    def ready(self):
        # The one webhook intake applies the ATS events of a stored delivery with this app's
        # handler (integrations sits below candidates, so the handler is handed over here).
        from candidates.services.webhook_events import register_handlers

        register_handlers()
