"""iCalendar files for bookings (RFC 5545 with the iTIP methods of RFC 5546).

* :func:`booking_ics` is the invitation attached to the Interview Invitation (METHOD:REQUEST)
  and to the Cancellation Notification (METHOD:CANCEL). The UID never changes for a booking and
  SEQUENCE grows with every reschedule and the cancellation, so the candidate's calendar app
  moves or removes the event it already has instead of adding a second one.
* :func:`feed_ics` is a member's subscription feed (METHOD:PUBLISH): their interviews and the
  busy time they entered in the built-in calendar.

Times are written in UTC (``…Z``), so no VTIMEZONE is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from integrations.messaging_screens import MessagingScreen
from integrations.screens import screens_for

from .models import Booking, BookingStatus, BusyBlock
from .words import booking_attendees, cancel_link, person_name, request_link, reschedule_link

PRODID = "-//RecruitFlow//Interview scheduling//EN"
METHODS = ("REQUEST", "CANCEL")


def organizer_address(organization) -> tuple[str, str]:
    """``(name, email)`` the invitations come from: the sender of the organization's e-mail
    vendor (its own or the nearest parent's), else the site's default sender. The name is the
    organization's."""
    email = ""
    vendors = [s for s in screens_for("email") if isinstance(s, MessagingScreen)]
    for node in organization.ancestors():
        email = next((found for s in vendors if (found := s.sender_email(node))), "")
        if email:
            break
    if not email:
        email = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    return organization.name, email


def _address(email: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    for key, value in params.items():
        address.params[key] = vText(value) if key == "CN" else value
    return address


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _calendar(method: str | None, **extra: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    for key, value in extra.items():
        calendar.add(key, value)
    return calendar


def _description(booking: Booking, *, with_candidate_links: bool, candidate_name: str) -> str:
    lines: list[str] = []
    description = (booking.template.description or "").strip()
    if description:
        lines += [description, ""]
    if not with_candidate_links:
        lines.append(f"Candidate: {candidate_name}")
    if booking.video_link:
        lines.append(f"Join the video meeting: {booking.video_link}")
    if booking.location:
        lines.append(f"Where: {booking.location}")
    if with_candidate_links and booking.status == BookingStatus.CONFIRMED:
        request = booking.request
        lines += [
            "",
            f"Need another time? Reschedule: {reschedule_link(request)}",
            f"Can't make it? Cancel: {cancel_link(request)}",
        ]
    return "\n".join(lines).strip()


def _booking_event(
    booking: Booking,
    *,
    organization,
    cancelled: bool,
    for_candidate: bool,
    stamp: datetime,
) -> Event:
    candidate = booking.candidate
    event = Event()
    event.add("uid", booking.ics_uid)
    event.add("sequence", booking.sequence)
    event.add("dtstamp", _utc(stamp))
    event.add("dtstart", _utc(booking.start))
    event.add("dtend", _utc(booking.end))
    event.add("summary", booking.title)
    event.add(
        "description",
        _description(
            booking, with_candidate_links=for_candidate, candidate_name=candidate.full_name
        ),
    )
    where = booking.location or booking.video_link
    if where:
        event.add("location", where)
    # The meeting link is what calendar apps offer to join; without one the candidate's copy
    # links to their booking page (reschedule, cancel).
    if booking.video_link:
        event.add("url", booking.video_link)
    elif for_candidate:
        event.add("url", request_link(booking.request))
    name, email = organizer_address(organization)
    event.add("organizer", _address(email, CN=name))
    for user, required in booking_attendees(booking):
        if not user.email:
            continue
        event.add(
            "attendee",
            _address(
                user.email,
                CN=person_name(user),
                CUTYPE="INDIVIDUAL",
                ROLE="REQ-PARTICIPANT" if required else "OPT-PARTICIPANT",
                PARTSTAT="ACCEPTED",
            ),
        )
    if candidate.primary_email:
        event.add(
            "attendee",
            _address(
                candidate.primary_email,
                CN=candidate.full_name,
                CUTYPE="INDIVIDUAL",
                ROLE="REQ-PARTICIPANT",
                PARTSTAT="NEEDS-ACTION",
                RSVP="TRUE",
            ),
        )
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event


def booking_ics(booking: Booking, *, method: str = "REQUEST", organization) -> str:
    """The booking as an iTIP message: ``REQUEST`` (invite or update, SEQUENCE as stored) or
    ``CANCEL`` (STATUS:CANCELLED). The cancelling service raises SEQUENCE before this is built."""
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"Unknown calendar method {method!r}; use REQUEST or CANCEL.")
    cancelled = method == "CANCEL" or booking.status == BookingStatus.CANCELLED
    calendar = _calendar(method)
    calendar.add_component(
        _booking_event(
            booking,
            organization=organization,
            cancelled=cancelled,
            for_candidate=True,
            stamp=timezone.now(),
        )
    )
    return calendar.to_ical().decode()


def feed_ics(
    *,
    organization,
    user,
    bookings: Iterable[Booking],
    busy_blocks: Iterable[BusyBlock],
) -> str:
    """A member's subscription feed: their interviews and their built-in busy time. (The
    selectors ``feed_bookings`` / ``feed_busy_blocks`` choose the rows.)"""
    stamp = timezone.now()
    calendar = _calendar(
        "PUBLISH",
        **{
            "x-wr-calname": f"Interviews of {person_name(user)} ({organization.name})",
            "x-wr-caldesc": "Interviews booked through RecruitFlow and busy time entered there.",
            "x-published-ttl": "PT15M",
        },
    )
    for booking in bookings:
        calendar.add_component(
            _booking_event(
                booking,
                organization=organization,
                cancelled=booking.status == BookingStatus.CANCELLED,
                for_candidate=False,
                stamp=stamp,
            )
        )
    for block in busy_blocks:
        event = Event()
        event.add("uid", f"busy-{block.pk}@recruitflow")
        event.add("dtstamp", _utc(stamp))
        event.add("dtstart", _utc(block.start))
        event.add("dtend", _utc(block.end))
        event.add("summary", block.title or "Busy")
        event.add("transp", "OPAQUE")
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical().decode()
