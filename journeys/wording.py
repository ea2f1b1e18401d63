"""The builder's sentences: the trigger card's one sentence ("When a candidate enters Phone
Screen on Sales Rep or Account Executive, from LinkedIn") and what publishing a draft changes,
in words."""

from __future__ import annotations

from dataclasses import dataclass

from candidates.models import ApplicationStatus

from .forms import CriteriaNames, _either, describe_step
from .models import ExitRule, JourneyStep, JourneyVersion, TriggerKind

# --------------------------------------------------------------------------------------------
# The trigger in one sentence
# --------------------------------------------------------------------------------------------


def _stages(version: JourneyVersion) -> str:
    return _either([str(s) for s in version.stage_names])


def trigger_sentence(version: JourneyVersion | None, names: CriteriaNames) -> str:
    """Trigger and criteria as one sentence a recruiter reads at a glance."""
    if version is None:
        return "No trigger yet: choose what starts this journey."
    stages = _stages(version)
    trigger = version.trigger
    if trigger == TriggerKind.ENTERED_STAGE:
        head = f"When a candidate enters {stages or 'any stage'}"
    elif trigger == TriggerKind.APPLICATION_CREATED:
        head = "When a candidate applies" + (f", starting in {stages}" if stages else "")
    elif trigger == TriggerKind.REJECTED:
        head = "When a candidate is rejected" + (f" at {stages}" if stages else "")
    elif trigger == TriggerKind.HIRED:
        head = "When a candidate is hired"
    elif trigger == TriggerKind.STALE_IN_STAGE:
        days = version.stale_days or 0
        head = (
            f"When a candidate stays {days} day{'s' if days != 1 else ''} in "
            f"{stages or 'any stage'}"
        )
    else:
        head = f"When {trigger}"
    if version.job_ids:
        head += " on " + _either([names.jobs.get(pk, f"job #{pk}") for pk in version.job_ids])
    where = []
    if version.office_ids:
        where.append(_either([names.offices.get(pk, f"office #{pk}") for pk in version.office_ids]))
    if version.department_ids:
        where.append(
            _either(
                [names.departments.get(pk, f"department #{pk}") for pk in version.department_ids]
            )
        )
    if where:
        head += " in " + " and ".join(where)
    tails = []
    if version.statuses:
        labels = dict(ApplicationStatus.choices)
        tails.append("with status " + _either([str(labels.get(s, s)) for s in version.statuses]))
    if version.tags:
        tails.append("tagged " + _either([str(t) for t in version.tags]))
    if version.sources:
        tails.append("from " + _either([str(s) for s in version.sources]))
    return ", ".join([head, *tails])


def exit_sentence(version: JourneyVersion | None) -> str:
    """The exit rules as one sentence: "Stops for a candidate who left the stage, was
    rejected or opted out of texts"."""
    rules = [
        ExitRule(r).label.removeprefix("Candidate ")
        for r in (version.exit_rules if version else [])
        if r in ExitRule.values
    ]
    if not rules:
        return "No exit rules: every candidate goes through every step."
    return f"Stops for a candidate who {_either(rules)}."


# --------------------------------------------------------------------------------------------
# What publishing changes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    area: str  # "trigger" | "criteria" | "exit" | "added" | "removed" | "changed" | "moved" | "template"
    text: str


_CRITERIA_WORDS = {
    "stage_names": "Stages",
    "job_ids": "Jobs",
    "office_ids": "Offices",
    "department_ids": "Departments",
    "statuses": "Application statuses",
    "tags": "Candidate tags",
    "sources": "Sources",
}


def _value_words(field: str, values, names: CriteriaNames) -> list[str]:
    lookup = {
        "job_ids": (names.jobs, "job"),
        "office_ids": (names.offices, "office"),
        "department_ids": (names.departments, "department"),
    }.get(field)
    if lookup is not None:
        found, missing = lookup
        return [found.get(pk, f"{missing} #{pk}") for pk in values]
    if field == "statuses":
        labels = dict(ApplicationStatus.choices)
        return [str(labels.get(v, v)) for v in values]
    return [str(v) for v in values]


def _criteria_changes(live: JourneyVersion, draft: JourneyVersion, names) -> list[Change]:
    changes = []
    for field, label in _CRITERIA_WORDS.items():
        before, after = list(getattr(live, field)), list(getattr(draft, field))
        if [str(v).lower() for v in before] == [str(v).lower() for v in after]:
            continue
        added = [v for v in after if str(v).lower() not in {str(b).lower() for b in before}]
        removed = [v for v in before if str(v).lower() not in {str(a).lower() for a in after}]
        parts = []
        if added:
            parts.append("adds " + ", ".join(_value_words(field, added, names)))
        if removed:
            parts.append("removes " + ", ".join(_value_words(field, removed, names)))
        if not after:
            parts.append("now any")
        changes.append(Change("criteria", f"{label}: " + "; ".join(parts or ["reordered"]) + "."))
    return changes


