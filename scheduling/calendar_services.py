"""Writes behind My calendar and Settings → Calendars.

The built-in calendar (working hours, busy blocks, the ``.ics`` feed link) and thin wrappers over
the calendar vendor's connections module for connecting and disconnecting a person's calendar,
Enterprise Connect, and the organization's application settings at the calendar service.

Every function is keyword-only and runs inside the organization's scope; validation problems are
``django.core.exceptions.ValidationError`` with messages written for the person at the form.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import constant_time_compare

from integrations import calendar_service
from integrations.calendar_service import CalendarConnection, CalendarConnectionStatus
from integrations.http import ProviderError
from scheduling import availability as av
from scheduling.calendars import push_callback_url
from scheduling.models import BusyBlock, MemberCalendar, new_link_token
from scheduling.selectors import calendar_service_name

WEEKDAY_NAMES = av.WEEKDAY_NAMES
DEFAULT_WORKING_HOURS = [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]
CREDENTIALS_CHECK_CODE = "recruitflow-credentials-check"


def provider_label(name: str) -> str:
    return calendar_service.PROFILE_LABELS.get(
        name or "", (name or "calendar").replace("_", " ").title()
    )


def connection_label(connection: CalendarConnection) -> str:
    """ "Ana's calendar (Google)" — what the person recognizes as their calendar."""
    calendar = connection.calendar_name or connection.email or "your calendar"
    return f"{calendar} ({provider_label(connection.provider_name)})"


# --------------------------------------------------------------------------------------------
# The built-in calendar
# --------------------------------------------------------------------------------------------


def member_calendar_get(*, organization, user) -> MemberCalendar:
    """The person's built-in calendar, created with the organization's zone and Mon–Fri
    09:00–17:00 the first time it is needed."""
    calendar, _ = MemberCalendar.objects.get_or_create(
        organization=organization,
        user=user,
        defaults={
            "time_zone": organization.time_zone or "UTC",
            "working_hours": [dict(w) for w in DEFAULT_WORKING_HOURS],
        },
    )
    return calendar


def personal_meeting_link_save(*, organization, user, link: str) -> MemberCalendar:
    """Store (or with an empty ``link``, remove) the member's personal meeting link: a full
    https:// address."""
    link = (link or "").strip()
    if link:
        try:
            URLValidator(schemes=["https"])(link)
        except ValidationError:
            raise ValidationError(
                {
                    "personal_meeting_link": (
                        "Enter the full meeting address starting with https://, e.g. "
                        "https://meet.example.com/your-name."
                    )
                }
            ) from None
    calendar = member_calendar_get(organization=organization, user=user)
    calendar.personal_meeting_link = link
    calendar.save(update_fields=["personal_meeting_link", "updated_at"])
    return calendar


def _hhmm(value: time | str) -> str:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


def working_hours_check(time_zone: str, windows: list[dict]) -> list[dict]:
    """The windows in their stored shape, or a ValidationError naming the day and what to fix."""
    try:
        zone = av.resolve_zone(time_zone)
    except av.AvailabilityInputError as exc:
        raise ValidationError({"time_zone": str(exc)}) from None
    cleaned: list[dict] = []
    by_day: dict[int, list[tuple[time, time]]] = {}
    for window in windows:
        try:
            weekday = int(window["weekday"])
            start = time.fromisoformat(_hhmm(window["start"]))
            end = time.fromisoformat(_hhmm(window["end"]))
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                f"{window!r} is not a working-hours window: give a weekday (0 = Monday) and a "
                "start and end such as 09:00 and 17:00."
            ) from None
        by_day.setdefault(weekday, []).append((start, end))
        cleaned.append({"weekday": weekday, "start": _hhmm(start), "end": _hhmm(end)})
    try:
        av.WeeklyWindows(zone=zone.key, windows=by_day)
    except av.AvailabilityInputError as exc:
        raise ValidationError(str(exc)) from None
    cleaned.sort(key=lambda w: (w["weekday"], w["start"]))
    return cleaned


@transaction.atomic
def working_hours_save(
    *, organization, user, time_zone: str, windows: list[dict]
) -> MemberCalendar:
    """Save the person's zone and weekly working hours (an empty list: never available)."""
    cleaned = working_hours_check(time_zone, windows)
    calendar = member_calendar_get(organization=organization, user=user)
    calendar = MemberCalendar.objects.select_for_update().get(pk=calendar.pk)
    calendar.time_zone = av.resolve_zone(time_zone).key
    calendar.working_hours = cleaned
    calendar.save(update_fields=["time_zone", "working_hours", "updated_at"])
    return calendar


def _format_local(moment: datetime, zone: str) -> str:
    return f"{moment.astimezone(av.resolve_zone(zone)):%a %-d %b %Y %H:%M} ({zone})"


