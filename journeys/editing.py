"""Writes of the journey builder: name, trigger and criteria, exit rules, and the steps (add,
configure, reorder, remove, or replace them all at once for the API).

Every edit goes through ``services.journey_version_for_edit``, which hands back the version to
change (a copy when the current one already has runs, so running candidates keep theirs), and,
when the journey is active, ends with ``services.journey_reindex`` so the trigger index matches
what was saved. Each function is atomic and holds the journey row locked, so two editors saving
at once apply one after the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from library.models import MessageTemplate, TemplateChannel

from . import registry, services
from .models import (
    ConditionCheck,
    ExitRule,
    Journey,
    JourneyStep,
    JourneyVersion,
    StepKind,
    TriggerKind,
)

# The built-in step kinds the builder offers. Other apps add theirs (scheduling requests, video
# interviews) with ``journeys.registry.register_step_kind``: see :func:`builder_step_kinds`.
BUILDER_STEP_KINDS = [
    StepKind.SEND_EMAIL,
    StepKind.SEND_SMS,
    StepKind.WAIT,
    StepKind.CONDITION,
    StepKind.EXIT,
]
SEND_CHANNEL = {StepKind.SEND_EMAIL: TemplateChannel.EMAIL, StepKind.SEND_SMS: TemplateChannel.SMS}
CRITERIA_FIELDS = [
    "stage_names",
    "job_ids",
    "office_ids",
    "department_ids",
    "statuses",
    "tags",
    "sources",
]
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MAX_WAIT_DAYS = 365
MAX_STALE_DAYS = 365
MAX_STEPS = 50
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def builder_step_kinds() -> list[str]:
    """Every step kind the builder offers: the built-in ones, then the plugged-in ones."""
    return [*BUILDER_STEP_KINDS, *(k for k in registry.STEP_KINDS if k not in BUILDER_STEP_KINDS)]


def plugin_kind(kind: str) -> registry.PluginStepKind | None:
    """The registration of a plugged-in step kind (None for built-in or unknown kinds)."""
    return registry.STEP_KINDS.get(kind)


def _kind_label(kind: str) -> str:
    return StepKind(kind).label if kind in StepKind.values else str(kind)


def default_step_config(kind: str) -> dict[str, Any]:
    """What a newly added step starts with: a complete, sensible setting to adjust."""
    if kind == StepKind.WAIT:
        return {"mode": "duration", "days": 1, "hours": 0, "minutes": 0}
    if kind == StepKind.CONDITION:
        return {"check": ConditionCheck.STILL_IN_STAGE.value, "expect": True}
    return {}


def _whole_number(value, label: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{label} must be a whole number from {low} to {high}.")
    if not low <= value <= high:
        raise ValidationError(f"{label} must be from {low} to {high}; {value} is out of range.")
    return value


def _clean_plugin_config(
    plugin: registry.PluginStepKind, config: dict, organization
) -> dict[str, Any]:
    """``{field: id}`` (or ``{}`` while nothing is chosen). With the organization, the id must
    be one of the choices the builder offers it."""
    unknown = set(config) - {plugin.field}
    if unknown:
        raise ValidationError(
            f"“{plugin.label}” takes only {plugin.field}, not {', '.join(sorted(unknown))}."
        )
    value = config.get(plugin.field)
    if value is None:
        return {}
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"{plugin.field} must be the id of a {plugin.field_label.lower()} (a whole number)."
        )
    if organization is not None and value not in plugin.option_ids(organization):
        raise ValidationError(
            f"There is no {plugin.field_label.lower()} {value} in your organization: choose one "
            "from the list (or create one in the Library)."
        )
    return {plugin.field: value}


def clean_step_config(kind: str, config: Any, *, organization=None) -> dict[str, Any]:
    """The normalized ``config`` of a step of ``kind`` (see ``JourneyStep``), or a
    ValidationError that says what is wrong and how to fix it. ``organization`` lets a
    plugged-in kind check that the chosen item exists there."""
    offered_kinds = builder_step_kinds()
    if kind not in offered_kinds:
        offered = ", ".join(str(k) for k in offered_kinds)
        raise ValidationError(f"“{kind}” is not a step you can add yet. Use one of: {offered}.")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValidationError("Step settings must be an object (for example {}).")
    plugin = plugin_kind(kind)
    if plugin is not None:
        return _clean_plugin_config(plugin, config, organization)
    if kind == StepKind.WAIT:
        mode = config.get("mode", "duration")
        if mode == "duration":
            unknown = set(config) - {"mode", "days", "hours", "minutes"}
            if unknown:
                raise ValidationError(
                    f"A wait for a duration takes days, hours and minutes, not "
                    f"{', '.join(sorted(unknown))}."
                )
            days = _whole_number(config.get("days", 0), "Days", low=0, high=MAX_WAIT_DAYS)
            hours = _whole_number(config.get("hours", 0), "Hours", low=0, high=23)
            minutes = _whole_number(config.get("minutes", 0), "Minutes", low=0, high=59)
            if days == hours == minutes == 0:
                raise ValidationError(
                    "A wait needs a length: enter at least one minute (or remove the step)."
                )
            return {"mode": "duration", "days": days, "hours": hours, "minutes": minutes}
        if mode == "until":
            unknown = set(config) - {"mode", "weekdays", "time"}
            if unknown:
                raise ValidationError(
                    f"A wait until a weekday and time takes weekdays and time, not "
                    f"{', '.join(sorted(unknown))}."
                )
            weekdays = config.get("weekdays")
            if (
                not isinstance(weekdays, list)
                or not weekdays
                or any(isinstance(d, bool) or not isinstance(d, int) for d in weekdays)
                or any(not 0 <= d <= 6 for d in weekdays)
            ):
                raise ValidationError(
                    "Choose at least one weekday (0 = Monday … 6 = Sunday) to wait until."
                )
            time_text = config.get("time")
            if not isinstance(time_text, str) or not _TIME.fullmatch(time_text):
                raise ValidationError(
                    "Enter the time to wait until as HH:MM on a 24-hour clock, e.g. 09:00."
                )
            return {"mode": "until", "weekdays": sorted(set(weekdays)), "time": time_text}
        raise ValidationError(
            "A wait is either for a duration (mode “duration”) or until a weekday and time "
            "(mode “until”)."
        )
    if kind == StepKind.CONDITION:
        unknown = set(config) - {"check", "expect"}
        if unknown:
            raise ValidationError(
                f"A condition takes check and expect, not {', '.join(sorted(unknown))}."
            )
        check = config.get("check")
        if check not in ConditionCheck.values:
            offered = ", ".join(ConditionCheck.values)
            raise ValidationError(f"Choose what to check: one of {offered}.")
        expect = config.get("expect", True)
        if not isinstance(expect, bool):
            raise ValidationError("“expect” must be true (continue if so) or false (if not).")
        return {"check": check, "expect": expect}
    if config:
        raise ValidationError(
            f"“{_kind_label(kind)}” takes no settings here; leave them empty ({{}})."
        )
    return {}


def clean_step_template(kind: str, template: MessageTemplate | None) -> MessageTemplate | None:
    channel = SEND_CHANNEL.get(kind)
    if channel is None:
        if template is not None:
            raise ValidationError(f"“{StepKind(kind).label}” does not send a message template.")
        return None
    if template is not None and template.channel != channel:
        raise ValidationError(
            f"“{template.name}” is {template.get_channel_display().lower()} template; "
            f"{StepKind(kind).label.lower()} needs {TemplateChannel(channel).label.lower()} one."
        )
    return template


def _locked(journey: Journey) -> Journey:
    return Journey.objects.select_for_update().get(pk=journey.pk)


def _editable_version(journey: Journey, user, draft: bool) -> JourneyVersion:
    return services.journey_version_for_edit(journey=journey, user=user, draft=draft)


def _finish(journey: Journey, version: JourneyVersion) -> JourneyVersion:
    journey.refresh_from_db()
    # A draft is not live: the trigger index keeps reading the current version.
    if journey.is_active and journey.current_version_id == version.pk:
        services.journey_reindex(version=version)
    return version


def _steps(version: JourneyVersion) -> list[JourneyStep]:
    return list(JourneyStep.objects.filter(version=version).order_by("position", "id"))


def _renumber(steps: Iterable[JourneyStep]) -> None:
    for position, step in enumerate(steps, start=1):
        if step.position != position:
            step.position = position
            step.save(update_fields=["position"])


def _same_step_in(version: JourneyVersion, step: JourneyStep) -> JourneyStep:
    """``step`` as it exists in ``version``: itself, or its copy when editing started a new
    version (copies keep their positions)."""
    if step.version_id == version.pk:
        return step
    copy = JourneyStep.objects.filter(version=version, position=step.position).first()
    if copy is None or copy.kind != step.kind:
        raise ValidationError("This step changed meanwhile. Reload the page and try again.")
    return copy


# ----------------------------------------------------------------------------------------------
# The journey itself
# ----------------------------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": ["Give the journey a name, e.g. “Onsite invitation”."]})
    if len(name) > 200:
        raise ValidationError({"name": ["Keep the name to 200 characters or fewer."]})
    return name


@transaction.atomic
def journey_start(
    *, organization, name: str, trigger: str, stale_days: int | None = None, user=None
) -> Journey:
    """A new, paused journey with its trigger (criteria and steps come next)."""
    journey = services.journey_create(organization=organization, name=name, user=user)
    version = journey.current_version
    journey_trigger_update(
        journey=journey,
        user=user,
        trigger=trigger,
        stale_days=stale_days,
        exit_rules=version.exit_rules,
        **{field: getattr(version, field) for field in CRITERIA_FIELDS},
    )
    journey.refresh_from_db()
    return journey


@transaction.atomic
def journey_update(
    *, journey: Journey, name: str | None = None, description: str | None = None
) -> Journey:
    """Rename or redescribe a journey. Names are unique in the organization."""
    journey = _locked(journey)
    fields = []
    if name is not None:
        name = _clean_name(name)
        taken = (
            Journey.objects.filter(organization_id=journey.organization_id, name__iexact=name)
            .exclude(pk=journey.pk)
            .exists()
        )
        if taken:
            raise ValidationError(
                {"name": [f"Another journey is already called “{name}”. Choose another name."]}
            )
        journey.name = name
        fields.append("name")
    if description is not None:
        journey.description = description.strip()
        fields.append("description")
    if fields:
        journey.save(update_fields=[*fields, "updated_at"])
    return journey


def clean_trigger(
    *,
    trigger: str,
    stale_days: int | None,
    exit_rules: Iterable[str],
    **criteria: Iterable,
) -> dict[str, Any]:
    """Normalized version fields for a trigger, its criteria and exit rules."""
    errors: dict[str, list[str]] = {}
    if trigger not in TriggerKind.values:
        errors["trigger"] = [f"Choose a trigger: one of {', '.join(TriggerKind.values)}."]
    if trigger == TriggerKind.STALE_IN_STAGE:
        if stale_days is None or isinstance(stale_days, bool):
            errors["stale_days"] = ["Enter how many days in the stage make a candidate stale."]
        elif not 1 <= stale_days <= MAX_STALE_DAYS:
            errors["stale_days"] = [f"Enter a number of days from 1 to {MAX_STALE_DAYS}."]
    else:
        stale_days = None
    rules = list(dict.fromkeys(exit_rules))
    bad_rules = [r for r in rules if r not in ExitRule.values]
    if bad_rules:
        errors["exit_rules"] = [
            f"Unknown exit rule {', '.join(map(str, bad_rules))}; use {', '.join(ExitRule.values)}."
        ]
    cleaned: dict[str, Any] = {"trigger": trigger, "stale_days": stale_days, "exit_rules": rules}
    for name in CRITERIA_FIELDS:
        values = list(dict.fromkeys(criteria.get(name) or []))
        if name.endswith("_ids"):
            values = sorted(values)
        cleaned[name] = values
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def journey_trigger_update(
    *,
    journey: Journey,
    user=None,
    trigger: str,
    stale_days: int | None = None,
    exit_rules: Iterable[str] = (),
    draft: bool = False,
    starter_stage: str = "",
    **criteria: Iterable,
) -> JourneyVersion:
    """Save the trigger, criteria (``stage_names``, ``job_ids``, ``office_ids``,
    ``department_ids``, ``statuses``, ``tags``, ``sources``; empty = any) and exit rules.
    Saving what is already there changes nothing (and starts no new version). ``draft``: the
    builder's edit, which goes to the draft of a published journey. ``starter_stage``: a
    starter copy's stage that matched none of ours (refused at publishing); any later save of
    the trigger clears it, as the recruiter has then chosen the stages."""
    unknown = set(criteria) - set(CRITERIA_FIELDS)
    if unknown:
        raise TypeError(f"Unknown criteria: {', '.join(sorted(unknown))}")
    cleaned = clean_trigger(
        trigger=trigger, stale_days=stale_days, exit_rules=exit_rules, **criteria
    )
    cleaned["starter_stage"] = starter_stage
    journey = _locked(journey)
    current = services.edit_base(journey, draft=draft)
    if current is not None and all(getattr(current, k) == v for k, v in cleaned.items()):
        return current
    version = _editable_version(journey, user, draft)
    for name, value in cleaned.items():
        setattr(version, name, value)
    version.save(update_fields=list(cleaned))
    return _finish(journey, version)


# ----------------------------------------------------------------------------------------------
# Steps
# ----------------------------------------------------------------------------------------------


@transaction.atomic
def journey_step_add(
    *,
    journey: Journey,
    kind: str,
    user=None,
    message_template: MessageTemplate | None = None,
    config: dict | None = None,
    position: int | None = None,
    draft: bool = False,
) -> JourneyStep:
    """Add a step of ``kind`` at ``position`` (1-based; default: at the end)."""
    config = clean_step_config(
        kind,
        default_step_config(kind) if config is None else config,
        organization=journey.organization,
    )
    message_template = clean_step_template(kind, message_template)
    journey = _locked(journey)
    version = _editable_version(journey, user, draft)
    steps = _steps(version)
    if len(steps) >= MAX_STEPS:
        raise ValidationError(f"A journey can have at most {MAX_STEPS} steps.")
    index = len(steps) if position is None else min(max(position, 1), len(steps) + 1) - 1
    if position is None and steps and steps[-1].kind == StepKind.EXIT and kind != StepKind.EXIT:
        index -= 1  # "Exit the journey" stays last: a step after it would never run
    step = JourneyStep(
        organization_id=journey.organization_id,
        version=version,
        position=index + 1,
        kind=kind,
        message_template=message_template,
        config=config,
    )
    # Make room first: positions are renumbered 1..n after the insert.
    for later in steps[index:]:
        later.position += MAX_STEPS + 1
        later.save(update_fields=["position"])
    step.save()
    steps.insert(index, step)
    _renumber(steps)
    _finish(journey, version)
    return step


@transaction.atomic
def journey_step_configure(
    *,
    journey: Journey,
    step: JourneyStep,
    user=None,
    message_template: MessageTemplate | None = None,
    config: dict | None = None,
    draft: bool = False,
) -> JourneyStep:
    """Set a step's template (send steps) and settings (waits, conditions, plugged-in kinds)."""
    config = clean_step_config(step.kind, config, organization=journey.organization)
    message_template = clean_step_template(step.kind, message_template)
    journey = _locked(journey)
    base = services.edit_base(journey, draft=draft)
    if (
        base is not None
        and base.pk == step.version_id
        and step.config == config
        and step.message_template_id == (message_template.pk if message_template else None)
    ):
        return step
    version = _editable_version(journey, user, draft)
    step = _same_step_in(version, step)
    step.config = config
    step.message_template = message_template
    step.save(update_fields=["config", "message_template"])
    _finish(journey, version)
    return step


