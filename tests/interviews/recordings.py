"""Recorded answers for the storage and playback tests: an interview of a candidate who applied
to a job, with an answer whose original, rendition and poster files are in the recordings
storage (whichever backend the test configured)."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from interviews.models import Answer, AnswerStatus, InterviewStatus, VideoInterview, VideoTemplate
from recruitflow.tenancy import tenant_scope

# 10,240 bytes in which every offset has a predictable value, so a range's bytes can be checked.
RENDITION = bytes(range(256)) * 40
ORIGINAL = b"\x1a\x45\xdf\xa3" + b"webm-take" * 500
POSTER = b"\xff\xd8\xff\xe0" + b"jpeg-poster" * 100


def recorded_answer(ats, *, job: str = "Sales Rep", first_name: str = "Rita") -> Answer:
    """A completed interview of a new candidate on ``job``, with one processed answer."""
    organization = ats.organization
    candidate = ats.candidate(first_name=first_name, last_name="Recorded")
    application, _ = ats.apply(candidate, job=job, stage="Phone Interview", new=True)
    with tenant_scope(organization):
        template, _ = VideoTemplate.objects.get_or_create(
            organization=organization, name="Screening questions"
        )
        interview = VideoInterview.objects.create(
            organization=organization,
            template=template,
            candidate=candidate,
            application=application,
            job=application.job,
            status=InterviewStatus.COMPLETED,
            questions=[{"text": "Why us?", "think_seconds": 0, "answer_seconds": 60, "retakes": 1}],
            expires_at=timezone.now() + timedelta(days=7),
            completed_at=timezone.now(),
        )
        answer = Answer.objects.create(
            organization=organization,
            interview=interview,
            question_index=0,
            status=AnswerStatus.READY,
            content_type="video/webm;codecs=vp8,opus",
            is_final=True,
            duration_seconds=12.5,
        )
        answer.original.save("original.webm", ContentFile(ORIGINAL), save=False)
        answer.rendition.save("rendition.mp4", ContentFile(RENDITION), save=False)
        answer.poster.save("poster.jpg", ContentFile(POSTER), save=False)
        answer.save()
    return answer
