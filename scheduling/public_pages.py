"""What the candidate's pages show and how they render: names, the interview, the candidate's
zone, the picker, the booked and closed pages, shared by the booking pages (``public_views``)
and the public link (``public_link_views``)."""

from __future__ import annotations

import calendar
import logging
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from messaging.email_layout import brand_colours

from . import availability as av
from . import notify, public_zones, services, words
from .models import (
    Booking,
    BookingStatus,
    CancelledBy,
    MeetingLink,
    RequestSource,
    RequestStatus,
    SchedulingRequest,
    SchedulingTemplate,
    SchedulingTemplateMember,
)

logger = logging.getLogger(__name__)


KNOWN_ZONES = frozenset(zoneinfo.available_timezones())
CLOCKS = ("12", "24")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# --------------------------------------------------------------------------------------------
# What a page shows
# --------------------------------------------------------------------------------------------


def _day_label(value: datetime) -> str:
    return f"{value:%A} {value.day} {value:%B}"


def when_label(start: datetime, end: datetime, zone: str, clock: str = "24") -> str:
    return words.when_long(start, end, zone, clock)


def _person_name(user) -> str:
    # Names only: a team member's e-mail address is not the candidate's business here.
    return (user.get_full_name() or user.first_name or "").strip()


def brand_context(organization) -> dict:
    brand, _ink = brand_colours(organization.brand_color)
    return {
        "company": organization,
        "brand_hex": brand.lstrip("#"),
        "logo_url": organization.logo.url if organization.logo else "",
    }


def event_title(template: SchedulingTemplate, scheduling_request=None) -> str:
    """The template's event title with its merge fields filled. The context is built here,
    not with merge_context, which may write (the organization's messaging preferences)."""
    context: dict = {"company": {"name": template.organization.name}}
    if scheduling_request is not None:
        candidate = scheduling_request.candidate
        context["candidate"] = {
            "first_name": candidate.first_name,
            "last_name": candidate.last_name,
            "full_name": f"{candidate.first_name} {candidate.last_name}".strip(),
        }
        application = scheduling_request.application
        if application is not None and application.job_id:
            context["job"] = {"name": application.job.name}
    # A merge field without a value ("Onsite · {{ job.name }}" on the public link) leaves no
    # dangling separator behind (words.tidy_title, in notify.event_title).
    return notify.event_title(template=template, context=context)


def _template_interviewers(template: SchedulingTemplate) -> list[str]:
    members = SchedulingTemplateMember.objects.filter(
        organization=template.organization, template=template
    ).select_related("user")
    return [name for member in members if (name := _person_name(member.user))]


def _booking_interviewers(booking: Booking) -> list[str]:
    users = {
        user.pk: user
        for user in get_user_model().objects.filter(pk__in=list(booking.attendee_ids or []))
    }
    return [
        name
        for pk in booking.attendee_ids or []
        if pk in users and (name := _person_name(users[pk]))
    ]


def _contact(scheduling_request: SchedulingRequest) -> dict | None:
    """Who the candidate can reach about this request: whoever sent it, else the template's
    author."""
    for user in (scheduling_request.created_by, scheduling_request.template.created_by):
        if user is not None and user.is_active and user.email:
            return {"name": _person_name(user), "email": user.email}
    return None


def interview_context(template: SchedulingTemplate, scheduling_request=None) -> dict:
    return {
        "title": event_title(template, scheduling_request),
        "duration": words.duration_words(template.duration_minutes),
        "location": template.location,
        "video": template.meeting_link != MeetingLink.NONE
        and (template.meeting_link != MeetingLink.FIXED or bool(template.video_link)),
        "description": template.description,
        "interviewers": _template_interviewers(template),
    }


def zone_for(http_request, scheduling_request, booking=None) -> tuple[str, str]:
    """(zone, notice): the zone to show times in and, when ``tz`` was not a zone, why. An
    obsolete name (``US/Pacific``, ``Asia/Calcutta``) stands for its current one."""
    fallback = public_zones.current_name(
        (booking.candidate_time_zone if booking is not None else "")
        or scheduling_request.candidate.time_zone
        or scheduling_request.template.time_zone
        or "UTC"
    )
    fallback = fallback or "UTC"
    asked = (http_request.POST.get("tz") or http_request.GET.get("tz") or "").strip()
    if not asked:
        return fallback, ""
    current = public_zones.current_name(asked)
    if current is not None:
        return current, ""
    return fallback, (
        f"“{asked[:64]}” is not a time zone we know, so times are shown in {fallback}. "
        "Choose your time zone from the list if that is not yours."
    )