@transaction.atomic
def journey_step_move(
    *, journey: Journey, step: JourneyStep, offset: int, user=None, draft: bool = False
) -> JourneyStep:
    """Move a step ``offset`` places (-1 = up, 1 = down). Moving past either end is a no-op."""
    journey = _locked(journey)
    base = services.edit_base(journey, draft=draft)
    steps = _steps(base) if base else []
    index = next((i for i, s in enumerate(steps) if s.pk == step.pk), None)
    if index is None:
        raise ValidationError("This step changed meanwhile. Reload the page and try again.")
    target = min(max(index + offset, 0), len(steps) - 1)
    if target == index:
        return step
    order = [s.pk for s in steps]
    order.insert(target, order.pop(index))
    check_order([s for pk in order for s in steps if s.pk == pk])
    version = _editable_version(journey, user, draft)
    step = _same_step_in(version, step)
    steps = _steps(version)
    steps.remove(next(s for s in steps if s.pk == step.pk))
    steps.insert(target, step)
    # Temporarily park positions out of the way, then number 1..n in the new order.
    for s in steps:
        s.position += MAX_STEPS + 1
        s.save(update_fields=["position"])
    _renumber(steps)
    _finish(journey, version)
    return step


@transaction.atomic
def journey_step_remove(
    *, journey: Journey, step: JourneyStep, user=None, draft: bool = False
) -> None:
    journey = _locked(journey)
    version = _editable_version(journey, user, draft)
    step = _same_step_in(version, step)
    step.delete()
    _renumber(_steps(version))
    _finish(journey, version)


