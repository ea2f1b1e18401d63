"""The step-kind registry and what a step reports: the handlers of the built-in kinds
(:data:`STEP_HANDLERS`), the kinds higher apps plug in (:data:`STEP_KINDS`, via
:func:`register_step_kind`), a step's context and outcome, and the timeline entries a run writes.

Journeys never imports the apps that plug a kind in; a kind nobody registered is refused by
``journey_activate``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from candidates.models import (
    TimelineEvent,
)
from candidates.timeline import Group
from journeys.models import (
    JourneyRun,
    JourneyStep,
    StepKind,
    StepRun,
)

CONDITION_EXIT = "condition"
DELETED_EXIT = "deleted"
SOURCE = "journey"
# --------------------------------------------------------------------------------------------
# The step-handler registry
# --------------------------------------------------------------------------------------------


@dataclass
class StepContext:
    organization: object
    step_run: StepRun
    step: JourneyStep
    run: JourneyRun
    now: datetime


@dataclass
class StepOutcome:
    """What a step did. ``end`` finishes the run with that RunStatus; ``continue_at`` is the
    time the next step counts from (default: now)."""

    status: str
    reason: str = ""
    message: object = None
    held_until: datetime | None = None
    continue_at: datetime | None = None
    end: str | None = None
    exit_rule: str = ""
    events: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class StepHandler:
    run: Callable[[StepContext], StepOutcome]
    # A step that contacts the candidate is not simply retried after its worker died...
    contacts_candidate: bool
    # ...unless running it again cannot contact the candidate twice (the send steps: their
    # message carries the idempotency key ``journey-step:<id>``, so a second run finds the
    # first message). Such a step is run again; any other becomes "unknown".
    rerun_safe: bool = False


STEP_HANDLERS: dict[str, StepHandler] = {}


def register_step_handler(kind: str, *, contacts_candidate: bool, rerun_safe: bool = False):
    """Register the function that executes steps of ``kind`` (the built-in kinds; a higher app
    adds a whole kind, builder included, with :func:`register_step_kind`)."""

    def decorator(func: Callable[[StepContext], StepOutcome]):
        STEP_HANDLERS[kind] = StepHandler(func, contacts_candidate, rerun_safe)
        return func

    return decorator


@dataclass(frozen=True)
class PluginStepKind:
    """A step kind another app adds to journeys. Its step stores one choice in ``config``
    (``{field: <id>}``, e.g. ``{"template_id": 7}``), picked in the builder from
    ``options(organization)``.

    - ``options(organization) -> [(id, label), ...]``: what the builder's select offers.
    - ``describe(config, organization) -> str``: the step in one line, e.g.
      "Send scheduling request: Onsite interview".
    - ``problems(organization, config) -> [str, ...]``: why a step so configured can't run
      (a missing or deleted choice, an unusable one), each finishing the sentence
      "Step 2 (Send scheduling request) can't run yet: …". Empty when it can run.
    - ``field_label``: the select's label; ``empty_text`` and ``create_url()`` /
      ``create_label``: what the builder shows when there is nothing to choose yet.
    - ``fills``: the merge fields its messages get beyond the candidate's (e.g.
      ``{"interview_link"}``), and ``message_templates(organization, config) -> [MessageTemplate]``
      the Library templates a step so configured sends: activation refuses a template using a
      field that only other senders fill (:func:`library.templating.unfilled_fields`). A kind
      without ``message_templates`` is not checked.
    """

    kind: str
    label: str
    field: str
    field_label: str
    options: Callable[[object], list[tuple[int, str]]]
    describe: Callable[[dict, object], str]
    problems: Callable[[object, dict], list[str]]
    empty_text: str = ""
    create_url: Callable[[], str] | None = None
    create_label: str = ""
    fills: frozenset[str] = frozenset()
    message_templates: Callable[[object, dict], list] | None = None

    def option_ids(self, organization) -> set[int]:
        return {int(pk) for pk, _ in self.options(organization)}


STEP_KINDS: dict[str, PluginStepKind] = {}
# The merge fields the built-in send steps fill beyond the candidate's own: none (a link such
# as ``interview_link`` exists only in the messages of the step that makes it).
BUILT_IN_FILLS: frozenset[str] = frozenset()


def register_step_kind(
    kind: str,
    *,
    run: Callable[[StepContext], StepOutcome],
    contacts_candidate: bool,
    options: Callable[[object], list[tuple[int, str]]],
    describe: Callable[[dict, object], str],
    problems: Callable[[object, dict], list[str]],
    field_label: str,
    field: str = "template_id",
    empty_text: str = "",
    create_url: Callable[[], str] | None = None,
    create_label: str = "",
    fills: frozenset[str] | set[str] = frozenset(),
    message_templates: Callable[[object, dict], list] | None = None,
) -> PluginStepKind:
    """Plug a step kind (one of :class:`journeys.models.StepKind`) into the engine and the
    builder: ``run`` executes its steps, the rest is described on :class:`PluginStepKind`.
    Registering again replaces the earlier registration (an app's ``ready()`` may run twice in
    tests)."""
    if kind not in StepKind.values:
        raise ValueError(f"{kind!r} is not a journey step kind (see journeys.models.StepKind).")
    STEP_HANDLERS[kind] = StepHandler(run, contacts_candidate)
    plugin = PluginStepKind(
        kind=kind,
        label=StepKind(kind).label,
        field=field,
        field_label=field_label,
        options=options,
        describe=describe,
        problems=problems,
        empty_text=empty_text,
        create_url=create_url,
        create_label=create_label,
        fills=frozenset(fills),
        message_templates=message_templates,
    )
    STEP_KINDS[kind] = plugin
    return plugin


def timeline_event(kind: str, summary: str, detail: str = "", **data) -> dict:
    return {"kind": kind, "summary": summary[:500], "detail": detail, "data": data}


# --------------------------------------------------------------------------------------------
# Timeline helpers
# --------------------------------------------------------------------------------------------


def run_event(run: JourneyRun, kind: str, summary: str, detail: str = "", **data) -> dict:
    return timeline_event(
        kind,
        summary,
        detail,
        journey_id=run.journey_id,
        journey=run.journey.name,
        run_id=run.pk,
        version=run.version.number,
        **data,
    )


def exited_summary(run: JourneyRun, reason: str) -> str:
    return f"Left journey “{run.journey.name}”: {reason}"


def send_key(step_run_id: int) -> str:
    """The idempotency key of the message a send step hands to the outbox: running the step
    again finds that message instead of sending another."""
    return f"journey-step:{step_run_id}"


def timeline_entries(
    organization, run: JourneyRun, events: list[dict], now: datetime
) -> list[TimelineEvent]:
    """The candidate's timeline rows of ``events`` (from :func:`run_event`), not yet saved."""
    return [
        TimelineEvent(
            organization=organization,
            candidate_id=run.candidate_id,
            application_id=run.application_id,
            kind=e["kind"],
            summary=e["summary"],
            detail=e["detail"],
            data=e["data"],
            occurred_at=now,
        )
        for e in events
    ]


