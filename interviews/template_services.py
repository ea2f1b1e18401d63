"""Library → Video interview templates: save, copy and delete, with validation that names each
problem and how to fix it. The editor and the partner API share these functions, so both refuse
the same things with the same words.

A template's values travel as one plain dict (see :func:`default_values` and
:func:`template_values`): ``name``, ``intro``, ``expiry_days``, ``reminder_after_hours``,
``questions`` as ``[{"text", "think_seconds", "answer_seconds", "retakes"}]`` in order,
``reviewer_ids`` (user ids of team members) and ``messages`` mapping ``"<kind>_<channel>"``
(e.g. ``"invitation_email"``) to a Library message template id or None.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError

from accounts.models import Membership
from journeys.models import JourneyStep, StepKind
from library import templating
from library.models import MessageTemplate

from .models import (
    MESSAGE_KINDS,
    MESSAGE_LABELS,
    OPEN_STATUSES,
    VideoInterview,
    VideoQuestion,
    VideoTemplate,
    VideoTemplateReviewer,
)
from .steps import FILLS

CHANNELS = (("email", "e-mail"), ("sms", "text message"))
MESSAGE_FIELDS = tuple(f"{kind}_{channel}" for kind, _ in MESSAGE_KINDS for channel, _ in CHANNELS)
# Messages a template can't work without: at least one channel of each.
REQUIRED_MESSAGES = ("invitation",)
MAX_QUESTIONS = 20
TEXT_LIMITS = {"name": 200, "intro": 5000}
QUESTION_TEXT_LIMIT = 1000

# (field, label, lowest, highest, unit) of the whole-number settings.
NUMBER_LIMITS: dict[str, tuple[str, int, int, str]] = {
    "expiry_days": ("The link's lifetime", 1, 90, "days"),
    "reminder_after_hours": ("The reminder delay", 0, 720, "hours"),
}
QUESTION_LIMITS: dict[str, tuple[str, int, int, str]] = {
    "think_seconds": ("the thinking time", 0, 600, "seconds"),
    "answer_seconds": ("the answer time limit", 15, 900, "seconds"),
    "retakes": ("the retakes", 0, 5, "retakes"),
}
QUESTION_DEFAULTS = {"think_seconds": 30, "answer_seconds": 120, "retakes": 1}


class TemplateInUse(Exception):
    """The video template is used (open interviews, journey steps) and can't be deleted; the
    message says what uses it and what to do."""


# ----------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------


def default_values(organization) -> dict[str, Any]:
    """A new template: links open for 7 days, a reminder after 48 hours, one empty question."""
    return {
        "name": "",
        "intro": "",
        "expiry_days": 7,
        "reminder_after_hours": 48,
        "questions": [],
        "reviewer_ids": [],
        "messages": dict.fromkeys(MESSAGE_FIELDS),
    }


def template_values(template: VideoTemplate) -> dict[str, Any]:
    """The values of a saved template, in the shape :func:`template_save` takes."""
    organization = template.organization
    return {
        "name": template.name,
        "intro": template.intro,
        "expiry_days": template.expiry_days,
        "reminder_after_hours": template.reminder_after_hours,
        "questions": [
            q.snapshot()
            for q in VideoQuestion.objects.filter(organization=organization, template=template)
        ],
        "reviewer_ids": list(
            VideoTemplateReviewer.objects.filter(
                organization=organization, template=template
            ).values_list("user_id", flat=True)
        ),
        "messages": {name: getattr(template, f"{name}_id") for name in MESSAGE_FIELDS},
    }


def team_members(organization) -> list:
    """The organization's people who can review, by name."""
    user_ids = Membership.objects.filter(organization=organization).values("user_id")
    return list(
        get_user_model()
        .objects.filter(pk__in=user_ids, is_active=True)
        .order_by("first_name", "last_name", "email", "id")
    )


def person_name(user) -> str:
    return (user.get_full_name() or "").strip() or user.email


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------


