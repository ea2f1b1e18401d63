"""The candidate timeline kinds journeys writes (see :mod:`candidates.timeline`). The journey
steps other apps plug in (scheduling's) write them too, through these constants."""

from candidates.timeline import register, register_grouper
from journeys.models import ConditionCheck, ExitRule
from journeys.registry import run_timeline_groups
from messaging.timeline_kinds import REPLIED

JOURNEY_ENTERED = register(
    "journey_entered",
    label="Entered a journey",
    icon="route",
    written_by=("journeys", "analytics"),  # analytics: the demo history
)
JOURNEY_SENT = register(
    "journey_sent",
    label="Journey step sent",
    icon="route",
    written_by=("journeys", "scheduling", "interviews", "analytics"),
)
JOURNEY_STEP_FAILED = register(
    "journey_step_failed",
    label="Journey step failed",
    icon="route",
    written_by=("journeys", "scheduling", "interviews"),
)
JOURNEY_STEP_UNKNOWN = register(
    "journey_step_unknown",
    label="Journey step outcome unknown",
    icon="route",
    written_by="journeys",
)
JOURNEY_STEP_SKIPPED = register(
    "journey_step_skipped",
    label="Journey step skipped",
    icon="route",
    written_by=("scheduling", "interviews"),
)
JOURNEY_EXITED = register(
    "journey_exited", label="Left a journey", icon="route", written_by=("journeys", "analytics")
)
JOURNEY_COMPLETED = register(
    "journey_completed",
    label="Finished a journey",
    icon="route",
    written_by=("journeys", "analytics"),
)

# Written by scheduling when a candidate books; declared here because the "booked" exit rule and
# condition read it and journeys never imports scheduling (scheduling writes it through this
# constant).
BOOKED = register(
    "booked",
    label="Interview booked",
    icon="calendar",
    written_by=("scheduling", "analytics"),  # analytics: the demo history
)
# A candidate finished recording a video interview: the "completed video interview" exit rule
# reads it (interviews writes it through this constant; write-back turns it into the ATS field).
VIDEO_INTERVIEW_COMPLETED = register(
    "video_interview_completed",
    label="Video interview completed",
    icon="video",
    written_by="interviews",
)

# The exit rules and step conditions that read a timeline event, and the kind each reads.
EXIT_RULE_KINDS: dict[str, str] = {
    ExitRule.REPLIED: REPLIED,
    ExitRule.BOOKED: BOOKED,
    ExitRule.COMPLETED_VIDEO_INTERVIEW: VIDEO_INTERVIEW_COMPLETED,
}
CONDITION_KINDS: dict[str, str] = {
    ConditionCheck.REPLIED: REPLIED,
    ConditionCheck.BOOKED: BOOKED,
    ConditionCheck.COMPLETED_VIDEO_INTERVIEW: VIDEO_INTERVIEW_COMPLETED,
}
# Why a run ends when the event of its exit rule happens (the timeline says so).
EXIT_RULE_REASONS: dict[str, str] = {
    ExitRule.REPLIED: "the candidate replied",
    ExitRule.BOOKED: "the candidate booked an interview",
    ExitRule.COMPLETED_VIDEO_INTERVIEW: "the candidate completed a video interview",
}

# The candidate timeline shows a run's events (and the messages its steps sent) as one entry.
register_grouper(run_timeline_groups)
