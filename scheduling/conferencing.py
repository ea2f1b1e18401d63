"""The video meeting link of a booking: a conference created per booking in an interviewer's
connected calendar, an interviewer's personal meeting link, or the template's fixed link.

The template's ``meeting_link`` says what to try first; each option falls back to the next one
down when it can't give a link (conference → the host's personal link → the template's fixed
link → none). ``Booking.video_link`` is the link everyone is given (invitation, ``.ics``,
confirmation page, calendar events); ``meeting_link_source`` says where it came from.

**Conferences.** One conference per booking, in the calendar of its *host*: the first required
attendee whose calendar service is connected and whose conferencing is not known to be
disconnected. The host's event is upserted asking for a conference with the account's default
conferencing profile; the other attendees' events show the same join URL once it is known
(``ConferenceRequest(join_url=…)``), so there is never a second conference. A reschedule
upserts the same event id without a conferencing request, which keeps the conference (the
service moves it with the event).

The calendar service creates the conference asynchronously: the upsert is answered 202 with
no body, and reads of the event say ``pending`` until the join URL is there. So the Interview
Invitation waits for it: the event is read right after the upsert, then every
``POLL_SECONDS`` by the ``scheduling.conference_wait`` task (and at once when a change
notification shows the join URL). When it is still not there after ``WAIT_SECONDS`` (or the
host's conferencing is reported disconnected meanwhile) the booking falls back to the next
option, the host's event is given that link instead, the timeline says so and the invitation
goes out. Waiting is what the documented behaviour supports: a join URL arrives only through
a later read (or a notification), never in the upsert's answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from candidates.models import TimelineEvent
from integrations import calendar_service
from integrations.calendar_service import (
    CalendarConnection,
    CalendarConnectionStatus,
    CalendarNotConfigured,
    connection_provider,
)
from integrations.calendars import Conference, ConferenceRequest, ProviderError
from integrations.connections import CallRecorder
from recruitflow.tasks import task_named
from scheduling import timeline_kinds as scheduling_kinds

from . import calendars, notify
from .models import (
    Booking,
    BookingStatus,
    ConferenceStatus,
    MeetingLink,
    MemberCalendar,
    SchedulingTemplate,
)
from .selectors import calendar_service_name
from .words import person_name

logger = logging.getLogger(__name__)

WAIT_SECONDS = 60
POLL_SECONDS = 5
MAX_CHECKS = WAIT_SECONDS // POLL_SECONDS
WAIT_TASK = "scheduling.conference_wait"


def conferencing_disconnected_problem() -> str:
    return (
        f"Video conferencing disconnected — reconnect it in {calendar_service_name()} "
        "(sign in to the conferencing service again there). Until then your interviews use "
        "your personal meeting link or the template's link."
    )


# --------------------------------------------------------------------------------------------
# Who can host a conference, and the links to fall back to
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberConferencing:
    """What a member's calendar can do for meeting links (for the Library's notes)."""

    user_id: int
    can_create: bool
    personal_link: str
    problem: str = ""


def members_conferencing(*, organization, users) -> dict[int, MemberConferencing]:
    """Each user's conferencing: can their calendar create conferences, their personal link,
    and why not (in words naming them)."""
    users = list(users)
    ids = [user.pk for user in users]
    connections = {
        row.user_id: row
        for row in CalendarConnection.objects.filter(organization=organization, user_id__in=ids)
    }
    calendars_ = {
        row.user_id: row
        for row in MemberCalendar.objects.filter(organization=organization, user_id__in=ids)
    }
    out = {}
    for user in users:
        connection = connections.get(user.pk)
        calendar = calendars_.get(user.pk)
        personal = calendar.personal_meeting_link if calendar else ""
        name = person_name(user)
        if connection is None or connection.status != CalendarConnectionStatus.CONNECTED:
            problem = (
                f"{name} has no connected calendar that can create video conferences "
                f"(connect one in Schedule → My calendar)."
            )
            out[user.pk] = MemberConferencing(user.pk, False, personal, problem)
        elif calendar is not None and calendar.conferencing_problem:
            problem = f"{name}'s video conferencing is disconnected: reconnect it in " + (
                f"{calendar_service_name()}, then say so on their My calendar page."
            )
            out[user.pk] = MemberConferencing(user.pk, False, personal, problem)
        else:
            out[user.pk] = MemberConferencing(user.pk, True, personal)
    return out


def _attendees(booking: Booking) -> list:
    ids = [int(pk) for pk in booking.attendee_ids or []]
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=ids)}
    return [users[pk] for pk in ids if pk in users]


def _host(organization, booking: Booking, attendees: list):
    """The attendee whose calendar creates the conference (the current host while they can)."""
    abilities = members_conferencing(organization=organization, users=attendees)
    able = [user for user in attendees if abilities[user.pk].can_create]
    current = [user for user in able if user.pk == booking.conference_host_id]
    return (current or able or [None])[0]


def fallback_link(*, organization, booking: Booking, attendees: list | None = None):
    """``(link, source, who)``: the first attendee's personal link, else the template's fixed
    link, else no link. ``who`` names whose link it is (or "the template")."""
    attendees = _attendees(booking) if attendees is None else attendees
    template = booking.template
    if template.meeting_link != MeetingLink.FIXED:
        links = {
            row.user_id: row.personal_meeting_link
            for row in MemberCalendar.objects.filter(
                organization=organization, user_id__in=[u.pk for u in attendees]
            ).exclude(personal_meeting_link="")
        }
        for user in attendees:
            if links.get(user.pk):
                return links[user.pk], MeetingLink.PERSONAL, f"{person_name(user)}'s personal link"
    if template.video_link:
        return template.video_link, MeetingLink.FIXED, "the template's link"
    return "", MeetingLink.NONE, ""


def initial_link(*, organization, booking: Booking) -> None:
    """Set a new booking's link before it is saved (attendees placed): a conference starts
    with no link (it comes after the calendar push), the others are known now."""
    mode = booking.template.meeting_link
    if mode == MeetingLink.NONE:
        booking.video_link, booking.meeting_link_source = "", MeetingLink.NONE
    elif mode == MeetingLink.CONFERENCE:
        booking.video_link, booking.meeting_link_source = "", MeetingLink.CONFERENCE
    else:
        link, source, _ = fallback_link(organization=organization, booking=booking)
        booking.video_link, booking.meeting_link_source = link, source


# --------------------------------------------------------------------------------------------
# Pushing the events with their conference
# --------------------------------------------------------------------------------------------


def _read_conference(organization, booking: Booking) -> Conference | None:
    """The host's event's conference now; None when it can't be read (logged)."""
    connection = CalendarConnection.objects.filter(
        organization=organization,
        user_id=booking.conference_host_id,
        status=CalendarConnectionStatus.CONNECTED,
    ).first()
    if connection is None:
        return None
    recorder = CallRecorder(organization=organization, provider=calendar_service.IDENTIFIER)
    try:
        provider, account = connection_provider(connection, recorder=recorder)
        return provider.event_conference(account, booking.event_id, booking.start, booking.end)
    except (ProviderError, CalendarNotConfigured) as exc:
        logger.warning("Conference of booking %s can't be read: %s", booking.pk, exc)
        return None
    finally:
        if recorder.pending:
            recorder.flush()