def clock_for(http_request, organization) -> str:
    """``"12"`` or ``"24"``: ``clock`` as booking.js read it from the browser's locale, else the
    clock of the organization's zone."""
    asked = (http_request.POST.get("clock") or http_request.GET.get("clock") or "").strip()
    return asked if asked in CLOCKS else public_zones.default_clock(organization.time_zone)


def page_query(zone: str, clock: str, **extra: str) -> str:
    """``tz=…&clock=…`` (and ``extra``): what every link between the candidate's pages keeps."""
    return urlencode({"tz": zone, "clock": clock, **extra})


def detect_attrs(http_request) -> dict:
    """What booking.js should ask the browser for: a GET without ``tz`` (where the page lets
    the candidate choose) or without ``clock`` reloads once with them. Never after a POST: the
    answer's message would be lost."""
    if http_request.method != "GET":
        return {"detect_tz": False, "detect_clock": False}
    return {
        "detect_tz": "tz" not in http_request.GET,
        "detect_clock": "clock" not in http_request.GET,
    }


@dataclass
class _State:
    name: str  # pending | booked | past | cancelled | expired
    booking: Booking | None


def request_state(scheduling_request: SchedulingRequest, now: datetime) -> _State:
    booking = Booking.objects.filter(
        organization=scheduling_request.organization, request=scheduling_request
    ).first()
    if booking is not None and booking.status == BookingStatus.CANCELLED:
        return _State("cancelled", booking)
    if scheduling_request.status == RequestStatus.BOOKED and booking is not None:
        return _State("booked" if booking.start > now else "past", booking)
    if scheduling_request.status == RequestStatus.CANCELLED:
        return _State("cancelled", booking)
    if scheduling_request.status == RequestStatus.EXPIRED or scheduling_request.expires_at <= now:
        return _State("expired", booking)
    return _State("pending", booking)


def parse_start(value: str) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def slot_label(start: datetime, zone: str, clock: str = "24") -> str:
    local = start.astimezone(zoneinfo.ZoneInfo(zone))
    return f"{words.clock_time(local, clock)} on {_day_label(local)}"


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _parse_month(value: str) -> date | None:
    try:
        return datetime.strptime((value or "").strip(), "%Y-%m").date()
    except ValueError:
        return None


