"""Writes of the journey lifecycle: create, edit (versions), activate, pause, and the trigger
index that matching reads.

The builder's finer edits (trigger, criteria, steps) are in ``journeys.editing``; they call
:func:`journey_version_for_edit` before changing anything and :func:`journey_reindex` after.
The engine (matching, runs, the dispatcher) is in ``journeys.engine``.

Pausing holds, it does not cancel: a paused journey starts no new runs, and the runs already in
it wait at their next step until the journey is activated again. Before each step the engine
checks the exit rules, so a candidate who left the stage, was rejected or hired, replied or
opted out while the journey was paused exits instead of receiving a late message.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from journeys.models import (
    ConditionCheck,
    Journey,
    JourneyStep,
    JourneyTriggerKey,
    JourneyVersion,
    StepKind,
    TriggerKind,
)
from journeys.registry import BUILT_IN_FILLS, STEP_HANDLERS, STEP_KINDS
from library import templating
from library.models import TemplateChannel

# What pausing does, in the words the UI shows next to the Pause button and after pausing.
PAUSE_EXPLANATION = (
    "Pausing stops new candidates from starting this journey. Candidates already in it wait at "
    "their next step and receive nothing more until you resume it; then anyone who "
    "left the stage, was rejected or hired, replied or opted out meanwhile exits instead."
)
ACTIVATE_EXPLANATION = (
    "Candidates who match the trigger from now on start this journey. Earlier stage changes do "
    "not start it (use Simulate to see what they would have received)."
)

SEND_CHANNELS = {
    StepKind.SEND_EMAIL: TemplateChannel.EMAIL,
    StepKind.SEND_SMS: TemplateChannel.SMS,
}
_A_CHANNEL = {TemplateChannel.EMAIL: "an e-mail", TemplateChannel.SMS: "a text message"}
MAX_NAME_LENGTH = 200


def stage_key(name: str | None) -> str:
    """How stage names are compared and indexed: trimmed, single-spaced, case-insensitive."""
    return " ".join((name or "").split()).lower()[:255]


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": ["Give the journey a name, e.g. “Onsite invitation”."]})
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            {"name": [f"Keep the name to {MAX_NAME_LENGTH} characters or fewer."]}
        )
    return name


@transaction.atomic
def journey_create(*, organization, name: str, user=None) -> Journey:
    """A new, paused journey with an empty version 1 (trigger: entered a stage)."""
    name = _clean_name(name)
    if Journey.objects.filter(organization=organization, name__iexact=name).exists():
        raise ValidationError(
            {"name": [f"Another journey is already called “{name}”. Choose another name."]}
        )
    journey = Journey.objects.create(organization=organization, name=name, created_by=user)
    version = JourneyVersion.objects.create(
        organization=organization, journey=journey, number=1, created_by=user
    )
    journey.current_version = version
    journey.save(update_fields=["current_version", "updated_at"])
    return journey


def edit_base(journey: Journey, *, draft: bool = False) -> JourneyVersion | None:
    """The version an edit starts from: the draft when the builder edits a published journey
    that has one, otherwise the current version."""
    if draft and journey.draft_version_id is not None:
        return journey.draft_version
    return journey.current_version


@transaction.atomic
def journey_version_for_edit(*, journey: Journey, user=None, draft: bool = False) -> JourneyVersion:
    """The version an edit may change.

    With ``draft`` (the builder) on a published journey: its draft, made on the first edit as a
    copy of the live version; the live version keeps running until the draft is published.
    Otherwise (a journey never activated, and the API): the current version while no run uses
    it, else a copy (next number, same trigger, criteria, exit rules and steps) that becomes
    current, so running candidates keep the steps they started with. Reindexes when the
    journey is active and its current version changed."""
    journey = Journey.objects.select_for_update().get(pk=journey.pk)
    if draft and journey.is_published:
        if journey.draft_version is not None:
            return journey.draft_version
        source = journey.current_version
        if source is None:
            draft_version = JourneyVersion.objects.create(
                organization_id=journey.organization_id,
                journey=journey,
                number=(journey.versions.aggregate(n=Max("number"))["n"] or 0) + 1,
                created_by=user,
            )
        else:
            draft_version = _copy_version(journey, source, user)
        journey.draft_version = draft_version
        journey.save(update_fields=["draft_version", "updated_at"])
        return draft_version
    current = journey.current_version
    if current is None:
        current = JourneyVersion.objects.create(
            organization_id=journey.organization_id,
            journey=journey,
            number=(journey.versions.aggregate(n=Max("number"))["n"] or 0) + 1,
            created_by=user,
        )
    elif current.runs.exists():
        current = _copy_version(journey, current, user)
    else:
        return current
    journey.current_version = current
    journey.save(update_fields=["current_version", "updated_at"])
    if journey.is_active:
        journey_reindex(version=current)
    return current


def _copy_version(journey: Journey, source: JourneyVersion, user) -> JourneyVersion:
    number = (journey.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    copy = JourneyVersion.objects.create(
        organization_id=journey.organization_id,
        journey=journey,
        number=number,
        trigger=source.trigger,
        stale_days=source.stale_days,
        stage_names=list(source.stage_names),
        starter_stage=source.starter_stage,
        job_ids=list(source.job_ids),
        office_ids=list(source.office_ids),
        department_ids=list(source.department_ids),
        statuses=list(source.statuses),
        tags=list(source.tags),
        sources=list(source.sources),
        exit_rules=list(source.exit_rules),
        created_by=user,
    )
    JourneyStep.objects.bulk_create(
        JourneyStep(
            organization_id=journey.organization_id,
            version=copy,
            position=step.position,
            kind=step.kind,
            message_template_id=step.message_template_id,
            config=dict(step.config),
            copied_from=step,
        )
        for step in source.steps.order_by("position", "id")
    )
    return copy


STAGE_TRIGGERS = (TriggerKind.ENTERED_STAGE, TriggerKind.STALE_IN_STAGE)


def activation_problems(version: JourneyVersion | None) -> list[str]:
    """Why a version cannot run, in words for a recruiter (empty when it can)."""
    if version is None:
        return ["The journey has no steps yet: add at least one step."]
    problems: list[str] = []
    if version.trigger not in TriggerKind.values:
        problems.append("Choose what starts the journey (its trigger).")
    if version.starter_stage and not version.stage_names and version.trigger in STAGE_TRIGGERS:
        problems.append(
            f"Choose the stage this journey starts on: the starter expects “{version.starter_stage}” "
            "and no stage of yours matched. Pick your stage in the trigger (or save the trigger "
            "as it is to start it in every stage), then publish."
        )
    if version.trigger == TriggerKind.STALE_IN_STAGE and not version.stale_days:
        problems.append(
            "The “stale in a stage” trigger needs a number of days: enter how long a candidate "
            "must stay in the stage before the journey starts."
        )
    steps = list(version.steps.select_related("message_template").order_by("position", "id"))
    if not steps:
        problems.append("The journey has no steps yet: add at least one step.")
    for step in steps:
        label = f"Step {step.position} ({step.get_kind_display()})"
        handler = STEP_HANDLERS.get(step.kind)
        if handler is None:
            problems.append(f"{label} is not a step the engine knows. Remove it.")
            continue
        plugin = STEP_KINDS.get(step.kind)
        if plugin is not None:
            # The app that plugged the kind in says what stops it (a missing or deleted choice,
            # an unusable one), finishing "… can't run yet: …".
            plugin_problems = plugin.problems(version.organization, step.config or {})
            problems.extend(f"{label} can't run yet: {problem}" for problem in plugin_problems)
            if not plugin_problems and plugin.message_templates is not None:
                named = f"Step {step.position} “{plugin.describe(step.config or {}, version.organization)}”"
                for template in plugin.message_templates(version.organization, step.config or {}):
                    problems.extend(_unfilled_problems(named, template, plugin.fills))
            continue
        channel = SEND_CHANNELS.get(step.kind)
        if channel is not None:
            template = step.message_template
            if template is None:
                problems.append(f"{label} has no message template: choose one from the Library.")
                continue
            if template.channel != channel:
                wanted, found = _A_CHANNEL[channel], _A_CHANNEL.get(template.channel, "another")
                problems.append(
                    f"{label} sends {wanted}, but “{template.name}” is {found} template: "
                    f"choose {wanted} template."
                )
                continue
            errors = templating.check_template(
                channel=template.channel,
                subject=template.subject,
                html_body=template.html_body,
                text_body=template.text_body,
                text_body_edited=template.text_body_edited,
            )
            for found in errors.values():
                for problem in found:
                    problems.append(
                        f"{label}: the template “{template.name}” no longer works — "
                        f"{templating.describe(problem, template.channel)}. Fix it in the Library."
                    )
            if not errors:
                named = f"Step {step.position} “{step.get_kind_display()}: {template.name}”"
                problems.extend(_unfilled_problems(named, template, BUILT_IN_FILLS))
        problems.extend(f"{label}: {p}" for p in _config_problems(step))
    return problems


def _template_fields(template) -> set[str]:
    """The merge fields a Library template uses in the parts it sends."""
    if template.channel == TemplateChannel.SMS:
        parts = {"text_body": template.text_body}
    else:
        parts = {"subject": template.subject, "html_body": template.html_body}
        if template.text_body_edited:
            parts["text_body"] = template.text_body
    used: set[str] = set()
    for part, source in parts.items():
        try:
            used.update(templating.used_fields(source, channel=template.channel, part=part))
        except templating.TemplateInvalid:
            continue  # the template's own problems are reported on their own
    return used


def _unfilled_problems(named: str, template, fills) -> list[str]:
    """A sentence per merge field of ``template`` that the step (``named``, e.g. "Step 2 “Send
    e-mail: Welcome”") leaves empty: the candidate would get a blank where the link should be."""
    return [
        f"{named} uses {field.tag}, which only {field.filled_by} fills. Remove it from the "
        f"template “{template.name}” or send it from {field.send_from}."
        for field in templating.unfilled_fields(_template_fields(template), fills)
    ]


def _config_problems(step: JourneyStep) -> list[str]:
    config = step.config or {}
    if step.kind == StepKind.WAIT:
        mode = config.get("mode", "duration")
        if mode == "duration":
            total = sum(
                int(config.get(k) or 0) * m
                for k, m in (("days", 1440), ("hours", 60), ("minutes", 1))
            )
            if total <= 0:
                return ["the wait has no length: enter at least one minute."]
            return []
        if mode == "until":
            problems = []
            if not config.get("weekdays"):
                problems.append("choose at least one weekday to wait until.")
            time_text = str(config.get("time") or "")
            hours, _, minutes = time_text.partition(":")
            if not (
                hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60
            ):
                problems.append("enter the time to wait until as HH:MM, e.g. 09:00.")
            return problems
        return ["choose how to wait: for a duration, or until a weekday and time."]
    if step.kind == StepKind.CONDITION and config.get("check") not in ConditionCheck.values:
        return ["choose what the condition checks."]
    return []


@transaction.atomic
def journey_activate(*, journey: Journey, user=None) -> Journey:
    """Start matching new transitions against the journey (and resume its held runs).
    Raises ValidationError listing everything that stops it from running."""
    journey = Journey.objects.select_for_update().get(pk=journey.pk)
    problems = activation_problems(journey.current_version)
    if problems:
        raise ValidationError(problems)
    if not journey.is_active:
        journey.is_active = True
        journey.activated_at = timezone.now()
        journey.save(update_fields=["is_active", "activated_at", "updated_at"])
    journey_reindex(version=journey.current_version)
    return journey


@transaction.atomic
def journey_pause(*, journey: Journey, user=None) -> Journey:
    """Stop new runs and hold the pending steps of running ones (see PAUSE_EXPLANATION)."""
    journey = Journey.objects.select_for_update().get(pk=journey.pk)
    if journey.is_active:
        journey.is_active = False
        journey.save(update_fields=["is_active", "updated_at"])
    JourneyTriggerKey.objects.filter(version__journey=journey).delete()
    return journey


@transaction.atomic
def journey_reindex(*, version: JourneyVersion) -> int:
    """Rebuild the trigger index of ``version``'s journey: the rows of its current version when
    the journey is active, none otherwise. Returns the number of keys written."""
    journey = Journey.objects.get(pk=version.journey_id)
    JourneyTriggerKey.objects.filter(version__journey=journey).delete()
    current = journey.current_version
    if not journey.is_active or current is None:
        return 0
    keys = sorted({stage_key(name) for name in current.stage_names if stage_key(name)}) or [""]
    JourneyTriggerKey.objects.bulk_create(
        JourneyTriggerKey(
            organization_id=journey.organization_id,
            version=current,
            trigger=current.trigger,
            stage_key=key,
        )
        for key in keys
    )
    return len(keys)
