"""The Schedule page (upcoming interviews as a list or a week grid, pending requests, the team's
calendars) and My calendar (working hours, busy time, the .ics feed, connecting a calendar).

Views parse input and call ``scheduling.calendar_services`` / ``scheduling.services``; reads come
from ``scheduling.selectors`` and ``scheduling.calendars``. Times are shown in the organization's
zone on the Schedule page and in the person's own zone on My calendar, always named.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from candidates.views import render_in_org_time
from integrations import calendar_service
from integrations.http import ProviderError
from recruitflow.csp import allow_form_target
from recruitflow.decorators import admin_required, editor_required, organization_required
from recruitflow.page_cache import member_page
from scheduling import availability as av
from scheduling import calendar_services as cal
from scheduling import calendars, conferencing, selectors, services, week
from scheduling.forms import (
    BusyBlockForm,
    CancelBookingForm,
    ConnectByEmailForm,
    PersonalMeetingLinkForm,
    WorkingHoursForm,
)
from scheduling.models import (
    Booking,
    BusyBlock,
    CancelledBy,
    SchedulingTemplate,
)
from scheduling.words import person_name

logger = logging.getLogger(__name__)

SESSION_OAUTH = "scheduling:cronofy_oauth"
CHART_DAYS = 14


def _zone(organization) -> str:
    try:
        return av.resolve_zone(organization.time_zone or "UTC").key
    except av.AvailabilityInputError:
        return "UTC"


def oauth_redirect_uri() -> str:
    return settings.PUBLIC_BASE_URL + reverse("scheduling:cronofy_callback")


# --------------------------------------------------------------------------------------------
# The Schedule page
# --------------------------------------------------------------------------------------------


def interviews_per_day(*, organization, zone: str, now: datetime, days: int = CHART_DAYS) -> dict:
    """Confirmed interviews per local day from today, as bars of a server-rendered SVG (sizes
    are attributes, which the CSP allows; no inline styles)."""
    counts = selectors.bookings_per_day(organization=organization, zone=zone, days=days, now=now)
    peak = max((count for _, count in counts), default=0)
    height, width = 80, 40
    bars = []
    for index, (day, count) in enumerate(counts):
        bar_height = round(count * height / peak) if count else 0
        bars.append(
            {
                "x": index * width,
                "y": height - bar_height,
                "width": width - 6,
                "height": bar_height,
                "day": day,
                "count": count,
            }
        )
    return {
        "bars": bars,
        "width": width * max(1, len(counts)),
        "height": height,
        "peak": peak,
        "total": sum(count for _, count in counts),
        "first": counts[0][0] if counts else None,
        "last": counts[-1][0] if counts else None,
    }


def _team(organization, viewer) -> list[dict]:
    members = selectors.team_members(organization=organization)
    statuses = calendars.calendar_statuses(
        organization=organization, users=[m.user for m in members]
    )
    pending = selectors.pending_connections(organization=organization)
    return [
        {
            "membership": m,
            "user": m.user,
            "name": person_name(m.user),
            "is_me": m.user_id == viewer.pk,
            "status": statuses.get(m.user_id) or statuses.get(m.user.pk),
            "pending": pending.get(m.user_id),
        }
        for m in members
    ]


def _week_context(request, *, organization, zone: str, now: datetime) -> dict:
    """The week view: the week of ``?week=`` (any date of it; this week by default)."""
    today = now.astimezone(av.resolve_zone(zone)).date()
    week_error = ""
    try:
        monday = week.parse_week(request.GET.get("week"), today=today)
    except week.WeekInputError as exc:
        week_error = str(exc)
        monday = week.monday_of(today)
    start, end = week.week_bounds(monday, zone)
    bookings = selectors.week_bookings(organization=organization, start=start, end=end)
    return {
        "week": week.build_week(bookings=bookings, monday=monday, zone=zone, today=today),
        "week_error": week_error,
        "week_truncated": len(bookings) >= selectors.WEEK_LIMIT,
        "week_limit": selectors.WEEK_LIMIT,
        "this_monday": week.monday_of(today),
    }


def _schedule_context(request, *, cancel_forms: dict | None = None) -> dict:
    organization = request.organization
    now = timezone.now()
    zone = _zone(organization)
    view = "week" if request.GET.get("view") == "week" and not cancel_forms else "list"
    upcoming: list[dict] = []
    extra: dict = {}
    if view == "week":
        extra = _week_context(request, organization=organization, zone=zone, now=now)
    else:
        tz = av.resolve_zone(zone)
        upcoming = [
            {
                "booking": b,
                "start": b.start.astimezone(tz),
                "end": b.end.astimezone(tz),
                "interviewers": [person_name(user) for user in getattr(b, "attendees", [])],
                "cancel_form": (cancel_forms or {}).get(b.pk)
                or CancelBookingForm(prefix=f"b{b.pk}"),
            }
            for b in selectors.upcoming_bookings(organization=organization, now=now, limit=50)
        ]
        extra = {"chart": interviews_per_day(organization=organization, zone=zone, now=now)}
    pending = [
        {"request": r, "link": services.request_link(r)}
        for r in selectors.pending_requests(organization=organization, limit=50)
    ]
    team = _team(organization, request.user)
    settings_row = calendar_service.settings_for(organization)
    enterprise = bool(settings_row and settings_row.enterprise_connected)
    by_email_form = None
    if request.membership.is_admin and enterprise:
        by_email_form = ConnectByEmailForm(
            members=[t["membership"] for t in team], auto_id="connect_%s"
        )
    return {
        **extra,
        "view": view,
        "zone": zone,
        "now": now,
        "upcoming": upcoming,
        "pending": pending,
        "team": team,
        "has_templates": SchedulingTemplate.objects.filter(organization=organization).exists(),
        "cronofy_configured": settings_row is not None,
        "calendar_service": selectors.calendar_service_name(),
        "enterprise_connected": enterprise,
        "by_email_form": by_email_form,
        "can_cancel": request.membership.can_edit,
    }


@organization_required
@member_page
def schedule(request):
    response = render_in_org_time(request, "scheduling/schedule.html", _schedule_context(request))
    return allow_form_target(response, _sign_in_page(request.organization))


@editor_required
@require_POST
def booking_cancel(request, pk: int):
    organization = request.organization
    booking = (
        Booking.objects.filter(organization=organization, pk=pk).select_related("candidate").first()
    )
    if booking is None:
        raise Http404("No such interview in this organization.")
    form = CancelBookingForm(request.POST, prefix=f"b{booking.pk}")
    if not form.is_valid():
        context = _schedule_context(request, cancel_forms={booking.pk: form})
        return render_in_org_time(request, "scheduling/schedule.html", context, status=400)
    zone = _zone(organization)
    when = f"{booking.start.astimezone(av.resolve_zone(zone)):%a %-d %b %H:%M} ({zone})"
    try:
        services.booking_cancel(
            organization=organization,
            booking=booking,
            by=CancelledBy.RECRUITER,
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except services.SchedulingError as exc:
        messages.error(request, f"The interview was not cancelled: {exc}")
    else:
        messages.success(
            request,
            f"Cancelled “{booking.title}” with {booking.candidate.full_name} on {when}. "
            "The candidate is sent the Cancellation Notification and the interviewers' "
            "calendars are updated.",
        )
    return redirect(reverse("scheduling:schedule") + "#upcoming")


@admin_required
@require_POST
def connect_by_email(request):
    """Enterprise Connect: ask the calendar service for a teammate's calendar by their e-mail
    address."""
    organization = request.organization
    service = selectors.calendar_service_name()
    members = selectors.team_members(organization=organization)
    form = ConnectByEmailForm(request.POST, members=members, auto_id="connect_%s")
    if not form.is_valid():
        problems = "; ".join(f"{e}" for errors in form.errors.values() for e in errors)
        messages.error(request, f"Nothing was requested: {problems}")
        return redirect(reverse("scheduling:schedule") + "#team")
    member = next(m for m in members if m.user_id == form.cleaned_data["member"])
    try:
        cal.cronofy_connect_by_email(
            organization=organization,
            user=member.user,
            email=form.cleaned_data["email"],
            callback_url=calendars.enterprise_connect_callback_url(organization),
        )
    except calendar_service.CalendarNotConfigured as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except ProviderError as exc:
        messages.error(
            request,
            f"{service} refused to connect {form.cleaned_data['email']}: {exc}",
        )
    else:
        messages.success(
            request,
            f"Asked {service} for {form.cleaned_data['email']}'s calendar for "
            f"{person_name(member.user)}. Their status changes to Connected as soon as {service} "
            "confirms (usually within a minute).",
        )
    return redirect(reverse("scheduling:schedule") + "#team")


# --------------------------------------------------------------------------------------------
# My calendar
# --------------------------------------------------------------------------------------------


def _calendar_context(request, *, hours_form=None, busy_form=None, link_form=None) -> dict:
    organization = request.organization
    user = request.user
    calendar = cal.member_calendar_get(organization=organization, user=user)
    zone = calendar.time_zone
    tz = av.resolve_zone(zone)
    now = timezone.now()
    blocks = [
        {"block": b, "start": b.start.astimezone(tz), "end": b.end.astimezone(tz)}
        for b in selectors.busy_blocks_ahead(organization=organization, user=user, now=now)
    ]
    connection = cal.connection_for(organization=organization, user=user)
    settings_row = calendar_service.settings_for(organization)
    status = calendars.calendar_statuses(organization=organization, users=[user]).get(user.pk)
    return {
        "calendar": calendar,
        "zone": zone,
        "hours_form": hours_form
        or WorkingHoursForm(initial=WorkingHoursForm.initial_from(calendar)),
        "busy_form": busy_form or BusyBlockForm(zone=zone),
        "link_form": link_form
        or PersonalMeetingLinkForm(
            initial={"personal_meeting_link": calendar.personal_meeting_link}
        ),
        "blocks": blocks,
        "feed_url": cal.feed_url(calendar),
        "connection": connection,
        "connection_label": cal.connection_label(connection) if connection else "",
        "cronofy_configured": settings_row is not None,
        "calendar_service": selectors.calendar_service_name(),
        "status": status,
    }


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _sign_in_page(organization) -> str | None:
    """Where "Connect calendar" leads, so the page's CSP lets its form go there; None when
    calendars can't be connected yet (the button then explains why)."""
    try:
        return cal.cronofy_authorization_url(
            organization=organization, redirect_uri=oauth_redirect_uri(), state="-"
        )
    except (calendar_service.CalendarNotConfigured, ValueError):
        return None


