"""The built-in step kinds of journeys: send an e-mail or a text (a Library template rendered
with the candidate's merge fields, through the messaging outbox), wait, continue only if a
condition holds, and exit. Each registers itself in ``journeys.registry.STEP_HANDLERS``; scheduling
requests and video interviews register theirs the same way from their own apps."""

from __future__ import annotations

from candidates.models import TimelineEvent
from integrations.messaging import E164
from journeys import timeline_kinds
from journeys.models import ConditionCheck, JourneyRun, RunStatus, StepKind, StepRunStatus
from journeys.registry import (
    CONDITION_EXIT,
    SOURCE,
    StepContext,
    StepOutcome,
    exited_summary,
    register_step_handler,
    run_event,
    send_key,
)
from journeys.services import stage_key
from library import templating
from messaging.models import MessageStatus
from messaging.services import CannotSend, message_send


def _send(ctx: StepContext, channel: str) -> StepOutcome:
    run, step = ctx.run, ctx.step
    template = step.message_template
    label = "e-mail" if channel == "email" else "text"
    if template is None:
        reason = f"Step {step.position} has no message template, so nothing was sent."
        return StepOutcome(
            StepRunStatus.FAILED,
            reason,
            end=RunStatus.FAILED,
            events=[
                run_event(
                    run,
                    timeline_kinds.JOURNEY_STEP_FAILED,
                    f"Journey “{run.journey.name}”, step {step.position}: {label} not sent",
                    reason,
                )
            ],
        )
    try:
        context = templating.merge_context(
            organization=ctx.organization, candidate=run.candidate, application=run.application
        )
        rendered = templating.render(template, context)
    except (templating.TemplateInvalid, ValueError, TypeError) as exc:
        reason = (
            f"The template “{template.name}” can't be rendered ({exc}); fix it in the Library. "
            "The journey stopped here so the next steps don't go out without this one."
        )
        return StepOutcome(
            StepRunStatus.FAILED,
            reason[:500],
            end=RunStatus.FAILED,
            events=[
                run_event(
                    run,
                    timeline_kinds.JOURNEY_STEP_FAILED,
                    f"Journey “{run.journey.name}”, step {step.position}: {label} not sent",
                    reason,
                )
            ],
        )
    try:
        message = message_send(
            organization=ctx.organization,
            candidate=run.candidate,
            channel=channel,
            body=rendered.text,
            subject=rendered.subject,
            html=rendered.html,
            source=SOURCE,
            idempotency_key=send_key(ctx.step_run.pk),
        )
    except CannotSend as exc:
        # message_send already put the skip and its reason on the timeline.
        return StepOutcome(StepRunStatus.SKIPPED, exc.reason[:500])
    if message.status == MessageStatus.HELD:
        # message_send already put "held until … (zone)" on the timeline.
        return StepOutcome(
            StepRunStatus.HELD,
            f"Held for quiet hours until {message.hold_until:%Y-%m-%d %H:%M} UTC.",
            message=message,
            held_until=message.hold_until,
            continue_at=message.hold_until,
        )
    if message.status in (MessageStatus.CANCELED, MessageStatus.FAILED):
        return StepOutcome(
            StepRunStatus.SKIPPED
            if message.status == MessageStatus.CANCELED
            else StepRunStatus.FAILED,
            (message.error_message or f"The {label} was {message.status}.")[:500],
            message=message,
        )
    return StepOutcome(
        StepRunStatus.DONE,
        message=message,
        events=[
            run_event(
                run,
                timeline_kinds.JOURNEY_SENT,
                f"Journey “{run.journey.name}” sent the {label} “{template.name}” "
                f"(step {step.position})",
                message_id=message.pk,
                channel=channel,
                template_id=template.pk,
            )
        ],
    )


@register_step_handler(StepKind.SEND_EMAIL, contacts_candidate=True, rerun_safe=True)
def _send_email(ctx: StepContext) -> StepOutcome:
    return _send(ctx, "email")


@register_step_handler(StepKind.SEND_SMS, contacts_candidate=True, rerun_safe=True)
def _send_sms(ctx: StepContext) -> StepOutcome:
    return _send(ctx, "sms")


@register_step_handler(StepKind.WAIT, contacts_candidate=False)
def _wait(ctx: StepContext) -> StepOutcome:
    # The row was due when the wait ended; the next step counts from then, not from when the
    # dispatcher got to it.
    return StepOutcome(StepRunStatus.DONE, continue_at=ctx.step_run.due_at)


@register_step_handler(StepKind.EXIT, contacts_candidate=False)
def _exit_step(ctx: StepContext) -> StepOutcome:
    return StepOutcome(StepRunStatus.DONE, "Reached the Exit step.", end=RunStatus.COMPLETED)


@register_step_handler(StepKind.CONDITION, contacts_candidate=False)
def _condition(ctx: StepContext) -> StepOutcome:
    check = ctx.step.config.get("check")
    expect = ctx.step.config.get("expect", True)
    if check not in ConditionCheck.values:
        reason = f"Step {ctx.step.position} checks nothing the engine knows ({check!r})."
        return StepOutcome(StepRunStatus.FAILED, reason, end=RunStatus.FAILED)
    value = condition_value(check, run=ctx.run)
    label = ConditionCheck(check).label
    answer = "yes" if value else "no"
    if value == expect:
        return StepOutcome(StepRunStatus.DONE, f"{label}: {answer}.")
    reason = f"Condition not met: “{label}” is {answer}."
    return StepOutcome(
        StepRunStatus.DONE,
        reason,
        end=RunStatus.EXITED,
        exit_rule=CONDITION_EXIT,
        events=[
            run_event(
                run=ctx.run,
                kind=timeline_kinds.JOURNEY_EXITED,
                summary=exited_summary(ctx.run, reason),
            )
        ],
    )


def condition_value(check: str, *, run: JourneyRun) -> bool:
    candidate, application = run.candidate, run.application
    if check == ConditionCheck.STILL_IN_STAGE:
        return (
            application is not None
            and application.deleted_at is None
            and stage_key(application.stage_name) == stage_key(run.transition.to_stage_name)
        )
    if check == ConditionCheck.HAS_MOBILE:
        return bool(E164.match((candidate.mobile_phone or "").strip()))
    if check == ConditionCheck.HAS_EMAIL:
        return bool((candidate.primary_email or "").strip())
    kind = timeline_kinds.CONDITION_KINDS.get(check)
    return TimelineEvent.objects.filter(
        candidate_id=candidate.pk, kind=kind, occurred_at__gte=run.started_at
    ).exists()
