"""What the candidate's pages show and how they render: names, the interview, the candidate's
zone, the picker, the booked and closed pages, shared by the booking pages (``public_views``)
and the public link (``public_link_views``)."""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.models import TIME_ZONE_CHOICES
from messaging.email_layout import brand_colours

from . import availability as av
from . import notify, services, words
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
ZONE_NAMES = [name for name, _ in TIME_ZONE_CHOICES]
# --------------------------------------------------------------------------------------------
# What a page shows
# --------------------------------------------------------------------------------------------


def _day_label(value: datetime) -> str:
    return f"{value:%A} {value.day} {value:%B}"


when_label = words.when_long


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
    title = notify.event_title(template=template, context=context)
    # A merge field without a value ("Onsite · {{ job.name }}" on the public link) must not
    # leave a dangling separator behind.
    return title.strip(" ·-–—:|,") or template.name


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
    """(zone, notice): the zone to show times in and, when ``tz`` was not a zone, why."""
    fallback = (
        (booking.candidate_time_zone if booking is not None else "")
        or scheduling_request.candidate.time_zone
        or scheduling_request.template.time_zone
        or "UTC"
    )
    if fallback not in KNOWN_ZONES:
        fallback = "UTC"
    asked = (http_request.POST.get("tz") or http_request.GET.get("tz") or "").strip()
    if not asked or asked in KNOWN_ZONES:
        return (asked or fallback), ""
    return fallback, (
        f"“{asked[:64]}” is not a time zone we know, so times are shown in {fallback}. "
        "Choose your time zone from the list if that is not yours."
    )


def _zone_options(zone: str) -> list[str]:
    return ZONE_NAMES if zone in ZONE_NAMES else [zone, *ZONE_NAMES]


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


def slot_label(start: datetime, zone: str) -> str:
    local = start.astimezone(zoneinfo.ZoneInfo(zone))
    return f"{local:%H:%M} on {_day_label(local)}"


def _absolute(name: str, token: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse(name, args=[token])


# --------------------------------------------------------------------------------------------
# Rendering the pages
# --------------------------------------------------------------------------------------------


def render_closed(http_request, scheduling_request, state: _State, *, status: int = 200):
    organization = scheduling_request.organization
    booking = state.booking
    context = {
        **brand_context(organization),
        "state": state.name,
        "contact": _contact(scheduling_request),
        "title": event_title(scheduling_request.template, scheduling_request),
    }
    if state.name == "cancelled" and booking is not None:
        zone = booking.candidate_time_zone if booking.candidate_time_zone in KNOWN_ZONES else "UTC"
        context["when"] = when_label(booking.start, booking.end, zone)
        context["cancelled_by_candidate"] = booking.cancelled_by == CancelledBy.CANDIDATE
        context["cancelled_by_interviewer"] = booking.cancelled_by == CancelledBy.INTERVIEWER
        context["reason"] = booking.cancel_reason if context["cancelled_by_candidate"] else ""
    if state.name == "past" and booking is not None:
        zone = booking.candidate_time_zone if booking.candidate_time_zone in KNOWN_ZONES else "UTC"
        context["when"] = when_label(booking.start, booking.end, zone)
    return render(http_request, "scheduling/public/closed.html", context, status=status)


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
    organization = scheduling_request.organization
    template = scheduling_request.template
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
    days = [
        {
            "label": _day_label(day.slots[0].start),
            "slots": [
                {
                    "value": local.slot.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "label": f"{local.start:%H:%M}",
                    "end": f"{local.end:%H:%M}",
                    "current": current is not None and local.slot.start == current,
                }
                for local in day.slots
            ],
        }
        for day in av.group_by_day(slots, zone)
    ]
    context = {
        **brand_context(organization),
        "interview": interview_context(template, scheduling_request),
        # Anyone may type an e-mail address into a public link: a request made there does not
        # greet the matched candidate by the name we hold.
        "candidate_first_name": ""
        if scheduling_request.source == RequestSource.PUBLIC_LINK
        else scheduling_request.candidate.first_name,
        "zone": zone,
        "zone_notice": zone_notice,
        "zone_options": _zone_options(zone),
        "days": days,
        "notice": notice,
        "error": error,
        "contact": _contact(scheduling_request),
        "rescheduling": booking is not None,
        "current_when": when_label(booking.start, booking.end, zone) if booking else "",
        "token": scheduling_request.token,
        "form_action": reverse(
            "booking:reschedule" if booking is not None else "booking:page",
            args=[scheduling_request.token],
        ),
    }
    return render(http_request, "scheduling/public/picker.html", context, status=status)


def _calendar_links(booking: Booking, *, where: str, details: str) -> dict:
    start, end = booking.start.astimezone(UTC), booking.end.astimezone(UTC)
    google = {
        "action": "TEMPLATE",
        "text": booking.title,
        "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
        "details": details,
        "location": where,
    }
    outlook = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": booking.title,
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
        "booking": booking,
        "when": when_label(booking.start, booking.end, zone),
        "duration": words.duration_words(int((booking.end - booking.start).total_seconds() // 60)),
        "zone": zone,
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


def to_booked(token: str, zone: str, done: str):
    return redirect(
        reverse("booking:booked", args=[token]) + "?" + urlencode({"tz": zone, "done": done})
    )
