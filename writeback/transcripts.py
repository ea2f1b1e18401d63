"""The SMS conversation with a candidate as a PDF transcript (the file uploaded to the ATS).

The transcript carries the organization's brand (logo and colour), the candidate, the numbers
the conversation used, and every text with its time in the organization's time zone (named on
every line), its delivery status and who sent it: a team member, a journey (by name),
scheduling, an automatic reply, the API, or the candidate. It is rendered from HTML by
WeasyPrint, which may load nothing from outside: the logo is embedded as a ``data:`` URI and the
fetcher refuses every other address, so rendering never reaches the network or the disk.

``transcript_render`` is what the Inbox download and the ATS upload share; the upload (quiet
period, versions, dedupe) lives in ``writeback.transcript_uploads``.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import weasyprint
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from weasyprint.urls import URLFetcher

from journeys.models import StepRun
from messaging.email_layout import brand_colours
from messaging.inbox import message_status_label, sender_label
from messaging.models import Channel, Conversation, Direction, Message

TEMPLATE = "writeback/transcript.html"
# A logo larger than this is left out of the transcript (the organization's name stands in).
LOGO_MAX_BYTES = 2 * 1024 * 1024

_SENDER_KINDS = {
    "journey": "Journey",
    "scheduling": "Automatic (scheduling)",
    "auto_reply": "Automatic (keyword reply)",
    "api": "Partner API",
    "inbox": "Team member",
}


@dataclass(frozen=True)
class TranscriptLine:
    """One text as the transcript shows it."""

    message_id: int
    when: str  # e.g. "5 Dec 2026, 14:03:07 EST"
    inbound: bool
    sender: str  # e.g. "Dana Lee", "Onsite invitation · Sales Rep"
    sender_kind: str  # "Candidate", "Team member", "Journey", "Scheduling", ...
    from_number: str
    to_number: str
    body: str
    status: str
    status_detail: str


@dataclass(frozen=True)
class Transcript:
    """A rendered transcript: the PDF, its file name and the last text it covers."""

    pdf: bytes
    filename: str
    last_message_id: int | None
    message_count: int


def transcript_messages(
    *, organization, conversation: Conversation, up_to: Message | None = None
) -> list[Message]:
    """The conversation's texts, oldest first (e-mails are not part of an SMS transcript); with
    ``up_to``, only the texts until that one (a version of the transcript ends there)."""
    texts = Message.unscoped.filter(
        organization_id=organization.pk, conversation=conversation, channel=Channel.SMS
    )
    if up_to is not None:
        texts = texts.filter(
            Q(created_at__lt=up_to.created_at) | Q(created_at=up_to.created_at, pk__lte=up_to.pk)
        )
    return list(texts.select_related("sent_by").order_by("created_at", "id"))


def _moment(message: Message) -> datetime:
    # An outbound text happened when it left (held ones sat in the outbox first); an inbound
    # one when it was received.
    if message.direction == Direction.OUTBOUND and message.sent_at:
        return message.sent_at
    return message.created_at


def _local(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M:%S} {local.tzname()}"


def _journey_names(organization, messages: list[Message]) -> dict[int, str]:
    ids = [m.pk for m in messages if m.direction == Direction.OUTBOUND and m.source == "journey"]
    if not ids:
        return {}
    return dict(
        StepRun.unscoped.filter(organization_id=organization.pk, message_id__in=ids).values_list(
            "message_id", "run__journey__name"
        )
    )


def _sender(message: Message, candidate, journeys: dict[int, str]) -> tuple[str, str]:
    if message.direction == Direction.INBOUND:
        return candidate.full_name, "Candidate"
    if message.sent_by_id:
        return sender_label(message, candidate=candidate), "Team member"
    if message.source == "journey" and message.pk in journeys:
        return journeys[message.pk], "Journey"
    label = sender_label(message, candidate=candidate)
    return label, _SENDER_KINDS.get(message.source or "", "RecruitFlow")


def transcript_lines(
    *, organization, conversation: Conversation, up_to: Message | None = None
) -> list[TranscriptLine]:
    """Every text of the conversation (until ``up_to``) as the transcript shows it."""
    zone = ZoneInfo(organization.time_zone)
    candidate = conversation.candidate
    messages = transcript_messages(
        organization=organization, conversation=conversation, up_to=up_to
    )
    journeys = _journey_names(organization, messages)
    lines = []
    for message in messages:
        sender, kind = _sender(message, candidate, journeys)
        status = message_status_label(message, zone=organization.time_zone)
        lines.append(
            TranscriptLine(
                message_id=message.pk,
                when=_local(_moment(message), zone),
                inbound=message.direction == Direction.INBOUND,
                sender=sender,
                sender_kind=kind,
                from_number=message.from_address,
                to_number=message.to_address,
                body=message.body,
                status=status.text,
                status_detail=status.detail or "",
            )
        )
    return lines


def _logo_data_uri(organization) -> str | None:
    if not organization.logo:
        return None
    try:
        with organization.logo.open("rb") as handle:
            data = handle.read(LOGO_MAX_BYTES + 1)
    except (OSError, ValueError):
        return None  # a logo missing from storage must not stop the transcript
    if not data or len(data) > LOGO_MAX_BYTES:
        return None
    mime = mimetypes.guess_type(organization.logo.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _numbers(candidate, lines: list[TranscriptLine]) -> tuple[str, list[str]]:
    candidate_number = (candidate.mobile_phone or "").strip()
    ours: list[str] = []
    for line in lines:
        number = line.to_number if line.inbound else line.from_number
        if number and number != candidate_number and number not in ours:
            ours.append(number)
    return candidate_number, ours


def transcript_filename(candidate, generated_at: datetime, zone: ZoneInfo) -> str:
    stamp = generated_at.astimezone(zone).strftime("%Y-%m-%d-%H%M")
    name = slugify(candidate.full_name) or f"candidate-{candidate.pk}"
    return f"sms-transcript-{name}-{stamp}.pdf"


class _NoFetching(URLFetcher):
    """Only ``data:`` URIs (the embedded logo); anything else is refused, never fetched."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"data"}, allow_redirects=False)


