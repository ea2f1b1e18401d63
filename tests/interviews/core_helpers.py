"""Fixtures and helpers of the video interview core tests (templates, sending, the journey
step, the API). Test modules import the fixtures they use by name.

* ``org``: Alice's organization ("Acme Talent"), Europe/London.
* ``candidate``: Jordan Rivera (e-mail and a London mobile), applied to "Sales Rep" (stage
  "Onsite Interview"); ``make_candidate(**fields)`` for more.
* ``video_messages``: the six Library templates of the three messages (e-mail and text) with
  ``{{ interview_link }}``, keyed ``"<kind>_<channel>"``.
* ``video_template``: "Sales screen", three questions, all three messages on both channels,
  Bob as reviewer, links working 7 days, a reminder after 48 hours.
* ``monday_morning`` (autouse where imported): the clock frozen at Monday 2 March 2026 10:00
  London, so texts are not held for quiet hours.
* ``outbox(candidate)``: the candidate's outbound messages, oldest first (delivery to
  providers is replaced by a list: ``delivery_queued``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from candidates.models import Application, Candidate, Job, Stage, TimelineEvent
from interviews import template_services
from interviews.models import VideoTemplate
from library.models import MessageTemplate
from messaging.models import Direction, Message
from recruitflow.tenancy import tenant_scope

LONDON_MOBILE = "+447700900123"
QUESTIONS = [
    {"text": "Tell us about yourself.", "think_seconds": 30, "answer_seconds": 90, "retakes": 1},
    {"text": "Why this role?", "think_seconds": 20, "answer_seconds": 60, "retakes": 0},
    {"text": "A deal you won.", "think_seconds": 45, "answer_seconds": 120, "retakes": 2},
]
MESSAGES = {
    "invitation": (
        "Video Interview Invitation",
        "Your video interview for {{ job.name }}",
        '<p>Hi {{ candidate.first_name }}, record your answers here: <a href="{{ interview_link }}">'
        "start the interview</a>.</p>",
        "Hi {{ candidate.first_name }}, record your video interview: {{ interview_link }}",
    ),
    "reminder": (
        "Video Interview Reminder",
        "Reminder: your video interview",
        '<p>You haven\'t started yet: <a href="{{ interview_link }}">start now</a>.</p>',
        "Reminder: your video interview is waiting: {{ interview_link }}",
    ),
    "completion": (
        "Video Interview Completed",
        "Thanks, {{ candidate.first_name }}",
        "<p>We received your answers. We'll be in touch.</p>",
        "Thanks {{ candidate.first_name }}, we received your answers.",
    ),
}


# Monday 2 March 2026, 10:00 in London: inside every default sending window, so messages are
# queued rather than held for quiet hours whatever the time the tests run.
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def monday_morning(time_machine):
    time_machine.move_to(MONDAY, tick=False)
    return MONDAY


@pytest.fixture(autouse=True)
def delivery_queued(monkeypatch):
    """The messaging delivery tasks (one message, and several queued together), replaced by a
    list of the queued message ids."""
    from messaging import tasks as messaging_tasks

    queued: list[int] = []
    monkeypatch.setattr(
        messaging_tasks.message_deliver,
        "delay",
        lambda org_id, message_id: queued.append(message_id),
    )
    monkeypatch.setattr(
        messaging_tasks.message_deliver_batch,
        "delay",
        lambda org_id, message_ids: queued.extend(message_ids),
    )
    return queued


@pytest.fixture
def org(alice):
    organization = alice.organization
    organization.time_zone = "Europe/London"
    organization.save(update_fields=["time_zone"])
    return organization


@pytest.fixture
def make_candidate(org):
    counter = iter(range(1, 10_000))

    def make(*, first_name="Jordan", last_name="Rivera", email="jordan@example.com",
             mobile=LONDON_MOBILE, organization=None) -> Candidate:  # fmt: skip
        organization = organization or org
        with tenant_scope(organization):
            candidate = Candidate.objects.create(
                organization=organization,
                provider="greenhouse",
                external_id=f"vc{next(counter)}",
                first_name=first_name,
                last_name=last_name,
                primary_email=email,
                mobile_phone=mobile,
            )
            job, _ = Job.objects.get_or_create(
                organization=organization,
                provider="greenhouse",
                external_id="job-sales-rep",
                defaults={"name": "Sales Rep"},
            )
            stage, _ = Stage.objects.get_or_create(
                organization=organization,
                provider="greenhouse",
                external_id="stage-onsite",
                defaults={"name": "Onsite Interview", "job": job},
            )
            Application.objects.create(
                organization=organization,
                provider="greenhouse",
                external_id=f"app-{candidate.external_id}",
                candidate=candidate,
                job=job,
                stage=stage,
                stage_name=stage.name,
            )
        return candidate

    return make


@pytest.fixture
def candidate(make_candidate):
    return make_candidate()


def make_messages(organization) -> dict[str, MessageTemplate]:
    templates = {}
    with tenant_scope(organization):
        for kind, (label, subject, html, text) in MESSAGES.items():
            templates[f"{kind}_email"] = MessageTemplate.objects.create(
                organization=organization,
                name=f"{label} (e-mail)",
                channel="email",
                subject=subject,
                html_body=html,
            )
            templates[f"{kind}_sms"] = MessageTemplate.objects.create(
                organization=organization,
                name=f"{label} (text)",
                channel="sms",
                text_body=text,
            )
    return templates


@pytest.fixture
def video_messages(org):
    return make_messages(org)


def save_template(organization, *, messages, name="Sales screen", questions=None, **values):
    with tenant_scope(organization):
        return template_services.template_save(
            organization=organization,
            values={
                "name": name,
                "intro": "Hi! Three short questions, about five minutes.",
                "expiry_days": 7,
                "reminder_after_hours": 48,
                "questions": QUESTIONS if questions is None else questions,
                "reviewer_ids": [],
                "messages": {key: t.pk for key, t in messages.items()},
                **values,
            },
        )


@pytest.fixture
def video_template(org, bob, video_messages) -> VideoTemplate:
    return save_template(org, messages=video_messages, reviewer_ids=[bob.user.pk])


@pytest.fixture
def outbox(org):
    def read(candidate) -> list[Message]:
        with tenant_scope(org):
            return list(
                Message.objects.filter(candidate=candidate, direction=Direction.OUTBOUND).order_by(
                    "pk"
                )
            )

    return read


def timeline(organization, candidate, kind) -> list[TimelineEvent]:
    with tenant_scope(organization):
        return list(
            TimelineEvent.objects.filter(
                organization=organization, candidate=candidate, kind=kind
            ).order_by("pk")
        )
