"""What members are told about, read from the rows the domains write: each source has its
query, how its rows are read (by id, or by a time column for rows that change) and a builder
from rows to :class:`Item` (what to say, where it links, who is told).

Who is told: a reply goes to the conversation's assignee, or to the organization's recruiters
(owners, admins, recruiters) when nobody is assigned; a booking to its interviewers; a journey
problem to whoever made the journey (or the admins); connections, syncs and failing sends to
the admins."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.apps import apps
from django.conf import settings
from django.db.models import Model, QuerySet
from django.urls import reverse

from accounts.models import ADMIN_ROLES, EDITOR_ROLES, Membership
from candidates.models import SyncRun, SyncStatus, TimelineEvent
from interviews.models import VideoInterview, VideoTemplateReviewer
from journeys import timeline_kinds as journey_kinds
from journeys.models import Journey, StepRun
from messaging import timeline_kinds as messaging_kinds
from messaging.models import Conversation, Direction, Message, MessageEvent
from notifications.models import Kind
from scheduling import timeline_kinds as scheduling_kinds
from scheduling.models import Booking

NEEDS_ATTENTION = "error"  # integrations' ConnectionStatus.ERROR and the calendars' one
FAILED_EVENT_STATUSES = ["failed", "undelivered", "bounced", "dropped"]


@dataclass(frozen=True)
class Item:
    """One thing to tell ``user_ids``; ``key`` makes it once-only per member."""

    kind: str
    key: str
    title: str
    body: str
    link: str
    occurred_at: datetime
    user_ids: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Source:
    name: str
    queryset: Callable[[], QuerySet]
    build: Callable[[object, list], list[Item]]  # (organization, rows) → items
    time_field: str | None = None  # None: read by id
    repeats: bool = False  # a row that changes may be told again (a connection failing again)


class Team:
    """The organization's members by role, read once per pass."""

    def __init__(self, organization) -> None:
        rows = list(
            Membership.objects.filter(organization=organization).values_list("user_id", "role")
        )
        self.member_ids = {user_id for user_id, _ in rows}
        self.editor_ids = tuple(sorted(u for u, role in rows if role in EDITOR_ROLES))
        self.admin_ids = tuple(sorted(u for u, role in rows if role in ADMIN_ROLES))

    def only_members(self, user_ids: Iterable[int | None]) -> tuple[int, ...]:
        return tuple(sorted({u for u in user_ids if u is not None and u in self.member_ids}))


def sends_failing_threshold() -> int:
    return getattr(settings, "NOTIFICATIONS_SENDS_FAILING_THRESHOLD", 3)


def candidate_name(candidate) -> str:
    name = f"{candidate.first_name} {candidate.last_name}".strip()
    return name or "A candidate"


# -- The candidate timeline --------------------------------------------------------------------

BOOKING_TITLES = {
    journey_kinds.BOOKED: "Interview booked with {name}",
    scheduling_kinds.RESCHEDULED: "{name} rescheduled an interview",
    scheduling_kinds.BOOKING_CANCELLED: "Interview with {name} cancelled",
}
JOURNEY_TITLES = {
    journey_kinds.JOURNEY_STEP_FAILED: "A journey step failed for {name}",
    journey_kinds.JOURNEY_STEP_UNKNOWN: "A journey step's outcome is unknown for {name}",
    messaging_kinds.MESSAGE_HELD: "A journey message to {name} is held for quiet hours",
}
TIMELINE_KINDS = [
    messaging_kinds.REPLIED,
    *BOOKING_TITLES,
    *JOURNEY_TITLES,
    journey_kinds.VIDEO_INTERVIEW_COMPLETED,
]


def _replied(team: Team, events: list[TimelineEvent]) -> list[Item]:
    conversations = {
        c.candidate_id: c
        for c in Conversation.objects.filter(candidate_id__in={e.candidate_id for e in events})
    }
    items = []
    for event in events:
        conversation = conversations.get(event.candidate_id)
        assignee = team.only_members([conversation.assigned_to_id] if conversation else [])
        link = (
            reverse("messaging:thread", args=[conversation.pk])
            if conversation
            else reverse("candidates:detail", args=[event.candidate_id])
        )
        items.append(
            Item(
                kind=Kind.REPLIED,
                key=f"timeline:{event.pk}",
                title=f"{candidate_name(event.candidate)} replied",
                body=event.summary,
                link=link,
                occurred_at=event.occurred_at,
                user_ids=assignee or team.editor_ids,
            )
        )
    return items


