"""The five scheduling messages: render one for a request or a booking and send it.

A scheduling template names, for each message kind, a Library e-mail and/or a Library text
message (``<kind>_email`` / ``<kind>_sms``). :func:`notify` renders every configured channel with
the candidate's merge fields plus the scheduling link and the interview (its time in the
candidate's own zone, with the zone named) and queues it through the messaging outbox. The
Interview Invitation e-mail carries the booking's ``.ics`` (METHOD:REQUEST) and the Cancellation
Notification e-mail the cancelling ``.ics`` (METHOD:CANCEL), so calendar apps update the same
event.

Each send has an idempotency key, so running a notification twice (a retried task, two beat
ticks) queues one message per channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from candidates.models import TimelineEvent
from library import templating
from messaging import timeline_kinds
from messaging.services import CannotSend, message_send
from scheduling.words import (
    booking_attendees,
    cancel_link,
    duration_words,
    join_names,
    person_name,
    request_link,
    reschedule_link,
    template_interviewers,
    tidy_title,
    when_long,
)

from .ics import booking_ics
from .models import (
    MESSAGE_LABELS,
    Booking,
    BookingStatus,
    MeetingLink,
    SchedulingRequest,
    SchedulingTemplate,
)

KINDS = ("request", "reminder", "invitation", "day_before", "cancellation")
CHANNELS = ("email", "sms")
CHANNEL_LABELS = {"email": "e-mail", "sms": "text message"}
SOURCE = "scheduling"


def event_title(*, template: SchedulingTemplate, context: dict) -> str:
    """The template's event title with its merge fields filled in (the plain title when it
    cannot render: the Library editor refuses such titles, older rows keep working)."""
    try:
        text = templating.render_parts(
            channel=templating.SMS, text_body=template.event_title, context=context
        ).text
    except (templating.TemplateInvalid, ValueError, TypeError):
        text = template.event_title
    return tidy_title(text) or template.name


# ----------------------------------------------------------------------------------------------
# Sending
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One channel of one notification: queued (``message``) or not (``reason``)."""

    channel: str
    template_name: str
    message: object | None = None
    reason: str = ""

    @property
    def sent(self) -> bool:
        return self.message is not None


@dataclass
class NotifyResult:
    kind: str
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def label(self) -> str:
        return MESSAGE_LABELS[self.kind]

    @property
    def sent(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.sent]

    @property
    def skipped(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.sent]

    @property
    def configured(self) -> bool:
        return bool(self.deliveries)

    def channels_sent(self) -> str:
        """``"e-mail and text message"`` (what went out), or ``""``."""
        return join_names([CHANNEL_LABELS[d.channel] for d in self.sent])

    def problems(self) -> list[str]:
        return [
            f"{self.label} {CHANNEL_LABELS[d.channel]} not sent: {d.reason}" for d in self.skipped
        ]


