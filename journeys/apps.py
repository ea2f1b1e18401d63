from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = "Journeys"

    def ready(self):
        # The built-in step kinds (send e-mail/text, wait, condition, exit) register their
        # handlers in journeys.registry, in every process (web, worker, beat, tests).
        from journeys import steps  # noqa: F401