def _whole_number(value, label: str, lowest: int, highest: int, unit: str):
    """``(number, None)`` or ``(None, problem)``."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except (TypeError, ValueError):
            return None, f"{label[:1].upper()}{label[1:]} must be a whole number of {unit}."
    if not lowest <= value <= highest:
        return (
            None,
            f"{label[:1].upper()}{label[1:]} must be from {lowest} to {highest} {unit} "
            f"(it is {value}).",
        )
    return value, None


def clean_questions(raw) -> tuple[list[dict], list[str]]:
    """Questions in order, and what is wrong with them (each problem names the question)."""
    if not isinstance(raw, list):
        return [], ["Give the questions as a list, each with its text."]
    problems: list[str] = []
    cleaned: list[dict] = []
    for number, question in enumerate(raw, start=1):
        if not isinstance(question, dict):
            problems.append(f"Question {number} is not a question with its text and times.")
            continue
        text = str(question.get("text") or "").replace("\r\n", "\n").strip()
        if not text:
            problems.append(f"Question {number} has no text. Write the question, or remove it.")
        elif len(text) > QUESTION_TEXT_LIMIT:
            problems.append(
                f"Question {number} is {len(text)} characters long; keep it to "
                f"{QUESTION_TEXT_LIMIT}."
            )
        clean = {"text": text}
        for field, (label, lowest, highest, unit) in QUESTION_LIMITS.items():
            value = question.get(field)
            if value in (None, ""):
                value = QUESTION_DEFAULTS[field]
            number_value, problem = _whole_number(value, label, lowest, highest, unit)
            if problem:
                problems.append(f"Question {number}: {problem[:1].lower()}{problem[1:]}")
            clean[field] = number_value
        cleaned.append(clean)
    if not cleaned and not problems:
        problems.append(
            "Add at least one question, e.g. “Tell us about a project you are proud of.”"
        )
    if len(cleaned) > MAX_QUESTIONS:
        problems.append(
            f"A video interview has at most {MAX_QUESTIONS} questions (this one has "
            f"{len(cleaned)}). Remove some, or split it into two templates."
        )
    return cleaned, problems


def _member_ids(raw, errors: dict) -> list[int]:
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        errors.setdefault("reviewer_ids", []).append("Give the reviewers as a list of user ids.")
        return []
    ids: list[int] = []
    for value in raw:
        try:
            if isinstance(value, bool):
                raise ValueError
            user_id = int(value)
        except (TypeError, ValueError):
            errors.setdefault("reviewer_ids", []).append(f"“{value}” is not a user id.")
            continue
        if user_id not in ids:
            ids.append(user_id)
    return ids


def _clean(organization, template: VideoTemplate | None, values: dict) -> dict:
    """Checked and normalized values, or ``ValidationError`` with every problem by field."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field, limit in TEXT_LIMITS.items():
        value = values.get(field)
        value = "" if value is None else str(value).replace("\r\n", "\n").strip()
        if field == "name":
            value = " ".join(value.split())
        if len(value) > limit:
            add(field, f"Keep it to {limit} characters (it has {len(value)}).")
        clean[field] = value
    if not clean["name"]:
        add("name", "Give the template a name, e.g. “Sales screen”.")
    elif "name" not in errors and (
        VideoTemplate.objects.filter(organization=organization, name__iexact=clean["name"])
        .exclude(pk=template.pk if template else None)
        .exists()
    ):
        add("name", f"Another video interview template is already called “{clean['name']}”.")

    for field, (label, lowest, highest, unit) in NUMBER_LIMITS.items():
        number, problem = _whole_number(values.get(field), label, lowest, highest, unit)
        if problem:
            add(field, problem)
        clean[field] = number
    expiry, reminder = clean["expiry_days"], clean["reminder_after_hours"]
    if expiry is not None and reminder and reminder >= expiry * 24:
        add(
            "reminder_after_hours",
            f"A reminder after {reminder} hours would come after the link expires "
            f"({expiry} day{'s' if expiry != 1 else ''} = {expiry * 24} hours). Send it sooner, "
            "or let the link last longer.",
        )

    clean["questions"], problems = clean_questions(values.get("questions"))
    for problem in problems:
        add("questions", problem)

    reviewers = _member_ids(values.get("reviewer_ids"), errors)
    team = {user.pk for user in team_members(organization)}
    for user_id in reviewers:
        if user_id not in team:
            add("reviewer_ids", f"No team member with id {user_id} in your organization.")
    clean["reviewer_ids"] = reviewers

    clean["messages"] = _clean_messages(organization, values.get("messages"), add)
    if errors:
        raise ValidationError(errors)
    return clean


