"""The journey step "Send video interview": a candidate reaching it gets a video interview from a
Library video interview template (the Video Interview Invitation e-mail and/or text with their
own recorder link), exactly as a recruiter's one-off send would.

Interviews plugs the step kind into journeys with ``journeys.registry.register_step_kind`` (the
app's ``ready()`` imports this module): the builder offers the organization's video interview
templates, a step reads "Send video interview: Sales screen", and activation refuses a step
whose template is missing, has no questions or no invitation, or whose messages use a merge
field that only another sender fills (``fills``). Journeys never imports interviews.

The step's config is ``{"template_id": <VideoTemplate pk>}``. The interview is unique per step
run (``interview_send(step_run_id=...)``), so a step that runs twice sends one interview. Once
the candidate finishes, the journey's "completed video interview" exit rule reads the
"video_interview_completed" timeline event that ``interview_complete`` writes.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from journeys import timeline_kinds
from journeys.models import RunStatus, StepKind, StepRunStatus
from journeys.registry import StepContext, StepOutcome, register_step_kind, run_event
from messaging.models import Message

from . import notify
from .models import MESSAGE_KINDS, InterviewSource, VideoTemplate
from .services import InterviewError, interview_send, template_problems

KIND = StepKind.SEND_VIDEO_INTERVIEW
FIELD = "template_id"
NEW_TEMPLATE_PATH = "/library/interviews/new/"
# The merge fields a video interview's messages get beyond the candidate's own.
FILLS = frozenset({"interview_link"})


def _template(organization, config: dict) -> VideoTemplate | None:
    template_id = (config or {}).get(FIELD)
    if not isinstance(template_id, int) or isinstance(template_id, bool):
        return None
    return VideoTemplate.objects.filter(organization=organization, pk=template_id).first()


def template_options(organization) -> list[tuple[int, str]]:
    """The organization's video interview templates, by name, for the builder's select."""
    return list(
        VideoTemplate.objects.filter(organization=organization)
        .order_by("name", "id")
        .values_list("pk", "name")
    )


def describe(config: dict, organization) -> str:
    """ "Send video interview: Sales screen"."""
    label = StepKind(KIND).label
    template_id = (config or {}).get(FIELD)
    if template_id is None:
        return f"{label} (no video interview template chosen)"
    template = _template(organization, config)
    if template is None:
        return f"{label}: video interview template #{template_id} (deleted)"
    return f"{label}: {template.name}"


def problems(organization, config: dict) -> list[str]:
    """Why the step can't run (empty when it can), each finishing "… can't run yet: …"."""
    template_id = (config or {}).get(FIELD)
    if template_id is None:
        return ["choose the video interview template it sends (Edit the step)."]
    template = _template(organization, config)
    if template is None:
        return [
            f"its video interview template (#{template_id}) no longer exists. Edit the step and "
            "choose another one from the Library."
        ]
    return [p[:1].lower() + p[1:] for p in template_problems(template)]


def message_templates(organization, config: dict) -> list:
    """The Library templates a step so configured sends (invitation, reminder, completion)."""
    template = _template(organization, config)
    if template is None:
        return []
    found = []
    for kind, _label in MESSAGE_KINDS:
        for channel in notify.CHANNELS:
            message = template.message_template(kind, channel)
            if message is not None:
                found.append(message)
    return found


def new_template_url() -> str:
    """Where a recruiter creates a video interview template (the Library's editor)."""
    try:
        return reverse("interviews_library:create")
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
                f"Journey “{run.journey.name}”, step {step.position}: video interview not sent",
                reason,
            )
        ],
    )


def run_step(ctx: StepContext) -> StepOutcome:
    """Create and send the candidate's video interview. A template that is gone stops the run
    (what follows would assume the interview went out); an interview that can't be sent to
    this candidate (no reachable address, an unusable template) is skipped with the reason,
    like a send step whose message can't go out."""
    run, step = ctx.run, ctx.step
    template = _template(ctx.organization, step.config)
    if template is None:
        if (step.config or {}).get(FIELD) is None:
            reason = f"Step {step.position} has no video interview template, so nothing was sent."
        else:
            reason = (
                f"Step {step.position}'s video interview template no longer exists, so nothing "
                "was sent. Choose another one in the journey's builder."
            )
        return _failed(ctx, reason)
    try:
        interview = interview_send(
            organization=ctx.organization,
            template=template,
            candidate=run.candidate,
            application=run.application,
            source=InterviewSource.JOURNEY,
            step_run_id=ctx.step_run.pk,
            now=ctx.now,
        )
    except InterviewError as exc:
        reason = str(exc)
        return StepOutcome(
            StepRunStatus.SKIPPED,
            reason[:500],
            events=[
                run_event(
                    run,
                    timeline_kinds.JOURNEY_STEP_SKIPPED,
                    f"Journey “{run.journey.name}”, step {step.position}: video interview "
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
                notify.idempotency_key(interview, "invitation", channel)
                for channel in notify.CHANNELS
            ],
        ).order_by("id")
    )
    if not queued:
        # The interview exists (its link works), but no channel reached the candidate; the
        # "video_interview_sent" timeline entry says why per channel.
        reason = (
            f"The Video Interview Invitation of “{template.name}” could not be sent to "
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
                f"Journey “{run.journey.name}” sent the video interview “{template.name}” "
                f"(step {step.position})",
                interview_id=interview.pk,
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
        field_label="Video interview template",
        empty_text=(
            "No video interview templates yet: a video interview template holds the questions "
            "candidates answer on camera and the messages that invite and remind them."
        ),
        create_url=new_template_url,
        create_label="Create a video interview template in the Library",
        fills=FILLS,
        message_templates=message_templates,
    )


register()