def _save(booking: Booking, *fields: str) -> None:
    booking.save(update_fields=[*fields, "updated_at"])


def _record_ready(booking: Booking, conference: Conference) -> None:
    booking.conference_status = ConferenceStatus.READY
    booking.conference_url = conference.join_url
    booking.conference_provider = conference.provider[:100]
    booking.video_link = conference.join_url
    booking.meeting_link_source = MeetingLink.CONFERENCE
    _save(
        booking,
        "conference_status",
        "conference_url",
        "conference_provider",
        "video_link",
        "meeting_link_source",
    )


def _push(organization, booking: Booking, failed: list[int] | None = None) -> list[str]:
    """Upsert every attendee's event with what they should show of the conference."""
    host_id = booking.conference_host_id
    status = booking.conference_status

    def conference_for(user_id: int) -> ConferenceRequest | None:
        if status == ConferenceStatus.PENDING:
            if user_id == host_id:
                return ConferenceRequest() if booking.conference_requested_at is None else None
            return None
        if status == ConferenceStatus.READY:
            if user_id == host_id:
                return None  # keep the host's conference as it is (a reschedule moves it)
            return ConferenceRequest(
                join_url=booking.conference_url,
                provider_description=booking.conference_provider or "Video meeting",
            )
        if status == ConferenceStatus.FALLBACK and user_id == host_id and booking.video_link:
            # Replace the conference that never came with the link the candidate was given.
            return ConferenceRequest(join_url=booking.video_link, provider_description="Video call")
        return None

    return calendars.booking_events_push(
        organization=organization, booking=booking, conference_for=conference_for, failed=failed
    )


