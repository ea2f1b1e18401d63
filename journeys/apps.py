from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = "Journeys"

    def ready(self):
        # The built-in step kinds (send e-mail/text, wait, condition, exit) register their
        # handlers in journeys.registry, in every process (web, worker, beat, tests); the
        # eraser registers itself with candidates.erasure, so deleting a candidate's personal
        # data reaches this app's copies too.
        from journeys import (
            erasure,  # noqa: F401
            steps,  # noqa: F401
        )