def _render_calendar(request, status: int = 200, **forms):
    context = _calendar_context(request, **forms)
    # Everything on My calendar is in the person's own zone (named on the page).
    with timezone.override(av.resolve_zone(context["zone"])):
        response = render(request, "scheduling/calendar.html", context, status=status)
    return allow_form_target(response, _sign_in_page(request.organization))


@organization_required
def my_calendar(request):
    return _render_calendar(request)


@organization_required
@require_POST
def working_hours_save(request):
    form = WorkingHoursForm(request.POST)
    if form.is_valid():
        try:
            calendar = cal.working_hours_save(
                organization=request.organization,
                user=request.user,
                time_zone=form.cleaned_data["time_zone"],
                windows=form.cleaned_data["windows"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            if calendar.working_hours:
                messages.success(request, f"Working hours saved ({calendar.time_zone}).")
            else:
                messages.warning(
                    request,
                    "Working hours saved with no working day: candidates are offered no times "
                    "with you until you add one (or connect a calendar).",
                )
            return redirect(reverse("scheduling:calendar") + "#working-hours")
    return _render_calendar(request, status=400, hours_form=form)


@organization_required
@require_POST
def busy_block_add(request):
    calendar = cal.member_calendar_get(organization=request.organization, user=request.user)
    form = BusyBlockForm(request.POST, zone=calendar.time_zone)
    if form.is_valid():
        try:
            block = cal.busy_block_add(
                organization=request.organization,
                user=request.user,
                title=form.cleaned_data["title"],
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            start = block.start.astimezone(av.resolve_zone(calendar.time_zone))
            end = block.end.astimezone(av.resolve_zone(calendar.time_zone))
            messages.success(
                request,
                f"Busy {start:%a %-d %b %H:%M}–{end:%a %-d %b %H:%M} ({calendar.time_zone}) "
                "added: candidates won't be offered that time with you.",
            )
            return redirect(reverse("scheduling:calendar") + "#busy")
    return _render_calendar(request, status=400, busy_form=form)


@organization_required
@require_POST
def busy_block_delete(request, pk: int):
    try:
        cal.busy_block_delete(organization=request.organization, user=request.user, block_id=pk)
    except BusyBlock.DoesNotExist:
        raise Http404("No such busy time in your calendar.") from None
    messages.success(request, "Busy time removed.")
    return redirect(reverse("scheduling:calendar") + "#busy")


@organization_required
@require_POST
def personal_link_save(request):
    form = PersonalMeetingLinkForm(request.POST)
    if form.is_valid():
        link = form.cleaned_data["personal_meeting_link"]
        try:
            cal.personal_meeting_link_save(
                organization=request.organization, user=request.user, link=link
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request,
                f"Personal meeting link saved: {link}."
                if link
                else "Personal meeting link removed.",
            )
            return redirect(reverse("scheduling:calendar") + "#meeting-link")
    return _render_calendar(request, status=400, link_form=form)


@organization_required
@require_POST
def conferencing_reconnected(request):
    conferencing.conferencing_reconnected(organization=request.organization, user=request.user)
    messages.success(
        request,
        "Thanks: new interviews ask your calendar for a video conference again.",
    )
    return redirect(reverse("scheduling:calendar") + "#meeting-link")


@organization_required
@require_POST
def feed_reset(request):
    cal.feed_token_reset(organization=request.organization, user=request.user)
    messages.success(
        request,
        "New subscription link made. The old link stops working now: subscribe your calendar "
        "app to the new one.",
    )
    return redirect(reverse("scheduling:calendar") + "#feed")


@organization_required
@require_POST
def cronofy_connect(request):
    """Start connecting the person's calendar: to the calendar service's sign-in page (at the
    data center of the organization's application there)."""
    state = cal.new_state()
    try:
        url = cal.cronofy_authorization_url(
            organization=request.organization, redirect_uri=oauth_redirect_uri(), state=state
        )
    except calendar_service.CalendarNotConfigured:
        messages.error(
            request,
            "Calendars can't be connected yet: an admin must first add the "
            f"{selectors.calendar_service_name()} settings in Settings → Calendars. Until then "
            "your built-in calendar (working hours and busy times below) is used.",
        )
        return redirect(reverse("scheduling:calendar") + "#connect")
    except ValueError as exc:
        messages.error(request, f"Calendars can't be connected: {exc}")
        return redirect(reverse("scheduling:calendar") + "#connect")
    request.session[SESSION_OAUTH] = {
        "state": state,
        "organization": request.organization.pk,
        "user": request.user.pk,
    }
    return redirect(url)


@organization_required
def cronofy_callback(request):
    """The calendar service sends the person back here with a code (or an error)."""
    back = reverse("scheduling:calendar") + "#connect"
    if not cal.oauth_return_matches(request, SESSION_OAUTH, per_user=True):
        messages.error(
            request,
            "That calendar authorization could not be matched to a “Connect calendar” press in "
            "this browser (it may be old, or from another tab or organization). Nothing was "
            "changed. Press “Connect calendar” again.",
        )
        return redirect(back)
    error = request.GET.get("error", "")
    if error:
        if error == "access_denied":
            messages.error(
                request,
                "You didn't allow RecruitFlow to use your calendar, so nothing was connected. "
                "Press “Connect calendar” again and choose Allow to connect it; until then your "
                "built-in calendar is used.",
            )
        else:
            detail = request.GET.get("error_description") or error
            messages.error(
                request,
                f"{selectors.calendar_service_name()} did not connect your calendar ({detail}). "
                "Nothing was changed. Press “Connect calendar” to try again.",
            )
        return redirect(back)
    code = request.GET.get("code", "")
    if not code:
        messages.error(
            request,
            f"{selectors.calendar_service_name()} sent no authorization code. Press “Connect "
            "calendar” to try again.",
        )
        return redirect(back)
    try:
        result = cal.cronofy_connect_complete(
            organization=request.organization,
            user=request.user,
            code=code,
            redirect_uri=oauth_redirect_uri(),
        )
    except calendar_service.CalendarNotConfigured as exc:
        messages.error(request, f"Your calendar was not connected: {exc}")
        return redirect(back)
    except ProviderError as exc:
        messages.error(request, f"Your calendar was not connected. {exc}")
        return redirect(back)
    connection = result.connection
    if connection.connected:
        messages.success(request, f"Connected: {cal.connection_label(connection)}.")
    else:
        messages.error(
            request, f"Your calendar account was reached but not connected: {connection.last_error}"
        )
    for problem in result.problems:
        messages.warning(request, problem)
    return redirect(back)


@organization_required
@require_POST
def cronofy_disconnect(request):
    connection = cal.cronofy_disconnect(organization=request.organization, user=request.user)
    if connection is None:
        messages.info(request, "No calendar was connected.")
    else:
        text = (
            "Calendar disconnected. Candidates are now offered times inside your working hours "
            "that aren't blocked here."
        )
        if connection.last_error:
            text += f" {connection.last_error}"
        messages.success(request, text)
    return redirect(reverse("scheduling:calendar") + "#connect")
