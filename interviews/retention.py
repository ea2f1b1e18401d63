"""How long recordings are kept, and deleting them.

Each organization keeps recordings for its retention period (``InterviewPolicy.retention_days``,
180 days when it never chose; Settings → Video interviews). The period runs from when the
interview ended: its completion for a completed or reviewed interview, the end of its link for
one that expired or was cancelled (the last moment a candidate could have recorded). Once past
it, the beat task deletes every file of every take — the original upload, the MP4 rendition,
the poster and any chunk objects left under the take's folder — sets
``VideoInterview.recordings_deleted_at`` and leaves a tombstone on the candidate's timeline.
The interview and its answers' rows stay (question, duration, status, reviews), so the
Interviews page and its counts stay true.

:func:`interview_recordings_delete` is shared with the erasure of a candidate's data
(``interviews.erasure``).
"""

from __future__ import annotations

import logging
import posixpath
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from candidates.models import TimelineEvent
from recruitflow.tenancy import scopes_disabled

from .models import Answer, InterviewPolicy, InterviewStatus, VideoInterview, recording_path
from .storage import is_filesystem, recordings_storage
from .timeline_kinds import VIDEO_RECORDINGS_DELETED

logger = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS: int = InterviewPolicy._meta.get_field("retention_days").default
# The shortest retention an organization may choose (the policy's validator): the sweep looks
# only at interviews that ended at least this long ago.
MIN_RETENTION_DAYS = 1
FILE_FIELDS = ("original", "rendition", "poster")
COMPLETED = (InterviewStatus.COMPLETED, InterviewStatus.REVIEWED)
LINK_ENDED = (InterviewStatus.EXPIRED, InterviewStatus.CANCELLED)


def retention_days_for(organization) -> int:
    """The organization's retention period in days (the default when it never chose one)."""
    policy = InterviewPolicy.objects.filter(organization=organization).first()
    return policy.retention_days if policy is not None else DEFAULT_RETENTION_DAYS


@transaction.atomic
def policy_save(*, organization, retention_days: int) -> InterviewPolicy:
    """Set the organization's retention period (Settings → Video interviews). A value outside
    the policy's range raises ``ValidationError`` saying the range."""
    policy = InterviewPolicy.objects.select_for_update().filter(
        organization=organization
    ).first() or InterviewPolicy(organization=organization)
    policy.retention_days = retention_days
    policy.full_clean()
    policy.save()
    return policy


def _ended_before(cutoff: datetime) -> Q:
    return Q(status__in=COMPLETED, completed_at__lt=cutoff) | Q(
        status__in=LINK_ENDED, expires_at__lt=cutoff
    )


# ----------------------------------------------------------------------------------------------
# Deleting the files
# ----------------------------------------------------------------------------------------------


def _folder_delete(storage, folder: str) -> int:
    """Delete every file under ``folder`` (chunk objects included), then the emptied folders
    where the storage has folders. Returns how many files went."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return 0
    deleted = 0
    for name in files:
        storage.delete(posixpath.join(folder, name))
        deleted += 1
    for name in folders:
        deleted += _folder_delete(storage, posixpath.join(folder, name))
    _empty_folder_delete(storage, folder)
    return deleted


def _empty_folder_delete(storage, folder: str) -> None:
    # On the filesystem an emptied folder is removed too; an object store has no folders.
    if not is_filesystem(storage):
        return
    try:
        if not any(storage.listdir(folder)):
            storage.delete(folder)
    except FileNotFoundError:
        pass


def _answer_files_delete(storage, answer: Answer) -> int:
    deleted = 0
    for field in FILE_FIELDS:
        name = getattr(answer, field).name
        if name and storage.exists(name):
            storage.delete(name)
            deleted += 1
    # The take's folder: chunks still waiting to be joined, files of fields already cleared.
    return deleted + _folder_delete(storage, posixpath.dirname(recording_path(answer, "x")))


def interview_recordings_delete(*, interview: VideoInterview, now: datetime) -> int:
    """Delete every recording file of ``interview``'s takes, clear their file fields and set
    ``recordings_deleted_at`` (kept when already set). Returns how many files were deleted. A
    storage error is raised, so the caller's transaction keeps the interview for another try."""
    storage = recordings_storage()
    deleted = 0
    answers = list(
        Answer.objects.filter(organization_id=interview.organization_id, interview=interview)
    )
    for answer in answers:
        deleted += _answer_files_delete(storage, answer)
    if answers:
        Answer.objects.filter(
            organization_id=interview.organization_id, interview=interview
        ).update(original="", rendition="", poster="")
        _empty_folder_delete(storage, f"interviews/{interview.organization_id}/{interview.pk}")
    if interview.recordings_deleted_at is None:
        interview.recordings_deleted_at = now
        interview.save(update_fields=["recordings_deleted_at"])
    return deleted


# ----------------------------------------------------------------------------------------------
# The retention sweep
# ----------------------------------------------------------------------------------------------


def organizations_due(*, now: datetime | None = None) -> list[int]:
    """Organizations with an interview whose recordings may be past their retention (the beat
    fan-out; each organization then applies its own period)."""
    cutoff = (now or timezone.now()) - timedelta(days=MIN_RETENTION_DAYS)
    with scopes_disabled():  # beat fan-out: every organization's interviews, ids only
        return sorted(
            set(
                VideoInterview.unscoped.filter(recordings_deleted_at__isnull=True)
                .filter(_ended_before(cutoff))
                .values_list("organization_id", flat=True)
            )
        )


def recordings_expire(*, organization, now: datetime | None = None) -> int:
    """Delete the recordings of the organization's interviews that ended more than its
    retention period ago, each with a tombstone on the candidate's timeline. Safe to run
    twice: an interview is locked and skipped once its recordings are deleted. Returns how
    many interviews' recordings went."""
    now = now or timezone.now()
    days = retention_days_for(organization)
    due = list(
        VideoInterview.objects.filter(organization=organization, recordings_deleted_at__isnull=True)
        .filter(_ended_before(now - timedelta(days=days)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    done = 0
    for pk in due:
        with transaction.atomic():
            interview = (
                VideoInterview.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("template")
                .filter(organization=organization, pk=pk, recordings_deleted_at__isnull=True)
                .first()
            )
            if interview is None:
                continue  # another worker has it, or already did it
            had_answers = interview.answers.exists()
            files = interview_recordings_delete(interview=interview, now=now)
            if had_answers:
                TimelineEvent.objects.create(
                    organization=organization,
                    candidate_id=interview.candidate_id,
                    application_id=interview.application_id,
                    kind=VIDEO_RECORDINGS_DELETED,
                    summary=f"Recordings of the video interview '{interview.template.name}' were "
                    f"deleted after {days} days (the organization's retention)",
                    detail=f"{files} file{'s' if files != 1 else ''} deleted; the questions, "
                    "durations and reviews stay.",
                    data={"interview_id": interview.pk, "files": files, "retention_days": days},
                    occurred_at=now,
                )
            done += 1
    if done:
        logger.info(
            "Recordings of %s interviews of organization %s deleted.", done, organization.pk
        )
    return done
