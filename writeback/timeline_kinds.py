"""The candidate timeline kinds write-back writes (see :mod:`candidates.timeline`)."""

from candidates.timeline import register

# The candidate pressed "Stop recording…" on the page their recording notice links to.
RECORDING_STOPPED_BY_CANDIDATE = register(
    "ats_recording_stopped",
    label="Stopped ATS recording",
    icon="settings",
    written_by="writeback",
)
