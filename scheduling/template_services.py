"""Library → Scheduling templates: save, copy and delete, with validation that names each
problem and how to fix it. The editor and the partner API share these functions, so both refuse
the same things with the same words.

A template's values travel as one plain dict (see :func:`default_values` and
:func:`template_values`): the model's own fields, ``windows`` as
``[{"weekday": 0, "start": "09:00", "end": "17:00"}]``, ``required_member_ids`` /
``optional_member_ids`` (user ids of team members) and ``messages`` mapping
``"<kind>_<channel>"`` (e.g. ``"request_email"``) to a Library message template id or None.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.urls import reverse

from accounts.models import Membership, validate_time_zone
from journeys.models import JourneyStep, StepKind
from library import templating
from library.models import MessageTemplate

from .models import (
    MESSAGE_KINDS,
    MESSAGE_LABELS,
    MeetingLink,
    RequestStatus,
    SchedulingRequest,
    SchedulingTemplate,
    SchedulingTemplateMember,
)
from .words import person_name

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CHANNELS = (("email", "e-mail"), ("sms", "text message"))
MESSAGE_FIELDS = tuple(f"{kind}_{channel}" for kind, _ in MESSAGE_KINDS for channel, _ in CHANNELS)
# Messages a template can't work without: at least one channel of each.
REQUIRED_MESSAGES = ("request", "invitation")

# (field, label, lowest, highest, unit) of the whole-number settings.
NUMBER_LIMITS: dict[str, tuple[str, int, int, str]] = {
    "duration_minutes": ("The interview length", 5, 480, "minutes"),
    "minimum_notice_hours": ("The minimum notice", 0, 720, "hours"),
    "horizon_days": ("How far ahead candidates can book", 1, 180, "days"),
    "buffer_before_minutes": ("The buffer before", 0, 240, "minutes"),
    "buffer_after_minutes": ("The buffer after", 0, 240, "minutes"),
    "slot_interval_minutes": ("The time between start times", 5, 480, "minutes"),
    "daily_limit": ("The daily limit", 1, 20, "interviews"),
    "reminder_delay_hours": ("The Reminder to Schedule delay", 1, 720, "hours"),
}
TEXT_LIMITS = {
    "name": 200,
    "event_title": 200,
    "description": 5000,
    "location": 300,
    "video_link": 500,
}
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


class TemplateInUse(Exception):
    """The scheduling template is used (requests, journey steps) and can't be deleted; the
    message says what uses it."""


# ----------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------


def default_windows() -> list[dict]:
    return [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]


def default_values(organization) -> dict[str, Any]:
    """A new template: Mon–Fri 09:00–17:00 in the organization's zone, 45 minutes, 24 hours'
    notice, 14 days ahead, a start every 30 minutes."""
    return {
        "name": "",
        "event_title": "Interview · {{ job.name }}",
        "description": "",
        "duration_minutes": 45,
        "location": "",
        "video_link": "",
        "meeting_link": "",  # chosen from video_link when left out
        "time_zone": organization.time_zone or "UTC",
        "windows": default_windows(),
        "minimum_notice_hours": 24,
        "horizon_days": 14,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "slot_interval_minutes": 30,
        "daily_limit": None,
        "reminder_delay_hours": 48,
        "public_link_enabled": False,
        "required_member_ids": [],
        "optional_member_ids": [],
        "messages": dict.fromkeys(MESSAGE_FIELDS),
    }


def template_values(template: SchedulingTemplate) -> dict[str, Any]:
    """The values of a saved template, in the shape :func:`template_save` takes."""
    members = list(
        SchedulingTemplateMember.objects.filter(
            organization=template.organization, template=template
        ).values_list("user_id", "required")
    )
    return {
        "name": template.name,
        "event_title": template.event_title,
        "description": template.description,
        "duration_minutes": template.duration_minutes,
        "location": template.location,
        "video_link": template.video_link,
        "meeting_link": template.meeting_link,
        "time_zone": template.time_zone,
        "windows": [dict(w) for w in template.windows or []],
        "minimum_notice_hours": template.minimum_notice_hours,
        "horizon_days": template.horizon_days,
        "buffer_before_minutes": template.buffer_before_minutes,
        "buffer_after_minutes": template.buffer_after_minutes,
        "slot_interval_minutes": template.slot_interval_minutes,
        "daily_limit": template.daily_limit,
        "reminder_delay_hours": template.reminder_delay_hours,
        "public_link_enabled": template.public_link_enabled,
        "required_member_ids": [user_id for user_id, required in members if required],
        "optional_member_ids": [user_id for user_id, required in members if not required],
        "messages": {name: getattr(template, f"{name}_id") for name in MESSAGE_FIELDS},
    }


def team_members(organization) -> list:
    """The organization's people who can be interviewers, by name."""
    user_ids = Membership.objects.filter(organization=organization).values("user_id")
    return list(
        get_user_model()
        .objects.filter(pk__in=user_ids, is_active=True)
        .order_by("first_name", "last_name", "email", "id")
    )


