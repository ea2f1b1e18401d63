"""The demo organization's example journey: the journey for the "Onsite Interview" stage of the
"Sales Rep" job that sends the demo Library's templates (``library.demo``), left paused."""

from __future__ import annotations

import time
from collections.abc import Callable

from candidates.models import Job, SyncRun, SyncStatus
from library.models import MessageTemplate
from recruitflow.tenancy import tenant_scope

from . import editing
from .models import Journey, StepKind, TriggerKind

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
        log(
            f"Example journey “{DEMO_JOURNEY_NAME}” added (not live yet): Journeys → open it → Publish."
        )
