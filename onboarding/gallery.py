"""The starter gallery: which of the organization's stages each starter would use, what its
messages say, and the copy — the journey as a paused draft and the Library templates it needs,
through the journeys', library's and scheduling's own services (so every check of the editors
applies), with names made unique so nothing of the organization's own is overwritten."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from candidates import selectors as candidate_selectors
from journeys import editing
from journeys.models import Journey, TriggerKind
from library.models import MessageTemplate
from library.services import message_template_save
from library.templating import render_parts, sample_context, sample_links
from scheduling import template_services
from scheduling.models import SchedulingTemplate

from .starters import STAGE_ROLE_WORDS, STAGE_SYNONYMS, STARTERS, Starter

MAX_NAME = 200


def _key(name: str) -> str:
    """A stage name as compared: lower case, letters and digits only ("On-site" = "Onsite")."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def match_stage(role: str, stage_names: list[str]) -> str | None:
    """The organization's stage for ``role``: a name equal to one of the role's synonyms (best
    synonym first), else one that contains a synonym; None when nothing fits."""
    synonyms = [_key(s) for s in STAGE_SYNONYMS[role]]
    keyed = [(_key(name), name) for name in stage_names]
    for synonym in synonyms:
        for key, name in keyed:
            if key == synonym:
                return name
    for synonym in synonyms:
        for key, name in keyed:
            if synonym in key:
                return name
    return None


@dataclass
class Preview:
    """One gallery card: the starter, the stage it will use here, and its messages."""

    starter: Starter
    stage: str | None
    stage_words: str
    messages: list[dict]


def _stage_words(starter: Starter, stage: str | None) -> str:
    if starter.stage_role is None:
        return "Starts when a candidate is rejected, in any stage."
    role = STAGE_ROLE_WORDS[starter.stage_role]
    if stage is None:
        return (
            f"No {role} stage found among your synced stages: after copying, choose the stage "
            "in the journey's trigger."
        )
    if starter.trigger == TriggerKind.STALE_IN_STAGE:
        return f"Uses your stage “{stage}” ({starter.stale_days} days without a move)."
    return f"Uses your stage “{stage}”."


def _rendered(starter: Starter, context: dict) -> list[dict]:
    shown = []
    for message in starter.messages.values():
        rendered = render_parts(
            channel=message.channel,
            subject=message.subject,
            html_body=message.html_body,
            text_body=message.text_body,
            context=context,
        )
        shown.append(
            {
                "name": message.name,
                "channel": "E-mail" if message.channel == "email" else "Text",
                "subject": rendered.subject,
                "text": rendered.text,
            }
        )
    return shown


def stage_names(*, organization) -> list[str]:
    return candidate_selectors.candidate_filter_options(
        organization=organization, job_id=None
    ).stages


def previews(*, organization) -> list[Preview]:
    names = stage_names(organization=organization)
    context = sample_context(organization, extra=sample_links())
    cards = []
    for starter in STARTERS:
        stage = match_stage(starter.stage_role, names) if starter.stage_role else None
        cards.append(
            Preview(
                starter=starter,
                stage=stage,
                stage_words=_stage_words(starter, stage),
                messages=_rendered(starter, context),
            )
        )
    return cards


def unique_name(wanted: str, taken: set[str]) -> str:
    """``wanted``, or "wanted (2)", "(3)"… — the first not in ``taken`` (compared without case)."""
    lowered = {name.lower() for name in taken}
    name, number = wanted[:MAX_NAME], 2
    while name.lower() in lowered:
        suffix = f" ({number})"
        name = wanted[: MAX_NAME - len(suffix)] + suffix
        number += 1
    return name


@dataclass
class Copied:
    journey: Journey
    stage: str | None
    templates: list[str]
    note: str  # what to do next, in words


@transaction.atomic
def starter_copy(*, organization, starter: Starter, user) -> Copied:
    """Copy ``starter`` into ``organization``: its message templates, its scheduling template
    (``user`` the required interviewer) and the journey, paused, its trigger on the matching
    stage when one is synced. All or nothing."""
    stage = (
        match_stage(starter.stage_role, stage_names(organization=organization))
        if starter.stage_role
        else None
    )
    taken = set(
        MessageTemplate.objects.filter(organization=organization).values_list("name", flat=True)
    )
    made: dict[str, MessageTemplate] = {}
    for key, message in starter.messages.items():
        name = unique_name(message.name, taken)
        taken.add(name)
        made[key] = message_template_save(
            organization=organization,
            actor=user,
            name=name,
            channel=message.channel,
            subject=message.subject,
            html_body=message.html_body,
            text_body=message.text_body,
        )
    names = [template.name for template in made.values()]
    scheduling = None
    if starter.scheduling is not None:
        plan = starter.scheduling
        used = set(
            SchedulingTemplate.objects.filter(organization=organization).values_list(
                "name", flat=True
            )
        )
        messages = dict.fromkeys(template_services.MESSAGE_FIELDS)
        messages.update({field: made[key].pk for field, key in plan.messages.items()})
        scheduling = template_services.template_save(
            organization=organization,
            actor=user,
            values={
                **template_services.default_values(organization),
                "name": unique_name(plan.name, used),
                "event_title": plan.event_title,
                "description": plan.description,
                "duration_minutes": plan.duration_minutes,
                "location": plan.location,
                "required_member_ids": [user.pk],
                "messages": messages,
            },
        )
        names.append(scheduling.name)
    journey_names = set(
        Journey.objects.filter(organization=organization).values_list("name", flat=True)
    )
    journey = editing.journey_start(
        organization=organization,
        name=unique_name(starter.name, journey_names),
        trigger=starter.trigger,
        stale_days=starter.stale_days,
        user=user,
    )
    description = starter.summary
    if starter.stage_role is not None and stage is None:
        description += (
            " None of your stages matched when it was copied: choose its stage in the trigger "
            "before making it live, or it starts in every stage."
        )
    editing.journey_update(journey=journey, description=description)
    editing.journey_trigger_update(
        journey=journey,
        user=user,
        trigger=starter.trigger,
        stale_days=starter.stale_days,
        exit_rules=list(starter.exit_rules),
        stage_names=[stage] if stage else [],
        starter_stage=STAGE_ROLE_WORDS[starter.stage_role]
        if starter.stage_role is not None and stage is None
        else "",
    )
    steps: list[dict[str, Any]] = []
    for step in starter.steps:
        if step.scheduling:
            if scheduling is None:
                raise ValidationError(f"“{starter.name}” has a scheduling step but no template.")
            steps.append({"kind": step.kind, "config": {"template_id": scheduling.pk}})
        else:
            steps.append(
                {
                    "kind": step.kind,
                    "message_template": made.get(step.message),
                    "config": dict(step.config) or None,
                }
            )
    editing.journey_steps_replace(journey=journey, steps=steps, user=user)
    journey.refresh_from_db()
    return Copied(journey=journey, stage=stage, templates=names, note=_note(starter, stage))


def _note(starter: Starter, stage: str | None) -> str:
    if starter.stage_role is not None and stage is None:
        role = STAGE_ROLE_WORDS[starter.stage_role]
        trigger = TriggerKind(starter.trigger).label
        return (
            f"No {role} stage matched your synced stages: its trigger “{trigger}” needs a "
            "stage. Choose it in the trigger before making the journey live."
        )
    if stage is not None:
        return f"It starts on your stage “{stage}”. It is paused: check it, then make it live."
    return "It is paused: check it, then make it live."