def _absolute(name: str, token: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse(name, args=[token])


# --------------------------------------------------------------------------------------------
# Rendering the pages
# --------------------------------------------------------------------------------------------


def render_closed(http_request, scheduling_request, state: _State, *, status: int = 200):
    organization = scheduling_request.organization
    booking = state.booking
    clock = clock_for(http_request, organization)
    context = {
        **brand_context(organization),
        "state": state.name,
        "contact": _contact(scheduling_request),
        "title": event_title(scheduling_request.template, scheduling_request),
    }
    if state.name == "cancelled" and booking is not None:
        zone = public_zones.current_name(booking.candidate_time_zone) or "UTC"
        context["when"] = when_label(booking.start, booking.end, zone, clock)
        context["cancelled_by_candidate"] = booking.cancelled_by == CancelledBy.CANDIDATE
        context["cancelled_by_interviewer"] = booking.cancelled_by == CancelledBy.INTERVIEWER
        context["reason"] = booking.cancel_reason if context["cancelled_by_candidate"] else ""
    if state.name == "past" and booking is not None:
        zone = public_zones.current_name(booking.candidate_time_zone) or "UTC"
        context["when"] = when_label(booking.start, booking.end, zone, clock)
    return render(http_request, "scheduling/public/closed.html", context, status=status)


def _month_grid(month: date, days: dict[date, av.DaySlots], chosen: date | None) -> dict:
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    return {
        "key": f"{month:%Y-%m}",
        "label": f"{month:%B %Y}",
        "weeks": [
            [
                {
                    "key": day.isoformat(),
                    "number": day.day,
                    "in_month": day.month == month.month,
                    "times": len(days[day].slots) if day in days else 0,
                    "chosen": day == chosen,
                    "label": f"{day:%A} {day.day} {day:%B}",
                }
                for day in week
            ]
            for week in weeks
        ],
    }


def _next_month(month: date, step: int) -> date:
    index = month.year * 12 + month.month - 1 + step
    return date(index // 12, index % 12 + 1, 1)


def picker_calendar(
    slots: list[av.Slot],
    *,
    zone: str,
    clock: str,
    day: str = "",
    month: str = "",
    start: datetime | None = None,
    current: datetime | None = None,
) -> dict:
    """The date picker: the months from the first to the last day with free times (in
    ``zone``), each a grid of weeks (Monday first); the chosen day (``day``, or the day of
    ``start``) with its times; the chosen time for the confirm step when ``start`` is one of
    them; ``missed`` says when ``day`` or ``start`` was not free (any more)."""
    grouped = {group.day: group for group in av.group_by_day(slots, zone)}
    chosen_slot = None
    if start is not None:
        chosen_slot = next((s for s in slots if s.start == start), None)
    chosen_day = _parse_day(day)
    if chosen_slot is not None:
        chosen_day = chosen_slot.start.astimezone(zoneinfo.ZoneInfo(zone)).date()
    missed = ""
    if start is not None and chosen_slot is None:
        missed = "That time is no longer free. Please pick another time."
    elif day and chosen_day not in grouped:
        missed = "There are no free times on that day. Please pick one of the days shown."
    if chosen_day not in grouped:
        chosen_day = None
    if not grouped:
        return {"months": [], "days": [], "chosen": None, "missed": missed}
    first = min(grouped).replace(day=1)
    last = max(grouped).replace(day=1)
    shown = _parse_month(month) or (chosen_day or first).replace(day=1)
    shown = min(max(shown, first), last)
    months = []
    cursor = first
    while cursor <= last:
        grid = _month_grid(cursor, grouped, chosen_day)
        grid["shown"] = cursor == shown
        grid["previous"] = f"{_next_month(cursor, -1):%Y-%m}" if cursor > first else ""
        grid["next"] = f"{_next_month(cursor, 1):%Y-%m}" if cursor < last else ""
        months.append(grid)
        cursor = _next_month(cursor, 1)
    days = []
    for key, group in grouped.items():
        label = _day_label(group.slots[0].start)
        days.append(
            {
                "key": key.isoformat(),
                "label": label,
                "chosen": key == chosen_day,
                "slots": [
                    {
                        "value": local.slot.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "label": words.clock_time(local.start, clock),
                        "end": words.clock_time(local.end, clock),
                        "day": f"{label} {local.start:%Y}",
                        "current": current is not None and local.slot.start == current,
                    }
                    for local in group.slots
                ],
            }
        )
    chosen = None
    if chosen_slot is not None:
        local_start = chosen_slot.start.astimezone(zoneinfo.ZoneInfo(zone))
        local_end = chosen_slot.end.astimezone(zoneinfo.ZoneInfo(zone))
        chosen = {
            "value": chosen_slot.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "day": f"{_day_label(local_start)} {local_start:%Y}",
            "time": f"{words.clock_time(local_start, clock)}–{words.clock_time(local_end, clock)}",
            "current": current is not None and chosen_slot.start == current,
        }
    return {"months": months, "days": days, "chosen": chosen, "missed": missed}


def render_picker(
    http_request,
    scheduling_request: SchedulingRequest,
    *,
    zone: str,
    zone_notice: str = "",
    booking: Booking | None = None,
    notice: str = "",
    error: str = "",
    status: int = 200,
):
    """The date picker, the chosen day's times and, once a time is chosen (``?start=``, or in
    the page by booking.js), the confirm step that books it."""
    organization = scheduling_request.organization
    template = scheduling_request.template
    clock = clock_for(http_request, organization)
    try:
        slots = services.slots_for_request(organization=organization, request=scheduling_request)
    except services.RequestClosed:
        return render_closed(
            http_request, scheduling_request, request_state(scheduling_request, current_time())
        )
    except (services.SchedulingError, av.AvailabilityInputError) as exc:
        logger.warning("No slots for scheduling request %s: %s", scheduling_request.pk, exc)
        # The reason is for the team (the Library shows it); the candidate sees "no times".
        slots = []
    current = booking.start if booking is not None else None
    query = http_request.GET if http_request.method == "GET" else {}
    day = query.get("day", "")
    posted = (
        parse_start(http_request.POST.get("start", "")) if http_request.method == "POST" else None
    )
    if posted is not None:
        # A refused or lost booking shows the same day's fresh times again.
        day = posted.astimezone(zoneinfo.ZoneInfo(zone)).date().isoformat()
    picker = picker_calendar(
        slots,
        zone=zone,
        clock=clock,
        day=day,
        month=query.get("month", ""),
        start=parse_start(query.get("start", "")) if query.get("start") else None,
        current=current,
    )
    if picker["chosen"] is not None and picker["chosen"]["current"]:
        picker["chosen"] = None
        picker["missed"] = (
            "Your interview is already at that time. Pick a different time, or keep it."
        )
    chosen_day = next((day["key"] for day in picker["days"] if day["chosen"]), "")
    now = current_time()
    page_url = reverse(
        "booking:reschedule" if booking is not None else "booking:page",
        args=[scheduling_request.token],
    )
    context = {
        **brand_context(organization),
        **detect_attrs(http_request),
        "interview": interview_context(template, scheduling_request),
        # Anyone may type an e-mail address into a public link: a request made there does not
        # greet the matched candidate by the name we hold.
        "candidate_first_name": ""
        if scheduling_request.source == RequestSource.PUBLIC_LINK
        else scheduling_request.candidate.first_name,
        "zone": zone,
        "zone_label": public_zones.zone_label(zone, now),
        "zone_notice": zone_notice,
        "zone_groups": public_zones.zone_groups(zone, now),
        "clock": clock,
        "weekdays": WEEKDAYS,
        "months": picker["months"],
        "days": picker["days"],
        "chosen": picker["chosen"],
        "chosen_day": chosen_day,
        "missed": picker["missed"],
        "notice": notice,
        "error": error,
        "contact": _contact(scheduling_request),
        "rescheduling": booking is not None,
        "current_when": when_label(booking.start, booking.end, zone, clock) if booking else "",
        "token": scheduling_request.token,
        "page_url": page_url,
        "query": page_query(zone, clock),
        "form_action": page_url + "?" + page_query(zone, clock),
    }
    return render(http_request, "scheduling/public/picker.html", context, status=status)


def _calendar_links(booking: Booking, *, where: str, details: str) -> dict:
    start, end = booking.start.astimezone(UTC), booking.end.astimezone(UTC)
    google = {
        "action": "TEMPLATE",
        "text": words.tidy_title(booking.title) or booking.title,
        "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
        "details": details,
        "location": where,
    }
    outlook = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": words.tidy_title(booking.title) or booking.title,
        "startdt": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "enddt": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "body": details,
        "location": where,
    }
    return {
        "google": "https://calendar.google.com/calendar/render?" + urlencode(google),
        "outlook": "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(outlook),
        "office365": "https://outlook.office.com/calendar/0/deeplink/compose?" + urlencode(outlook),
    }


def render_booked(http_request, scheduling_request, booking: Booking, *, can_change: bool):
    organization = scheduling_request.organization
    zone, zone_notice = zone_for(http_request, scheduling_request, booking)
    clock = clock_for(http_request, organization)
    token = scheduling_request.token
    reschedule_url = _absolute("booking:reschedule", token)
    cancel_url = _absolute("booking:cancel", token)
    where = booking.video_link or booking.location
    details = "\n".join(
        line
        for line in (
            f"Video call: {booking.video_link}" if booking.video_link else "",
            f"Location: {booking.location}" if booking.location else "",
            f"Reschedule: {reschedule_url}",
            f"Cancel: {cancel_url}",
        )
        if line
    )
    context = {
        **brand_context(organization),
        **detect_attrs(http_request),
        "booking": booking,
        # Bookings made before titles were tidied may still end in a separator.
        "title": words.tidy_title(booking.title) or booking.title,
        "when": when_label(booking.start, booking.end, zone, clock),
        "duration": words.duration_words(int((booking.end - booking.start).total_seconds() // 60)),
        "zone": zone,
        "query": page_query(zone, clock),
        "zone_notice": zone_notice,
        "interviewers": _booking_interviewers(booking),
        "description": scheduling_request.template.description,
        "calendar": _calendar_links(booking, where=where, details=details),
        "ics_url": reverse("booking:ics", args=[token]),
        "reschedule_url": reverse("booking:reschedule", args=[token]),
        "cancel_url": reverse("booking:cancel", args=[token]),
        "can_change": can_change,
        "candidate_email": scheduling_request.candidate.primary_email,
        "contact": _contact(scheduling_request),
        "just_booked": http_request.GET.get("done") == "booked",
        "just_moved": http_request.GET.get("done") == "moved",
    }
    return render(http_request, "scheduling/public/booked.html", context)


def current_time() -> datetime:
    return timezone.now()


def to_booked(token: str, zone: str, done: str, clock: str):
    return redirect(
        reverse("booking:booked", args=[token]) + "?" + page_query(zone, clock, done=done)
    )
