"""Links, names and times in words, shared by the messages (``notify``), the ``.ics`` files, the
calendar events and the pages."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from .models import Booking, SchedulingRequest, SchedulingTemplate

# ----------------------------------------------------------------------------------------------
# Links and words
# ----------------------------------------------------------------------------------------------


def _absolute(name: str, token: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse(name, args=[token])


def request_link(request: SchedulingRequest) -> str:
    """The candidate's booking page (absolute URL)."""
    return _absolute("booking:page", request.token)


def reschedule_link(request: SchedulingRequest) -> str:
    return _absolute("booking:reschedule", request.token)


def cancel_link(request: SchedulingRequest) -> str:
    return _absolute("booking:cancel", request.token)


def person_name(user) -> str:
    return (user.get_full_name() or "").strip() or user.email or user.get_username()


def join_names(names: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def duration_words(minutes: int) -> str:
    hours, rest = divmod(int(minutes), 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("s" if hours > 1 else ""))
    if rest or not hours:
        parts.append(f"{rest} minute" + ("" if rest == 1 else "s"))
    return " ".join(parts)


def clock_time(value: datetime, clock: str = "24") -> str:
    """``14:05`` on a 24-hour clock, ``2:05 PM`` on a 12-hour one (``clock="12"``)."""
    if clock == "12":
        return f"{value.hour % 12 or 12}:{value:%M} {'AM' if value.hour < 12 else 'PM'}"
    return f"{value:%H:%M}"


def when_long(start: datetime, end: datetime, zone: str, clock: str = "24") -> str:
    """``Tuesday 3 March 2026, 14:00–14:45 (Europe/London)`` (``2:00 PM–2:45 PM`` with
    ``clock="12"``)."""
    tz = ZoneInfo(zone)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    begins, ends = clock_time(local_start, clock), clock_time(local_end, clock)
    day = f"{local_start:%A} {local_start.day} {local_start:%B %Y}"
    if local_end.date() == local_start.date():
        return f"{day}, {begins}–{ends} ({zone})"
    end_day = f"{local_end:%A} {local_end.day} {local_end:%B %Y}"
    return f"{day}, {begins} – {end_day}, {ends} ({zone})"


def when_short(start: datetime, end: datetime, zone: str) -> str:
    """``Tue 3 Mar 14:00–14:45 (Europe/London)``."""
    tz = ZoneInfo(zone)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = f"{local_start:%a} {local_start.day} {local_start:%b}"
    if local_end.date() == local_start.date():
        return f"{day} {local_start:%H:%M}–{local_end:%H:%M} ({zone})"
    end_day = f"{local_end:%a} {local_end.day} {local_end:%b}"
    return f"{day} {local_start:%H:%M} – {end_day} {local_end:%H:%M} ({zone})"


# A separator between two parts of a title: a dot, bar, slash, dash, colon or comma.
_SEPARATOR = r"[·•|/–—:,-]"
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_REPEATED_SEPARATOR = re.compile(rf"(\s*{_SEPARATOR})(?:\s+{_SEPARATOR}(?=\s|$))+")
_EDGE_SEPARATORS = " ·•|/–—:,-"


def tidy_title(text: str) -> str:
    """A filled-in title with only its non-empty parts joined: a merge field without a value
    leaves no separator behind (``Onsite · {{ job.name }}`` → ``Onsite``; ``A · · B`` →
    ``A · B``; ``Call ()`` → ``Call``). Hyphenated words (``Follow-up``) are left alone."""
    text = " ".join(_EMPTY_BRACKETS.sub(" ", text or "").split())
    text = _REPEATED_SEPARATOR.sub(r"\1", text)
    return " ".join(text.strip(_EDGE_SEPARATORS).split())


# ----------------------------------------------------------------------------------------------
# People and titles
# ----------------------------------------------------------------------------------------------


def template_interviewers(template: SchedulingTemplate) -> list:
    """Users of the template's members, required ones first."""
    from django.contrib.auth import get_user_model

    ids = list(template.members.filter(required=True).values_list("user_id", flat=True))
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=ids)}
    return [users[pk] for pk in ids if pk in users]


def booking_attendees(booking: Booking) -> list[tuple[object, bool]]:
    """``(user, required)`` of the members invited to ``booking``, in invitation order. The
    role is the one of the member's latest hold (a reschedule writes new holds)."""
    from django.contrib.auth import get_user_model

    roles: dict[int, bool] = {}
    for user_id, required in booking.holds.order_by("id").values_list("user_id", "required"):
        roles[user_id] = required
    ids = [int(pk) for pk in booking.attendee_ids or []]
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=ids)}
    return [(users[pk], roles.get(pk, True)) for pk in ids if pk in users]