def write_events(organization, run: JourneyRun, events: list[dict], now: datetime) -> None:
    if events:
        TimelineEvent.objects.bulk_create(timeline_entries(organization, run, events, now))


def run_timeline_groups(organization, event_data: dict[int, dict]) -> dict[int, Group]:
    """Which candidate timeline events belong to a journey run, so the timeline shows a run as
    one entry that expands: the run's own events (their ``run_id``) and the messages its steps
    sent (their ``message_id``, through the step runs). One query, for the messages."""
    groups: dict[int, Group] = {}
    message_events: dict[int, list[int]] = {}
    for event_id, data in event_data.items():
        run_id = data.get("run_id")
        if isinstance(run_id, int):
            groups[event_id] = _run_group(run_id, data.get("journey"))
        elif isinstance(data.get("message_id"), int):
            message_events.setdefault(data["message_id"], []).append(event_id)
    if message_events:
        rows = StepRun.objects.filter(
            organization=organization, message_id__in=list(message_events)
        ).values_list("message_id", "run_id", "run__journey__name")
        for message_id, run_id, journey_name in rows:
            for event_id in message_events.get(message_id, ()):
                groups[event_id] = _run_group(run_id, journey_name)
    return groups


def _run_group(run_id: int, journey_name) -> Group:
    name = f"“{journey_name}”" if journey_name else f"run {run_id}"
    return Group(key=f"run:{run_id}", title=f"Journey {name}")
