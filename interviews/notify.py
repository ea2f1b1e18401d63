"""The three messages of a video interview (invitation, reminder, completion): render one for an
interview and queue it on every channel its template configures.

A video template names, for each message, a Library e-mail and/or a Library text message
(``<kind>_email`` / ``<kind>_sms``). :func:`notify` renders each with the candidate's merge
fields plus ``interview_link`` (the candidate's recorder) and queues it through messaging's
outbox, which respects opt-outs and quiet hours. Every send has an idempotency key
(``video-<interview>-<kind>-<channel>``), so a retried task or a second sweep queues one
message per channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from library import templating
from messaging.services import CannotSend, message_send

from .links import recorder_url
from .models import MESSAGE_LABELS, VideoInterview

KINDS = ("invitation", "reminder", "completion")
CHANNELS = ("email", "sms")
CHANNEL_LABELS = {"email": "e-mail", "sms": "text message"}
SOURCE = "interviews"


@dataclass(frozen=True)
class Delivery:
    """One channel of one message: queued (``message``) or not (``reason``)."""

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

    def channels_sent(self) -> str:
        """``"e-mail and text message"`` (what went out), or ``""``."""
        return " and ".join(CHANNEL_LABELS[d.channel] for d in self.sent)

    def problems(self) -> list[str]:
        return [
            f"{self.label} {CHANNEL_LABELS[d.channel]} not sent: {d.reason}"
            for d in self.deliveries
            if not d.sent
        ]


def idempotency_key(interview: VideoInterview, kind: str, channel: str) -> str:
    return f"video-{interview.pk}-{kind}-{channel}"


def message_context(*, organization, interview: VideoInterview) -> dict:
    """The merge context of a video interview message: the candidate's fields and the link."""
    return templating.merge_context(
        organization=organization,
        candidate=interview.candidate,
        application=interview.application,
        extra={"interview_link": recorder_url(interview)},
    )


def notify(*, organization, kind: str, interview: VideoInterview) -> NotifyResult:
    """Render and queue message ``kind`` of ``interview`` on every channel its template
    configures. A channel that can't go out (no address, opted out, a template that can't
    render) is a skipped :class:`Delivery` with the reason; messaging records address and
    opt-out skips on the timeline, and the caller's timeline entry lists every skip."""
    if kind not in KINDS:
        raise ValueError(f"Unknown video interview message {kind!r}; use one of {KINDS}.")
    template = interview.template
    result = NotifyResult(kind)
    context = None
    for channel in CHANNELS:
        library_template = template.message_template(kind, channel)
        if library_template is None:
            continue
        if context is None:
            context = message_context(organization=organization, interview=interview)
        try:
            rendered = templating.render(library_template, context)
        except (templating.TemplateInvalid, ValueError, TypeError) as exc:
            reason = (
                f"the Library template “{library_template.name}” can't be rendered ({exc}); "
                "fix it in the Library"
            )
            result.deliveries.append(Delivery(channel, library_template.name, reason=reason))
            continue
        try:
            message = message_send(
                organization=organization,
                candidate=interview.candidate,
                channel=channel,
                body=rendered.text,
                subject=rendered.subject,
                html=rendered.html,
                source=SOURCE,
                idempotency_key=idempotency_key(interview, kind, channel),
            )
        except CannotSend as exc:
            result.deliveries.append(Delivery(channel, library_template.name, reason=exc.reason))
            continue
        result.deliveries.append(Delivery(channel, library_template.name, message=message))
    return result
