"""A hand-counted story for the Analytics tests: one organization (New York time), two jobs,
one journey, a handful of messages, runs, requests and bookings with explicit times. The
expected figures are written out next to the story in ``tests/analytics/test_figures.py``."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import count

import pytest
from django.utils import timezone

from candidates.models import (
    Application,
    Candidate,
    Department,
    Job,
    Office,
    StageTransition,
    TimelineEvent,
)
from journeys.models import Journey, JourneyRun, JourneyStep, JourneyVersion, StepRun
from messaging.models import Conversation, Message, OptOutEntry
from recruitflow.tenancy import tenant_scope
from scheduling.models import BookedSlot, Booking, SchedulingRequest, SchedulingTemplate

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@dataclass
class Story:
    organization: object
    day: date  # the story's main day, in New York
    jobs: dict[str, Job] = field(default_factory=dict)
    candidates: dict[str, Candidate] = field(default_factory=dict)
    applications: dict[str, Application] = field(default_factory=dict)
    journey: Journey | None = None
    steps: dict[int, JourneyStep] = field(default_factory=dict)
    template: SchedulingTemplate | None = None
    _ids: count = field(default_factory=lambda: count(1))

    def at(self, hour: int, minute: int = 0, second: int = 0, *, days: int = 0) -> datetime:
        """An instant of the story's day (plus ``days``) in New York."""
        local = datetime.combine(self.day + timedelta(days=days), time(hour, minute, second))
        return local.replace(tzinfo=NEW_YORK)

    def candidate(self, name: str, job: str, phone: str) -> Candidate:
        org = self.organization
        candidate = Candidate.objects.create(
            organization=org,
            provider="greenhouse",
            external_id=f"c{next(self._ids)}",
            first_name=name,
            last_name="Tester",
            mobile_phone=phone,
            primary_email=f"{name.lower()}@example.com",
        )
        self.candidates[name] = candidate
        self.applications[name] = Application.objects.create(
            organization=org,
            provider="greenhouse",
            external_id=f"a{next(self._ids)}",
            candidate=candidate,
            job=self.jobs[job],
            stage_name="Onsite Interview",
            applied_at=self.at(8, days=-20),
        )
        Conversation.objects.create(organization=org, candidate=candidate)
        return candidate

    def message(
        self,
        name: str,
        *,
        channel="sms",
        direction="outbound",
        status,
        at=None,
        sent=True,
        code="",
        explanation="",
        by=None,
    ) -> Message:
        candidate = self.candidates[name]
        message = Message.objects.create(
            organization=self.organization,
            conversation=candidate.conversations.get(),
            candidate=candidate,
            channel=channel,
            direction=direction,
            to_address=candidate.mobile_phone if channel == "sms" else candidate.primary_email,
            body="Hello",
            status=status,
            error_code=code,
            error_message=explanation,
            sent_by=by,
            sent_at=at if sent and direction == "outbound" else None,
        )
        Message.objects.filter(pk=message.pk).update(created_at=at)
        return message

    def run(
        self,
        name: str,
        *,
        source: str,
        observed: datetime,
        started: datetime,
        status="active",
        exit_rule="",
    ) -> JourneyRun:
        org = self.organization
        application = self.applications[name]
        transition = StageTransition.objects.create(
            organization=org,
            provider="greenhouse",
            application=application,
            candidate=application.candidate,
            job=application.job,
            to_stage_name="Onsite Interview",
            observed_at=observed,
            source=source,
        )
        return JourneyRun.objects.create(
            organization=org,
            journey=self.journey,
            version=self.journey.current_version,
            transition=transition,
            application=application,
            candidate=application.candidate,
            status=status,
            exit_rule=exit_rule,
            started_at=started,
        )

    def step(
        self,
        run: JourneyRun,
        position: int,
        status: str,
        *,
        due: datetime,
        message=None,
        reason="",
        held_until=None,
    ) -> StepRun:
        return StepRun.objects.create(
            organization=self.organization,
            run=run,
            step=self.steps[position],
            position=position,
            status=status,
            due_at=due,
            started_at=due if status != "pending" else None,
            message=message,
            reason=reason,
            held_until=held_until,
        )

    def request(
        self,
        name: str,
        *,
        created: datetime,
        status="pending",
        by=None,
        step_run=None,
        expires=None,
    ) -> SchedulingRequest:
        request = SchedulingRequest.objects.create(
            organization=self.organization,
            template=self.template,
            candidate=self.candidates[name],
            application=self.applications[name],
            source="journey" if step_run else "recruiter",
            step_run_id=step_run.pk if step_run else None,
            created_by=by,
            status=status,
            expires_at=expires or created + timedelta(days=14),
        )
        SchedulingRequest.objects.filter(pk=request.pk).update(created_at=created)
        request.refresh_from_db()
        return request

    def booking(
        self,
        request,
        *,
        created: datetime,
        start: datetime,
        attendees=(),
        status="confirmed",
        cancelled_at=None,
        cancelled_by="",
    ) -> Booking:
        booking = Booking.objects.create(
            organization=self.organization,
            request=request,
            template=self.template,
            candidate=request.candidate,
            start=start,
            end=start + timedelta(minutes=45),
            title="Onsite interview",
            status=status,
            cancelled_at=cancelled_at,
            cancelled_by=cancelled_by,
            attendee_ids=[user.pk for user in attendees],
        )
        Booking.objects.filter(pk=booking.pk).update(created_at=created)
        for user in attendees:
            BookedSlot.objects.create(
                organization=self.organization,
                booking=booking,
                user=user,
                start=start,
                end=start + timedelta(minutes=45),
                active=status == "confirmed",
            )
        return booking

    def timeline(self, name: str, kind: str, at: datetime, **data) -> None:
        TimelineEvent.objects.create(
            organization=self.organization,
            candidate=self.candidates[name],
            kind=kind,
            summary=kind,
            data=data,
            occurred_at=at,
        )

    def opt_out(self, name: str, at: datetime) -> None:
        entry = OptOutEntry.objects.create(
            organization=self.organization,
            phone=self.candidates[name].mobile_phone,
            locked=True,
            action="lock",
            source="keyword",
            keyword="STOP",
        )
        OptOutEntry.objects.filter(pk=entry.pk).update(created_at=at)