def _clean_messages(organization, raw, add) -> dict[str, MessageTemplate | None]:
    raw = raw if isinstance(raw, dict) else {}
    for name in sorted(set(raw) - set(MESSAGE_FIELDS)):
        add("messages", f"“{name}” is not one of the messages; use {', '.join(MESSAGE_FIELDS)}.")
    wanted: dict[str, int] = {}
    for name in MESSAGE_FIELDS:
        value = raw.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, MessageTemplate):
            value = value.pk
        try:
            if isinstance(value, bool):
                raise ValueError
            wanted[name] = int(value)
        except (TypeError, ValueError):
            add(name, f"“{value}” is not a message template id.")
    found = {
        t.pk: t
        for t in MessageTemplate.objects.filter(
            organization=organization, pk__in=set(wanted.values())
        )
    }
    chosen: dict[str, MessageTemplate | None] = dict.fromkeys(MESSAGE_FIELDS)
    for name, pk in wanted.items():
        channel = name.rsplit("_", 1)[1]
        template = found.get(pk)
        if template is None:
            add(name, f"There is no message template {pk} in your Library. Choose another one.")
        elif template.channel != channel:
            what = "an e-mail" if channel == "email" else "a text message"
            add(
                name,
                f"“{template.name}” is a {template.get_channel_display().lower()}; choose "
                f"{what} template here.",
            )
        else:
            for field in templating.unfilled_fields(_used_fields(template), FILLS):
                add(
                    name,
                    f"“{template.name}” uses {field.tag}, which only {field.filled_by} fills: "
                    f"the candidate would get a blank there. Remove it from the template, or "
                    f"use {{{{ interview_link }}}} for the recording link.",
                )
            chosen[name] = template
    for kind in REQUIRED_MESSAGES:
        picked = [raw.get(f"{kind}_{channel}") for channel, _ in CHANNELS]
        if all(value in (None, "") for value in picked):
            add(
                kind,
                f"Choose the {MESSAGE_LABELS[kind]} e-mail or text message (or both): without "
                "it candidates never get their link.",
            )
    return chosen


def _used_fields(template: MessageTemplate) -> set[str]:
    if template.channel == "sms":
        parts = {"text_body": template.text_body}
    else:
        parts = {"subject": template.subject, "html_body": template.html_body}
        if template.text_body_edited:
            parts["text_body"] = template.text_body
    used: set[str] = set()
    for part, source in parts.items():
        used.update(templating.used_fields(source, channel=template.channel, part=part))
    return used


# ----------------------------------------------------------------------------------------------
# Writes
# ----------------------------------------------------------------------------------------------


def _set_questions(template: VideoTemplate, questions: list[dict]) -> None:
    """Replace the questions (interviews already sent keep their own copy)."""
    organization = template.organization
    VideoQuestion.objects.filter(organization=organization, template=template).delete()
    VideoQuestion.objects.bulk_create(
        VideoQuestion(organization=organization, template=template, position=n, **question)
        for n, question in enumerate(questions)
    )


def _set_reviewers(template: VideoTemplate, user_ids: list[int]) -> None:
    organization = template.organization
    existing = set(
        VideoTemplateReviewer.objects.filter(
            organization=organization, template=template
        ).values_list("user_id", flat=True)
    )
    VideoTemplateReviewer.objects.filter(organization=organization, template=template).exclude(
        user_id__in=user_ids
    ).delete()
    VideoTemplateReviewer.objects.bulk_create(
        VideoTemplateReviewer(organization=organization, template=template, user_id=user_id)
        for user_id in user_ids
        if user_id not in existing
    )


