"""The candidate's side of scheduling: the slot picker, the confirmation, the invitation file,
reschedule and cancel pages, and the public scheduling link.

Everything here is public: a signed token in the URL (scheduling.links) is the candidate's key.
A request is found with ``scopes_disabled()`` by its token, then every other read and write runs
inside ``tenant_scope`` of its organization, so a token can only ever reach its own request.
Unknown or tampered tokens get a plain 404 page that names nothing.

Times are shown in the candidate's zone: ``?tz=`` (set on first load from the browser by
static/js/booking.js, switchable with a select), else the zone they booked in, their stored zone,
or the template's; a ``tz`` that is not a zone falls back with a notice saying so.
"""

from __future__ import annotations

import logging
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import TIME_ZONE_CHOICES
from messaging.email_layout import brand_colours
from recruitflow.decorators import public
from recruitflow.tenancy import scopes_disabled, tenant_scope

from . import availability as av
from . import ics, links, notify, public_limits, public_link_services, rules, services, words
from .models import (
    Booking,
    BookingStatus,
    CancelledBy,
    RequestSource,
    RequestStatus,
    SchedulingRequest,
    SchedulingTemplate,
    SchedulingTemplateMember,
)

logger = logging.getLogger(__name__)

KNOWN_ZONES = frozenset(zoneinfo.available_timezones())
ZONE_NAMES = [name for name, _ in TIME_ZONE_CHOICES]
HEX_COLOUR = re.compile(r"^[0-9a-fA-F]{6}$")
REASON_MAX = 2000
VIEW_METHODS = ["GET", "HEAD", "POST"]


# --------------------------------------------------------------------------------------------
# Finding the request behind a token
# --------------------------------------------------------------------------------------------


def _not_found(http_request):
    return render(http_request, "scheduling/public/not_found.html", status=404)


def _find_request(token: str) -> SchedulingRequest | None:
    if not token:
        return None
    with scopes_disabled():
        found = (
            SchedulingRequest.objects.select_related("organization", "template", "candidate")
            .filter(token=token)
            .first()
        )
    if found is None or not found.organization.is_active:
        return None
    return found


def _for_request(view):
    """Resolve ``token`` to its scheduling request and run the view in its organization."""

    @wraps(view)
    def wrapper(http_request, token: str):
        scheduling_request = _find_request(token)
        if scheduling_request is None:
            return _not_found(http_request)
        with tenant_scope(scheduling_request.organization):
            return view(http_request, scheduling_request)

    return wrapper


# --------------------------------------------------------------------------------------------
# What a page shows
# --------------------------------------------------------------------------------------------


def _day_label(value: datetime) -> str:
    return f"{value:%A} {value.day} {value:%B}"


when_label = words.when_long


def _person_name(user) -> str:
    # Names only: a team member's e-mail address is not the candidate's business here.
    return (user.get_full_name() or user.first_name or "").strip()


def _brand(organization) -> dict:
    brand, _ink = brand_colours(organization.brand_color)
    return {
        "company": organization,
        "brand_hex": brand.lstrip("#"),
        "logo_url": organization.logo.url if organization.logo else "",
    }


def _event_title(template: SchedulingTemplate, scheduling_request=None) -> str:
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


def _interview(template: SchedulingTemplate, scheduling_request=None) -> dict:
    return {
        "title": _event_title(template, scheduling_request),
        "duration": words.duration_words(template.duration_minutes),
        "location": template.location,
        "video": bool(template.video_link),
        "description": template.description,
        "interviewers": _template_interviewers(template),
    }


def _zone_for(http_request, scheduling_request, booking=None) -> tuple[str, str]:
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


def _state(scheduling_request: SchedulingRequest, now: datetime) -> _State:
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


def _parse_start(value: str) -> datetime | None:
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


def _slot_label(start: datetime, zone: str) -> str:
    local = start.astimezone(zoneinfo.ZoneInfo(zone))
    return f"{local:%H:%M} on {_day_label(local)}"