def transcript_html(
    *,
    organization,
    conversation: Conversation,
    now: datetime | None = None,
    up_to: Message | None = None,
):
    """The transcript's HTML and what the PDF needs besides (lines, generation time)."""
    now = now or timezone.now()
    zone = ZoneInfo(organization.time_zone)
    candidate = conversation.candidate
    lines = transcript_lines(organization=organization, conversation=conversation, up_to=up_to)
    brand, ink = brand_colours(organization.brand_color)
    candidate_number, our_numbers = _numbers(candidate, lines)
    html = render_to_string(
        TEMPLATE,
        {
            "organization": organization,
            "brand": brand,
            "ink": ink,
            "logo": _logo_data_uri(organization),
            "candidate": candidate,
            "candidate_number": candidate_number,
            "our_numbers": our_numbers,
            "lines": lines,
            "zone_name": organization.time_zone,
            "generated_at": _local(now, zone),
            "first_at": lines[0].when if lines else "",
            "last_at": lines[-1].when if lines else "",
        },
    )
    return html, lines, now


def transcript_render(
    *,
    organization,
    conversation: Conversation,
    now: datetime | None = None,
    up_to: Message | None = None,
) -> Transcript:
    """The conversation's SMS transcript as a PDF (until the text ``up_to`` when given)."""
    html, lines, now = transcript_html(
        organization=organization, conversation=conversation, now=now, up_to=up_to
    )
    pdf = weasyprint.HTML(string=html, url_fetcher=_NoFetching()).write_pdf()
    zone = ZoneInfo(organization.time_zone)
    return Transcript(
        pdf=pdf,
        filename=transcript_filename(conversation.candidate, now, zone),
        last_message_id=lines[-1].message_id if lines else None,
        message_count=len(lines),
    )
