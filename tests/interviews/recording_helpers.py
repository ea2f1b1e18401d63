"""What the recorder's tests share: an interview ready to record, its signed URLs, recordings
in a temporary folder, and short test videos made with the ffmpeg of imageio-ffmpeg."""

from __future__ import annotations

import subprocess
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from candidates.models import Candidate
from interviews.models import InterviewStatus, VideoInterview, VideoTemplate
from interviews.processing import ffmpeg_exe
from recruitflow.tenancy import tenant_scope

QUESTIONS = [
    {"text": "Tell us about yourself.", "think_seconds": 5, "answer_seconds": 60, "retakes": 1},
    {"text": "Why this job?", "think_seconds": 0, "answer_seconds": 30, "retakes": 0},
]


def use_temporary_recordings(settings, folder) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }


def make_interview(organization, *, status=InterviewStatus.STARTED, questions=None, **fields):
    with tenant_scope(organization):
        candidate = Candidate.objects.create(
            organization=organization, provider="greenhouse", external_id=f"vi-{timezone.now().timestamp()}",
            first_name="Jordan", last_name="Rivera", primary_email="jordan@example.com",
        )  # fmt: skip
        template, _ = VideoTemplate.objects.get_or_create(
            organization=organization, name="Sales screen"
        )
        now = timezone.now()
        values = {
            "invited_at": now,
            "expires_at": now + timedelta(days=7),
            "consent_at": now if status != InterviewStatus.INVITED else None,
            "started_at": now if status != InterviewStatus.INVITED else None,
            **fields,
        }
        return VideoInterview.objects.create(
            organization=organization, template=template, candidate=candidate, status=status,
            questions=questions if questions is not None else QUESTIONS, **values,
        )  # fmt: skip


def url(name: str, interview, *args) -> str:
    return reverse(f"interviews_public:{name}", args=[interview.token, *args])


def make_video(path, *, seconds: float = 2.0, container: str = "webm") -> bytes:
    """A small test video (a test pattern and a tone), as a browser's recorder would make."""
    codecs = (
        ["-c:v", "libvpx", "-b:v", "200k", "-c:a", "libopus"]
        if container == "webm"
        else ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]
    )
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=15:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            *codecs, "-shortest", str(path),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path.read_bytes()