@transaction.atomic
def template_save(
    *,
    organization,
    values: dict[str, Any],
    template: VideoTemplate | None = None,
    actor=None,
) -> VideoTemplate:
    """Create (``template=None``) or change a video interview template with its questions,
    reviewers and messages, all or nothing. Raises ``ValidationError`` with each problem by
    field (``questions``, ``reviewer_ids``, ``invitation_email``, ``invitation`` for "no
    invitation" …). Interviews already sent keep their questions."""
    clean = _clean(organization, template, values)
    if template is None:
        template = VideoTemplate(organization=organization, created_by=actor)
    for field in (*TEXT_LIMITS, *NUMBER_LIMITS):
        setattr(template, field, clean[field])
    for name, message in clean["messages"].items():
        setattr(template, name, message)
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:  # the same name saved a moment ago by someone else
        raise ValidationError(
            {"name": [f"Another video interview template is already called “{clean['name']}”."]}
        ) from exc
    _set_questions(template, clean["questions"])
    _set_reviewers(template, clean["reviewer_ids"])
    return template


def _name_taken(organization, name: str) -> bool:
    return VideoTemplate.objects.filter(organization=organization, name__iexact=name).exists()


@transaction.atomic
def template_copy(*, template: VideoTemplate, actor=None) -> VideoTemplate:
    """A copy named "Copy of …" (numbered when taken) with the same questions, reviewers,
    settings and messages."""
    organization = template.organization
    base = f"Copy of {template.name}"[:190]
    name, n = base, 1
    while _name_taken(organization, name):
        n += 1
        name = f"{base} ({n})"
    copy = VideoTemplate(organization=organization, created_by=actor, name=name)
    for field in ("intro", *NUMBER_LIMITS, *(f"{name}_id" for name in MESSAGE_FIELDS)):
        setattr(copy, field, getattr(template, field))
    copy.save()
    values = template_values(template)
    _set_questions(copy, values["questions"])
    _set_reviewers(copy, values["reviewer_ids"])
    return copy


def journey_steps_using(template: VideoTemplate) -> list[JourneyStep]:
    """Journey steps (of any version) that send a video interview from this template."""
    steps = JourneyStep.objects.filter(
        organization=template.organization, kind=StepKind.SEND_VIDEO_INTERVIEW
    ).select_related("version__journey")
    return [s for s in steps if str((s.config or {}).get("template_id")) == str(template.pk)]


def template_uses(template: VideoTemplate) -> list[str]:
    """What keeps the template: "2 video interviews (1 open)", "1 journey step (in Sales
    screening)"."""
    uses: list[str] = []
    interviews = VideoInterview.objects.filter(
        organization=template.organization, template=template
    )
    total = interviews.count()
    if total:
        still_open = interviews.filter(status__in=OPEN_STATUSES).count()
        uses.append(
            f"{total} video interview{'s' if total != 1 else ''}"
            + (f" ({still_open} still open for the candidate)" if still_open else "")
        )
    steps = journey_steps_using(template)
    if steps:
        journeys = sorted({s.version.journey.name for s in steps})
        uses.append(
            f"{len(steps)} journey step{'s' if len(steps) != 1 else ''} (in {', '.join(journeys)})"
        )
    return uses


@transaction.atomic
def template_delete(*, template: VideoTemplate) -> None:
    """Delete a template nothing uses; raises :class:`TemplateInUse` saying what uses it and
    what to do instead."""
    uses = template_uses(template)
    if uses:
        advice = []
        if journey_steps_using(template):
            advice.append("Remove it from those journey steps first.")
        if VideoInterview.objects.filter(
            organization=template.organization, template=template
        ).exists():
            advice.append(
                "Interviews already sent keep their template on record: copy it and change "
                "the copy instead of deleting it."
            )
        raise TemplateInUse(
            f"“{template.name}” can't be deleted: it is used by {' and '.join(uses)}. "
            + " ".join(advice)
        )
    try:
        with transaction.atomic():
            template.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise TemplateInUse(
            f"“{template.name}” is still used by video interviews and can't be deleted."
        ) from exc