def _absolute(name: str, token: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse(name, args=[token])


# --------------------------------------------------------------------------------------------
# Rendering the pages
# --------------------------------------------------------------------------------------------


def _render_closed(http_request, scheduling_request, state: _State, *, status: int = 200):
    organization = scheduling_request.organization
    booking = state.booking
    context = {
        **_brand(organization),
        "state": state.name,
        "contact": _contact(scheduling_request),
        "title": _event_title(scheduling_request.template, scheduling_request),
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


def _render_picker(
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
        return _render_closed(http_request, scheduling_request, _state(scheduling_request, _now()))
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
        **_brand(organization),
        "interview": _interview(template, scheduling_request),
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


def _render_booked(http_request, scheduling_request, booking: Booking, *, can_change: bool):
    organization = scheduling_request.organization
    zone, zone_notice = _zone_for(http_request, scheduling_request, booking)
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
        **_brand(organization),
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


def _now() -> datetime:
    return timezone.now()


def _to_booked(token: str, zone: str, done: str):
    return redirect(
        reverse("booking:booked", args=[token]) + "?" + urlencode({"tz": zone, "done": done})
    )


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------


def _change(http_request, scheduling_request, write, *, start, zone, done, booking=None):
    """Book or move through ``write``; a lost race or a refusal shows the picker again with
    fresh times and says why, a closed request goes back to its page."""
    try:
        write()
    except rules.SlotTaken:
        return _render_picker(
            http_request,
            scheduling_request,
            zone=zone,
            booking=booking,
            notice=f"Someone has just booked {_slot_label(start, zone)}. Please pick another time.",
            status=409,
        )
    except services.RequestClosed:
        return redirect("booking:page", scheduling_request.token)
    except services.SchedulingError as exc:
        return _render_picker(
            http_request, scheduling_request, zone=zone, booking=booking, error=str(exc), status=400
        )
    return _to_booked(scheduling_request.token, zone, done)


@public
@never_cache
@require_http_methods(VIEW_METHODS)
@_for_request
def page(http_request, scheduling_request: SchedulingRequest):
    """The slot picker (GET); POST ``start`` (ISO UTC) and ``tz`` books it."""
    organization = scheduling_request.organization
    state = _state(scheduling_request, _now())
    if state.name == "booked":
        if http_request.method == "POST":
            return redirect("booking:booked", scheduling_request.token)
        return _render_booked(http_request, scheduling_request, state.booking, can_change=True)
    if state.name != "pending":
        return _render_closed(http_request, scheduling_request, state)

    zone, zone_notice = _zone_for(http_request, scheduling_request)
    if http_request.method != "POST":
        return _render_picker(http_request, scheduling_request, zone=zone, zone_notice=zone_notice)

    start = _parse_start(http_request.POST.get("start", ""))
    if start is None:
        return _render_picker(
            http_request,
            scheduling_request,
            zone=zone,
            error="Pick one of the times below to book your interview.",
            status=400,
        )
    return _change(
        http_request,
        scheduling_request,
        lambda: services.booking_book(
            organization=organization, request=scheduling_request, start=start, time_zone=zone
        ),
        start=start,
        zone=zone,
        done="booked",
    )


@public
@never_cache
@require_safe
@_for_request
def booked(http_request, scheduling_request: SchedulingRequest):
    """The confirmation: when (in the candidate's zone), where, who, add to calendar, and the
    reschedule and cancel links."""
    state = _state(scheduling_request, _now())
    if state.name == "pending":
        return redirect("booking:page", scheduling_request.token)
    if state.name in ("booked", "past") and state.booking is not None:
        return _render_booked(
            http_request, scheduling_request, state.booking, can_change=state.name == "booked"
        )
    return _render_closed(http_request, scheduling_request, state)


@public
@never_cache
@require_safe
@_for_request
def invite_ics(http_request, scheduling_request: SchedulingRequest):
    """The booking as an ``.ics`` file (a cancelled booking as its cancellation)."""
    booking = Booking.objects.filter(
        organization=scheduling_request.organization, request=scheduling_request
    ).first()
    if booking is None:
        return redirect("booking:page", scheduling_request.token)
    method = "CANCEL" if booking.status == BookingStatus.CANCELLED else "REQUEST"
    body = ics.booking_ics(booking, method=method, organization=scheduling_request.organization)
    response = HttpResponse(body, content_type=f"text/calendar; charset=utf-8; method={method}")
    response["Content-Disposition"] = 'attachment; filename="invite.ics"'
    return response


@public
@never_cache
@require_http_methods(VIEW_METHODS)
@_for_request
def reschedule(http_request, scheduling_request: SchedulingRequest):
    """The picker again, showing the current time; POST ``start`` moves the interview."""
    organization = scheduling_request.organization
    state = _state(scheduling_request, _now())
    if state.name == "pending":
        return redirect("booking:page", scheduling_request.token)
    if state.name != "booked":
        return _render_closed(http_request, scheduling_request, state)
    booking = state.booking
    zone, zone_notice = _zone_for(http_request, scheduling_request, booking)
    if http_request.method != "POST":
        return _render_picker(
            http_request, scheduling_request, zone=zone, zone_notice=zone_notice, booking=booking
        )

    start = _parse_start(http_request.POST.get("start", ""))
    if start is None:
        error = "Pick one of the times below to move your interview to."
    elif start == booking.start:
        error = "Your interview is already at that time. Pick a different time, or keep it."
    else:
        error = ""
    if error:
        return _render_picker(
            http_request, scheduling_request, zone=zone, booking=booking, error=error, status=400
        )
    return _change(
        http_request,
        scheduling_request,
        lambda: services.booking_reschedule(
            organization=organization, booking=booking, start=start, time_zone=zone
        ),
        start=start,
        zone=zone,
        done="moved",
        booking=booking,
    )


@public
@never_cache
@require_http_methods(VIEW_METHODS)
@_for_request
def cancel(http_request, scheduling_request: SchedulingRequest):
    """Confirm with an optional reason; POST (with ``confirm``) cancels."""
    organization = scheduling_request.organization
    state = _state(scheduling_request, _now())
    if state.name == "pending":
        return redirect("booking:page", scheduling_request.token)
    if state.name != "booked":
        return _render_closed(http_request, scheduling_request, state)
    booking = state.booking
    zone, _notice = _zone_for(http_request, scheduling_request, booking)
    reason = (http_request.POST.get("reason") or "").strip()
    error = ""
    if http_request.method == "POST":
        if http_request.POST.get("confirm") != "yes":
            error = "To cancel your interview, press “Cancel interview”."
        elif len(reason) > REASON_MAX:
            error = (
                f"Please keep the reason under {REASON_MAX:,} characters "
                f"(it has {len(reason):,}); your text is still below."
            )
        else:
            try:
                services.booking_cancel(
                    organization=organization,
                    booking=booking,
                    by=CancelledBy.CANDIDATE,
                    reason=reason,
                )
            except services.RequestClosed:
                return redirect("booking:page", scheduling_request.token)
            except services.SchedulingError as exc:
                error = str(exc)
            else:
                return redirect("booking:page", scheduling_request.token)
    context = {
        **_brand(organization),
        "title": booking.title,
        "when": when_label(booking.start, booking.end, zone),
        "zone": zone,
        "reason": reason,
        "reason_max": REASON_MAX,
        "error": error,
        "booked_url": reverse("booking:booked", args=[scheduling_request.token])
        + "?"
        + urlencode({"tz": zone}),
        "reschedule_url": reverse("booking:reschedule", args=[scheduling_request.token]),
    }
    return render(
        http_request, "scheduling/public/cancel.html", context, status=400 if error else 200
    )


# --------------------------------------------------------------------------------------------
# The public link
# --------------------------------------------------------------------------------------------


class PublicLinkForm(forms.Form):
    first_name = forms.CharField(
        max_length=150, error_messages={"required": "Enter your first name."}
    )
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.CharField(
        label="E-mail",
        max_length=254,
        error_messages={"required": "Enter your e-mail address: your invitation goes there."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Mobile phone (optional)",
        max_length=40,
        required=False,
        help_text="With the country code, e.g. +44 7700 900123, for text reminders.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    tz = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-browser-tz": ""}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"


def _find_public_template(public_token: str) -> SchedulingTemplate | None:
    if not public_token:
        return None
    with scopes_disabled():
        template = (
            SchedulingTemplate.objects.select_related("organization")
            .filter(public_token=public_token)
            .first()
        )
    if template is None or not template.organization.is_active:
        return None
    return template


def _render_link_off(http_request, template: SchedulingTemplate):
    return render(
        http_request,
        "scheduling/public/closed.html",
        {**_brand(template.organization), "state": "link_off", "title": _event_title(template)},
        status=404,
    )


def _render_too_many(http_request, template: SchedulingTemplate, refusal) -> HttpResponse:
    response = render(
        http_request,
        "scheduling/public/too_many.html",
        {
            **_brand(template.organization),
            "interview": _interview(template),
            "busy_link": refusal.scope == "link",
            "wait": refusal.wait_words,
        },
        status=429,
    )
    response["Retry-After"] = str(refusal.retry_after)
    return response


@public
@never_cache
@require_http_methods(VIEW_METHODS)
def public_link(http_request, public_token: str):
    """One link for many candidates: name, e-mail and phone → a new candidate and their slot
    picker, or, for an address that is already a candidate's, a confirmation e-mail to that
    address and a "check your e-mail" page. Submissions are rate limited per visitor and per
    link (scheduling.public_limits)."""
    template = _find_public_template(public_token)
    if template is None:
        return _not_found(http_request)
    organization = template.organization
    with tenant_scope(organization):
        if not template.public_link_enabled:
            return _render_link_off(http_request, template)
        if http_request.method == "POST":
            refusal = public_limits.submission_check(http_request, link_token=template.public_token)
            if refusal is not None:
                return _render_too_many(http_request, template, refusal)
        form = PublicLinkForm(http_request.POST or None)
        if http_request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            zone = data["tz"] if data["tz"] in KNOWN_ZONES else ""
            try:
                result = public_link_services.public_link_submit(
                    organization=organization,
                    template=template,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    phone=data["phone"],
                    zone=zone,
                    title=_event_title(template),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            except services.SchedulingError as exc:
                form.add_error(
                    None,
                    f"We couldn't open a booking for you: {exc} "
                    f"Please contact {organization.name}.",
                )
            else:
                if result.request is None:
                    # Only what the visitor typed is shown: the address may be someone else's.
                    return render(
                        http_request,
                        "scheduling/public/check_email.html",
                        {
                            **_brand(organization),
                            "interview": _interview(template),
                            "email": data["email"].strip(),
                            "hours": settings.SCHEDULING_PUBLIC_LINK_CONFIRM_HOURS,
                            "form_url": reverse("booking:public", args=[template.public_token]),
                        },
                    )
                url = reverse("booking:page", args=[result.request.token])
                return redirect(url + ("?" + urlencode({"tz": zone}) if zone else ""))
        context = {
            **_brand(organization),
            "interview": _interview(template),
            "form": form,
        }
        return render(
            http_request,
            "scheduling/public/public_link.html",
            context,
            status=400 if form.errors else 200,
        )


@public
@never_cache
@require_safe
def public_confirm(http_request, public_token: str, proof: str):
    """The link e-mailed to an address that is already a candidate's: it ties the visitor to
    that candidate (their own scheduling request) and opens the slot picker. An expired or
    altered link says so and points back to the form."""
    template = _find_public_template(public_token)
    if template is None:
        return _not_found(http_request)
    organization = template.organization
    with tenant_scope(organization):
        if not template.public_link_enabled:
            return _render_link_off(http_request, template)
        hours = settings.SCHEDULING_PUBLIC_LINK_CONFIRM_HOURS
        problem, status, found = "", 200, None
        try:
            found = links.confirmation_read(proof, max_age_seconds=hours * 3600)
        except links.ConfirmationExpired:
            problem, status = "expired", 410
        except links.ConfirmationInvalid:
            problem, status = "invalid", 404
        if found is not None and found["template_id"] != template.pk:
            problem, status = "invalid", 404
        error = ""
        if not problem:
            try:
                scheduling_request = public_link_services.public_link_confirm(
                    organization=organization,
                    template=template,
                    candidate_id=found["candidate_id"],
                )
            except services.SchedulingError as exc:
                problem, status, error = "failed", 400, str(exc)
            else:
                zone = found["zone"] if found["zone"] in KNOWN_ZONES else ""
                url = reverse("booking:page", args=[scheduling_request.token])
                return redirect(url + ("?" + urlencode({"tz": zone}) if zone else ""))
        return render(
            http_request,
            "scheduling/public/confirm_problem.html",
            {
                **_brand(organization),
                "interview": _interview(template),
                "problem": problem,
                "error": error,
                "hours": hours,
                "form_url": reverse("booking:public", args=[template.public_token]),
            },
            status=status,
        )


@public
@require_safe
def brand_css(http_request):
    """A brand colour as a stylesheet (the CSP allows no inline styles). It only echoes a valid
    ``#rrggbb`` colour given as ``?c=rrggbb``, so it reveals nothing about anyone."""
    value = http_request.GET.get("c", "")
    brand, ink = brand_colours(f"#{value}" if HEX_COLOUR.match(value) else None)
    response = HttpResponse(
        f":root {{ --brand: {brand}; --brand-ink: {ink}; }}\n", content_type="text/css"
    )
    response["Cache-Control"] = "public, max-age=86400"
    return response
