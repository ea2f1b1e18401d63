"""The demo organization's video interview: its three messages in the Library (Video Interview
Invitation by e-mail and text, Video Interview Reminder by e-mail and text, Video Interview
Completed by e-mail) and the template "Sales screen · Sales Rep" with three questions that uses
them. Safe to run again: what exists (by name) is left as the demo user made it."""

from __future__ import annotations

import os
import subprocess
import tempfile
from datetime import timedelta

from django.core.files import File
from django.utils import timezone

from candidates.models import Application, TimelineEvent
from journeys import timeline_kinds as journey_kinds
from library.models import MessageTemplate
from library.services import message_template_save
from recruitflow.tenancy import tenant_scope

from . import links, processing, template_services, timeline_kinds
from .models import (
    Answer,
    AnswerStatus,
    InterviewSource,
    InterviewStatus,
    VideoInterview,
    VideoTemplate,
)

DEMO_VIDEO_TEMPLATE = "Sales screen · Sales Rep"

_SIGN_OFF = (
    '<p>Best,<br>\n{{ recruiter.name|default("The recruiting team") }}<br>\n{{ company.name }}</p>'
)
DEMO_MESSAGES: dict[tuple[str, str], dict] = {
    ("invitation", "email"): {
        "name": "Video Interview Invitation",
        "subject": "Your video interview for {{ job.name }} at {{ company.name }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Thanks for applying for {{ job.name }}! The next step is a short video "
            "interview you record whenever suits you, on your phone or computer: three "
            "questions, about ten minutes in all.</p>\n"
            '<p><a href="{{ interview_link }}">Start your video interview</a></p>\n'
            "<p>You can practise first and record an answer again if you're not happy with "
            "it.</p>\n" + _SIGN_OFF
        ),
    },
    ("invitation", "sms"): {
        "name": "Video Interview Invitation (text)",
        "text_body": (
            'Hi {{ candidate.first_name|default("there") }}, {{ company.name }} here: record '
            "your short video interview for {{ job.name }} when it suits you: "
            "{{ interview_link }} {{ opt_out_text }}"
        ),
    },
    ("reminder", "email"): {
        "name": "Video Interview Reminder",
        "subject": "Reminder: your video interview for {{ job.name }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Your video interview for {{ job.name }} is still waiting for you. It takes "
            "about ten minutes.</p>\n"
            '<p><a href="{{ interview_link }}">Record your answers</a></p>\n' + _SIGN_OFF
        ),
    },
    ("reminder", "sms"): {
        "name": "Video Interview Reminder (text)",
        "text_body": (
            'Hi {{ candidate.first_name|default("there") }}, a reminder: your {{ company.name }} '
            "video interview is waiting: {{ interview_link }} {{ opt_out_text }}"
        ),
    },
    ("completion", "email"): {
        "name": "Video Interview Completed",
        "subject": "Thanks for your video interview, {{ candidate.first_name }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>We received your answers for {{ job.name }}. The team will watch them in the "
            "next few days, and we'll be in touch about the next step.</p>\n" + _SIGN_OFF
        ),
    },
}
DEMO_QUESTIONS: list[dict] = [
    {
        "text": "Tell us about yourself and what draws you to sales at {{ company }}.",
        "think_seconds": 30,
        "answer_seconds": 90,
        "retakes": 1,
    },
    {
        "text": "Describe a deal you won against the odds. What did you do differently?",
        "think_seconds": 45,
        "answer_seconds": 120,
        "retakes": 1,
    },
    {
        "text": "A prospect says they're happy with their current vendor. How do you respond?",
        "think_seconds": 45,
        "answer_seconds": 120,
        "retakes": 2,
    },
]


def demo_video_messages(*, organization) -> dict[tuple[str, str], MessageTemplate]:
    """The five video interview messages in the Library (those missing by name are added)."""
    found: dict[tuple[str, str], MessageTemplate] = {}
    with tenant_scope(organization):
        existing = {
            t.name: t
            for t in MessageTemplate.objects.filter(
                organization=organization, name__in=[m["name"] for m in DEMO_MESSAGES.values()]
            )
        }
        for (kind, channel), fields in DEMO_MESSAGES.items():
            template = existing.get(fields["name"])
            if template is None:
                template = message_template_save(
                    organization=organization, channel=channel, **fields
                )
            found[(kind, channel)] = template
    return found


