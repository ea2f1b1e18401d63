"""A conversation with a candidate as the transcript tests need it: texts from a journey, the
candidate, a team member and scheduling, at known times and with known delivery outcomes."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.files.base import ContentFile
from PIL import Image

from candidates.models import (
    Application,
    Candidate,
    Job,
    Stage,
    StageTransition,
    TransitionSource,
)
from journeys.models import Journey, JourneyRun, JourneyStep, JourneyVersion, StepRun
from messaging.models import Conversation, Direction, Message, MessageStatus
from recruitflow.tenancy import tenant_scope

CANDIDATE_MOBILE = "+447700900123"
OUR_NUMBER = "+15005550006"
JOURNEY_NAME = "Onsite invitation · Sales Rep"


def logo_png() -> bytes:
    """A small PNG in the brand colour (the organization's logo)."""
    out = io.BytesIO()
    Image.new("RGB", (120, 40), (15, 118, 110)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Thread:
    candidate: Candidate
    conversation: Conversation
    messages: list[Message]


def _message(org, conversation, *, direction, body, at, status, **fields) -> Message:
    outbound = direction == Direction.OUTBOUND
    message = Message.objects.create(
        organization=org,
        conversation=conversation,
        candidate=conversation.candidate,
        channel="sms",
        direction=direction,
        to_address=CANDIDATE_MOBILE if outbound else OUR_NUMBER,
        from_address=OUR_NUMBER if outbound else CANDIDATE_MOBILE,
        body=body,
        status=status,
        sent_at=at if outbound else None,
        **fields,
    )
    Message.objects.filter(pk=message.pk).update(created_at=at)
    message.refresh_from_db()
    conversation.last_message_at = at
    conversation.save(update_fields=["last_message_at"])
    return message


def journey_step_run(org, candidate, message: Message) -> StepRun:
    """The journey run whose send step wrote ``message`` (so the transcript can name it)."""
    provider = candidate.provider
    job = Job.objects.create(
        organization=org, provider=provider, external_id="p1", name="Sales Rep"
    )
    stage = Stage.objects.create(
        organization=org, provider=provider, external_id="s1", name="Onsite Interview", job=None
    )
    application = Application.objects.create(
        organization=org,
        provider=provider,
        external_id=candidate.external_id,
        candidate=candidate,
        job=job,
        stage=stage,
        stage_name=stage.name,
    )
    transition = StageTransition.objects.create(
        organization=org,
        provider=provider,
        application=application,
        candidate=candidate,
        job=job,
        to_stage=stage,
        to_stage_name=stage.name,
        observed_at=message.created_at - timedelta(minutes=1),
        source=TransitionSource.WEBHOOK,
    )
    journey = Journey.objects.create(organization=org, name=JOURNEY_NAME)
    version = JourneyVersion.objects.create(organization=org, journey=journey)
    step = JourneyStep.objects.create(
        organization=org, version=version, position=1, kind="send_sms"
    )
    run = JourneyRun.objects.create(
        organization=org,
        journey=journey,
        version=version,
        transition=transition,
        application=application,
        candidate=candidate,
        started_at=transition.observed_at,
    )
    return StepRun.objects.create(
        organization=org,
        run=run,
        step=step,
        position=1,
        status="done",
        due_at=transition.observed_at,
        message=message,
    )


def make_thread(
    org, *, member, start: datetime, external_id: str = "opp-1", provider: str = "lever"
) -> Thread:
    """Four texts an hour apart from ``start`` (UTC): journey (delivered), candidate reply,
    ``member`` (failed with 30003), scheduling (sent)."""
    with tenant_scope(org):
        candidate = Candidate.objects.create(
            organization=org,
            provider=provider,
            external_id=external_id,
            first_name="Sam",
            last_name="Okafor",
            mobile_phone=CANDIDATE_MOBILE,
            primary_email="sam@example.com",
        )
        conversation = Conversation.objects.create(organization=org, candidate=candidate)
        out, inn = Direction.OUTBOUND, Direction.INBOUND
        messages = [
            _message(
                org,
                conversation,
                direction=out,
                body="Hi Sam, you are invited onsite.",
                at=start,
                status=MessageStatus.DELIVERED,
                source="journey",
            ),  # fmt: skip
            _message(
                org,
                conversation,
                direction=inn,
                body="Yes, Thursday works for me.",
                at=start + timedelta(hours=1),
                status=MessageStatus.RECEIVED,
                source="inbound",
            ),  # fmt: skip
            _message(
                org,
                conversation,
                direction=out,
                body="Great, see you then.",
                at=start + timedelta(hours=2),
                status=MessageStatus.FAILED,
                error_code="30003",
                error_message="Unreachable destination handset.",
                source="inbox",
                sent_by=member,
            ),  # fmt: skip
            _message(
                org,
                conversation,
                direction=out,
                body="Your interview is booked.",
                at=start + timedelta(hours=3),
                status=MessageStatus.SENT,
                source="scheduling",
            ),  # fmt: skip
        ]
        journey_step_run(org, candidate, messages[0])
    return Thread(candidate, conversation, messages)


def add_text(org, thread: Thread, *, body: str, at: datetime, inbound: bool = True) -> Message:
    with tenant_scope(org):
        message = _message(
            org,
            thread.conversation,
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
            body=body,
            at=at,
            status=MessageStatus.RECEIVED if inbound else MessageStatus.DELIVERED,
            source="inbound" if inbound else "inbox",
        )
    thread.messages.append(message)
    return message


def brand(org, *, colour: str = "#0f766e") -> None:
    org.brand_color = colour
    org.time_zone = "America/New_York"
    org.logo.save("acme.png", ContentFile(logo_png()), save=False)
    org.save()


DECEMBER_1_2PM_UTC = datetime(2026, 12, 1, 14, 0, 5, tzinfo=UTC)
