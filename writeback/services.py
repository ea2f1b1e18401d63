"""Writes of the write-back domain: outbox rows, attachments, pauses, rules and retries.

Public entry points other code may call:

* :func:`attachment_enqueue` — queue a file upload to the candidate in the ATS (the PDF text
  transcript uses it). Give the bytes, or the name of a producer registered with
  :func:`register_attachment_producer` that renders them when the write runs.
* :func:`candidate_pause` / :func:`candidate_resume` — stop/restart recording a candidate.
* :func:`write_retry` — put a failed write back in the outbox (Settings → ATS activity).
* :func:`rules_update` — save an organization's rules (the acting user is picked by e-mail).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from candidates.models import AtsUser, Candidate, TimelineEvent
from messaging.models import EmailOptOutEntry, OptOutEntry
from writeback import timeline_kinds
from writeback.erasure import STOPPED_REASON
from writeback.models import (
    ActivityWrite,
    PauseSource,
    WritebackCursor,
    WritebackPause,
    WritebackRules,
    WriteKind,
    WriteStatus,
)
from writeback.notice import notice_send_once
from writeback.selectors import is_paused, rules_for

MARKER_PREFIX = "RecruitFlow ref"

# name -> producer(organization=, candidate=, write=) -> bytes
_ATTACHMENT_PRODUCERS: dict[str, Callable[..., bytes]] = {}


class WritebackError(Exception):
    """A request the write-back domain refuses, with a message a person can act on."""


def marker_for(organization_id: int, dedupe_key: str) -> str:
    """The text a write's body carries so it can be found in the ATS again (unique per write)."""
    digest = hashlib.sha256(f"{organization_id}:{dedupe_key}".encode()).hexdigest()[:16]
    return f"{MARKER_PREFIX} {digest}"


def with_marker(body: str, marker: str) -> str:
    return f"{body.rstrip()}\n\n— Recorded by RecruitFlow ({marker})"


def when_text(organization, moment: datetime) -> str:
    """A moment as the ATS note shows it: in the organization's zone, with the zone's name."""
    local = moment.astimezone(ZoneInfo(organization.time_zone or "UTC"))
    return f"{local:%d %b %Y %H:%M} {local.tzname()}"


# --------------------------------------------------------------------------------------------
# The outbox
# --------------------------------------------------------------------------------------------


def write_enqueue(
    *,
    organization,
    candidate_id: int,
    kind: str,
    dedupe_key: str,
    occurred_at: datetime,
    events: list[int] | None = None,
    subject: str = "",
    body: str = "",
    visibility: str = "",
    status: str = WriteStatus.PENDING,
    reason: str = "",
    due_at: datetime | None = None,
    **fields,
) -> tuple[ActivityWrite, bool]:
    """The outbox row for ``dedupe_key`` (created when new; ``(row, created)``). A pending row
    of a paused candidate is stored as paused: its activity is kept, not written; one of a
    candidate whose personal data was deleted is never written."""
    existing = ActivityWrite.objects.filter(organization=organization, dedupe_key=dedupe_key)
    row = existing.defer("data").first()
    if row is not None:
        return row, False
    if status == WriteStatus.PENDING and is_paused(
        organization=organization, candidate_id=candidate_id
    ):
        status, reason = WriteStatus.PAUSED, "paused for this candidate"
    if Candidate.objects.filter(
        organization=organization, pk=candidate_id, erased_at__isnull=False
    ).exists():
        status, reason = WriteStatus.RULE_OFF, STOPPED_REASON
    try:
        with transaction.atomic():
            row = ActivityWrite.objects.create(
                organization=organization,
                candidate_id=candidate_id,
                kind=kind,
                dedupe_key=dedupe_key[:200],
                events=list(events or []),
                subject=subject[:500],
                body=body,
                visibility=visibility,
                marker=marker_for(organization.pk, dedupe_key),
                status=status,
                reason=reason,
                occurred_at=occurred_at,
                next_attempt_at=(due_at or timezone.now())
                if status == WriteStatus.PENDING
                else None,
                **fields,
            )
    except IntegrityError:  # a concurrent reader stored it first
        return existing.defer("data").get(), False
    if status == WriteStatus.PENDING:
        # The candidate's first activity about to be written: their recording notice, if the
        # organization sends one and they never had it (see writeback.notice).
        notice_send_once(organization=organization, candidate_id=candidate_id)
    return row, True