def demo_video_template(*, organization) -> VideoTemplate:
    """The video interview template "Sales screen · Sales Rep": three questions, links working
    7 days, a reminder after 48 hours, the demo team as reviewers and the three messages. Made
    once through the Library's own save; an existing one (by name) is returned as it is."""
    messages = demo_video_messages(organization=organization)
    with tenant_scope(organization):
        template = VideoTemplate.objects.filter(
            organization=organization, name=DEMO_VIDEO_TEMPLATE
        ).first()
        if template is not None:
            return template
        company = organization.name
        values = {
            **template_services.default_values(organization),
            "name": DEMO_VIDEO_TEMPLATE,
            "intro": (
                f"Hi, and thanks for your interest in {company}! This short video interview "
                "has three questions. Each one gives you a moment to think before recording "
                "starts, and you can record some answers again. It takes about ten minutes."
            ),
            "questions": [
                {**q, "text": q["text"].replace("{{ company }}", company)} for q in DEMO_QUESTIONS
            ],
            "reviewer_ids": [user.pk for user in template_services.team_members(organization)],
            "messages": {
                f"{kind}_{channel}": message.pk for (kind, channel), message in messages.items()
            },
        }
        return template_services.template_save(organization=organization, values=values)


DEMO_ANSWER_SECONDS = (6, 8, 7)


def _demo_recording(path: str, seconds: int, hue: int) -> None:
    """A short stand-in recording (a test pattern with a tone), as a phone would upload it."""
    subprocess.run(
        [
            processing.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=480x360:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency={330 + hue}:duration={seconds}",
            "-vf", f"hue=h={hue}", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip


def demo_recorded_interview(*, organization, now=None) -> VideoInterview | None:
    """One completed video interview of a Sales Rep candidate, waiting for the team's review,
    so the Interviews page and the review page have something to show: three answers (short
    stand-in recordings, processed like any upload) and their timeline entries. Once: nothing
    is added when the demo template already has an interview, or no Sales Rep candidate has
    arrived yet."""
    template = demo_video_template(organization=organization)
    now = now or timezone.now()
    with tenant_scope(organization):
        if VideoInterview.objects.filter(organization=organization, template=template).exists():
            return None
        application = (
            Application.objects.filter(
                organization=organization, job__name="Sales Rep", deleted_at__isnull=True
            )
            .select_related("candidate", "job")
            .order_by("pk")
            .first()
        )
        if application is None:
            return None
        questions = [question.snapshot() for question in template.questions.all()]
        invited = now - timedelta(days=2, hours=3)
        completed = now - timedelta(days=1, hours=20)
        interview = VideoInterview.objects.create(
            organization=organization,
            template=template,
            candidate=application.candidate,
            application=application,
            job=application.job,
            status=InterviewStatus.COMPLETED,
            source=InterviewSource.RECRUITER,
            intro=template.intro,
            questions=questions,
            invited_at=invited,
            expires_at=invited + timedelta(days=template.expiry_days),
            consent_at=completed - timedelta(minutes=14),
            started_at=completed - timedelta(minutes=14),
            completed_at=completed,
        )
        with tempfile.TemporaryDirectory(prefix="rf-demo-") as folder:
            for index, _question in enumerate(questions):
                path = os.path.join(folder, f"answer-{index + 1}.mp4")
                _demo_recording(path, DEMO_ANSWER_SECONDS[index % 3], hue=index * 90)
                answer = Answer.objects.create(
                    organization=organization,
                    interview=interview,
                    question_index=index,
                    status=AnswerStatus.UPLOADED,
                    content_type="video/mp4",
                    bytes_received=os.path.getsize(path),
                    is_final=True,
                    uploaded_at=completed - timedelta(minutes=10 - 3 * index),
                )
                with open(path, "rb") as recording:
                    answer.original.save("answer.mp4", File(recording), save=True)
                processing.answer_process(answer=answer)
        for kind, at, summary in (
            (
                timeline_kinds.VIDEO_INTERVIEW_SENT,
                invited,
                f"Video interview “{template.name}” sent",
            ),
            (
                journey_kinds.VIDEO_INTERVIEW_COMPLETED,
                completed,
                f"Completed the video interview “{template.name}”",
            ),
        ):
            TimelineEvent.objects.create(
                organization=organization,
                candidate=application.candidate,
                application=application,
                kind=kind,
                summary=summary,
                data={
                    "interview_id": interview.pk,
                    "template": template.name,
                    "answers": len(questions),
                    "review_url": links.review_url(interview),
                },
                occurred_at=at,
            )
    return interview
