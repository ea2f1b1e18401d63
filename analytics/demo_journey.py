"""The demo history's journey runs (see :mod:`analytics.demo`): what Simulate says the demo
journey did with the history's stage changes, written as runs, step runs, messages and
scheduling requests. Reading the runs' candidates and times from ``journeys.simulation`` (the
code path of the Simulate page) keeps the Runs page and Simulate telling the same story: the same
candidates, the same send times (quiet hours included), the same exits by the journey's exit
rules. A run whose steps would still be waiting now is left out: the demo journey is paused, and
a waiting step would go out the moment someone activates it."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from candidates.models import StageTransition, TimelineEvent
from journeys.models import ExitRule, JourneyRun, StepRun
from journeys.simulation import HELD, NOT_REACHED, SKIP, simulate
from journeys.timeline_kinds import (
    JOURNEY_COMPLETED,
    JOURNEY_ENTERED,
    JOURNEY_EXITED,
    JOURNEY_SENT,
)
from messaging.models import OptOutEntry
from messaging.timeline_kinds import MESSAGE_HELD
from scheduling.timeline_kinds import SCHEDULING_REQUESTED

from .demo_rows import History, Rows, message_add, scheduling_request_add


def journey_runs(h: History, rows: Rows, transitions, conversations) -> set[int]:
    """Write the runs; returns the ids of the transitions that started one."""
    if h.journey is None or h.journey.current_version is None:
        return set()
    report = simulate(version=h.journey.current_version, days=h.days, now=h.now)
    by_entry = {(t.application_id, t.observed_at): t for t in transitions}
    later: dict[int, list[StageTransition]] = defaultdict(list)
    for t in transitions:
        later[t.application_id].append(t)
    started: set[int] = set()
    for entry in report.entries:
        transition = by_entry.get((entry.application_id, entry.entered_at))
        if transition is None or any(s.in_future for s in entry.steps):
            continue
        started.add(transition.pk)
        _run(h, rows, entry, transition, conversations[transition.candidate_id], later)
    return started


def _exit(transition, later) -> tuple[str, object]:
    """The exit rule and moment of the first later change that ends the run."""
    for x in later[transition.application_id]:
        if x.observed_at <= transition.observed_at:
            continue
        if x.to_status == "rejected":
            return ExitRule.REJECTED, x.observed_at
        if x.to_status == "hired":
            return ExitRule.HIRED, x.observed_at
        if x.to_stage_name != transition.to_stage_name:
            return ExitRule.LEFT_STAGE, x.observed_at
    return "", transition.observed_at


def _run(h: History, rows: Rows, entry, transition, conversation, later) -> None:
    rng, journey = h.rng, h.journey
    candidate = transition.candidate
    started = entry.entered_at + timedelta(seconds=rng.uniform(0.3, 1.5))
    run = JourneyRun(
        organization=h.org,
        journey=journey,
        version=journey.current_version,
        transition=transition,
        application=transition.application,
        candidate=candidate,
        status="completed",
        started_at=started,
    )
    rows.runs.append(run)
    data = {"journey_id": journey.pk, "journey": journey.name, "version": run.version.number}
    rows.event(
        TimelineEvent(
            organization=h.org,
            candidate=candidate,
            application=transition.application,
            kind=JOURNEY_ENTERED,
            summary=f"Entered journey “{journey.name}”: {entry.why}"[:500],
            data={**data, "trigger": "entered_stage", "transition_id": transition.pk},
            occurred_at=started,
        ),
        run_id=run,
    )
    steps = {step.position: step for step in h.steps}
    moment = started
    for simulated in entry.steps:
        step = steps.get(simulated.position)
        if step is None or simulated.outcome == NOT_REACHED:
            break
        due = max(simulated.at or moment, moment)
        at = due + timedelta(seconds=rng.uniform(0.2, 1.2))
        step_run = StepRun(
            organization=h.org,
            run=run,
            step=step,
            position=step.position,
            status="done",
            due_at=moment,
            started_at=at,
            finished_at=at,
            attempts=1,
        )
        message = None
        if simulated.outcome == SKIP:
            step_run.status, step_run.reason, step_run.attempts = "skipped", simulated.note, 0
        elif simulated.channel:
            if simulated.outcome == HELD:
                step_run.held_until = simulated.at
                rows.event(
                    TimelineEvent(
                        organization=h.org,
                        candidate=candidate,
                        kind=MESSAGE_HELD,
                        summary=f"Text held: {simulated.note}"[:500],
                        data={"hold_until": simulated.at.isoformat()},
                        occurred_at=moment,
                    )
                )
            message = message_add(
                h,
                rows,
                conversation,
                candidate,
                channel=simulated.channel,
                at=at,
                body=_body(h, simulated.channel, candidate, transition),
                subject=f"Your onsite interview for {transition.job.name} at {h.org.name}",
                source="journey",
            )
            rows.event(
                TimelineEvent(
                    organization=h.org,
                    candidate=candidate,
                    application=transition.application,
                    kind=JOURNEY_SENT,
                    summary=f"Journey “{journey.name}” sent the "
                    f"{'text' if simulated.channel == 'sms' else 'e-mail'} "
                    f"“{step.message_template.name if step.message_template else ''}” "
                    f"(step {step.position})",
                    data={**data, "channel": simulated.channel},
                    occurred_at=at,
                ),
                run_id=run,
                message_id=message,
            )
            if simulated.channel == "sms":
                _maybe_reply(h, rows, conversation, candidate, at)
        elif h.template is not None:
            request = scheduling_request_add(h, rows, step_run, candidate, transition, at)
            rows.event(
                TimelineEvent(
                    organization=h.org,
                    candidate=candidate,
                    application=transition.application,
                    kind=SCHEDULING_REQUESTED,
                    summary=f"Request to Schedule “{h.template.name}” sent by text and e-mail",
                    data={"template_id": h.template.pk, "source": "journey"},
                    occurred_at=at,
                ),
                request_id=request,
            )
        rows.step_runs.append((step_run, message))
        moment = at
    if entry.exited_reason:
        rule, ended = _exit(transition, later)
        run.status, run.exit_rule = "exited", rule
        run.reason, run.finished_at = entry.exited_reason[:500], max(ended, moment)
        kind, summary = JOURNEY_EXITED, f"Left journey “{journey.name}”: {entry.exited_reason}"
    else:
        run.finished_at = moment
        kind, summary = JOURNEY_COMPLETED, f"Finished journey “{journey.name}”"
    rows.event(
        TimelineEvent(
            organization=h.org,
            candidate=candidate,
            application=transition.application,
            kind=kind,
            summary=summary[:500],
            data={**data, "exit_rule": run.exit_rule} if run.exit_rule else data,
            occurred_at=run.finished_at,
        ),
        run_id=run,
    )


def _body(h: History, channel: str, candidate, transition) -> str:
    first = candidate.first_name or "there"
    job = transition.job.name if transition.job else "the role"
    if channel == "sms":
        return (
            f"Hi {first}, it's the recruiting team at {h.org.name}: we'd love to invite you to an "
            f"onsite interview for {job}! Details by e-mail. Reply STOP to opt out."
        )
    return (
        f"Hi {first}, thank you for the conversations so far — the team enjoyed them. We'd like "
        f"to invite you to an onsite interview for the {job} role."
    )


def _maybe_reply(h: History, rows: Rows, conversation, candidate, sent_at) -> None:
    """A third of the candidates answer the text; a few of them with STOP (an opt-out)."""
    rng = h.rng
    if rng.random() >= 0.33:
        return
    reply_at = sent_at + timedelta(minutes=rng.lognormvariate(3.2, 1.2))
    if reply_at >= h.now:
        return
    stop = rng.random() < 0.1
    reply = message_add(
        h,
        rows,
        conversation,
        candidate,
        channel="sms",
        at=reply_at,
        body="STOP" if stop else rng.choice(REPLIES),
        inbound=True,
    )
    if stop:
        h.opted_out[candidate.mobile_phone] = reply_at
        rows.opt_outs.append(
            (
                OptOutEntry(
                    organization=h.org,
                    phone=candidate.mobile_phone,
                    locked=True,
                    action="lock",
                    source="keyword",
                    keyword="STOP",
                    created_at=reply_at,
                ),
                reply,
            )
        )


REPLIES = [
    "Sounds great, thanks!",
    "Thank you! I'll look out for the e-mail.",
    "Great news — which days work for the team?",
    "Thanks, I'm excited to come in.",
    "Is parking available at the office?",
]