@transaction.atomic
def journey_steps_replace(
    *, journey: Journey, steps: list[dict], user=None, draft: bool = False
) -> JourneyVersion:
    """Replace every step with ``steps`` (dicts of ``kind``, ``message_template``, ``config``),
    in order. Used by the API's nested write; unchanged steps start no new version."""
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": [f"A journey can have at most {MAX_STEPS} steps."]})
    wanted = []
    errors: dict[str, list[str]] = {}
    for number, item in enumerate(steps, start=1):
        kind = item.get("kind")
        try:
            config = clean_step_config(kind, item.get("config"), organization=journey.organization)
            template = clean_step_template(kind, item.get("message_template"))
        except ValidationError as exc:
            errors[f"steps[{number}]"] = exc.messages
            continue
        wanted.append((kind, template.pk if template else None, config))
    if errors:
        raise ValidationError(errors)
    journey = _locked(journey)
    current = services.edit_base(journey, draft=draft)
    if current is not None:
        existing = [(s.kind, s.message_template_id, s.config) for s in _steps(current)]
        if existing == wanted:
            return current
    version = _editable_version(journey, user, draft)
    JourneyStep.objects.filter(version=version).delete()
    JourneyStep.objects.bulk_create(
        JourneyStep(
            organization_id=journey.organization_id,
            version=version,
            position=position,
            kind=kind,
            message_template_id=template_id,
            config=config,
        )
        for position, (kind, template_id, config) in enumerate(wanted, start=1)
    )
    return _finish(journey, version)