def _bookings(team: Team, events: list[TimelineEvent]) -> list[Item]:
    ids = {(e.data or {}).get("booking_id") for e in events}
    attendees = {b.pk: b.attendee_ids for b in Booking.objects.filter(pk__in=[i for i in ids if i])}
    return [
        Item(
            kind=Kind.BOOKING,
            key=f"timeline:{event.pk}",
            title=BOOKING_TITLES[event.kind].format(name=candidate_name(event.candidate)),
            body=event.summary,
            link=reverse("candidates:detail", args=[event.candidate_id]),
            occurred_at=event.occurred_at,
            user_ids=team.only_members(attendees.get((event.data or {}).get("booking_id"), [])),
        )
        for event in events
    ]


def _journey_links(events: list[TimelineEvent]) -> dict[int, tuple[int | None, int | None]]:
    """Each event's (journey id, run id): journeys write them in the event's data; a held
    message is a journey's when its idempotency key names the journey step that sent it."""
    held_messages = {
        (e.data or {}).get("message_id")
        for e in events
        if e.kind == messaging_kinds.MESSAGE_HELD and (e.data or {}).get("message_id")
    }
    step_of_message: dict[int, int] = {}
    for pk, key in Message.objects.filter(
        pk__in=held_messages, source="journey", idempotency_key__startswith="journey-step:"
    ).values_list("pk", "idempotency_key"):
        suffix = key.removeprefix("journey-step:")
        if suffix.isdigit():
            step_of_message[pk] = int(suffix)
    runs = {
        pk: (journey_id, run_id)
        for pk, run_id, journey_id in StepRun.objects.filter(
            pk__in=set(step_of_message.values())
        ).values_list("pk", "run_id", "run__journey_id")
    }
    found = {}
    for event in events:
        data = event.data or {}
        if event.kind == messaging_kinds.MESSAGE_HELD:
            step = step_of_message.get(data.get("message_id") or 0)
            if step is not None and step in runs:
                found[event.pk] = runs[step]
        else:
            found[event.pk] = (data.get("journey_id"), data.get("run_id"))
    return found


def _journey_steps(team: Team, events: list[TimelineEvent]) -> list[Item]:
    links = _journey_links(events)
    makers = dict(
        Journey.objects.filter(pk__in={j for j, _ in links.values() if j}).values_list(
            "pk", "created_by_id"
        )
    )
    items = []
    for event in events:
        if event.pk not in links:
            continue  # a held message no journey sent: the Inbox shows it
        journey_id, run_id = links[event.pk]
        maker = team.only_members([makers.get(journey_id)])
        link = (
            reverse("journeys:run", args=[journey_id, run_id])
            if journey_id and run_id
            else reverse("candidates:detail", args=[event.candidate_id])
        )
        items.append(
            Item(
                kind=Kind.JOURNEY_STEP,
                key=f"timeline:{event.pk}",
                title=JOURNEY_TITLES[event.kind].format(name=candidate_name(event.candidate)),
                body=f"{event.summary}\n{event.detail}".strip(),
                link=link,
                occurred_at=event.occurred_at,
                user_ids=maker or team.admin_ids,
            )
        )
    return items


def _video_interviews(team: Team, events: list[TimelineEvent]) -> list[Item]:
    """A completed video interview is told to its template's reviewers (to the recruiters and
    admins when the template names none), with a link to its review page."""
    ids = {(e.data or {}).get("interview_id") for e in events}
    templates = dict(
        VideoInterview.objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "template_id")
    )
    reviewers: dict[int, set[int]] = {}
    for template_id, user_id in VideoTemplateReviewer.objects.filter(
        template_id__in=set(templates.values())
    ).values_list("template_id", "user_id"):
        reviewers.setdefault(template_id, set()).add(user_id)
    items = []
    for event in events:
        interview_id = (event.data or {}).get("interview_id")
        if interview_id not in templates:
            continue  # deleted since
        told = team.only_members(reviewers.get(templates[interview_id], ()))
        items.append(
            Item(
                kind=Kind.VIDEO_INTERVIEW,
                key=f"timeline:{event.pk}",
                title=f"{candidate_name(event.candidate)} completed a video interview",
                body=event.summary,
                link=reverse("interviews:review", args=[interview_id]),
                occurred_at=event.occurred_at,
                user_ids=told or team.editor_ids,
            )
        )
    return items


def _timeline(organization, events: list[TimelineEvent]) -> list[Item]:
    team = Team(organization)
    completed = journey_kinds.VIDEO_INTERVIEW_COMPLETED
    return [
        *_replied(team, [e for e in events if e.kind == messaging_kinds.REPLIED]),
        *_bookings(team, [e for e in events if e.kind in BOOKING_TITLES]),
        *_journey_steps(team, [e for e in events if e.kind in JOURNEY_TITLES]),
        *_video_interviews(team, [e for e in events if e.kind == completed]),
    ]