def interview_fields(
    *,
    request: SchedulingRequest,
    booking: Booking | None,
    title: str,
) -> dict:
    template = request.template
    fields = {
        "title": title,
        "duration": duration_words(template.duration_minutes),
        "location": template.location,
        "video_link": template.video_link if template.meeting_link == MeetingLink.FIXED else "",
        "interviewers": join_names([person_name(u) for u in template_interviewers(template)]),
        "when": "",
        "reschedule_link": "",
        "cancel_link": "",
    }
    if booking is not None:
        minutes = int((booking.end - booking.start).total_seconds() // 60)
        fields.update(
            title=booking.title,
            duration=duration_words(minutes),
            location=booking.location,
            video_link=booking.video_link,
            interviewers=join_names([person_name(u) for u, _ in booking_attendees(booking)]),
            when=when_long(booking.start, booking.end, booking.candidate_time_zone),
        )
        if booking.status == BookingStatus.CONFIRMED:
            fields.update(
                reschedule_link=reschedule_link(request), cancel_link=cancel_link(request)
            )
    return fields


def message_context(
    *, organization, request: SchedulingRequest, booking: Booking | None = None
) -> dict:
    """The merge context of a scheduling message (also used for the event title)."""
    base = templating.merge_context(
        organization=organization, candidate=request.candidate, application=request.application
    )
    title = booking.title if booking else event_title(template=request.template, context=base)
    interview = interview_fields(request=request, booking=booking, title=title)
    return templating.merge_context(
        organization=organization,
        candidate=request.candidate,
        application=request.application,
        extra={
            "scheduling_link": request_link(request),
            "interview": interview,
            # The live interview's meeting link (a booking's conference, personal or fixed
            # link); before a booking only a fixed link is known.
            "interview_link": interview["video_link"],
        },
    )


def _idempotency_key(kind: str, channel: str, request, booking) -> str:
    if kind in ("invitation", "day_before") and booking is not None:
        # A reschedule (sequence + 1) sends a new invitation and a new day-before reminder.
        return f"sched-{request.pk}-{kind}-{booking.sequence}-{channel}"
    return f"sched-{request.pk}-{kind}-{channel}"


def _attachments(kind: str, *, organization, booking: Booking | None) -> list[dict]:
    if booking is None:
        return []
    if kind == "invitation":
        method, filename = "REQUEST", "invite.ics"
    elif kind == "cancellation":
        method, filename = "CANCEL", "cancel.ics"
    else:
        return []
    return [
        {
            "filename": filename,
            "mimetype": f"text/calendar; method={method}",
            "content": booking_ics(booking, method=method, organization=organization),
        }
    ]


def notify(
    *,
    organization,
    kind: str,
    request: SchedulingRequest,
    booking: Booking | None = None,
) -> NotifyResult:
    """Render and queue message ``kind`` for ``request`` (and its ``booking``) on every channel
    the template configures. A channel that cannot go out (no address, opted out, a template
    that cannot render) is a skipped :class:`Delivery` with the reason; messaging records
    address and opt-out skips on the timeline, this function records render failures."""
    if kind not in KINDS:
        raise ValueError(f"Unknown scheduling message {kind!r}; use one of {', '.join(KINDS)}.")
    template = request.template
    result = NotifyResult(kind)
    context = None
    for channel in CHANNELS:
        library_template = template.message_template(kind, channel)
        if library_template is None:
            continue
        if context is None:
            context = message_context(organization=organization, request=request, booking=booking)
        try:
            rendered = templating.render(library_template, context)
        except (templating.TemplateInvalid, ValueError, TypeError) as exc:
            reason = (
                f"the Library template “{library_template.name}” can't be rendered ({exc}); "
                "fix it in the Library"
            )
            result.deliveries.append(Delivery(channel, library_template.name, reason=reason))
            _record_problem(organization=organization, request=request, kind=kind, reason=reason)
            continue
        try:
            message = message_send(
                organization=organization,
                candidate=request.candidate,
                channel=channel,
                body=rendered.text,
                subject=rendered.subject,
                html=rendered.html,
                source=SOURCE,
                idempotency_key=_idempotency_key(kind, channel, request, booking),
                attachments=_attachments(kind, organization=organization, booking=booking)
                if channel == "email"
                else None,
            )
        except CannotSend as exc:
            result.deliveries.append(Delivery(channel, library_template.name, reason=exc.reason))
            continue
        result.deliveries.append(Delivery(channel, library_template.name, message=message))
    return result


def _record_problem(*, organization, request: SchedulingRequest, kind: str, reason: str) -> None:
    TimelineEvent.objects.create(
        organization=organization,
        candidate=request.candidate,
        application=request.application,
        kind=timeline_kinds.MESSAGE_SKIPPED,
        summary=f"{MESSAGE_LABELS[kind]} not sent"[:500],
        detail=reason,
        data={"source": SOURCE, "request_id": request.pk, "message": kind},
        occurred_at=timezone.now(),
    )


# ----------------------------------------------------------------------------------------------
# The public link's confirmation e-mail
# ----------------------------------------------------------------------------------------------


def public_link_confirmation(*, organization, candidate, title: str, link: str, hours: int):
    """E-mail ``candidate`` (at the address we hold for them) the link that ties a booking made
    on a public scheduling link to them: someone typed their address there, and only the
    person who reads that inbox may book as them. Goes out at once (not held for quiet hours:
    the visitor is waiting for it). Returns the Message; raises ``messaging.services.CannotSend``
    when the candidate has no e-mail address."""
    company = organization.name
    validity = f"{hours} hour" + ("" if hours == 1 else "s")
    body = (
        f"Hello,\n\n"
        f"Someone asked to book {title} with {company} using this e-mail address on "
        f"{company}'s scheduling page.\n\n"
        f"If that was you, open this link to pick a time:\n{link}\n\n"
        f"The link works for {validity}. If it wasn't you, ignore this e-mail: nothing has "
        f"been booked and nothing about you has changed."
    )
    return message_send(
        organization=organization,
        candidate=candidate,
        channel="email",
        subject=f"Confirm it's you to book {title}",
        body=body,
        source=SOURCE,
        respect_quiet_hours=False,
    )
