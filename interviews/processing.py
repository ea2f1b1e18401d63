"""Processing a finished answer take: its duration, a poster frame (JPEG) and an MP4 rendition
(H.264/AAC, ``+faststart``) that every reviewer's browser plays, whatever container the
candidate's browser recorded (WebM in Chromium and Firefox, MP4 in Safari, a phone's MOV).

ffmpeg is the binary the ``imageio-ffmpeg`` wheel ships; nothing is installed on the system.
A take ffmpeg cannot read (corrupt, cut short, no video) is marked failed with the reason, and
the candidate's page asks them to record that answer again (:mod:`interviews.public_views`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager

import imageio_ffmpeg
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from .models import Answer, AnswerStatus
from .storage import is_filesystem, recordings_storage

# The longest ffmpeg may take for one answer (an answer is at most 15 minutes of video).
FFMPEG_TIMEOUT_SECONDS = 30 * 60
UNREADABLE = "The recording could not be read ({reason}). Please record this answer again."
_DURATION = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")


class ProcessingFailed(Exception):
    """ffmpeg could not turn the take into a rendition; the message says why, in words."""


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
            capture_output=True,
            timeout=FFMPEG_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ProcessingFailed("processing took too long") from exc


def _reason(stderr: bytes) -> str:
    """The last meaningful line ffmpeg printed, for the team (the candidate sees plain words)."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line and not line.startswith(("Press [q]", "frame="))]
    return (lines[-1] if lines else "ffmpeg gave no reason")[:300]


def probe(path: str) -> dict:
    """What ffmpeg reads from a file's header: ``duration`` (seconds or None), ``video``/``audio``
    (whether it has such a stream)."""
    result = _run(["-i", path])
    text = result.stderr.decode("utf-8", "replace")
    match = _DURATION.search(text)
    duration = None
    if match:
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    streams = [line for line in text.splitlines() if line.strip().startswith("Stream #")]
    return {
        "duration": duration,
        "video": any(": Video:" in line for line in streams),
        "audio": any(": Audio:" in line for line in streams),
        "error": _reason(result.stderr) if not streams else "",
    }


def transcode(source: str, target: str) -> None:
    """``source`` → an MP4 at ``target``: H.264 (even dimensions, yuv420p) and AAC, with the
    index at the front so playback starts before the whole file has downloaded."""
    result = _run(
        [
            "-y", "-i", source,
            "-map", "0:v:0", "-map", "0:a:0?",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p",
            "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2",
            "-c:a", "aac", "-b:a", "96k", "-ac", "2",
            "-movflags", "+faststart",
            target,
        ]
    )  # fmt: skip
    if result.returncode != 0 or not os.path.exists(target) or os.path.getsize(target) == 0:
        raise ProcessingFailed(_reason(result.stderr))


def poster(source: str, target: str, *, at_seconds: float) -> None:
    """One frame of ``source`` at ``at_seconds`` as a JPEG."""
    result = _run(
        ["-y", "-ss", f"{at_seconds:.2f}", "-i", source, "-frames:v", "1", "-q:v", "4", target]
    )
    if result.returncode != 0 or not os.path.exists(target) or os.path.getsize(target) == 0:
        raise ProcessingFailed(_reason(result.stderr))


@contextmanager
def _local_copy(name: str, folder: str):
    """A path to the stored file ``name``: the file itself on the filesystem, else a copy."""
    storage = recordings_storage()
    if is_filesystem(storage):
        yield storage.path(name)
        return
    target = os.path.join(folder, "original" + os.path.splitext(name)[1])
    with storage.open(name, "rb") as source, open(target, "wb") as copy:
        shutil.copyfileobj(source, copy, 1024 * 1024)
    yield target


def render_files(source: str, folder: str) -> tuple[str, str, float]:
    """(rendition path, poster path, duration in seconds) made from ``source`` in ``folder``."""
    found = probe(source)
    if found["error"]:
        raise ProcessingFailed(found["error"])
    if not found["video"]:
        raise ProcessingFailed("it has no video")
    rendition = os.path.join(folder, "answer.mp4")
    transcode(source, rendition)
    # Recorders write WebM without a duration in its header: read it from the rendition.
    duration = probe(rendition)["duration"] or 0.0
    if duration <= 0:
        raise ProcessingFailed("it has no frames")
    still = os.path.join(folder, "poster.jpg")
    poster(rendition, still, at_seconds=min(1.0, duration / 2))
    return rendition, still, duration


def answer_process(*, answer: Answer) -> Answer:
    """Make the take's rendition, poster and duration; a take ffmpeg cannot read is failed with
    the reason. A take already processed (or not uploaded yet) is left as it is."""
    with transaction.atomic():
        answer = Answer.objects.select_for_update().get(pk=answer.pk)
        if answer.status not in (AnswerStatus.UPLOADED, AnswerStatus.PROCESSING):
            return answer
        answer.status = AnswerStatus.PROCESSING
        answer.save(update_fields=["status"])
    try:
        with tempfile.TemporaryDirectory(prefix="rf-answer-") as folder:
            if not answer.original.name:
                raise ProcessingFailed("no file was uploaded")
            with _local_copy(answer.original.name, folder) as source:
                rendition, still, duration = render_files(source, folder)
            with open(rendition, "rb") as mp4, open(still, "rb") as jpeg:
                answer.rendition.save("answer.mp4", File(mp4), save=False)
                answer.poster.save("poster.jpg", File(jpeg), save=False)
    except ProcessingFailed as exc:
        answer.status = AnswerStatus.FAILED
        answer.error = UNREADABLE.format(reason=exc)
        answer.processed_at = timezone.now()
        answer.save(update_fields=["status", "error", "processed_at"])
        return answer
    answer.duration_seconds = round(duration, 2)
    answer.status = AnswerStatus.READY
    answer.error = ""
    answer.processed_at = timezone.now()
    answer.save(
        update_fields=[
            "rendition", "poster", "duration_seconds", "status", "error", "processed_at",
        ]
    )  # fmt: skip
    return answer