def register_attachment_producer(name: str, producer: Callable[..., bytes]) -> None:
    """Make ``producer(organization=, candidate=, write=)`` render the bytes of attachment
    writes that name it (called by the worker when the write runs, so a file is rendered from
    the data of that moment). Register in the app's ``ready()``."""
    _ATTACHMENT_PRODUCERS[name] = producer


def attachment_producer(name: str) -> Callable[..., bytes]:
    try:
        return _ATTACHMENT_PRODUCERS[name]
    except KeyError:
        raise WritebackError(f"No attachment producer named {name!r} is registered.") from None


def attachment_enqueue(
    *,
    organization,
    candidate,
    filename: str,
    content_type: str,
    dedupe_key: str,
    data: bytes | None = None,
    producer: str = "",
    producer_args: dict | None = None,
    subject: str = "",
    occurred_at: datetime | None = None,
) -> tuple[ActivityWrite, bool]:
    """Queue the upload of ``filename`` to ``candidate`` in the ATS; returns ``(row, created)``.

    Exactly one of ``data`` (the bytes) and ``producer`` (a name given to
    :func:`register_attachment_producer`; ``producer_args`` is stored with the row and passed
    on as ``write.producer_args``) is required. ``dedupe_key`` names what the file records
    (e.g. ``transcript:<conversation id>:<last message id>``): the same key again returns the
    existing row and uploads nothing, and a retry after an ambiguous failure first lists the
    candidate's files for ``filename``, so a file is never uploaded twice. The upload honours
    the master switch and the candidate's pause like every other write (a paused or switched
    off upload is kept as such, not sent); it is made as the rules' acting user.
    """
    if (data is None) == (not producer):
        raise WritebackError("Give either the file's bytes or the name of its producer.")
    if producer:
        attachment_producer(producer)  # fail now, not in the worker
    if not filename.strip():
        raise WritebackError("The file needs a name.")
    effective = rules_for(organization).rules
    status, reason = WriteStatus.PENDING, ""
    if not effective.enabled:
        status, reason = WriteStatus.RULE_OFF, "ATS activity is off"
    return write_enqueue(
        organization=organization,
        candidate_id=candidate.pk,
        kind=WriteKind.ATTACHMENT,
        dedupe_key=f"file:{dedupe_key}",
        occurred_at=occurred_at or timezone.now(),
        subject=subject or filename,
        filename=filename[:255],
        content_type=content_type[:100],
        data=data,
        producer=producer,
        producer_args=producer_args or {},
        status=status,
        reason=reason,
    )


def write_retry(*, organization, write_id: int) -> ActivityWrite:
    """Put a failed write back in the outbox now (it keeps its dedupe key and marker: if an
    earlier try landed after all, the worker finds it and writes nothing)."""
    row = ActivityWrite.objects.filter(organization=organization, pk=write_id).defer("data").first()
    if row is None:
        raise WritebackError("That write does not exist.")
    if row.status != WriteStatus.FAILED:
        raise WritebackError(
            f"Only failed writes can be retried; this one is {row.get_status_display().lower()}."
        )
    ActivityWrite.objects.filter(pk=row.pk, status=WriteStatus.FAILED).update(
        status=WriteStatus.PENDING, next_attempt_at=timezone.now(), reason="", attempts=0
    )
    row.refresh_from_db(fields=["status", "next_attempt_at", "reason", "attempts"])
    return row


def cursor_ensure(*, organization) -> WritebackCursor:
    """The organization's read cursor; a new one starts after what already happened, so
    switching ATS activity on never writes the past."""
    cursor = WritebackCursor.objects.filter(organization=organization).first()
    if cursor is None:
        last_event = TimelineEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
        last_entry = OptOutEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
        last_email = EmailOptOutEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
        WritebackCursor.objects.bulk_create(
            [
                WritebackCursor(
                    organization=organization,
                    last_event_id=last_event or 0,
                    last_opt_out_id=last_entry or 0,
                    last_email_opt_out_id=last_email or 0,
                )
            ],
            ignore_conflicts=True,
        )
        cursor = WritebackCursor.objects.get(organization=organization)
    return cursor