def public_link_url(template: SchedulingTemplate) -> str:
    """The template's public scheduling link (whether or not it is switched on)."""
    return settings.PUBLIC_BASE_URL + reverse("booking:public", args=[template.public_token])


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------


def _minutes(value: str) -> int:
    match = _TIME.match(value)
    assert match  # callers check the format first
    return int(match[1]) * 60 + int(match[2])


def clean_windows(raw) -> tuple[list[dict], list[str]]:
    """Weekly windows sorted by day and start, and what is wrong with them (each problem names
    the day and says how to fix it)."""
    problems: list[str] = []
    if not isinstance(raw, list):
        return [], ["Give the availability windows as a list of weekday, start and end times."]
    cleaned: list[dict] = []
    for position, window in enumerate(raw, start=1):
        if not isinstance(window, dict):
            problems.append(f"Window {position} is not a weekday with a start and an end time.")
            continue
        weekday = window.get("weekday")
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            problems.append(
                f"Window {position}: the weekday must be 0 (Monday) to 6 (Sunday), not {weekday!r}."
            )
            continue
        day = WEEKDAYS[weekday]
        start, end = window.get("start"), window.get("end")
        bad = [
            (label, value)
            for label, value in (("start", start), ("end", end))
            if not isinstance(value, str) or not _TIME.match(value)
        ]
        if bad:
            for label, value in bad:
                shown = "nothing" if value in (None, "") else f"“{value}”"
                problems.append(
                    f"{day}: the {label} time is {shown}; write it as HH:MM, e.g. 09:00."
                )
            continue
        if _minutes(start) >= _minutes(end):
            problems.append(
                f"{day}: the window ends ({end}) before it starts ({start}). "
                "Make the end later than the start."
            )
            continue
        cleaned.append({"weekday": weekday, "start": start, "end": end})
    cleaned.sort(key=lambda w: (w["weekday"], w["start"], w["end"]))
    for previous, window in zip(cleaned, cleaned[1:], strict=False):
        if previous["weekday"] == window["weekday"] and window["start"] < previous["end"]:
            problems.append(
                f"{WEEKDAYS[window['weekday']]}: {previous['start']}–{previous['end']} and "
                f"{window['start']}–{window['end']} overlap. Merge them into one window."
            )
    if not cleaned and not problems:
        problems.append(
            "Add at least one availability window, e.g. Monday 09:00–17:00: without one "
            "candidates can't be offered any time."
        )
    return cleaned, problems


def _whole_number(value, field: str, *, optional: bool = False):
    label, lowest, highest, unit = NUMBER_LIMITS[field]
    if value in (None, "") and optional:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except (TypeError, ValueError):
            return None, f"{label} must be a whole number of {unit}."
    if not lowest <= value <= highest:
        return None, f"{label} must be from {lowest} to {highest} {unit} (it is {value})."
    return value, None


