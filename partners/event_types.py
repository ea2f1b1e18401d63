"""The registry of event types partners can subscribe to: name, description, an example payload
(shown on the settings page and in the OpenAPI schema) — later domains add theirs with
:func:`register`. How each is read from the domains' rows is in :mod:`partners.sources`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    example: dict = field(default_factory=dict)
    group: str = ""


_TYPES: dict[str, EventType] = {}


def register(name: str, *, description: str, example: dict, group: str) -> EventType:
    """Declare an event type. Declaring a name twice with other attributes is a programming
    error (two domains would send different payloads under one name)."""
    event_type = EventType(name=name, description=description, example=example, group=group)
    existing = _TYPES.get(name)
    if existing is not None and existing != event_type:
        raise ValueError(f"Event type {name!r} is already registered differently.")
    _TYPES[name] = event_type
    return event_type


def get(name: str) -> EventType | None:
    return _TYPES.get(name)


def all_types() -> list[EventType]:
    return sorted(_TYPES.values(), key=lambda t: (t.group, t.name))


def names() -> list[str]:
    return [t.name for t in all_types()]


TEST_EVENT = "webhook.test"

_CANDIDATE = {"id": 812, "first_name": "Ada", "last_name": "Lovelace", "external_id": "4471"}
_APPLICATION = {"id": 1203, "external_id": "99120", "job": {"id": 31, "name": "Data Engineer"}}

register(
    "candidate.stage_changed",
    group="Candidates",
    description="An application moved to another stage or status in the ATS (seen by a sync "
    "or an ATS webhook).",
    example={
        "candidate": _CANDIDATE,
        "application": _APPLICATION,
        "from_stage": "Application Review",
        "to_stage": "Phone Screen",
        "from_status": "active",
        "to_status": "active",
        "is_new_application": False,
        "observed_at": "2026-03-02T14:05:11Z",
        "source": "webhook",
    },
)
register(
    "journey.run_started",
    group="Journeys",
    description="A candidate entered a journey.",
    example={
        "candidate": _CANDIDATE,
        "application": _APPLICATION,
        "journey": {"id": 7, "name": "Phone screen follow-up", "version": 3},
        "run_id": 5521,
        "trigger": "entered_stage",
    },
)
register(
    "journey.run_finished",
    group="Journeys",
    description="A candidate's journey run ended: completed, exited by an exit rule (the "
    "reason says which), failed or canceled.",
    example={
        "candidate": _CANDIDATE,
        "application": _APPLICATION,
        "journey": {"id": 7, "name": "Phone screen follow-up", "version": 3},
        "run_id": 5521,
        "status": "exited",
        "exit_rule": "replied",
        "exit_reason": "Left journey “Phone screen follow-up”: the candidate replied",
        "started_at": "2026-03-02T14:05:13Z",
        "finished_at": "2026-03-03T09:12:40Z",
    },
)
_MESSAGE = {
    "id": 90211,
    "channel": "sms",
    "direction": "outbound",
    "to": "+15555550123",
    "from": "+15555550100",
    "subject": "",
    "status": "delivered",
}
register(
    "message.sent",
    group="Messages",
    description="A text or e-mail was handed to the provider.",
    example={"candidate": _CANDIDATE, "message": {**_MESSAGE, "status": "sent"}},
)
register(
    "message.delivered",
    group="Messages",
    description="The provider reported a text or e-mail delivered.",
    example={"candidate": _CANDIDATE, "message": _MESSAGE},
)
register(
    "message.failed",
    group="Messages",
    description="A text or e-mail could not be delivered (failed, bounced or undelivered); "
    "error_code is the provider's.",
    example={
        "candidate": _CANDIDATE,
        "message": {**_MESSAGE, "status": "failed"},
        "error_code": "30003",
    },
)
register(
    "message.received",
    group="Messages",
    description="A candidate sent a text or e-mail.",
    example={
        "candidate": _CANDIDATE,
        "message": {
            **_MESSAGE,
            "direction": "inbound",
            "status": "received",
            "to": "+15555550100",
            "from": "+15555550123",
            "body": "Thursday works for me",
        },
    },
)
register(
    "opt_out.changed",
    group="Messages",
    description="An address was opted out of (or back into) texts or e-mails.",
    example={
        "channel": "sms",
        "address": "+15555550123",
        "opted_out": True,
        "action": "lock",
        "source": "keyword",
        "keyword": "STOP",
    },
)
_BOOKING = {
    "id": 3301,
    "title": "Phone screen with Ada Lovelace",
    "start": "2026-03-05T15:00:00Z",
    "end": "2026-03-05T15:30:00Z",
    "scheduling_request_id": 2210,
}
register(
    "booking.created",
    group="Scheduling",
    description="A candidate booked an interview.",
    example={"candidate": _CANDIDATE, "booking": _BOOKING},
)
register(
    "booking.rescheduled",
    group="Scheduling",
    description="An interview moved to another time.",
    example={"candidate": _CANDIDATE, "booking": _BOOKING},
)
register(
    "booking.cancelled",
    group="Scheduling",
    description="An interview was cancelled (by the candidate or a team member).",
    example={
        "candidate": _CANDIDATE,
        "booking": {"id": 3301, "scheduling_request_id": 2210},
        "cancelled_by": "candidate",
        "reason": "Accepted another offer",
    },
)
register(
    "scheduling_request.expired",
    group="Scheduling",
    description="A scheduling link expired without a booking.",
    example={"candidate": _CANDIDATE, "scheduling_request": {"id": 2210, "template_id": 14}},
)
register(
    "sync.failed",
    group="Integrations",
    description="A sync with the ATS failed; error says why.",
    example={
        "sync_run": {"id": 661, "provider": "ats", "kind": "incremental"},
        "error": "The ATS rejected the credentials (401).",
        "started_at": "2026-03-02T14:00:00Z",
        "finished_at": "2026-03-02T14:00:02Z",
    },
)
register(
    "connection.needs_attention",
    group="Integrations",
    description="A provider connection (ATS, messaging, calendar) needs an admin: its "
    "credentials or permissions stopped working.",
    example={
        "connection": {"kind": "ats", "provider": "ats", "id": 3},
        "status": "error",
        "error": "Missing permissions: Candidates (read)",
    },
)
_ACTIVITY = {"id": 4410, "kind": "email", "subject": "Phone screen on Thursday"}
register(
    "activity.written",
    group="ATS write-back",
    description="An activity (an e-mail, texts, a reply, a booking, an opt-out, a journey "
    "event, a file) was written to the candidate's record in the ATS; external_id is the "
    "ATS's id of what was written.",
    example={
        "candidate": _CANDIDATE,
        "activity": {**_ACTIVITY, "external_id": "3318827"},
        "written_at": "2026-03-02T14:06:40Z",
    },
)
register(
    "activity.failed",
    group="ATS write-back",
    description="Writing an activity to the ATS failed for good (refused by the ATS, or still "
    "failing after its retries); reason says why. Sent once per activity, even if a team "
    "member retries it.",
    example={
        "candidate": _CANDIDATE,
        "activity": _ACTIVITY,
        "reason": "The ATS refused the note: the acting user lacks the permission to add notes.",
        "attempts": 1,
    },
)
register(
    TEST_EVENT,
    group="Webhooks",
    description="Sent by “Send test event” on the settings page or the API, to try a receiver.",
    example={"message": "This is a test event from RecruitFlow.", "subscription_id": 12},
)