# --------------------------------------------------------------------------------------------
# Pauses
# --------------------------------------------------------------------------------------------


def candidate_pause(*, organization, candidate, source: str, user=None) -> WritebackPause:
    """Stop writing the candidate's activity to the ATS. Writes still waiting are kept and
    marked "not written (paused)"; written ones stay in the ATS. A pause by the candidate
    (their notice's link) is also told on their timeline."""
    if source not in PauseSource.values:
        raise WritebackError(f"Unknown pause source {source!r}.")
    with transaction.atomic():
        pause, created = WritebackPause.objects.get_or_create(
            organization=organization,
            candidate=candidate,
            defaults={"source": source, "paused_by": user},
        )
        if created and source == PauseSource.CANDIDATE_LINK:
            TimelineEvent.objects.create(
                organization=organization,
                candidate=candidate,
                kind=timeline_kinds.RECORDING_STOPPED_BY_CANDIDATE,
                summary="The candidate stopped the recording of this conversation in the ATS",
                detail="With the link in the e-mail that told them it is recorded.",
                occurred_at=pause.created_at,
            )
        ActivityWrite.objects.filter(
            organization=organization, candidate=candidate, status=WriteStatus.PENDING
        ).update(
            status=WriteStatus.PAUSED, reason="paused for this candidate", next_attempt_at=None
        )
    return pause


def candidate_resume(*, organization, candidate) -> None:
    """Record the candidate's activity again from now on (what happened while paused stays
    unwritten)."""
    WritebackPause.objects.filter(organization=organization, candidate=candidate).delete()


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

RULE_FIELDS = (
    "enabled",
    "outbound_emails",
    "outbound_texts",
    "first_reply",
    "later_replies",
    "bookings",
    "opt_outs",
    "journey_events",
    "video_interviews",
    "note_visibility",
    "text_batch_minutes",
    "sms_transcripts",
    "transcript_quiet_hours",
    "candidate_notice",
)


def acting_user_find(*, organization, email: str) -> AtsUser:
    """The synced ATS user with this e-mail; a clear error when there is none."""
    email = (email or "").strip()
    if not email:
        raise WritebackError("Type the e-mail of the ATS user RecruitFlow writes as.")
    users = list(AtsUser.objects.filter(organization=organization, email__iexact=email)[:2])
    if not users:
        raise WritebackError(
            f"No user of your ATS has the e-mail {email}. Check the spelling, or sync the ATS "
            "(Settings → Integrations) if the user was added recently."
        )
    return users[0]


def rules_update(
    *, organization, user=None, acting_user_email: str = "", **changes
) -> WritebackRules:
    """Save the organization's own rules (a sub-account stops inheriting its parent's)."""
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise WritebackError(f"Unknown rule(s): {', '.join(sorted(unknown))}.")
    ats_user = None
    if acting_user_email.strip():
        ats_user = acting_user_find(organization=organization, email=acting_user_email)
    with transaction.atomic():
        rules, _ = WritebackRules.objects.select_for_update().get_or_create(
            organization=organization
        )
        if changes.get("enabled") and ats_user is None and not rules.acting_user_external_id:
            raise WritebackError(
                "Type the e-mail of the ATS user RecruitFlow writes as before turning ATS "
                "activity on."
            )
        for name, value in changes.items():
            setattr(rules, name, value)
        if ats_user is not None:
            rules.acting_user_email = ats_user.email
            rules.acting_user_external_id = ats_user.external_id
            rules.acting_user_name = ats_user.name
        rules.updated_by = user
        rules.full_clean(exclude=["organization", "updated_by"])
        rules.save()
        cursor_ensure(organization=organization)
    return rules


def rules_delete(*, organization) -> None:
    """Drop the organization's own rules: it follows its parent's (or the defaults) again."""
    WritebackRules.objects.filter(organization=organization).delete()
