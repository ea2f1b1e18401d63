from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self):
        # The journey step "Send scheduling request" registers itself with the journeys
        # engine and builder, in every process (web, worker, beat, tests).
        from scheduling import steps  # noqa: F401
