"""Uploading SMS transcripts to the candidate in the ATS (as a texting product's ATS
integration does).

A conversation whose last text is at least ``transcript_quiet_hours`` old (the ATS activity
rules, default 12) gets its transcript uploaded as a PDF file on the candidate, through the
outbox (``writeback.services.attachment_enqueue``: made as the rules' acting user, paced,
retried, never twice). The dedupe key is the conversation and its last text
(``transcript:<conversation id>:<last message id>``): the same state again uploads nothing,
and a later text makes a new key, so once that conversation is quiet again a new version is
uploaded (``…-v2-….pdf``) beside the earlier one. The PDF is rendered when the write runs, up
to the text it records, so it shows the delivery statuses of that moment.

Nothing is queued while the organization's ATS connection cannot attach files to a candidate
(its adapter says so: :func:`transcripts_unavailable`); Settings → ATS activity says so instead
of offering the rule.

Only settled conversations are uploaded: a text still queued, sending, held for quiet hours or
of unknown fate keeps the conversation waiting. The beat task ``writeback.upload_transcripts``
(every minute, ``migrations/0004_transcript_schedule.py``) looks at each recording
organization in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import CharField, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.text import slugify

from candidates.models import Provider
from integrations.connections import ats_connection_for, provider_for
from integrations.http import ProviderError
from messaging.models import Channel, Conversation, Message, MessageStatus
from writeback.models import ActivityWrite
from writeback.selectors import rules_for
from writeback.services import attachment_enqueue, register_attachment_producer
from writeback.transcripts import transcript_render

PRODUCER = "sms_transcript"
CONTENT_TYPE = "application/pdf"
# Conversations looked at per organization and run; the rest wait for the next run.
BATCH = 200
# A text in one of these states may still change (or go out): its conversation is not settled.
UNSETTLED = (
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.HELD,
    MessageStatus.UNKNOWN,
)
# ... unless it is older than this: messaging stops asking the provider about a text of unknown
# fate after three days, and a transcript must not wait for it forever.
UNSETTLED_FOR_AT_MOST = timedelta(days=3)


@dataclass(frozen=True)
class TranscriptDue:
    conversation: Conversation
    last_message_id: int
    last_message_at: datetime


def transcripts_unavailable(organization) -> str:
    """Why the organization's ATS connection cannot take transcript files (its adapter's
    words), or "" when it can or when no adapter can be made (the outbox reports that)."""
    connection = ats_connection_for(organization)
    if connection is None:
        return ""
    try:
        provider = provider_for(connection)
    except (ProviderError, ValueError):
        return ""
    return provider.file_upload_refusal()


def transcript_key(conversation_id: int, last_message_id: int) -> str:
    """What a transcript upload records: the conversation up to its last text."""
    return f"transcript:{conversation_id}:{last_message_id}"


def transcripts_due(*, organization, now: datetime | None = None) -> list[TranscriptDue]:
    """Conversations quiet for the rules' hours whose last text has no upload yet (oldest
    first). Empty while ATS activity or SMS transcripts are off."""
    rules = rules_for(organization).rules
    if not rules.enabled or not rules.sms_transcripts:
        return []
    if transcripts_unavailable(organization):
        return []
    now = now or timezone.now()
    cutoff = now - timedelta(hours=rules.transcript_quiet_hours)
    texts = Message.unscoped.filter(
        organization_id=organization.pk, conversation=OuterRef("pk"), channel=Channel.SMS
    )
    last = texts.order_by("-created_at", "-id")
    due = (
        Conversation.unscoped.filter(organization_id=organization.pk)
        .exclude(candidate__provider=Provider.RECRUITFLOW)  # not in an ATS
        .filter(candidate__deleted_at__isnull=True)
        .annotate(
            last_sms_id=Subquery(last.values("pk")[:1]),
            last_sms_at=Subquery(last.values("created_at")[:1]),
        )
        .filter(last_sms_at__lte=cutoff)
        .exclude(
            Exists(texts.filter(status__in=UNSETTLED, created_at__gte=now - UNSETTLED_FOR_AT_MOST))
        )
        .annotate(
            upload_key=Concat(
                Value("file:transcript:"),
                Cast("pk", CharField()),
                Value(":"),
                Cast("last_sms_id", CharField()),
            )
        )
        .exclude(
            Exists(
                ActivityWrite.objects.filter(
                    organization_id=organization.pk, dedupe_key=OuterRef("upload_key")
                )
            )
        )
        .select_related("candidate")
        .order_by("last_sms_at", "pk")[:BATCH]
    )
    return [TranscriptDue(c, c.last_sms_id, c.last_sms_at) for c in due]


def transcript_filename(*, organization, conversation: Conversation, version: int, at) -> str:
    """``sms-transcript-<candidate>-v<version>-<date of the last text>.pdf`` (stable for one
    version: a retry looks the file up by this name)."""
    name = slugify(conversation.candidate.full_name) or f"candidate-{conversation.candidate_id}"
    day = at.astimezone(ZoneInfo(organization.time_zone)).strftime("%Y-%m-%d")
    return f"sms-transcript-{name}-v{version}-{day}.pdf"


def transcript_upload_enqueue(*, organization, due: TranscriptDue) -> tuple[ActivityWrite, bool]:
    """Queue the upload of one version of a conversation's transcript (idempotent)."""
    conversation = due.conversation
    earlier = ActivityWrite.objects.filter(
        organization=organization,
        dedupe_key__startswith=f"file:transcript:{conversation.pk}:",
    ).count()
    version = earlier + 1
    return attachment_enqueue(
        organization=organization,
        candidate=conversation.candidate,
        filename=transcript_filename(
            organization=organization,
            conversation=conversation,
            version=version,
            at=due.last_message_at,
        ),  # fmt: skip
        content_type=CONTENT_TYPE,
        dedupe_key=transcript_key(conversation.pk, due.last_message_id),
        producer=PRODUCER,
        producer_args={"conversation_id": conversation.pk, "last_message_id": due.last_message_id},
        subject=f"SMS transcript (version {version})",
        occurred_at=due.last_message_at,
    )


def transcripts_enqueue_due(*, organization, now: datetime | None = None) -> int:
    """Queue the uploads of every conversation now due; returns how many were queued."""
    queued = 0
    for due in transcripts_due(organization=organization, now=now):
        _, created = transcript_upload_enqueue(organization=organization, due=due)
        queued += created
    return queued


def transcript_pdf(*, organization, candidate, write: ActivityWrite) -> bytes:
    """The outbox's producer: the PDF of the version ``write`` records (rendered now, so its
    statuses are those of the upload; it ends at the text named in its key)."""
    args = write.producer_args
    conversation = (
        Conversation.unscoped.filter(organization_id=organization.pk, pk=args["conversation_id"])
        .select_related("candidate")
        .get()
    )
    up_to = Message.unscoped.get(organization_id=organization.pk, pk=args["last_message_id"])
    return transcript_render(organization=organization, conversation=conversation, up_to=up_to).pdf


# The outbox renders each upload with this producer when the write runs. Registered when this
# module loads: ``writeback.tasks`` imports it, so every worker that runs the outbox has it.
register_attachment_producer(PRODUCER, transcript_pdf)
