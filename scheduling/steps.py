"""The journey step "Send scheduling request": a candidate reaching it gets a scheduling request
from a Library scheduling template (the Request to Schedule e-mail and/or text with their own
link), exactly as a recruiter's would.

Scheduling plugs the step kind into journeys with ``journeys.registry.register_step_kind`` (the
app's ``ready()`` imports this module): the builder offers the organization's scheduling
templates, a step reads "Send scheduling request: Onsite interview", and activation refuses a
step whose template is missing, deleted or unusable. Journeys never imports scheduling.

The step's config is ``{"template_id": <SchedulingTemplate pk>}``. The request is unique per
step run (``request_create(step_run_id=...)``), so a step that runs twice sends one request.
Once the candidate books, the journey's "booked" exit rule reads the "booked" timeline event
that ``booking_book`` writes.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from journeys import timeline_kinds
from journeys.models import RunStatus, StepKind, StepRunStatus
from journeys.registry import StepContext, StepOutcome, register_step_kind, run_event
from messaging.models import Message

from .models import RequestSource, SchedulingTemplate, SchedulingTemplateMember
from .services import SchedulingError, request_create

KIND = StepKind.SEND_SCHEDULING_REQUEST
FIELD = "template_id"
NEW_TEMPLATE_PATH = "/library/scheduling/new/"


def _template(organization, config: dict) -> SchedulingTemplate | None:
    template_id = (config or {}).get(FIELD)
    if not isinstance(template_id, int) or isinstance(template_id, bool):
        return None
    return SchedulingTemplate.objects.filter(organization=organization, pk=template_id).first()


def template_options(organization) -> list[tuple[int, str]]:
    """The organization's scheduling templates, by name, for the builder's select."""
    return list(
        SchedulingTemplate.objects.filter(organization=organization)
        .order_by("name", "id")
        .values_list("pk", "name")
    )


def describe(config: dict, organization) -> str:
    """ "Send scheduling request: Onsite interview"."""
    label = StepKind(KIND).label
    template_id = (config or {}).get(FIELD)
    if template_id is None:
        return f"{label} (no scheduling template chosen)"
    template = _template(organization, config)
    if template is None:
        return f"{label}: scheduling template #{template_id} (deleted)"
    return f"{label}: {template.name}"


def template_problems(template: SchedulingTemplate) -> list[str]:
    """What stops a scheduling template from sending requests, as the end of a sentence."""
    problems = []
    if not SchedulingTemplateMember.objects.filter(
        organization_id=template.organization_id, template=template, required=True
    ).exists():
        problems.append(
            f"the scheduling template “{template.name}” has no required interviewer, so it "
            "offers no times. Add at least one required member in Library → Scheduling "
            "templates."
        )
    if template.request_email_id is None and template.request_sms_id is None:
        problems.append(
            f"the scheduling template “{template.name}” has no Request to Schedule message. "
            "Choose an e-mail or a text message for it in Library → Scheduling templates."
        )
    if template.invitation_email_id is None and template.invitation_sms_id is None:
        problems.append(
            f"the scheduling template “{template.name}” has no Interview Invitation message, "
            "so a candidate who books would get no confirmation. Choose one in Library → "
            "Scheduling templates."
        )
    return problems


def problems(organization, config: dict) -> list[str]:
    """Why the step can't run (empty when it can)."""
    template_id = (config or {}).get(FIELD)
    if template_id is None:
        return ["choose the scheduling template it sends (Edit the step)."]
    template = _template(organization, config)
    if template is None:
        return [
            f"its scheduling template (#{template_id}) no longer exists. Edit the step and "
            "choose another one from the Library."
        ]
    return template_problems(template)


def new_template_url() -> str:
    """Where a recruiter creates a scheduling template (the Library's editor)."""
    try:
        return reverse("scheduling_library:create")
    except NoReverseMatch:
        return NEW_TEMPLATE_PATH


def _failed(ctx: StepContext, reason: str) -> StepOutcome:
    run, step = ctx.run, ctx.step
    return StepOutcome(
        StepRunStatus.FAILED,
        reason[:500],
        end=RunStatus.FAILED,
        events=[
            run_event(
                run,
                timeline_kinds.JOURNEY_STEP_FAILED,
                f"Journey “{run.journey.name}”, step {step.position}: scheduling request not sent",
                reason,
            )
        ],
    )


def run_step(ctx: StepContext) -> StepOutcome:
    """Create and send the candidate's scheduling request. A template that is gone stops the
    run (what follows would assume the request went out); a request that can't be sent to
    this candidate (no reachable address, an unusable template) is skipped with the reason,
    like a send step whose message can't go out."""
    run, step = ctx.run, ctx.step
    template = _template(ctx.organization, step.config)
    if template is None:
        if (step.config or {}).get(FIELD) is None:
            reason = f"Step {step.position} has no scheduling template, so nothing was sent."
        else:
            reason = (
                f"Step {step.position}'s scheduling template no longer exists, so nothing was "
                "sent. Choose another one in the journey's builder."
            )
        return _failed(ctx, reason)
    try:
        scheduling_request = request_create(
            organization=ctx.organization,
            template=template,
            candidate=run.candidate,
            application=run.application,
            source=RequestSource.JOURNEY,
            step_run_id=ctx.step_run.pk,
            now=ctx.now,
        )
    except SchedulingError as exc:
        reason = str(exc)
        return StepOutcome(
            StepRunStatus.SKIPPED,
            reason[:500],
            events=[
                run_event(
                    run,
                    timeline_kinds.JOURNEY_STEP_SKIPPED,
                    f"Journey “{run.journey.name}”, step {step.position}: scheduling request "
                    f"“{template.name}” not sent",
                    reason,
                    template_id=template.pk,
                )
            ],
        )
    queued = list(
        Message.objects.filter(
            organization=ctx.organization,
            idempotency_key__in=[
                f"sched-{scheduling_request.pk}-request-{channel}" for channel in ("email", "sms")
            ],
        ).order_by("id")
    )
    if not queued:
        # The request exists (its link works), but no channel reached the candidate; the
        # "scheduling_requested" timeline entry says why per channel.
        reason = (
            f"The Request to Schedule of “{template.name}” could not be sent to "
            f"{run.candidate.full_name}; the candidate's timeline says why."
        )
        return StepOutcome(StepRunStatus.SKIPPED, reason[:500])
    return StepOutcome(
        StepRunStatus.DONE,
        message=queued[0],
        events=[
            run_event(
                run,
                timeline_kinds.JOURNEY_SENT,
                f"Journey “{run.journey.name}” sent the scheduling request “{template.name}” "
                f"(step {step.position})",
                request_id=scheduling_request.pk,
                template_id=template.pk,
            )
        ],
    )


def register() -> None:
    register_step_kind(
        KIND,
        run=run_step,
        contacts_candidate=True,
        options=template_options,
        describe=describe,
        problems=problems,
        field=FIELD,
        field_label="Scheduling template",
        empty_text=(
            "No scheduling templates yet: a scheduling template says who interviews, for how "
            "long, when, and which messages the candidate gets."
        ),
        create_url=new_template_url,
        create_label="Create a scheduling template in the Library",
    )


register()
