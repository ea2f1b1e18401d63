from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self):
        # The journey step "Send scheduling request" registers itself with the journeys
        # engine and builder, in every process (web, worker, beat, tests).
        from scheduling import steps  # noqa: F401
        from scheduling.calendar_changes import register_handlers

        # The one webhook intake applies calendar push notifications with this app's handler.
        register_handlers()
        # Deleting a candidate's personal data empties their bookings and removes the interview
        # events from members' calendars: this app's eraser registers itself.
        from scheduling import erasure  # noqa: F401
