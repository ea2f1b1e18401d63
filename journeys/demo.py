"""The demo organization's Library and example journey: a few message templates a recruiting
team would start with, in the words of the product's users, and the journey for the "Onsite
Interview" stage of the "Sales Rep" job that uses them (left paused)."""

from __future__ import annotations

import time
from collections.abc import Callable

from candidates.models import Job, SyncRun, SyncStatus
from recruitflow.tenancy import tenant_scope

from . import editing
from .models import Journey, MessageTemplate, StepKind, TriggerKind
from .templating import message_template_save

DEMO_TEMPLATES = [
    {
        "name": "Onsite interview invitation",
        "channel": "email",
        "subject": "Your onsite interview for {{ job.name }} at {{ company.name }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Thank you for the conversations so far — the team enjoyed them. We'd like to "
            "invite you to an <strong>onsite interview</strong> for the {{ job.name }} role"
            "{% if office.name %} at our {{ office.name }} office{% endif %}.</p>\n"
            '<p>{{ recruiter.name|default("Our recruiting team") }} will be in touch shortly '
            "to find a time that works for you. If you have questions before then, just reply "
            "to this e-mail.</p>\n"
            '<p>See you soon,<br>\n{{ recruiter.name|default("The recruiting team") }}<br>\n'
            "{{ company.name }}</p>"
        ),
    },
    {
        "name": "Onsite interview invitation (text)",
        "channel": "sms",
        "text_body": (
            'Hi {{ candidate.first_name|default("there") }}, it\'s '
            '{{ recruiter.name|default("the recruiting team") }} at {{ company.name }}: we\'d '
            "love to invite you to an onsite interview for {{ job.name }}! Details by e-mail. "
            "{{ opt_out_text }}"
        ),
    },
    {
        "name": "Application received",
        "channel": "email",
        "subject": "We received your application for {{ job.name }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Thanks for applying for the {{ job.name }} role at {{ company.name }}. "
            "We've received your application and our team is reviewing it now.</p>\n"
            "<p>We'll let you know about next steps as soon as we can — usually within a "
            "week.</p>\n"
            "<p>Best,<br>\nThe {{ company.name }} recruiting team</p>"
        ),
    },
    {
        "name": "Rejection — thank you",
        "channel": "email",
        "subject": "Your application for {{ job.name }} at {{ company.name }}",
        "html_body": (
            '<p>Hi {{ candidate.first_name|default("there") }},</p>\n'
            "<p>Thank you for your interest in the {{ job.name }} role and for the time you "
            "spent with us. After careful consideration, we've decided to move forward with "
            "other candidates.</p>\n"
            "<p>This was not an easy decision. We'd be glad to hear from you again for future "
            "openings at {{ company.name }}.</p>\n"
            "<p>With best wishes,<br>\n"
            '{{ recruiter.name|default("The recruiting team") }}</p>'
        ),
    },
]


def demo_message_templates(*, organization) -> int:
    """Add the demo templates the organization does not have yet (by name; a template the demo
    user edited is left alone). Returns how many were added."""
    added = 0
    with tenant_scope(organization):
        existing = set(
            MessageTemplate.objects.filter(organization=organization).values_list("name", flat=True)
        )
        for fields in DEMO_TEMPLATES:
            if fields["name"] in existing:
                continue
            message_template_save(organization=organization, **fields)
            added += 1
    return added


DEMO_JOURNEY_NAME = "Onsite invitation · Sales Rep"


def demo_onsite_journey(*, organization):
    """The seeds' example, ready to look at: a journey for the "Onsite Interview" stage of the
    "Sales Rep" job that texts and e-mails the candidate (the demo Library's templates). Left
    paused, so the demo texts nobody until its user activates it. Needs the synced job; does
    nothing when the journey exists (by name) or the job is not synced yet."""
    with tenant_scope(organization):
        if Journey.objects.filter(organization=organization, name=DEMO_JOURNEY_NAME).exists():
            return None
        job = Job.objects.filter(organization=organization, name="Sales Rep").first()
        if job is None:
            return None
        templates = {
            t.name: t
            for t in MessageTemplate.objects.filter(
                organization=organization,
                name__in=["Onsite interview invitation (text)", "Onsite interview invitation"],
            )
        }
        journey = editing.journey_start(
            organization=organization, name=DEMO_JOURNEY_NAME, trigger=TriggerKind.ENTERED_STAGE
        )
        editing.journey_trigger_update(
            journey=journey,
            trigger=TriggerKind.ENTERED_STAGE,
            exit_rules=journey.current_version.exit_rules,
            stage_names=["Onsite Interview"],
            job_ids=[job.pk],
        )
        editing.journey_steps_replace(
            journey=journey,
            steps=[
                {
                    "kind": StepKind.SEND_SMS,
                    "message_template": templates.get("Onsite interview invitation (text)"),
                },
                {
                    "kind": StepKind.SEND_EMAIL,
                    "message_template": templates.get("Onsite interview invitation"),
                },
            ],
        )
        return journey


def demo_onsite_journey_when_synced(
    *, organization, wait_seconds: float = 120, log: Callable[[str], None] = print
) -> None:
    """Wait (until ``deadline``) for the first sync to succeed, then add the example journey."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with tenant_scope(organization):
            synced = SyncRun.objects.filter(status=SyncStatus.SUCCEEDED).exists()
        if synced or time.monotonic() >= deadline:
            break
        time.sleep(1)
    if not synced:
        log("The first sync has not finished; the example journey is added on the next start.")
        return
    if demo_onsite_journey(organization=organization) is not None:
        log(f"Example journey “{DEMO_JOURNEY_NAME}” added (paused): Journeys → activate it.")