def check_order(steps: list[JourneyStep]) -> None:
    """Refuse an order in which a step can never run: an "Exit the journey" step ends every
    run, so it must be the last step."""
    for index, step in enumerate(steps[:-1], start=1):
        if step.kind == StepKind.EXIT:
            after = len(steps) - index
            raise ValidationError(
                f"“Exit the journey” must stay the last step: placed at {index}, it would stop "
                f"every candidate before the {after} step{'s' if after != 1 else ''} after it. "
                "Drag it back to the end, or remove it."
            )


@transaction.atomic
def journey_steps_reorder(
    *, journey: Journey, step_ids: list[int], user=None, draft: bool = False
) -> JourneyVersion:
    """Put the steps in the order of ``step_ids`` (every step of the version being edited,
    each once). Refuses an order that leaves steps unreachable (:func:`check_order`)."""
    journey = _locked(journey)
    base = services.edit_base(journey, draft=draft)
    if base is None:
        raise ValidationError("This journey has no steps to reorder yet: add a step first.")
    steps = _steps(base)
    by_id = {s.pk: s for s in steps}
    if len(step_ids) != len(set(step_ids)) or set(step_ids) != set(by_id):
        raise ValidationError(
            "The steps changed meanwhile (someone else may have edited this journey). Reload "
            "the page and try again."
        )
    wanted = [by_id[pk] for pk in step_ids]
    if [s.pk for s in wanted] == [s.pk for s in steps]:
        return base
    check_order(wanted)
    version = _editable_version(journey, user, draft)
    if version.pk != base.pk:
        # Editing started a new version: its steps are copies at the same positions.
        copies = {s.position: s for s in _steps(version)}
        wanted = [copies[s.position] for s in wanted]
    for s in wanted:
        s.position += MAX_STEPS + 1
        s.save(update_fields=["position"])
    _renumber(wanted)
    return _finish(journey, version)


@transaction.atomic
def journey_delete(*, journey: Journey) -> None:
    """Delete a journey that never ran. One with runs keeps its history: pause it instead."""
    journey = _locked(journey)
    if journey.runs.exists():
        raise ValidationError(
            "This journey has runs, and deleting it would erase what candidates were sent. "
            "Pause it instead: it stops starting new runs."
        )
    journey.delete()
