"""Shared fixtures of the scheduling tests.

* ``sched_org``: Alice's organization ("Acme Talent") working in Europe/London.
* ``interviewers``: Morgan Lee and Sam Patel, recruiters of that organization, each with a
  built-in calendar (Mon–Fri 09:00–17:00 Europe/London).
* ``candidate``: Jordan Rivera, with an e-mail address and a London mobile, applied to
  "Sales Rep" (stage "Onsite Interview").
* ``library_messages``: the ten Library templates of the five scheduling messages (e-mail and
  text), keyed ``"<kind>_<channel>"`` (``"request_email"``, ``"day_before_sms"``, …).
* ``scheduling_template``: "Onsite interview" — Mon–Fri 09:00–17:00 Europe/London, 45 minutes
  every 30 minutes, both interviewers required, all five messages on both channels.
* ``make_request``: ``make_request(candidate=..., template=..., send=True, now=None, **kw)``
  → a SchedulingRequest made through ``services.request_create``.
* ``monday_morning``: the clock at Monday 2 March 2026 09:00 Europe/London (= UTC in winter),
  frozen; ``MONDAY`` is that instant.
* ``run_after_commit``: ``with run_after_commit(): ...`` runs the block's on-commit work
  (calendar updates, the invitation) the way a committed request does.
* ``outbox``: ``outbox(candidate)`` → the candidate's outbound messages, oldest first.

Delivery to providers is not part of these tests: the messaging task is replaced by a recorder
(``delivery_queued``), so a Message row in the outbox is what the candidate would get.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from candidates.models import Application, Candidate, Job, Stage
from library.models import MessageTemplate
from recruitflow.tenancy import tenant_scope
from scheduling.models import MemberCalendar, SchedulingTemplate, SchedulingTemplateMember
from tests.factories import add_member

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
LONDON_MOBILE = "+447700900123"
# Monday 2 March 2026, 09:00 in London (GMT, so also 09:00 UTC).
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WORKING_WEEK = [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]

MESSAGES = {
    "request": (
        "Request to Schedule",
        "Pick a time for your {{ interview.title }}",
        "<p>Hi {{ candidate.first_name }},</p><p>Please pick a time for your "
        "{{ interview.title }} ({{ interview.duration }}) with {{ interview.interviewers }}: "
        '<a href="{{ scheduling_link }}">choose a time</a>.</p>',
        "Hi {{ candidate.first_name }}, pick a time for your {{ interview.title }}: "
        "{{ scheduling_link }}",
    ),
    "reminder": (
        "Reminder to Schedule",
        "Reminder: pick a time for your {{ interview.title }}",
        "<p>Hi {{ candidate.first_name }}, you haven't picked a time yet: "
        '<a href="{{ scheduling_link }}">choose a time</a>.</p>',
        "Reminder: pick a time for your interview: {{ scheduling_link }}",
    ),
    "invitation": (
        "Interview Invitation",
        "Confirmed: {{ interview.title }}, {{ interview.when }}",
        "<p>Your {{ interview.title }} is booked for {{ interview.when }} with "
        "{{ interview.interviewers }}.</p><p>Reschedule: {{ interview.reschedule_link }}</p>"
        "<p>Cancel: {{ interview.cancel_link }}</p>",
        "Booked: {{ interview.title }}, {{ interview.when }}. Reschedule: "
        "{{ interview.reschedule_link }}",
    ),
    "day_before": (
        "Day Before Interview Reminder",
        "Tomorrow: {{ interview.title }}",
        "<p>See you {{ interview.when }}. Join: {{ interview.video_link }}</p>",
        "Reminder: {{ interview.title }} {{ interview.when }}",
    ),
    "cancellation": (
        "Cancellation Notification",
        "Cancelled: {{ interview.title }}",
        "<p>Your {{ interview.title }} on {{ interview.when }} is cancelled.</p>",
        "Your {{ interview.title }} on {{ interview.when }} is cancelled.",
    ),
}


@pytest.fixture(autouse=True)
def delivery_queued(monkeypatch):
    """The messaging delivery task, replaced by a list of the queued message ids."""
    from messaging import tasks as messaging_tasks

    queued: list[int] = []
    monkeypatch.setattr(
        messaging_tasks.message_deliver,
        "delay",
        lambda org_id, message_id: queued.append(message_id),
    )
    return queued


@pytest.fixture
def sched_org(alice):
    organization = alice.organization
    organization.time_zone = LONDON
    organization.save(update_fields=["time_zone"])
    return organization


@pytest.fixture
def scoped(sched_org):
    with tenant_scope(sched_org):
        yield sched_org


@pytest.fixture
def interviewers(sched_org):
    people = []
    for first, last, email in (
        ("Morgan", "Lee", "morgan.lee@acme.test"),
        ("Sam", "Patel", "sam.patel@acme.test"),
    ):
        user = add_member(organization=sched_org, email=email).user
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
        with tenant_scope(sched_org):
            MemberCalendar.objects.create(
                organization=sched_org, user=user, time_zone=LONDON, working_hours=WORKING_WEEK
            )
        people.append(user)
    return people


@pytest.fixture
def make_candidate(sched_org):
    counter = iter(range(1, 10_000))

    def make(
        *,
        first_name="Jordan",
        last_name="Rivera",
        email="jordan@example.com",
        mobile=LONDON_MOBILE,
        organization=None,
    ) -> Candidate:
        organization = organization or sched_org
        with tenant_scope(organization):
            candidate = Candidate.objects.create(
                organization=organization,
                provider="greenhouse",
                external_id=f"sc{next(counter)}",
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


@pytest.fixture
def library_messages(sched_org):
    templates = {}
    with tenant_scope(sched_org):
        for kind, (label, subject, html, text) in MESSAGES.items():
            templates[f"{kind}_email"] = MessageTemplate.objects.create(
                organization=sched_org,
                name=f"{label} (e-mail)",
                channel="email",
                subject=subject,
                html_body=html,
            )
            templates[f"{kind}_sms"] = MessageTemplate.objects.create(
                organization=sched_org, name=f"{label} (text)", channel="sms", text_body=text
            )
    return templates


@pytest.fixture
def make_template(sched_org, interviewers, library_messages):
    counter = iter(range(1, 1000))

    def make(*, required=None, optional=(), messages=True, **fields) -> SchedulingTemplate:
        values = {
            "name": "Onsite interview" if not fields.get("name") else fields.pop("name"),
            "event_title": "Onsite interview · {{ job.name }}",
            "description": "Meet the sales team.",
            "duration_minutes": 45,
            "slot_interval_minutes": 30,
            "time_zone": LONDON,
            "windows": WORKING_WEEK,
            "minimum_notice_hours": 24,
            "horizon_days": 14,
            "reminder_delay_hours": 48,
            "video_link": "https://meet.example.com/onsite",
            **fields,
        }
        number = next(counter)
        if number > 1 and values["name"] == "Onsite interview":
            values["name"] = f"Onsite interview {number}"
        if messages:
            for key, template in library_messages.items():
                values.setdefault(key, template)
        with tenant_scope(sched_org):
            template = SchedulingTemplate.objects.create(organization=sched_org, **values)
            for user in interviewers if required is None else required:
                SchedulingTemplateMember.objects.create(
                    organization=sched_org, template=template, user=user, required=True
                )
            for user in optional:
                SchedulingTemplateMember.objects.create(
                    organization=sched_org, template=template, user=user, required=False
                )
        return template

    return make


@pytest.fixture
def scheduling_template(make_template):
    return make_template()


@pytest.fixture
def make_request(sched_org, scheduling_template, candidate):
    from scheduling import services

    def make(*, candidate=candidate, template=scheduling_template, send=True, now=None, **kw):
        with tenant_scope(sched_org):
            return services.request_create(
                organization=sched_org,
                template=template,
                candidate=candidate,
                application=candidate.applications.first(),
                source=kw.pop("source", "recruiter"),
                send=send,
                now=now,
                **kw,
            )

    return make


@pytest.fixture
def monday_morning(time_machine):
    time_machine.move_to(MONDAY, tick=False)
    return MONDAY


@pytest.fixture
def run_after_commit(django_capture_on_commit_callbacks):
    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


@pytest.fixture
def outbox(sched_org):
    from messaging.models import Direction, Message

    def messages(candidate, **filters):
        with tenant_scope(sched_org):
            return list(
                Message.objects.filter(
                    organization=sched_org,
                    candidate=candidate,
                    direction=Direction.OUTBOUND,
                    **filters,
                ).order_by("id")
            )

    return messages
