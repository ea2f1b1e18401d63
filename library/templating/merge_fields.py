"""The merge fields a template may use: the catalog (what a recruiter types, its label, group,
sample value and help), grouped for the picker."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class MergeField:
    path: str  # "candidate.first_name" or "scheduling_link"
    label: str
    group: str
    sample: str
    help: str = ""
    # Set for a field only some senders fill (a link made when the message is sent): who fills
    # it and where to send it from instead, in words finishing "…, which only <filled_by>
    # fills" and "… or send it from <send_from>". Empty: every message fills it.
    filled_by: str = ""
    send_from: str = ""

    @property
    def tag(self) -> str:
        """What a recruiter types: ``{{ candidate.first_name }}``."""
        return "{{ " + self.path + " }}"

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))


_SCHEDULING_ONLY = {
    "filled_by": "a scheduling message (Send scheduling request)",
    "send_from": "a scheduling template's messages (Library → Scheduling templates)",
}

MERGE_FIELDS: tuple[MergeField, ...] = (
    MergeField("candidate.first_name", "First name", "Candidate", "Jordan"),
    MergeField("candidate.last_name", "Last name", "Candidate", "Rivera"),
    MergeField("candidate.full_name", "Full name", "Candidate", "Jordan Rivera"),
    MergeField("job.name", "Job", "Application", "Sales Rep", "The job the candidate applied to."),
    MergeField("stage.name", "Stage", "Application", "Onsite Interview", "The current stage."),
    MergeField("office.name", "Office", "Application", "New York", "The job's office."),
    MergeField("department.name", "Department", "Application", "Sales", "The job's department."),
    MergeField(
        "recruiter.name", "Recruiter name", "Recruiter", "Morgan Lee", "The job's recruiter."
    ),
    MergeField("recruiter.email", "Recruiter e-mail", "Recruiter", "morgan.lee@example.com"),
    MergeField("company.name", "Company name", "Company", "Acme", "Your organization's name."),
    MergeField(
        "scheduling_link",
        "Scheduling link",
        "Links",
        "https://example.com/schedule/sample",
        "Where the candidate picks an interview time (from the journey's scheduling step).",
        **_SCHEDULING_ONLY,
    ),
    MergeField("interview.title", "Interview title", "Interview", "Onsite interview · Sales Rep"),
    MergeField(
        "interview.when",
        "Interview date and time",
        "Interview",
        "Tuesday 3 March 2026, 14:00–14:45 (Europe/London)",
        "In the candidate's time zone, with the zone named.",
    ),
    MergeField("interview.duration", "Interview length", "Interview", "45 minutes"),
    MergeField("interview.location", "Interview location", "Interview", "12 King St, London"),
    MergeField(
        "interview.video_link",
        "Video meeting link",
        "Interview",
        "https://meet.example.com/abc-defg-hij",
    ),
    MergeField("interview.interviewers", "Interviewers", "Interview", "Morgan Lee and Sam Patel"),
    MergeField(
        "interview.reschedule_link",
        "Reschedule link",
        "Interview",
        "https://example.com/schedule/sample/reschedule",
        "Where the candidate picks another time for a booked interview.",
    ),
    MergeField(
        "interview.cancel_link",
        "Cancel link",
        "Interview",
        "https://example.com/schedule/sample/cancel",
        "Where the candidate cancels a booked interview.",
    ),
    MergeField(
        "interview_link",
        "Video interview link",
        "Links",
        "https://example.com/interview/sample",
        "Where the candidate records an on-demand video interview.",
        filled_by="a Send video interview step or a scheduling message",
        send_from="a video interview template's messages (Library → Video interview templates)",
    ),
    MergeField(
        "opt_out_text",
        "Opt-out text",
        "Compliance",
        "Reply STOP to opt out.",
        "Your organization's opt-out footer (Settings → Messaging).",
    ),
)
# The interview's time, place and links exist only in the messages of a scheduled interview.
MERGE_FIELDS = tuple(
    replace(f, **_SCHEDULING_ONLY) if f.path.startswith("interview.") else f for f in MERGE_FIELDS
)
FIELDS_BY_PATH = {f.path: f for f in MERGE_FIELDS}
# "candidate" → ("first_name", "last_name", "full_name"); top-level fields are not groups.
GROUPS: dict[str, tuple[str, ...]] = {}
for _field in MERGE_FIELDS:
    if len(_field.parts) == 2:
        GROUPS[_field.parts[0]] = (*GROUPS.get(_field.parts[0], ()), _field.parts[1])
TOP_LEVEL = tuple(f.path for f in MERGE_FIELDS if len(f.parts) == 1)


def merge_field_groups() -> list[tuple[str, list[MergeField]]]:
    """The catalog grouped for the picker: ``[("Candidate", [...]), ...]`` in catalog order."""
    groups: dict[str, list[MergeField]] = {}
    for merge_field in MERGE_FIELDS:
        groups.setdefault(merge_field.group, []).append(merge_field)
    return list(groups.items())


def unfilled_fields(used, fills=()) -> list[MergeField]:
    """The fields among ``used`` (paths) that only some senders fill and that a sender filling
    ``fills`` (paths) leaves empty, in catalog order: a message using them would go out with a
    blank where the link should be."""
    used, fills = set(used), set(fills)
    return [f for f in MERGE_FIELDS if f.path in used and f.filled_by and f.path not in fills]
