"""The candidate timeline kinds messaging writes (see :mod:`candidates.timeline`)."""

from candidates.timeline import register

MESSAGE_SENT = register(
    "message_sent",
    label="Message sent",
    icon="inbox",
    written_by=("messaging", "analytics"),  # analytics: the demo history
)
MESSAGE_FAILED = register(
    "message_failed",
    label="Message not delivered",
    icon="inbox",
    written_by=("messaging", "analytics"),
)
# Also written by scheduling when one of its messages cannot go out.
MESSAGE_SKIPPED = register(
    "message_skipped",
    label="Message not sent",
    icon="inbox",
    written_by=("messaging", "scheduling"),
)
MESSAGE_HELD = register(
    "message_held",
    label="Message held for quiet hours",
    icon="inbox",
    written_by=("messaging", "analytics"),
)
# Read by the journeys' "replied" exit rule and condition.
REPLIED = register(
    "replied",
    label="Candidate replied",
    icon="inbox",
    written_by=("messaging", "analytics"),  # analytics: the demo history
)