def _world(organization, day: date) -> Story:
    organization.time_zone = "America/New_York"
    organization.save(update_fields=["time_zone"])
    story = Story(organization=organization, day=day)
    with tenant_scope(organization):
        new_york = Office.objects.create(
            organization=organization, provider="greenhouse", external_id="o1", name="New York"
        )
        london = Office.objects.create(
            organization=organization, provider="greenhouse", external_id="o2", name="London"
        )
        sales = Department.objects.create(
            organization=organization, provider="greenhouse", external_id="d1", name="Sales"
        )
        for ext, name, office in (("j1", "Sales Rep", new_york), ("j2", "Engineer", london)):
            job = Job.objects.create(
                organization=organization, provider="greenhouse", external_id=ext, name=name
            )
            job.offices.add(office)
            if name == "Sales Rep":
                job.departments.add(sales)
            story.jobs[name] = job
        journey = Journey.objects.create(
            organization=organization, name="Onsite invitation", is_active=True
        )
        version = JourneyVersion.objects.create(
            organization=organization, journey=journey, number=1
        )
        journey.current_version = version
        journey.save(update_fields=["current_version"])
        story.journey = journey
        for position, kind in ((1, "send_sms"), (2, "wait"), (3, "send_scheduling_request")):
            story.steps[position] = JourneyStep.objects.create(
                organization=organization, version=version, position=position, kind=kind
            )
        story.template = SchedulingTemplate.objects.create(
            organization=organization, name="Onsite", event_title="Onsite interview"
        )
    return story


@pytest.fixture
def story_day():
    """Ten days ago in New York: a settled past day."""
    return (timezone.now().astimezone(NEW_YORK) - timedelta(days=10)).date()


@pytest.fixture
def world(alice, story_day):
    return _world(alice.organization, story_day)


@pytest.fixture
def make_world():
    return _world