def _event_title_problems(title: str) -> list[str]:
    if "\n" in title or "\r" in title:
        return ["Keep the event title on one line."]
    problems = templating.validate(title, channel=templating.SMS, part=templating.TEXT_BODY)
    return [p.message[:1].upper() + p.message[1:] for p in problems]


def _member_ids(raw, field: str, errors: dict) -> list[int]:
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        errors.setdefault(field, []).append("Give the members as a list of user ids.")
        return []
    ids: list[int] = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            errors.setdefault(field, []).append(f"{value!r} is not a user id.")
            continue
        try:
            user_id = int(value)
        except ValueError:
            errors.setdefault(field, []).append(f"“{value}” is not a user id.")
            continue
        if user_id not in ids:
            ids.append(user_id)
    return ids


def _clean(organization, template: SchedulingTemplate | None, values: dict) -> dict:
    """Checked and normalized values, or ``ValidationError`` with every problem by field."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field, limit in TEXT_LIMITS.items():
        value = values.get(field)
        value = "" if value is None else str(value)
        value = value.strip() if field != "description" else value.replace("\r\n", "\n").strip()
        if field in ("name", "event_title"):
            value = " ".join(value.split()) if field == "name" else value
        if len(value) > limit:
            add(field, f"Keep it to {limit} characters (it has {len(value)}).")
        clean[field] = value
    if not clean["name"]:
        add("name", "Give the template a name, e.g. “Onsite interview”.")
    elif "name" not in errors and (
        SchedulingTemplate.objects.filter(organization=organization, name__iexact=clean["name"])
        .exclude(pk=template.pk if template else None)
        .exists()
    ):
        add("name", f"Another scheduling template is already called “{clean['name']}”.")
    if not clean["event_title"]:
        add("event_title", "Give the calendar event a title, e.g. “Onsite · {{ job.name }}”.")
    elif "event_title" not in errors:
        for problem in _event_title_problems(clean["event_title"]):
            add("event_title", problem)
    if clean["video_link"]:
        try:
            URLValidator(schemes=["http", "https"])(clean["video_link"])
        except ValidationError:
            add("video_link", "Enter the full meeting link, starting with https://.")
    mode = str(values.get("meeting_link") or "").strip()
    if not mode:
        mode = MeetingLink.FIXED if clean["video_link"] else MeetingLink.NONE
    if mode not in MeetingLink.values:
        choices = "; ".join(f"“{value}” ({label})" for value, label in MeetingLink.choices)
        add("meeting_link", f"“{mode}” is not a meeting link option. Choose one of {choices}.")
    elif mode == MeetingLink.FIXED and not clean["video_link"] and "video_link" not in errors:
        add(
            "video_link",
            "Enter the link every booking uses (https://…), or choose another Meeting link option.",
        )
    elif mode == MeetingLink.NONE and clean["video_link"]:
        add(
            "meeting_link",
            "A video meeting link is filled in but Meeting link is “None (in person)”: choose "
            "“Same link for every booking” to use it, or empty the link.",
        )
    clean["meeting_link"] = mode

    zone = str(values.get("time_zone") or "").strip()
    try:
        validate_time_zone(zone)
    except ValidationError:
        add(
            "time_zone",
            f"“{zone}” is not a time zone. Choose one such as Europe/London or America/New_York.",
        )
    clean["time_zone"] = zone

    for field in NUMBER_LIMITS:
        number, problem = _whole_number(values.get(field), field, optional=field == "daily_limit")
        if problem:
            add(field, problem)
        clean[field] = number
    notice, horizon = clean["minimum_notice_hours"], clean["horizon_days"]
    if notice is not None and horizon is not None and notice >= horizon * 24:
        add(
            "minimum_notice_hours",
            f"With {notice} hours' notice nothing is bookable within {horizon} days. "
            "Lower the notice or let candidates book further ahead.",
        )

    clean["windows"], window_problems = clean_windows(values.get("windows"))
    for problem in window_problems:
        add("windows", problem)

    clean["public_link_enabled"] = bool(values.get("public_link_enabled"))

    required = _member_ids(values.get("required_member_ids"), "required_member_ids", errors)
    optional = _member_ids(values.get("optional_member_ids"), "optional_member_ids", errors)
    team = {user.pk: user for user in team_members(organization)}
    for field, ids in (("required_member_ids", required), ("optional_member_ids", optional)):
        for user_id in ids:
            if user_id not in team:
                add(field, f"No team member with id {user_id} in your organization.")
    for user_id in set(required) & set(optional):
        if user_id in team:
            add(
                "optional_member_ids",
                f"{person_name(team[user_id])} is both required and optional. Choose one.",
            )
    if not required and "required_member_ids" not in errors:
        add(
            "required_member_ids",
            "Add at least one required interviewer: slots are the times when every required "
            "interviewer is free.",
        )
    clean["required_member_ids"] = required
    clean["optional_member_ids"] = [i for i in optional if i not in required]

    clean["messages"] = _clean_messages(organization, values.get("messages"), add)
    if errors:
        raise ValidationError(errors)
    return clean


def _clean_messages(organization, raw, add) -> dict[str, MessageTemplate | None]:
    raw = raw if isinstance(raw, dict) else {}
    unknown = set(raw) - set(MESSAGE_FIELDS)
    for name in sorted(unknown):
        add("messages", f"“{name}” is not one of the messages; use {', '.join(MESSAGE_FIELDS)}.")
    wanted: dict[str, int] = {}
    for name in MESSAGE_FIELDS:
        value = raw.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, MessageTemplate):
            value = value.pk
        try:
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
            chosen[name] = template
    for kind in REQUIRED_MESSAGES:
        picked = [raw.get(f"{kind}_{channel}") for channel, _ in CHANNELS]
        if all(value in (None, "") for value in picked):
            add(
                kind,
                f"Choose the {MESSAGE_LABELS[kind]} e-mail or text message (or both): "
                "candidates get nothing without it.",
            )
    return chosen


# ----------------------------------------------------------------------------------------------
# Writes
# ----------------------------------------------------------------------------------------------


def _apply(template: SchedulingTemplate, clean: dict) -> None:
    for field in (
        *TEXT_LIMITS,
        "meeting_link",
        "time_zone",
        "windows",
        *NUMBER_LIMITS,
        "public_link_enabled",
    ):
        setattr(template, field, clean[field])
    for name, message in clean["messages"].items():
        setattr(template, name, message)


def _set_members(template: SchedulingTemplate, required: list[int], optional: list[int]) -> None:
    organization = template.organization
    wanted = {**dict.fromkeys(optional, False), **dict.fromkeys(required, True)}
    existing = {
        m.user_id: m
        for m in SchedulingTemplateMember.objects.filter(
            organization=organization, template=template
        )
    }
    gone = [m.pk for user_id, m in existing.items() if user_id not in wanted]
    if gone:
        SchedulingTemplateMember.objects.filter(organization=organization, pk__in=gone).delete()
    for user_id, is_required in wanted.items():
        member = existing.get(user_id)
        if member is None:
            SchedulingTemplateMember.objects.create(
                organization=organization, template=template, user_id=user_id, required=is_required
            )
        elif member.required != is_required:
            member.required = is_required
            member.save(update_fields=["required"])


@transaction.atomic
def template_save(
    *,
    organization,
    values: dict[str, Any],
    template: SchedulingTemplate | None = None,
    actor=None,
) -> SchedulingTemplate:
    """Create (``template=None``) or change a scheduling template with its members and
    messages, all or nothing. Raises ``ValidationError`` with each problem by field (``windows``,
    ``required_member_ids``, ``request_email``, ``request`` for "no Request to Schedule" …).
    Bookings already made keep their times and title."""
    clean = _clean(organization, template, values)
    if template is None:
        template = SchedulingTemplate(organization=organization, created_by=actor)
    _apply(template, clean)
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:  # the same name saved a moment ago by someone else
        raise ValidationError(
            {"name": [f"Another scheduling template is already called “{clean['name']}”."]}
        ) from exc
    _set_members(template, clean["required_member_ids"], clean["optional_member_ids"])
    return template


def _name_taken(organization, name: str) -> bool:
    return SchedulingTemplate.objects.filter(organization=organization, name__iexact=name).exists()


@transaction.atomic
def template_copy(*, template: SchedulingTemplate, actor=None) -> SchedulingTemplate:
    """A copy named "Copy of …" (numbered when taken) with the same settings, members and
    messages. Its public link is new and starts switched off."""
    organization = template.organization
    base = f"Copy of {template.name}"[:190]
    name, n = base, 1
    while _name_taken(organization, name):
        n += 1
        name = f"{base} ({n})"
    copy = SchedulingTemplate(organization=organization, created_by=actor, name=name)
    for field in (
        "event_title",
        "description",
        "location",
        "video_link",
        "meeting_link",
        "time_zone",
        "windows",
        *NUMBER_LIMITS,
        *(f"{name}_id" for name in MESSAGE_FIELDS),
    ):
        setattr(copy, field, getattr(template, field))
    copy.windows = [dict(w) for w in template.windows or []]
    copy.public_link_enabled = False
    copy.save()
    SchedulingTemplateMember.objects.bulk_create(
        SchedulingTemplateMember(
            organization=organization, template=copy, user_id=m.user_id, required=m.required
        )
        for m in SchedulingTemplateMember.objects.filter(
            organization=organization, template=template
        ).order_by("-required", "id")
    )
    return copy


def journey_steps_using(template: SchedulingTemplate) -> list[JourneyStep]:
    """Journey steps (of any version) that send a scheduling request from this template."""
    steps = JourneyStep.objects.filter(
        organization=template.organization, kind=StepKind.SEND_SCHEDULING_REQUEST
    ).select_related("version__journey")
    return [s for s in steps if str((s.config or {}).get("template_id")) == str(template.pk)]


def template_uses(template: SchedulingTemplate) -> list[str]:
    """What keeps the template: "2 scheduling requests (1 waiting for the candidate)",
    "1 journey step (in Onsite invitations)"."""
    uses: list[str] = []
    requests = SchedulingRequest.objects.filter(
        organization=template.organization, template=template
    )
    total = requests.count()
    if total:
        pending = requests.filter(status=RequestStatus.PENDING).count()
        booked = requests.filter(status=RequestStatus.BOOKED).count()
        detail = []
        if pending:
            detail.append(f"{pending} waiting for the candidate")
        if booked:
            detail.append(f"{booked} booked")
        uses.append(
            f"{total} scheduling request{'s' if total != 1 else ''}"
            + (f" ({', '.join(detail)})" if detail else "")
        )
    steps = journey_steps_using(template)
    if steps:
        journeys = sorted({s.version.journey.name for s in steps})
        uses.append(
            f"{len(steps)} journey step{'s' if len(steps) != 1 else ''} (in {', '.join(journeys)})"
        )
    return uses


@transaction.atomic
def template_delete(*, template: SchedulingTemplate) -> None:
    """Delete a template nothing uses; raises :class:`TemplateInUse` saying what uses it and
    what to do instead."""
    uses = template_uses(template)
    if uses:
        advice = []
        if journey_steps_using(template):
            advice.append("Remove it from those journey steps first.")
        if SchedulingRequest.objects.filter(
            organization=template.organization, template=template
        ).exists():
            advice.append(
                "Requests already sent keep their template on record: switch its public link "
                "off, or copy it and change the copy, instead of deleting it."
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
            f"“{template.name}” is still used by bookings and can't be deleted."
        ) from exc
