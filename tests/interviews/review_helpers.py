"""Rows for the review tests: templates, interviews with final answers, reviews (made directly
with the models, as the review pages find them), and a real small MP4 for playback."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from functools import cache

from django.core.files.base import ContentFile
from django.utils import timezone

from interviews.models import (
    Answer,
    AnswerRating,
    AnswerStatus,
    InterviewStatus,
    Review,
    VideoInterview,
    VideoQuestion,
    VideoTemplate,
    VideoTemplateReviewer,
)
from recruitflow.tenancy import tenant_scope

QUESTIONS = (
    "Tell us about a deal you are proud of.",
    "How do you handle a prospect who goes quiet?",
    "Why this role, and why now?",
)


def make_template(organization, name: str = "Sales screen", *, reviewers=(), questions=QUESTIONS):
    with tenant_scope(organization):
        template = VideoTemplate.objects.create(organization=organization, name=name)
        for position, text in enumerate(questions):
            VideoQuestion.objects.create(
                organization=organization, template=template, position=position, text=text
            )
        for user in reviewers:
            VideoTemplateReviewer.objects.create(
                organization=organization, template=template, user=user
            )
    return template


def make_interview(
    organization,
    *,
    template,
    candidate,
    job=None,
    status: str = InterviewStatus.COMPLETED,
    answers: str = "ready",
    sent_ago: timedelta = timedelta(days=2),
    video: bytes | None = None,
    poster: bytes | None = None,
) -> VideoInterview:
    """An interview with the template's questions; ``answers`` "ready" (a final, processed take
    per question: files written when ``video`` is given, else only named), "none", or a list of
    answer statuses per question."""
    now = timezone.now()
    with tenant_scope(organization):
        questions = [q.snapshot() for q in template.questions.all()]
        interview = VideoInterview.objects.create(
            organization=organization,
            template=template,
            candidate=candidate,
            job=job,
            status=status,
            questions=questions,
            invited_at=now - sent_ago,
            expires_at=now - sent_ago + timedelta(days=7),
            started_at=now - sent_ago + timedelta(hours=1)
            if status not in (InterviewStatus.INVITED, InterviewStatus.EXPIRED)
            else None,
            completed_at=now - sent_ago + timedelta(hours=2)
            if status in (InterviewStatus.COMPLETED, InterviewStatus.REVIEWED)
            else None,
        )
        VideoInterview.objects.filter(pk=interview.pk).update(created_at=now - sent_ago)
        interview.refresh_from_db()
        if answers == "none":
            return interview
        statuses = [AnswerStatus.READY] * len(questions) if answers == "ready" else answers
        for index, answer_status in enumerate(statuses):
            answer = Answer.objects.create(
                organization=organization,
                interview=interview,
                question_index=index,
                status=answer_status,
                content_type="video/webm",
                is_final=True,
                duration_seconds=2.0 if answer_status == AnswerStatus.READY else None,
                error="The upload was empty." if answer_status == AnswerStatus.FAILED else "",
            )
            if answer_status != AnswerStatus.READY:
                continue
            if video is not None:
                answer.rendition.save("rendition.mp4", ContentFile(video), save=False)
                if poster is not None:
                    answer.poster.save("poster.jpg", ContentFile(poster), save=False)
            else:
                answer.rendition.name = f"interviews/{organization.pk}/{interview.pk}/{index}/r.mp4"
            answer.save()
    return interview


def add_review(organization, interview, user, scores, recommendation="yes", notes=""):
    """A submitted review with ``scores`` (a rating per question, None for none)."""
    with tenant_scope(organization):
        review = Review.objects.create(
            organization=organization,
            interview=interview,
            reviewer=user,
            recommendation=recommendation,
            notes=notes,
        )
        for index, score in enumerate(scores):
            AnswerRating.objects.create(
                organization=organization,
                review=review,
                question_index=index,
                rating=score,
                note=f"note {index + 1} by {user.email}",
            )
    return review


@cache
def small_mp4() -> bytes:
    """A real 2-second H.264/AAC MP4 (test pattern and a tone) made by imageio-ffmpeg's ffmpeg."""
    import tempfile

    import imageio_ffmpeg

    with tempfile.NamedTemporaryFile(suffix=".mp4") as out:
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-y",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=25:duration=2",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=2",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
                "-movflags",
                "+faststart",
                out.name,
            ],
            check=True,
            timeout=60,
        )
        return open(out.name, "rb").read()


@cache
def small_jpeg() -> bytes:
    import tempfile

    import imageio_ffmpeg

    with tempfile.NamedTemporaryFile(suffix=".jpg") as out:
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-y",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:duration=1",
                "-frames:v",
                "1",
                out.name,
            ],
            check=True,
            timeout=60,
        )
        return open(out.name, "rb").read()
