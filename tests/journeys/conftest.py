"""Fixtures for the Journeys tests: a small ATS mirror (the seeds' "Sales Rep" job and its
stages), Library templates, journeys built step by step, and helpers that move candidates the
way the ATS sync does (a StageTransition per change)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count

import pytest
from django.utils import timezone

from candidates.models import (
    Application,
    Candidate,
    Department,
    Job,
    Office,
    Stage,
    StageTransition,
)
from journeys import services
from journeys.models import JourneyStep
from library.models import MessageTemplate
from recruitflow.tenancy import tenant_scope

# 10:00 in New York on a Wednesday: inside the default texting window of every test's zone.
WEDNESDAY_10_NEW_YORK = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)
NEW_YORK_MOBILE = "+12125550123"
LONDON_MOBILE = "+447700900123"
STAGES = ["Application Review", "Phone Interview", "Onsite Interview", "Offer"]


@dataclass
class Ats:
    """One organization's mirror: jobs "Sales Rep" (New York office, Sales department) and
    "Account Executive" (London office), each with the same four stages."""

    organization: object
    jobs: dict[str, Job] = field(default_factory=dict)
    stages: dict[tuple[str, str], Stage] = field(default_factory=dict)
    offices: dict[str, Office] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    _ids: count = field(default_factory=lambda: count(1))

    def _ext(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def candidate(
        self,
        *,
        first_name: str = "Sam",
        last_name: str = "Okafor",
        mobile: str = NEW_YORK_MOBILE,
        email: str = "sam@example.com",
        tags=(),
    ) -> Candidate:
        with tenant_scope(self.organization):
            return Candidate.objects.create(
                organization=self.organization,
                provider="greenhouse",
                external_id=self._ext("c"),
                first_name=first_name,
                last_name=last_name,
                mobile_phone=mobile,
                primary_email=email,
                tags=list(tags),
            )

    def apply(
        self,
        candidate: Candidate,
        job: str = "Sales Rep",
        stage: str = "Phone Interview",
        *,
        source: str = "LinkedIn",
        new: bool = False,
    ) -> Application | tuple[Application, StageTransition]:
        """An application already in ``stage`` (no transition); with ``new`` it is a fresh
        application and its ``is_new_application`` transition is returned too."""
        now = timezone.now()
        with tenant_scope(self.organization):
            application = Application.objects.create(
                organization=self.organization,
                provider="greenhouse",
                external_id=self._ext("a"),
                candidate=candidate,
                job=self.jobs[job],
                stage=self.stages[(job, stage)],
                stage_name=stage,
                source_name=source,
                applied_at=now,
                last_activity_at=now,
                stage_entered_at=now,
            )
            if not new:
                return application
            transition = StageTransition.objects.create(
                organization=self.organization,
                provider="greenhouse",
                application=application,
                candidate=candidate,
                job=application.job,
                to_stage=application.stage,
                to_stage_name=stage,
                to_status="active",
                is_new_application=True,
                observed_at=now,
                source="poll",
            )
            return application, transition

    def move(
        self,
        application: Application,
        stage: str | None = None,
        *,
        status: str | None = None,
        source: str = "webhook",
        event_id: str = "",
    ) -> StageTransition:
        """Change the application's stage and/or status the way the mirror does: the row and a
        StageTransition, together."""
        now = timezone.now()
        with tenant_scope(self.organization):
            application.refresh_from_db()
            job_name = application.job.name if application.job else "Sales Rep"
            old_stage, old_name, old_status = (
                application.stage,
                application.stage_name,
                application.status,
            )
            if stage is not None:
                application.stage = self.stages[(job_name, stage)]
                application.stage_name = stage
                application.stage_entered_at = now
            if status is not None:
                application.status = status
            application.last_activity_at = now
            application.save()
            return StageTransition.objects.create(
                organization=self.organization,
                provider="greenhouse",
                application=application,
                candidate=application.candidate,
                job=application.job,
                from_stage=old_stage,
                to_stage=application.stage,
                from_stage_name=old_name,
                to_stage_name=application.stage_name,
                from_status=old_status,
                to_status=application.status,
                observed_at=now,
                source=source,
                provider_event_id=event_id,
            )

    def template(self, name: str, channel: str, **fields) -> MessageTemplate:
        defaults = (
            {"text_body": "Hi {{ candidate.first_name }}, see you at the {{ stage.name }}!"}
            if channel == "sms"
            else {
                "subject": "Your {{ job.name }} interview",
                "html_body": "<p>Hi {{ candidate.first_name }}, welcome to {{ company.name }}.</p>",
            }
        )
        with tenant_scope(self.organization):
            return MessageTemplate.objects.create(
                organization=self.organization,
                name=name,
                channel=channel,
                **{**defaults, **fields},
            )


def build_ats(organization) -> Ats:
    ats = Ats(organization)
    with tenant_scope(organization):
        for name, location in (("New York", "New York, NY"), ("London", "London, UK")):
            ats.offices[name] = Office.objects.create(
                organization=organization,
                provider="greenhouse",
                external_id=ats._ext("o"),
                name=name,
                location=location,
            )
        for name in ("Sales", "Engineering"):
            ats.departments[name] = Department.objects.create(
                organization=organization,
                provider="greenhouse",
                external_id=ats._ext("d"),
                name=name,
            )
        for job_name, office, department in (
            ("Sales Rep", "New York", "Sales"),
            ("Account Executive", "London", "Sales"),
            ("Backend Engineer", "London", "Engineering"),
        ):
            job = Job.objects.create(
                organization=organization,
                provider="greenhouse",
                external_id=ats._ext("j"),
                name=job_name,
                status="open",
            )
            job.offices.add(ats.offices[office])
            job.departments.add(ats.departments[department])
            ats.jobs[job_name] = job
            for position, stage_name in enumerate(STAGES):
                ats.stages[(job_name, stage_name)] = Stage.objects.create(
                    organization=organization,
                    provider="greenhouse",
                    external_id=ats._ext("s"),
                    job=job,
                    name=stage_name,
                    position=position,
                )
    return ats


@pytest.fixture
def ats(alice) -> Ats:
    return build_ats(alice.organization)


@pytest.fixture
def sms_template(ats) -> MessageTemplate:
    return ats.template("Onsite invite (text)", "sms")


@pytest.fixture
def email_template(ats) -> MessageTemplate:
    return ats.template("Onsite invite (e-mail)", "email")


def add_steps(version, steps) -> None:
    """``steps``: ``(kind, template_or_config)`` pairs, e.g. ``("send_sms", template)``,
    ``("wait", {"mode": "duration", "days": 2})``, ``("exit", None)``."""
    for position, (kind, arg) in enumerate(steps, start=1):
        template = arg if isinstance(arg, MessageTemplate) else None
        config = arg if isinstance(arg, dict) else {}
        JourneyStep.objects.create(
            organization_id=version.organization_id,
            version=version,
            position=position,
            kind=kind,
            message_template=template,
            config=config,
        )


@pytest.fixture
def make_journey(ats):
    """Build (and by default activate) a journey: ``make_journey("Onsite", steps=[...],
    stage_names=["Onsite Interview"], jobs=["Sales Rep"], ...)``."""

    def make(
        name: str = "Onsite invitation",
        *,
        steps=(),
        trigger: str = "entered_stage",
        stage_names=("Onsite Interview",),
        jobs=("Sales Rep",),
        offices=(),
        departments=(),
        exit_rules=None,
        active: bool = True,
        **criteria,
    ):
        organization = ats.organization
        with tenant_scope(organization):
            journey = services.journey_create(organization=organization, name=name)
            version = journey.current_version
            version.trigger = trigger
            version.stage_names = list(stage_names)
            version.job_ids = [ats.jobs[j].pk for j in jobs]
            version.office_ids = [ats.offices[o].pk for o in offices]
            version.department_ids = [ats.departments[d].pk for d in departments]
            for key, value in criteria.items():
                setattr(version, key, value)
            if exit_rules is not None:
                version.exit_rules = list(exit_rules)
            version.save()
            add_steps(version, steps)
            if active:
                services.journey_activate(journey=journey)
            journey.refresh_from_db()
            return journey

    return make


@pytest.fixture
def eager_tasks(django_capture_on_commit_callbacks):
    """Celery tasks queued after commit run inline (the real task bodies, in this process):
    ``with eager_tasks(): ...`` runs the block's on-commit callbacks, and the ones they queue."""
    from recruitflow.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    yield run
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(scope="module")
def phone_sandbox():
    """The sandbox Twilio (and the other fakes) on a loopback port, for the module."""
    from integrations.sandbox.server import SandboxServer

    with SandboxServer(port=0, n_candidates=5) as server:
        yield server


