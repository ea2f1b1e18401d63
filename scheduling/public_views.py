"""The candidate's side of scheduling: the slot picker, the confirmation, the invitation file,
reschedule and cancel pages (the public scheduling link is in ``public_link_views``, what the
pages show and how they render in ``public_pages``).

Everything here is public: a signed token in the URL (scheduling.links) is the candidate's key.
A request is found with ``scopes_disabled()`` by its token, then every other read and write runs
inside ``tenant_scope`` of its organization, so a token can only ever reach its own request.
Unknown or tampered tokens get a plain 404 page that names nothing.

Times are shown in the candidate's zone: ``?tz=`` (set on first load from the browser by
static/js/booking.js, switchable with a select), else the zone they booked in, their stored zone,
or the template's; a ``tz`` that is not a zone falls back with a notice saying so. Times read
on the clock of ``?clock=`` (12 or 24, from the browser's locale by booking.js), else the one of
the organization's zone.
"""

from __future__ import annotations

import re
from functools import wraps

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from messaging.email_layout import brand_colours
from recruitflow.decorators import public
from recruitflow.tenancy import scopes_disabled, tenant_scope
from scheduling.public_pages import (
    brand_context,
    clock_for,
    current_time,
    detect_attrs,
    page_query,
    parse_start,
    render_booked,
    render_closed,
    render_picker,
    request_state,
    slot_label,
    to_booked,
    when_label,
    zone_for,
)

from . import ics, rules, services, words
from .models import (
    Booking,
    BookingStatus,
    CancelledBy,
    SchedulingRequest,
)

HEX_COLOUR = re.compile(r"^[0-9a-fA-F]{6}$")
REASON_MAX = 2000
VIEW_METHODS = ["GET", "HEAD", "POST"]


# --------------------------------------------------------------------------------------------
# Finding the request behind a token
# --------------------------------------------------------------------------------------------


def not_found(http_request):
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
            return not_found(http_request)
        with tenant_scope(scheduling_request.organization):
            return view(http_request, scheduling_request)

    return wrapper


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------


def _change(http_request, scheduling_request, write, *, start, zone, done, booking=None):
    """Book or move through ``write``; a lost race or a refusal shows the picker again with
    fresh times and says why, a closed request goes back to its page."""
    clock = clock_for(http_request, scheduling_request.organization)
    try:
        write()
    except rules.SlotTaken:
        return render_picker(
            http_request,
            scheduling_request,
            zone=zone,
            booking=booking,
            notice=(
                f"Someone has just booked {slot_label(start, zone, clock)}. "
                "Please pick another time."
            ),
            status=409,
        )
    except services.RequestClosed:
        return redirect("booking:page", scheduling_request.token)
    except services.SchedulingError as exc:
        return render_picker(
            http_request, scheduling_request, zone=zone, booking=booking, error=str(exc), status=400
        )
    return to_booked(scheduling_request.token, zone, done, clock)


@public
@never_cache
@require_http_methods(VIEW_METHODS)
@_for_request
def page(http_request, scheduling_request: SchedulingRequest):
    """The date picker, the chosen day's times and the confirm step (GET, ``?day=`` and
    ``?start=`` without script); POST ``start`` (ISO UTC), ``tz`` and ``clock`` books it."""
    organization = scheduling_request.organization
    state = request_state(scheduling_request, current_time())
    if state.name == "booked":
        if http_request.method == "POST":
            return redirect("booking:booked", scheduling_request.token)
        return render_booked(http_request, scheduling_request, state.booking, can_change=True)
    if state.name != "pending":
        return render_closed(http_request, scheduling_request, state)

    zone, zone_notice = zone_for(http_request, scheduling_request)
    if http_request.method != "POST":
        return render_picker(http_request, scheduling_request, zone=zone, zone_notice=zone_notice)

    start = parse_start(http_request.POST.get("start", ""))
    if start is None:
        return render_picker(
            http_request,
            scheduling_request,
            zone=zone,
            error="Pick a day and one of its times to book your interview.",
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
    state = request_state(scheduling_request, current_time())
    if state.name == "pending":
        return redirect("booking:page", scheduling_request.token)
    if state.name in ("booked", "past") and state.booking is not None:
        return render_booked(
            http_request, scheduling_request, state.booking, can_change=state.name == "booked"
        )
    return render_closed(http_request, scheduling_request, state)


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
    state = request_state(scheduling_request, current_time())
    if state.name == "pending":
        return redirect("booking:page", scheduling_request.token)
    if state.name != "booked":
        return render_closed(http_request, scheduling_request, state)
    booking = state.booking
    zone, zone_notice = zone_for(http_request, scheduling_request, booking)
    if http_request.method != "POST":
        return render_picker(
            http_request, scheduling_request, zone=zone, zone_notice=zone_notice, booking=booking
        )

    start = parse_start(http_request.POST.get("start", ""))
    if start is None:
        error = "Pick a day and one of its times to move your interview to."
    elif start == booking.start:
        error = "Your interview is already at that time. Pick a different time, or keep it."
    else:
        error = ""
    if error:
        return render_picker(
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
    state = request_state(scheduling_request, current_time())
    if state.name == "pending":
        return redirect("booking:page", scheduling_request.token)
    if state.name != "booked":
        return render_closed(http_request, scheduling_request, state)
    booking = state.booking
    zone, _notice = zone_for(http_request, scheduling_request, booking)
    clock = clock_for(http_request, organization)
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
        **brand_context(organization),
        **detect_attrs(http_request),
        "title": words.tidy_title(booking.title) or booking.title,
        "when": when_label(booking.start, booking.end, zone, clock),
        "zone": zone,
        "clock": clock,
        "query": page_query(zone, clock),
        "reason": reason,
        "reason_max": REASON_MAX,
        "error": error,
        "booked_url": reverse("booking:booked", args=[scheduling_request.token])
        + "?"
        + page_query(zone, clock),
        "reschedule_url": reverse("booking:reschedule", args=[scheduling_request.token]),
    }
    return render(
        http_request, "scheduling/public/cancel.html", context, status=400 if error else 200
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