def _fallback(organization, booking: Booking, *, reason: str) -> None:
    link, source, who = fallback_link(organization=organization, booking=booking)
    booking.conference_status = ConferenceStatus.FALLBACK
    booking.video_link, booking.meeting_link_source = link, source
    _save(booking, "conference_status", "video_link", "meeting_link_source")
    uses = f"uses {who}: {link}" if link else "has no meeting link"
    calendars_problem_note(
        organization,
        booking,
        summary=f"No video conference for {booking.title}: the invitation {uses}",
        detail=reason,
    )


def calendars_problem_note(organization, booking: Booking, *, summary: str, detail: str) -> None:
    request = booking.request
    TimelineEvent.objects.create(
        organization=organization,
        candidate_id=request.candidate_id,
        application_id=request.application_id,
        kind=scheduling_kinds.MEETING_LINK_FALLBACK,
        summary=summary[:500],
        detail=detail,
        data={
            "request_id": request.pk,
            "template_id": request.template_id,
            "booking_id": booking.pk,
        },
        occurred_at=timezone.now(),
    )


def booking_calendar_push(*, organization, booking: Booking) -> list[str]:
    """Put the booking in its attendees' calendars with its meeting link: ask the host's
    calendar for a conference when the template wants one (once per booking), read the join
    URL back, and fall back to the next option when no attendee can host one. Returns the
    calendar problems as sentences. ``booking.conference_status`` is PENDING afterwards when
    the invitation must wait for the join URL (:func:`conference_wait_queue`)."""
    template: SchedulingTemplate = booking.template
    attendees = _attendees(booking)
    wants = template.meeting_link == MeetingLink.CONFERENCE
    hosting = booking.conference_status in (ConferenceStatus.READY, ConferenceStatus.PENDING)
    if wants and hosting and booking.conference_host_id not in [u.pk for u in attendees]:
        # The host left the interview (a reschedule): their event and its conference go.
        booking.conference_status, booking.conference_requested_at = "", None
        booking.conference_url = booking.conference_provider = ""
    if wants and not booking.conference_status:
        host = _host(organization, booking, attendees)
        if host is None:
            names = members_conferencing(organization=organization, users=attendees)
            reasons = [names[user.pk].problem for user in attendees if names[user.pk].problem]
            _fallback(
                organization,
                booking,
                reason=" ".join(reasons) or "No interviewer has a calendar for conferences.",
            )
            return _push(organization, booking)
        booking.conference_status = ConferenceStatus.PENDING
        booking.conference_host = host
        booking.conference_requested_at = None
        booking.video_link, booking.meeting_link_source = "", MeetingLink.CONFERENCE
        failed: list[int] = []
        problems = _push(organization, booking, failed)
        booking.conference_requested_at = timezone.now()
        _save(
            booking,
            "conference_status",
            "conference_host",
            "conference_requested_at",
            "conference_url",
            "conference_provider",
            "video_link",
            "meeting_link_source",
        )
        if host.pk in failed:
            _fallback(organization, booking, reason="\n".join(problems))
            return problems + _push(organization, booking)
        # Pending, or not readable yet (the service writes the event after its 202): the
        # invitation waits (conference_check falls back when it takes too long).
        conference = _read_conference(organization, booking)
        if conference is not None and conference.ready:
            _record_ready(booking, conference)
            return problems + _push(organization, booking)
        return problems
    problems = _push(organization, booking)
    if booking.conference_status == ConferenceStatus.PENDING:
        conference = _read_conference(organization, booking)
        if conference is not None and conference.ready:
            _record_ready(booking, conference)
            problems += _push(organization, booking)
    return problems


