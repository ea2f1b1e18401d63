"""The candidate's answers arrive in chunks while they record: a take is started for a question,
its bytes are appended at ``Answer.bytes_received`` (the resume point), then it is finished and
queued for processing (``interviews.process_answer``).

The protocol is safe to retry at every step, so a dropped connection or a reloaded page never
loses or doubles a byte:

* a chunk at the current offset is appended; one at an older offset (a retry of a chunk that
  did land) is acknowledged without writing it twice, and only its unseen tail is appended;
* a chunk past the current offset (a gap) is refused with the offset to continue from;
* finishing checks the total size and is idempotent.

Where the bytes go depends on the recordings storage (:mod:`interviews.storage`), behind two
functions: :func:`storage_append` and :func:`storage_assemble`. On the filesystem the chunk is
appended to the original file itself; on an object store (S3) each chunk is its own object
``<folder>/chunks/<offset>`` and finishing concatenates them into the original.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from recruitflow.tasks import task_named

from .models import OPEN_STATUSES, Answer, AnswerStatus, InterviewStatus, VideoInterview
from .storage import is_filesystem, recordings_storage

# The largest answer we take (bytes); a few minutes of phone video is well under it.
MAX_ANSWER_BYTES = getattr(settings, "INTERVIEW_MAX_ANSWER_BYTES", 300 * 1024 * 1024)
# The largest single chunk (bytes): the page sends about one second of video per chunk.
MAX_CHUNK_BYTES = 8 * 1024 * 1024
# Takes that count against a question's retakes: finished ones that did not fail.
COUNTED_STATUSES = (AnswerStatus.UPLOADED, AnswerStatus.PROCESSING, AnswerStatus.READY)
INTERRUPTED = (
    "The recording was interrupted before it finished uploading. Please record this answer again."
)
EMPTY = "The recording was empty: no video reached us. Please record this answer again."

CONTAINER_EXTENSIONS = {
    "video/webm": "webm",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/x-matroska": "mkv",
    "video/ogg": "ogv",
    "video/3gpp": "3gp",
    "video/x-msvideo": "avi",
}


def size_words(n: int) -> str:
    """A byte count as people read it: "300 MB", "512 KB"."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    return f"{max(n // 1024, 1)} KB"


class UploadError(Exception):
    """A refused upload step: ``status`` is the HTTP status, the message says how to go on."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, offset: int | None = None):
        super().__init__(message)
        self.offset = offset


class InterviewClosed(UploadError):
    status = 409
    code = "closed"


class TakesUsed(UploadError):
    status = 409
    code = "takes_used"


class OffsetGap(UploadError):
    status = 409
    code = "offset_gap"


class SizeMismatch(UploadError):
    status = 409
    code = "size_mismatch"


class TakeNotFound(UploadError):
    status = 404
    code = "not_found"


class TooLarge(UploadError):
    status = 413
    code = "too_large"


# --------------------------------------------------------------------------------------------
# Questions and takes
# --------------------------------------------------------------------------------------------


def interview_is_open(interview: VideoInterview, now=None) -> bool:
    now = now or timezone.now()
    return interview.status in OPEN_STATUSES and interview.expires_at > now


def takes_allowed(interview: VideoInterview, question_index: int) -> int:
    """How many counted takes a question allows: the first one and its retakes."""
    return 1 + int(interview.questions[question_index].get("retakes", 0) or 0)


def _require_recording(interview: VideoInterview) -> None:
    if not interview_is_open(interview):
        raise InterviewClosed(
            "This interview is closed: it was completed, has expired or was cancelled."
        )
    if interview.status != InterviewStatus.STARTED:
        raise InterviewClosed("Please agree to the recording on the first page before answering.")


def _extension(content_type: str) -> str:
    base = (content_type or "").split(";")[0].strip().lower()
    return CONTAINER_EXTENSIONS.get(base, "webm" if not base else "bin")


@transaction.atomic
def take_start(*, interview: VideoInterview, question_index: int, content_type: str) -> Answer:
    """A new take of question ``question_index`` (0-based). An unfinished earlier take of that
    question is marked failed (it was interrupted); finished takes that did not fail count
    against the question's retakes, so a failed take can always be recorded again."""
    interview = VideoInterview.objects.select_for_update().get(pk=interview.pk)
    _require_recording(interview)
    if not 0 <= question_index < len(interview.questions):
        raise UploadError(
            f"There is no question {question_index + 1}: this interview has "
            f"{len(interview.questions)} questions."
        )
    base_type = (content_type or "").split(";")[0].strip().lower()
    if base_type and not base_type.startswith("video/"):
        raise UploadError(
            f"“{content_type}” is not a video. Record with the camera or pick a video."
        )
    takes = Answer.objects.filter(interview=interview, question_index=question_index)
    takes.filter(status=AnswerStatus.RECORDING).update(
        status=AnswerStatus.FAILED, error=INTERRUPTED
    )
    allowed = takes_allowed(interview, question_index)
    if takes.filter(status__in=COUNTED_STATUSES).count() >= allowed:
        raise TakesUsed(
            f"You have used all {allowed} take{'s' if allowed != 1 else ''} of question "
            f"{question_index + 1}; your last one counts."
        )
    attempt = (takes.aggregate(last=Max("attempt"))["last"] or 0) + 1
    answer = Answer(
        organization=interview.organization,
        interview=interview,
        question_index=question_index,
        attempt=attempt,
        content_type=content_type[:100],
    )
    answer.original.name = answer.original.field.generate_filename(
        answer, f"original.{_extension(content_type)}"
    )
    answer.save()
    return answer


@dataclass(frozen=True)
class ChunkResult:
    offset: int  # where the next chunk starts: the bytes we hold
    appended: int  # bytes written by this call (0 for a repeated chunk)


@transaction.atomic
def chunk_append(*, interview: VideoInterview, upload_id, offset: int, data: bytes) -> ChunkResult:
    """Append ``data`` sent for position ``offset`` of the take ``upload_id`` of ``interview``.
    Only bytes past what we hold are written; a gap is refused with the offset to continue
    from. (One locked read and one write per chunk: the page sends one about every second.)"""
    answer = (
        Answer.objects.select_for_update().filter(interview=interview, upload_id=upload_id).first()
    )
    if answer is None:
        raise TakeNotFound("This take is not known; start a new take.")
    answer.interview = interview
    received = answer.bytes_received
    if offset < 0:
        raise UploadError("The offset must be 0 or more.", offset=received)
    if len(data) > MAX_CHUNK_BYTES:
        raise TooLarge(
            f"A chunk may be at most {size_words(MAX_CHUNK_BYTES)}; send smaller pieces.",
            offset=received,
        )
    if offset > received:
        raise OffsetGap(
            f"This chunk starts at byte {offset} but we have {received} bytes of this answer; "
            f"send again from byte {received}.",
            offset=received,
        )
    tail = data[received - offset :]
    if not tail:
        return ChunkResult(offset=received, appended=0)
    if answer.status != AnswerStatus.RECORDING:
        raise UploadError(
            "This take is already finished; start a new take to record again.", offset=received
        )
    _require_recording(answer.interview)
    if received + len(tail) > MAX_ANSWER_BYTES:
        raise TooLarge(
            f"An answer may be at most {size_words(MAX_ANSWER_BYTES)}. Record a shorter "
            "answer, or pick a smaller video.",
            offset=received,
        )
    storage_append(answer, received, tail)
    answer.bytes_received = received + len(tail)
    answer.chunks_received += 1
    answer.save(update_fields=["bytes_received", "chunks_received"])
    return ChunkResult(offset=answer.bytes_received, appended=len(tail))


@transaction.atomic
def take_finish(*, answer: Answer, size: int) -> Answer:
    """The take is complete at ``size`` bytes: assemble it, make it the question's final take
    and queue its processing. Finishing twice is harmless."""
    answer = Answer.objects.select_for_update().select_related("interview").get(pk=answer.pk)
    if answer.status != AnswerStatus.RECORDING:
        if answer.bytes_received == size:
            return answer
        raise UploadError("This take is already finished.", offset=answer.bytes_received)
    if size != answer.bytes_received:
        raise SizeMismatch(
            f"We have {answer.bytes_received} of {size} bytes of this answer; send the rest "
            f"from byte {answer.bytes_received}, then finish again.",
            offset=answer.bytes_received,
        )
    _require_recording(answer.interview)
    Answer.objects.filter(
        interview=answer.interview, question_index=answer.question_index, is_final=True
    ).exclude(pk=answer.pk).update(is_final=False)
    answer.is_final = True
    answer.uploaded_at = timezone.now()
    fields = ["is_final", "uploaded_at", "status", "error", "original"]
    if size == 0:
        answer.status, answer.error = AnswerStatus.FAILED, EMPTY
        answer.original.name = ""
        answer.save(update_fields=fields)
        return answer
    answer.original.name = storage_assemble(answer)
    answer.status, answer.error = AnswerStatus.UPLOADED, ""
    answer.save(update_fields=fields)
    task = task_named("interviews.process_answer")
    organization_id, answer_id = answer.organization_id, answer.pk
    transaction.on_commit(lambda: task.delay(organization_id, answer_id))
    return answer


# --------------------------------------------------------------------------------------------
# The storage behind it: append on the filesystem, one object per chunk elsewhere
# --------------------------------------------------------------------------------------------


def _local_path(storage, name: str) -> str | None:
    """The file's path on this machine, or None for an object store."""
    return storage.path(name) if is_filesystem(storage) else None


def _chunk_prefix(answer: Answer) -> str:
    return f"{os.path.dirname(answer.original.name)}/chunks/"


def storage_append(answer: Answer, offset: int, data: bytes) -> None:
    """Write ``data`` at byte ``offset`` of the take's original (``offset`` is what we hold)."""
    storage = recordings_storage()
    path = _local_path(storage, answer.original.name)
    if path is not None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "ab") as handle:
            # A write that landed before its transaction rolled back leaves bytes past the
            # offset we hold: cut them off so the file is exactly what the database says.
            if handle.tell() != offset:
                handle.truncate(offset)
                handle.seek(offset)
            handle.write(data)
        return
    name = f"{_chunk_prefix(answer)}{offset:015d}"
    if storage.exists(name):
        storage.delete(name)
    storage.save(name, ContentFile(data))


def storage_assemble(answer: Answer) -> str:
    """Make the take's original one file and return its storage name."""
    storage = recordings_storage()
    name = answer.original.name
    path = _local_path(storage, name)
    if path is not None:
        with open(path, "ab") as handle:
            handle.truncate(answer.bytes_received)
        return name
    prefix = _chunk_prefix(answer)
    _dirs, files = storage.listdir(prefix.rstrip("/"))
    chunks = sorted((int(f), f"{prefix}{f}") for f in files if f.isdigit())
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as joined:
        for start, chunk_name in chunks:
            if start != joined.tell():
                raise SizeMismatch(
                    f"A piece of this answer is missing at byte {joined.tell()}; record it again.",
                    offset=joined.tell(),
                )
            with storage.open(chunk_name, "rb") as chunk:
                joined.write(chunk.read())
        if joined.tell() != answer.bytes_received:
            raise SizeMismatch(
                f"We hold {joined.tell()} of {answer.bytes_received} bytes; record it again.",
                offset=joined.tell(),
            )
        joined.seek(0)
        if storage.exists(name):
            storage.delete(name)
        saved = storage.save(name, File(joined, name=os.path.basename(name)))
    for _start, chunk_name in chunks:
        storage.delete(chunk_name)
    return saved