def _exit_changes(live: JourneyVersion, draft: JourneyVersion) -> list[Change]:
    before, after = set(live.exit_rules), set(draft.exit_rules)
    changes = []
    for rule in [r for r in draft.exit_rules if r not in before]:
        label = ExitRule(rule).label if rule in ExitRule else rule
        changes.append(Change("exit", f"New exit rule: stop when “{label.lower()}”."))
    for rule in [r for r in live.exit_rules if r not in after]:
        label = ExitRule(rule).label if rule in ExitRule else rule
        changes.append(
            Change("exit", f"Exit rule removed: no longer stops when “{label.lower()}”.")
        )
    return changes


def _steady(order: list[int]) -> set[int]:
    """The longest run of ``order`` (positions in the live version, in the draft's order) that
    keeps its relative order: those steps stayed; the others moved."""
    if not order:
        return set()
    tails: list[int] = []  # index into order of the smallest tail of each length
    parent = [-1] * len(order)
    for i, value in enumerate(order):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if order[tails[mid]] < value:
                lo = mid + 1
            else:
                hi = mid
        parent[i] = tails[lo - 1] if lo else -1
        if lo == len(tails):
            tails.append(i)
        else:
            tails[lo] = i
    kept, i = set(), tails[-1]
    while i != -1:
        kept.add(order[i])
        i = parent[i]
    return kept


def _step_changes(live_steps: list[JourneyStep], draft_steps: list[JourneyStep]) -> list[Change]:
    live_by_id = {s.pk: s for s in live_steps}
    matched = {s.copied_from_id: s for s in draft_steps if s.copied_from_id in live_by_id}
    changes = []
    for step in live_steps:
        if step.pk not in matched:
            changes.append(
                Change("removed", f"Removes step {step.position}: {describe_step(step)}.")
            )
    for step in draft_steps:
        if step.copied_from_id not in live_by_id:
            changes.append(Change("added", f"Adds step {step.position}: {describe_step(step)}."))
    for old_id, new in matched.items():
        old = live_by_id[old_id]
        if old.message_template_id != new.message_template_id:
            before = old.message_template.name if old.message_template else "no template"
            after = new.message_template.name if new.message_template else "no template"
            changes.append(
                Change(
                    "template",
                    f"Step {new.position} sends “{after}” instead of “{before}”.",
                )
            )
        elif old.config != new.config or old.kind != new.kind:
            changes.append(
                Change(
                    "changed",
                    f"Step {new.position} changes from “{describe_step(old)}” to "
                    f"“{describe_step(new)}”.",
                )
            )
    order = [
        live_by_id[s.copied_from_id].position for s in draft_steps if s.copied_from_id in live_by_id
    ]
    steady = _steady(order)
    for new in draft_steps:
        source = live_by_id.get(new.copied_from_id) if new.copied_from_id else None
        if source is not None and source.position not in steady:
            changes.append(
                Change(
                    "moved",
                    f"Moves “{describe_step(new)}” from step {source.position} to step {new.position}.",
                )
            )
    return changes


def _steps(version: JourneyVersion) -> list[JourneyStep]:
    return list(
        JourneyStep.objects.filter(organization=version.organization_id, version=version)
        .select_related("message_template")
        .order_by("position", "id")
    )


def publish_changes(
    live: JourneyVersion | None, draft: JourneyVersion, names: CriteriaNames
) -> list[Change]:
    """Everything publishing ``draft`` changes compared with ``live``, in words."""
    if live is None:
        return [
            Change("added", f"Adds step {s.position}: {describe_step(s)}.") for s in _steps(draft)
        ]
    changes = []
    if (live.trigger, live.stale_days) != (draft.trigger, draft.stale_days) or [
        s.lower() for s in live.stage_names
    ] != [s.lower() for s in draft.stage_names]:
        changes.append(
            Change(
                "trigger",
                f"Starts differently: “{trigger_sentence(draft, names)}” instead of "
                f"“{trigger_sentence(live, names)}”.",
            )
        )
    changes += [
        c for c in _criteria_changes(live, draft, names) if not c.text.startswith("Stages:")
    ]
    changes += _exit_changes(live, draft)
    changes += _step_changes(_steps(live), _steps(draft))
    return changes