@transaction.atomic
def busy_block_add(*, organization, user, title: str, start: datetime, end: datetime) -> BusyBlock:
    """Busy time in the person's built-in calendar (aware datetimes)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("Give the busy time with a time zone.")
    if end <= start:
        zone = member_calendar_get(organization=organization, user=user).time_zone
        raise ValidationError(
            {
                "end": f"The end ({_format_local(end, zone)}) is not after the start "
                f"({_format_local(start, zone)}). Pick an end after the start."
            }
        )
    return BusyBlock.objects.create(
        organization=organization, user=user, title=title.strip()[:200], start=start, end=end
    )


@transaction.atomic
def busy_block_delete(*, organization, user, block_id: int) -> BusyBlock:
    """Delete one of the person's own busy blocks (anyone else's is ``DoesNotExist``)."""
    block = BusyBlock.objects.get(organization=organization, user=user, pk=block_id)
    block.delete()
    return block


@transaction.atomic
def feed_token_reset(*, organization, user) -> MemberCalendar:
    """A new secret feed address: the old one stops working at once."""
    calendar = member_calendar_get(organization=organization, user=user)
    calendar.feed_token = new_link_token()
    calendar.save(update_fields=["feed_token", "updated_at"])
    return calendar


def feed_url(calendar: MemberCalendar) -> str:
    """The person's subscription feed (``/calendar/<token>.ics``, served by scheduling.feed)."""
    try:
        path = reverse("calendar_feed:feed", args=[calendar.feed_token])
    except NoReverseMatch:  # the feed is mounted at /calendar/ by the project's urls
        path = f"/calendar/{calendar.feed_token}.ics"
    return f"{settings.PUBLIC_BASE_URL}{path}"


# --------------------------------------------------------------------------------------------
# A person's connected calendar
# --------------------------------------------------------------------------------------------


@dataclass
class ConnectResult:
    connection: CalendarConnection
    problems: list[str] = field(default_factory=list)


def oauth_return_matches(request, session_key: str, *, per_user: bool) -> bool:
    """Whether a return from the calendar service's authorization page answers the press of a button in
    this browser: the ``state`` it carries equals the one remembered in the session (once:
    it is forgotten here), for the same organization (and person, when ``per_user``)."""
    pending = request.session.pop(session_key, None) or {}
    state = request.GET.get("state", "")
    return bool(
        pending.get("state")
        and state
        and constant_time_compare(state, pending["state"])
        and pending.get("organization") == request.organization.pk
        and (not per_user or pending.get("user") == request.user.pk)
    )


def cronofy_available(organization) -> bool:
    return calendar_service.settings_for(organization) is not None


def connection_for(*, organization, user) -> CalendarConnection | None:
    return CalendarConnection.objects.filter(organization=organization, user=user).first()


def cronofy_authorization_url(*, organization, redirect_uri: str, state: str) -> str:
    """Where the person allows access to their calendar, at the organization's data center."""
    provider = calendar_service.provider_for(organization)
    return provider.authorization_url(redirect_uri=redirect_uri, state=state)


def _push_channel_problems(connection: CalendarConnection) -> list[str]:
    """Open the push channel that tells us when an interviewer moves or deletes an event."""
    if not connection.connected:
        return []
    try:
        url = push_callback_url(connection.organization)
    except NoReverseMatch:
        return [
            "Calendar changes can't be received on this deployment yet, so an interviewer "
            "deleting an interview from their calendar won't cancel it here."
        ]
    try:
        calendar_service.connection_ensure_channel(connection, callback_url=url)
    except ProviderError as exc:
        return [
            f"{calendar_service_name()} can't tell us about changes in this calendar yet: {exc}"
        ]
    return []


def cronofy_connect_complete(*, organization, user, code: str, redirect_uri: str) -> ConnectResult:
    """Redeem the code the calendar service sent back, store the calendar, and open its push
    channel."""
    connection = calendar_service.connection_complete_oauth(
        organization=organization, user=user, code=code, redirect_uri=redirect_uri
    )
    return ConnectResult(connection, _push_channel_problems(connection))


def cronofy_disconnect(*, organization, user) -> CalendarConnection | None:
    """Withdraw our access to the person's calendar; their built-in calendar applies again."""
    connection = connection_for(organization=organization, user=user)
    if connection is None or connection.status == CalendarConnectionStatus.DISCONNECTED:
        return None
    return calendar_service.connection_disconnect(connection)


def cronofy_connect_by_email(*, organization, user, email: str, callback_url: str):
    """Ask the calendar service, through Enterprise Connect, for ``email``'s calendar on
    ``user``'s behalf."""
    email = (email or "").strip()
    if not email or "@" not in email:
        raise ValidationError({"email": "Enter the e-mail address of the calendar to connect."})
    return calendar_service.connection_request_enterprise_connect(
        organization=organization, user=user, email=email, callback_url=callback_url
    )


# --------------------------------------------------------------------------------------------
# The organization's application at the calendar service
# --------------------------------------------------------------------------------------------


def new_state() -> str:
    return secrets.token_urlsafe(24)