TIMELINE = Source(
    name="timeline",
    queryset=lambda: TimelineEvent.objects.filter(kind__in=TIMELINE_KINDS).select_related(
        "candidate"
    ),
    build=_timeline,
)


# -- Failing sends (message events by id) ------------------------------------------------------


def _sends_failing(organization, events: list[MessageEvent]) -> list[Item]:
    """Several sends failing within an hour: told once per clock hour, counted up to the
    latest failure read."""
    if not events:
        return []
    latest = max(e.occurred_at for e in events)
    failed = (
        MessageEvent.objects.filter(
            status__in=FAILED_EVENT_STATUSES,
            occurred_at__gt=latest - timedelta(hours=1),
            occurred_at__lte=latest,
            message__direction=Direction.OUTBOUND,
        )
        .values("message_id")
        .distinct()
        .count()
    )
    if failed < sends_failing_threshold():
        return []
    return [
        Item(
            kind=Kind.SENDS_FAILING,
            key=f"sends_failing:{latest:%Y-%m-%dT%H}",
            title=f"{failed} messages failed to send in the last hour",
            body="Texts or e-mails are not reaching candidates. Check the messaging connection "
            "in Settings → Messaging and the failed messages in the Inbox.",
            link=reverse("messaging_settings:index"),
            occurred_at=latest,
            user_ids=Team(organization).admin_ids,
        )
    ]


SENDS_FAILING = Source(
    name="message_events_failed",
    queryset=lambda: MessageEvent.objects.filter(status__in=FAILED_EVENT_STATUSES),
    build=_sends_failing,
)


# -- Failed syncs (by time) --------------------------------------------------------------------


def _syncs_failed(organization, runs: list[SyncRun]) -> list[Item]:
    admins = Team(organization).admin_ids
    return [
        Item(
            kind=Kind.SYNC_FAILED,
            key=f"sync:{run.pk}",
            title=f"The {run.get_kind_display().lower()} sync with the ATS failed",
            body=run.error or "The sync stopped with an error.",
            link=reverse("integrations:syncs"),
            occurred_at=run.finished_at or run.started_at,
            user_ids=admins,
        )
        for run in runs
    ]


SYNCS_FAILED = Source(
    name="syncs_failed",
    queryset=lambda: SyncRun.objects.filter(status=SyncStatus.FAILED, finished_at__isnull=False),
    build=_syncs_failed,
    time_field="finished_at",
)


# -- Provider connections (by time; told when one enters "Needs attention") ---------------------


def connection_models() -> list[type[Model]]:
    """Every provider connection: an integrations model with a status, a last error and an
    update time (found at run time, so a new provider needs nothing here)."""
    found = []
    for model in apps.get_models():
        if not model.__module__.startswith("integrations."):
            continue
        names = {f.name for f in model._meta.get_fields()}
        if {"status", "last_error", "updated_at", "organization"} <= names:
            found.append(model)
    return found


def connection_page(model: type[Model]) -> tuple[str, str]:
    """(what it is, the Settings page that fixes it)."""
    name = model.__name__.lower()
    if "calendar" in name:
        return "calendar", reverse("calendar_settings:index")
    if "ats" in name or any(b.__name__ == "ATSConnection" for b in model.__mro__):
        return "ATS", reverse("integrations:index")
    return "messaging", reverse("messaging_settings:index")


def _all_rows(model: type[Model]) -> QuerySet:
    return model._default_manager.all()


def connection_sources() -> list[Source]:
    sources = []
    for model in connection_models():
        label = model._meta.label_lower
        what, link = connection_page(model)
        provider = model._meta.app_config.verbose_name if model._meta.app_config else label

        def build(organization, rows, _label=label, _what=what, _link=link, _provider=provider):
            team = Team(organization)
            return [
                Item(
                    kind=Kind.CONNECTION,
                    key=f"connection:{_label}:{row.pk}:{row.updated_at.timestamp()}",
                    title=f"The {_what} connection ({_provider}) needs attention",
                    body=row.last_error or "It stopped working; open Settings to reconnect it.",
                    link=_link,
                    occurred_at=row.updated_at,
                    user_ids=tuple(
                        sorted(
                            {*team.admin_ids, *team.only_members([getattr(row, "user_id", None)])}
                        )
                    ),
                )
                for row in rows
                if row.status == NEEDS_ATTENTION
            ]

        sources.append(
            Source(
                name=f"connection:{label}"[:60],
                queryset=partial(_all_rows, model),
                build=build,
                time_field="updated_at",
                repeats=True,
            )
        )
    return sources


def all_sources() -> list[Source]:
    return [TIMELINE, SENDS_FAILING, SYNCS_FAILED, *connection_sources()]