@pytest.fixture
def weekday_morning(time_machine):
    """The clock at a Wednesday 10:00 in New York (ticking): texts go out at once instead of
    being held for quiet hours, whatever hour the suite runs at."""
    time_machine.move_to(WEDNESDAY_10_NEW_YORK, tick=True)


@pytest.fixture
def texting(alice, phone_sandbox, settings):
    """Alice's organization texts through the sandbox Twilio; its phones start empty."""
    from integrations.twilio.models import TwilioSettings
    from integrations.twilio.sandbox import (
        SANDBOX_ACCOUNT_SID,
        SANDBOX_AUTH_TOKEN,
        SANDBOX_SERVICE_SID,
    )

    phone_sandbox.twilio.reset()
    phone_sandbox.twilio.configure(
        sent_delay=0.01, delivery_delay=0.02, inbound_url="http://127.0.0.1:9/in"
    )
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    settings.MESSAGING_PROVIDER_MAX_ATTEMPTS = 1
    with tenant_scope(alice.organization):
        TwilioSettings.objects.create(
            organization=alice.organization,
            account_sid=SANDBOX_ACCOUNT_SID,
            auth_token=SANDBOX_AUTH_TOKEN,
            messaging_service_sid=SANDBOX_SERVICE_SID,
            base_url=f"{phone_sandbox.url}/twilio",
        )
    yield phone_sandbox
    phone_sandbox.twilio.wait_idle(2)


def texts_to(sandbox, phone: str) -> list[str]:
    """Bodies of the texts the sandbox phone ``phone`` received, oldest first."""
    return [m["body"] for m in sandbox.twilio.conversation(phone) if m["direction"] != "inbound"]
