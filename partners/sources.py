"""Where events come from: the rows the domains write in their own transactions, each source
with its query and a builder from rows to events. Reading committed rows (instead of the domains
calling us) is what makes an event exist exactly when its change committed.

A source is read by id (rows only ever inserted: transitions, timeline entries, message events,
opt-out entries) or by a time column (rows that change: a journey run's end, a failed sync, an
ATS write written or given up, a connection's status). Later domains add theirs with
:func:`register`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db.models import Model, QuerySet

from candidates.models import StageTransition, SyncRun, SyncStatus, TimelineEvent
from integrations.models import ConnectionStatus
from journeys import timeline_kinds as journey_kinds
from journeys.models import JourneyRun
from messaging.models import MessageEvent, OptOutEntry
from scheduling import timeline_kinds as scheduling_kinds
from writeback.models import ActivityWrite, WriteStatus


@dataclass(frozen=True)
class Built:
    """One event read from a source row. ``key`` makes it once-only per organization and type."""

    type: str
    key: str
    data: dict
    occurred_at: datetime
    source_id: int


@dataclass(frozen=True)
class Source:
    name: str
    queryset: Callable[[], QuerySet]
    build: Callable[[list], list[Built]]
    time_field: str | None = None  # None: read by id
    # Rows that may give another event later (a connection failing again): not skipped by id.
    repeats: bool = False


_SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    _SOURCES[source.name] = source
    return source


def all_sources() -> list[Source]:
    return list(_SOURCES.values())


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def candidate_data(candidate) -> dict | None:
    if candidate is None:
        return None
    return {
        "id": candidate.pk,
        "first_name": candidate.first_name,
        "last_name": candidate.last_name,
        "external_id": getattr(candidate, "external_id", ""),
    }


def application_data(application) -> dict | None:
    if application is None:
        return None
    job = application.job
    return {
        "id": application.pk,
        "external_id": application.external_id,
        "job": {"id": job.pk, "name": job.name} if job is not None else None,
    }


# -- Stage transitions -------------------------------------------------------------------------


def _transitions(rows: list[StageTransition]) -> list[Built]:
    return [
        Built(
            type="candidate.stage_changed",
            key=f"transition:{t.pk}",
            data={
                "candidate": candidate_data(t.candidate),
                "application": application_data(t.application),
                "from_stage": t.from_stage_name,
                "to_stage": t.to_stage_name,
                "from_status": t.from_status,
                "to_status": t.to_status,
                "is_new_application": t.is_new_application,
                "observed_at": iso(t.observed_at),
                "source": t.source,
            },
            occurred_at=t.observed_at,
            source_id=t.pk,
        )
        for t in rows
    ]


register(
    Source(
        name="transitions",
        queryset=lambda: StageTransition.objects.select_related(
            "candidate", "application", "application__job"
        ),
        build=_transitions,
    )
)


# -- Timeline entries (journeys started, bookings, scheduling requests) -------------------------

TIMELINE_TYPES = {
    journey_kinds.JOURNEY_ENTERED: "journey.run_started",
    journey_kinds.BOOKED: "booking.created",
    scheduling_kinds.RESCHEDULED: "booking.rescheduled",
    scheduling_kinds.BOOKING_CANCELLED: "booking.cancelled",
    scheduling_kinds.SCHEDULING_REQUEST_EXPIRED: "scheduling_request.expired",
}


def _timeline_data(event: TimelineEvent, type_: str) -> tuple[str, dict]:
    d = event.data or {}
    base = {
        "candidate": candidate_data(event.candidate),
        "application": application_data(event.application),
    }
    if type_ == "journey.run_started":
        journey = {"id": d.get("journey_id"), "name": d.get("journey"), "version": d.get("version")}
        return f"run:{d.get('run_id') or 'timeline-' + str(event.pk)}", {
            **base,
            "journey": journey,
            "run_id": d.get("run_id"),
            "trigger": d.get("trigger", ""),
        }
    if type_ == "scheduling_request.expired":
        return f"request:{d.get('request_id')}", {
            "candidate": base["candidate"],
            "scheduling_request": {"id": d.get("request_id"), "template_id": d.get("template_id")},
        }
    booking = {"id": d.get("booking_id"), "scheduling_request_id": d.get("request_id")}
    if type_ == "booking.cancelled":
        return f"timeline:{event.pk}", {
            "candidate": base["candidate"],
            "booking": booking,
            "cancelled_by": d.get("cancelled_by", ""),
            "reason": d.get("reason", ""),
        }
    booking.update(title=event.summary, start=d.get("start"), end=d.get("end"))
    return f"timeline:{event.pk}", {"candidate": base["candidate"], "booking": booking}


def _timeline(rows: list[TimelineEvent]) -> list[Built]:
    built = []
    for event in rows:
        type_ = TIMELINE_TYPES[event.kind]
        key, data = _timeline_data(event, type_)
        built.append(Built(type_, key, data, event.occurred_at, event.pk))
    return built


register(
    Source(
        name="timeline",
        queryset=lambda: TimelineEvent.objects.filter(kind__in=list(TIMELINE_TYPES)).select_related(
            "candidate", "application", "application__job"
        ),
        build=_timeline,
    )
)


# -- Message events ----------------------------------------------------------------------------

# A message's delivery history (ours and the provider's normalized statuses) → event type. One
# event per message and type: a provider that reports "sent" after we did adds nothing.
MESSAGE_TYPES = {
    "sent": "message.sent",
    "delivered": "message.delivered",
    "undelivered": "message.failed",
    "bounced": "message.failed",
    "failed": "message.failed",
    "dropped": "message.failed",
    "received": "message.received",
}


def _messages(rows: list[MessageEvent]) -> list[Built]:
    built = []
    for event in rows:
        message = event.message
        type_ = MESSAGE_TYPES[event.status]
        data: dict = {
            "candidate": candidate_data(message.candidate),
            "message": {
                "id": message.pk,
                "channel": message.channel,
                "direction": message.direction,
                "to": message.to_address,
                "from": message.from_address,
                "subject": message.subject,
                "status": event.status,
            },
        }
        if type_ == "message.received":
            data["message"]["body"] = message.body
        if type_ == "message.failed":
            data["error_code"] = event.error_code or message.error_code
        built.append(Built(type_, f"message:{message.pk}", data, event.occurred_at, event.pk))
    return built


register(
    Source(
        name="message_events",
        queryset=lambda: MessageEvent.objects.filter(status__in=list(MESSAGE_TYPES)).select_related(
            "message", "message__candidate"
        ),
        build=_messages,
    )
)


# -- Opt-outs ----------------------------------------------------------------------------------


def _opt_outs(rows: list[OptOutEntry]) -> list[Built]:
    built = []
    for entry in rows:
        channel = getattr(entry, "channel", "") or ("email" if not entry.phone else "sms")
        address = entry.phone or getattr(entry, "email", "")
        built.append(
            Built(
                "opt_out.changed",
                f"optout:{entry.pk}",
                {
                    "channel": channel,
                    "address": address,
                    "opted_out": entry.locked,
                    "action": entry.action,
                    "source": entry.source,
                    "keyword": entry.keyword,
                },
                entry.created_at,
                entry.pk,
            )
        )
    return built


register(Source(name="opt_outs", queryset=lambda: OptOutEntry.objects.all(), build=_opt_outs))


# -- Journey runs that ended (by time) ---------------------------------------------------------


def _runs_finished(rows: list[JourneyRun]) -> list[Built]:
    return [
        Built(
            "journey.run_finished",
            f"run:{run.pk}",
            {
                "candidate": candidate_data(run.candidate),
                "application": application_data(run.application),
                "journey": {
                    "id": run.journey_id,
                    "name": run.journey.name,
                    "version": run.version.number,
                },
                "run_id": run.pk,
                "status": run.status,
                "exit_rule": run.exit_rule,
                "exit_reason": run.reason,
                "started_at": iso(run.started_at),
                "finished_at": iso(run.finished_at),
            },
            run.finished_at or run.started_at,
            run.pk,
        )
        for run in rows
    ]


register(
    Source(
        name="journey_runs_finished",
        queryset=lambda: JourneyRun.objects.filter(finished_at__isnull=False).select_related(
            "journey", "version", "candidate", "application", "application__job"
        ),
        build=_runs_finished,
        time_field="finished_at",
    )
)


# -- Failed syncs (by time) --------------------------------------------------------------------


def _syncs_failed(rows: list[SyncRun]) -> list[Built]:
    return [
        Built(
            "sync.failed",
            f"sync:{run.pk}",
            {
                "sync_run": {"id": run.pk, "provider": run.provider, "kind": run.kind},
                "error": run.error,
                "started_at": iso(run.started_at),
                "finished_at": iso(run.finished_at),
            },
            run.finished_at or run.started_at,
            run.pk,
        )
        for run in rows
    ]


register(
    Source(
        name="syncs_failed",
        queryset=lambda: SyncRun.objects.filter(
            status=SyncStatus.FAILED, finished_at__isnull=False
        ),
        build=_syncs_failed,
        time_field="finished_at",
    )
)


# -- ATS write-back: writes written, writes given up (by time) ---------------------------------


def _activity(write: ActivityWrite) -> dict:
    return {"id": write.pk, "kind": write.kind, "subject": write.subject}


def _activities_written(rows: list[ActivityWrite]) -> list[Built]:
    return [
        Built(
            "activity.written",
            f"activity:{write.pk}",
            {
                "candidate": candidate_data(write.candidate),
                "activity": {**_activity(write), "external_id": write.external_id},
                "written_at": iso(write.written_at),
            },
            write.written_at or write.updated_at,
            write.pk,
        )
        for write in rows
    ]


def _activities_failed(rows: list[ActivityWrite]) -> list[Built]:
    return [
        Built(
            "activity.failed",
            f"activity:{write.pk}",
            {
                "candidate": candidate_data(write.candidate),
                "activity": _activity(write),
                "reason": write.reason,
                "attempts": write.attempts,
            },
            write.updated_at,
            write.pk,
        )
        for write in rows
    ]


def _writes(status: str):
    # The bytes of a file and the written text stay in the outbox: the payload names the write.
    return lambda: (
        ActivityWrite.objects.filter(status=status)
        .select_related("candidate")
        .defer("data", "body", "producer_args", "events")
    )


register(
    Source(
        name="activities_written",
        queryset=_writes(WriteStatus.WRITTEN),
        build=_activities_written,
        time_field="written_at",
    )
)
register(
    Source(
        name="activities_failed",
        queryset=_writes(WriteStatus.FAILED),
        build=_activities_failed,
        time_field="updated_at",
    )
)


# -- Provider connections (by time; each is read by its status) --------------------------------

NEEDS_ATTENTION = ConnectionStatus.ERROR


def connection_models() -> list[type[Model]]:
    """Every provider connection model: an integrations model with a status, a last error and
    an update time (found at run time, so a new provider needs nothing here)."""
    found = []
    for model in apps.get_models():
        if not model.__module__.startswith("integrations."):
            continue
        names = {f.name for f in model._meta.get_fields()}
        if {"status", "last_error", "updated_at", "organization"} <= names:
            found.append(model)
    return found


def capability_of(model: type[Model]) -> str:
    name = model.__name__.lower()
    if "calendar" in name:
        return "calendar"
    if "ats" in name or any(b.__name__ == "ATSConnection" for b in model.__mro__):
        return "ats"
    return "messaging"


def connection_sources() -> Iterable[Source]:
    for model in connection_models():
        label = model._meta.label_lower

        def build(rows, _label=label, _model=model) -> list[Built]:
            return [
                Built(
                    "connection.needs_attention",
                    f"{_label}:{row.pk}:{row.updated_at.timestamp()}",
                    {
                        "connection": {
                            "kind": capability_of(_model),
                            "provider": _model._meta.app_label,
                            "id": row.pk,
                        },
                        "status": row.status,
                        "error": row.last_error,
                    },
                    row.updated_at,
                    row.pk,
                )
                for row in rows
                if row.status == NEEDS_ATTENTION
            ]

        def rows(_model=model) -> QuerySet:
            return _model._default_manager.all()

        yield Source(
            name=f"connection:{label}"[:40],
            queryset=rows,
            build=build,
            time_field="updated_at",
            repeats=True,
        )
