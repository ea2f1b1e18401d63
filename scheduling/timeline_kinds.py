"""The candidate timeline kinds scheduling writes (see :mod:`candidates.timeline`)."""

from candidates.timeline import register

SCHEDULING_REQUESTED = register(
    "scheduling_requested",
    label="Scheduling request sent",
    icon="calendar",
    written_by=("scheduling", "analytics"),  # analytics: the demo history
)
SCHEDULING_REQUEST_EXPIRED = register(
    "scheduling_request_expired",
    label="Scheduling request expired",
    icon="calendar",
    written_by="scheduling",
)
SCHEDULING_REMINDER_SENT = register(
    "scheduling_reminder_sent",
    label="Scheduling reminder sent",
    icon="calendar",
    written_by="scheduling",
)
SCHEDULING_CALENDAR_PROBLEM = register(
    "scheduling_calendar_problem",
    label="Calendar problem",
    icon="calendar",
    written_by="scheduling",
)
MEETING_LINK_FALLBACK = register(
    "meeting_link_fallback",
    label="Meeting link fallback",
    icon="calendar",
    written_by="scheduling",
)
# "booked" is declared by journeys (journeys.timeline_kinds.BOOKED): its exit rule reads it.
RESCHEDULED = register(
    "rescheduled",
    label="Interview rescheduled",
    icon="calendar",
    written_by=("scheduling", "analytics"),  # analytics: the demo history
)
BOOKING_CANCELLED = register(
    "booking_cancelled",
    label="Interview cancelled",
    icon="calendar",
    written_by=("scheduling", "analytics"),  # analytics: the demo history
)
INTERVIEW_REMINDER_SENT = register(
    "interview_reminder_sent",
    label="Interview reminder sent",
    icon="calendar",
    written_by="scheduling",
)
PUBLIC_LINK_MATCH = register(
    "public_link_match", label="Public link used", icon="calendar", written_by="scheduling"
)
PUBLIC_LINK_CONFIRMED = register(
    "public_link_confirmed",
    label="Public link booking confirmed",
    icon="calendar",
    written_by="scheduling",
)