# --------------------------------------------------------------------------------------------
# Waiting for the join URL
# --------------------------------------------------------------------------------------------


def conference_wait_queue(*, organization, booking: Booking, check: int = 1) -> None:
    """Look at the conference again in ``POLL_SECONDS`` (the invitation waits for it)."""
    task_named(WAIT_TASK).apply_async(
        args=[organization.pk, booking.pk, check], countdown=POLL_SECONDS
    )


def conference_check(
    *, organization, booking_id: int, check: int | None = None, now: datetime | None = None
) -> str:
    """Read a pending conference once more: "ready" (join URL stored, invitation sent),
    "fallback" (the host's conferencing is disconnected, or — for the ``check``-th look of the
    wait task — ``WAIT_SECONDS`` have passed: the next link is used and the invitation sent),
    "waiting" (the wait task looks again later; without ``check`` nothing is queued), or
    "done" (nothing pending)."""
    now = now or timezone.now()
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("template", "request__candidate", "request__template")
            .filter(organization=organization, pk=booking_id)
            .first()
        )
        if booking is None or booking.conference_status != ConferenceStatus.PENDING:
            return "done"
        if booking.status != BookingStatus.CONFIRMED:
            return "done"
        calendar = MemberCalendar.objects.filter(
            organization=organization, user_id=booking.conference_host_id
        ).first()
        conference = None
        if calendar is None or not calendar.conferencing_problem:
            conference = _read_conference(organization, booking)
        if conference is not None and conference.ready:
            _record_ready(booking, conference)
            outcome = "ready"
        else:
            started = booking.conference_requested_at or now
            waited = (now - started).total_seconds()
            if calendar is not None and calendar.conferencing_problem:
                reason = calendar.conferencing_problem
            elif check is None:
                return "waiting"
            elif waited >= WAIT_SECONDS or check >= MAX_CHECKS:
                reason = (
                    f"{calendar_service_name()} had not created the conference "
                    f"{int(waited)} seconds after it was asked for."
                )
            else:
                transaction.on_commit(
                    lambda: conference_wait_queue(
                        organization=organization, booking=booking, check=check + 1
                    )
                )
                return "waiting"
            _fallback(organization, booking, reason=reason)
            outcome = "fallback"
    problems = _push(organization, booking)
    if problems:
        logger.warning("Calendar update after the conference of %s: %s", booking.pk, problems)
    notify.notify(
        organization=organization, kind="invitation", request=booking.request, booking=booking
    )
    return outcome


# --------------------------------------------------------------------------------------------
# The member's conferencing
# --------------------------------------------------------------------------------------------


def conferencing_disconnected(*, organization, channel_id: str) -> bool:
    """The calendar service says the member behind ``channel_id`` can't create conferences any
    more: their calendar shows it, new bookings fall back, waiting ones fall back now."""
    connection = CalendarConnection.objects.filter(
        organization=organization, channel_id=channel_id
    ).first()
    if connection is None:
        return False
    calendar, _ = MemberCalendar.objects.get_or_create(
        organization=organization,
        user_id=connection.user_id,
        defaults={"time_zone": getattr(organization, "time_zone", "") or "UTC"},
    )
    calendar.conferencing_problem = conferencing_disconnected_problem()[:300]
    calendar.conferencing_problem_at = timezone.now()
    calendar.save(update_fields=["conferencing_problem", "conferencing_problem_at", "updated_at"])
    waiting = Booking.objects.filter(
        organization=organization,
        conference_host_id=connection.user_id,
        conference_status=ConferenceStatus.PENDING,
        status=BookingStatus.CONFIRMED,
    ).values_list("pk", flat=True)
    for booking_id in list(waiting):
        conference_check(organization=organization, booking_id=booking_id)
    return True


def conferencing_reconnected(*, organization, user) -> None:
    """The member says they reconnected their conferencing: conferences are asked again."""
    MemberCalendar.objects.filter(organization=organization, user=user).update(
        conferencing_problem="", conferencing_problem_at=None, updated_at=timezone.now()
    )
