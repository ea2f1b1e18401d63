"""The candidate timeline kinds video interviews write (see :mod:`candidates.timeline`).

"video_interview_completed" is declared by journeys (journeys.timeline_kinds
.VIDEO_INTERVIEW_COMPLETED): its exit rule reads it; interviews writes it through that constant.
"""

from candidates.timeline import register

VIDEO_INTERVIEW_SENT = register(
    "video_interview_sent", label="Video interview sent", icon="video", written_by="interviews"
)
VIDEO_INTERVIEW_REMINDER_SENT = register(
    "video_interview_reminder_sent",
    label="Video interview reminder sent",
    icon="video",
    written_by="interviews",
)
VIDEO_INTERVIEW_STARTED = register(
    "video_interview_started",
    label="Video interview started",
    icon="video",
    written_by="interviews",
)
VIDEO_INTERVIEW_EXPIRED = register(
    "video_interview_expired",
    label="Video interview expired",
    icon="video",
    written_by="interviews",
)
VIDEO_INTERVIEW_REVIEWED = register(
    "video_interview_reviewed",
    label="Video interview reviewed",
    icon="video",
    written_by="interviews",
)
VIDEO_RECORDINGS_DELETED = register(
    "video_recordings_deleted",
    label="Video recordings deleted",
    icon="video",
    written_by="interviews",
)
VIDEO_INTERVIEW_SHARED = register(
    "video_interview_shared",
    label="Video interview shared",
    icon="video",
    written_by="interviews",
)
