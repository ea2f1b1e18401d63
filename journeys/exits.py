"""Exit rules: what ends a candidate's run before its last step, and the reason put on the
timeline.

* ATS changes (left the stage, rejected, hired) are applied by matching, in the same
  transaction as the transitions that carry them (:func:`exit_on_transitions`).
* Before every step the engine checks the rules against the current state
  (:func:`exit_check`): the application's stage and status, an opt-out lock, a "replied" or
  "booked" or "video_interview_completed" timeline event since the run started. A batch of
  steps reads the opt-out ledger and the timeline once for all its runs
  (:func:`exit_check_many`).
* Replies, bookings and opt-outs are also swept on every dispatcher tick
  (:func:`runs_exit_sweep`), so the run ends within seconds even when no step is due.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from candidates.models import ApplicationStatus, Candidate, StageTransition, TimelineEvent
from journeys import timeline_kinds
from journeys.models import (
    ExitRule,
    JourneyRun,
    MatchCursor,
    RunStatus,
    StepRun,
    StepRunStatus,
    TriggerKind,
)
from journeys.registry import CONDITION_EXIT, DELETED_EXIT, exited_summary, run_event, write_events
from journeys.services import stage_key
from journeys.triggers import lock_cursor, stage_changed
from messaging import services as messaging_services
from messaging.models import OptOutAction, OptOutEntry
from messaging.selectors import is_locked

# --------------------------------------------------------------------------------------------
# Exit rules
# --------------------------------------------------------------------------------------------


def _transition_exit(run: JourneyRun, t: StageTransition) -> tuple[str, str] | None:
    """The exit rule of ``run`` that transition ``t`` (a later change of its application) fires,
    with the reason, or None."""
    rules = set(run.version.exit_rules or ())
    trigger = run.version.trigger
    for status, rule, trig in (
        (ApplicationStatus.REJECTED, ExitRule.REJECTED, TriggerKind.REJECTED),
        (ApplicationStatus.HIRED, ExitRule.HIRED, TriggerKind.HIRED),
    ):
        if rule in rules and trigger != trig and t.to_status == status and t.from_status != status:
            job = f" for {t.job.name}" if t.job_id and t.job else ""
            return rule, f"{'rejected' if rule == ExitRule.REJECTED else 'hired'}{job}"
    if (
        ExitRule.LEFT_STAGE in rules
        and stage_changed(t)
        and run.transition.to_stage_name
        and stage_key(t.to_stage_name) != stage_key(run.transition.to_stage_name)
    ):
        return (
            ExitRule.LEFT_STAGE,
            f"moved from {run.transition.to_stage_name} to {t.to_stage_name or 'another stage'}",
        )
    return None


def exit_on_transitions(organization, transitions: list[StageTransition]) -> int:
    by_application: dict[int, list[StageTransition]] = defaultdict(list)
    for t in transitions:
        by_application[t.application_id].append(t)
    runs = list(
        JourneyRun.objects.filter(
            application_id__in=list(by_application), status=RunStatus.ACTIVE
        ).select_related("version", "journey", "transition")
    )
    exits: dict[int, tuple[JourneyRun, str, str]] = {}
    for run in runs:
        for t in by_application[run.application_id]:
            if t.pk <= run.transition_id or run.pk in exits:
                continue
            found = _transition_exit(run, t)
            if found:
                exits[run.pk] = (run, *found)
    return runs_exit(organization, list(exits.values()))


def runs_exit(organization, exits: list[tuple[JourneyRun, str, str]]) -> int:
    """End active runs because an exit rule fired: the run becomes ``exited`` with the rule and
    reason, its pending steps are canceled (and a send held for quiet hours is withdrawn from
    the outbox), and the timeline says why. Returns how many runs this call ended."""

    now = timezone.now()
    ended = 0
    for run, rule, reason in exits:
        with transaction.atomic():
            claimed = JourneyRun.objects.filter(pk=run.pk, status=RunStatus.ACTIVE).update(
                status=RunStatus.EXITED,
                reason=reason[:500],
                exit_rule=rule,
                finished_at=now,
            )
            if not claimed:
                continue
            ended += 1
            step_reason = f"Canceled: {reason} (exit rule)."[:500]
            pending = StepRun.objects.filter(
                run_id=run.pk, status__in=[StepRunStatus.PENDING, StepRunStatus.HELD]
            )
            held_messages = [m for m in pending.values_list("message_id", flat=True) if m]
            canceled = pending.update(
                status=StepRunStatus.CANCELED, reason=step_reason, finished_at=now
            )
            withdrawn = 0
            if held_messages:
                # Our own outbox rows, still waiting for quiet hours to end: never let them go.
                withdrawn = messaging_services.messages_withdraw_held(
                    organization=organization,
                    message_ids=held_messages,
                    reason=f"Canceled: the candidate left the journey ({reason}).",
                )
            detail = []
            if canceled:
                detail.append(f"{canceled} pending step{'s' if canceled != 1 else ''} canceled.")
            if withdrawn:
                detail.append("A message held for quiet hours was withdrawn.")
            write_events(
                organization,
                run,
                [
                    run_event(
                        run,
                        timeline_kinds.JOURNEY_EXITED,
                        exited_summary(run, f"{reason} (exit rule: {_rule_label(rule)})"),
                        " ".join(detail),
                        exit_rule=rule,
                    )
                ],
                now,
            )
    return ended


def _rule_label(rule: str) -> str:
    if rule in ExitRule.values:
        return ExitRule(rule).label.lower()
    return {CONDITION_EXIT: "condition", DELETED_EXIT: "deleted in the ATS"}.get(rule, rule)


def exit_check(organization, run: JourneyRun) -> tuple[str, str] | None:
    """The exit rule that holds for ``run`` right now, with the reason, or None. Checked before
    every step, so nothing goes out after the candidate left the stage, was rejected or hired,
    or (after the run started) replied, booked or opted out."""
    return exit_check_many(organization, [run])[0]


def exit_check_many(organization, runs: list[JourneyRun]) -> list[tuple[str, str] | None]:
    """:func:`exit_check` of each of ``runs``, in their order, for a batch of steps: the opt-out
    ledger of their candidates' phones and their "replied", "booked"… timeline events are read
    once for all of them (one query each, none when no run has such a rule)."""
    rules = [set(run.version.exit_rules or ()) for run in runs]
    opt_outs = _opt_outs_latest(
        organization,
        {
            run.candidate.mobile_phone
            for run, its_rules in zip(runs, rules, strict=True)
            if ExitRule.OPTED_OUT in its_rules and run.candidate.mobile_phone
        },
    )
    events = _exit_events(
        [
            run
            for run, its_rules in zip(runs, rules, strict=True)
            if its_rules & set(timeline_kinds.EXIT_RULE_KINDS)
        ]
    )
    return [
        _exit_found(run, its_rules, opt_outs, events)
        for run, its_rules in zip(runs, rules, strict=True)
    ]


def _opt_outs_latest(organization, phones: set[str]) -> dict[str, tuple[str, datetime]]:
    """phone → the action and time of its latest opt-out ledger entry (as
    :func:`messaging.selectors.opt_out_latest` finds it for one phone)."""
    latest: dict[str, tuple[str, datetime]] = {}
    if phones:
        for phone, action, created_at in (
            OptOutEntry.unscoped.filter(organization_id=organization.pk, phone__in=phones)
            .order_by("-created_at", "-id")
            .values_list("phone", "action", "created_at")
        ):
            latest.setdefault(phone, (action, created_at))
    return latest


def _exit_events(runs: list[JourneyRun]) -> dict[int, list[tuple[str, datetime]]]:
    """candidate id → the kinds and times of their exit-rule timeline events since the earliest
    start of ``runs``, oldest first."""
    events: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    if runs:
        for candidate_id, kind, occurred_at in (
            TimelineEvent.objects.filter(
                candidate_id__in={run.candidate_id for run in runs},
                kind__in=list(timeline_kinds.EXIT_RULE_KINDS.values()),
                occurred_at__gte=min(run.started_at for run in runs),
            )
            .order_by("occurred_at")
            .values_list("candidate_id", "kind", "occurred_at")
        ):
            events[candidate_id].append((kind, occurred_at))
    return events


def _exit_found(
    run: JourneyRun,
    rules: set[str],
    opt_outs: dict[str, tuple[str, datetime]],
    events: dict[int, list[tuple[str, datetime]]],
) -> tuple[str, str] | None:
    """:func:`exit_check` of one run, given what :func:`exit_check_many` read."""
    application, candidate = run.application, run.candidate
    if application is None or application.deleted_at or candidate.deleted_at:
        return DELETED_EXIT, "the application was deleted in the ATS"
    trigger = run.version.trigger

    def job() -> str:
        return f" for {application.job.name}" if application.job_id and application.job else ""

    if (
        ExitRule.REJECTED in rules
        and trigger != TriggerKind.REJECTED
        and application.status == ApplicationStatus.REJECTED
    ):
        return ExitRule.REJECTED, f"rejected{job()}"
    if (
        ExitRule.HIRED in rules
        and trigger != TriggerKind.HIRED
        and application.status == ApplicationStatus.HIRED
    ):
        return ExitRule.HIRED, f"hired{job()}"
    if (
        ExitRule.LEFT_STAGE in rules
        and run.transition.to_stage_name
        and stage_key(application.stage_name) != stage_key(run.transition.to_stage_name)
    ):
        return (
            ExitRule.LEFT_STAGE,
            f"moved from {run.transition.to_stage_name} to "
            f"{application.stage_name or 'another stage'}",
        )
    if ExitRule.OPTED_OUT in rules and candidate.mobile_phone:
        latest = opt_outs.get(candidate.mobile_phone)
        if latest is not None and latest[0] == OptOutAction.LOCK and latest[1] >= run.started_at:
            return ExitRule.OPTED_OUT, f"{candidate.mobile_phone} opted out of texts"
    kind_rules = {
        kind: rule for rule, kind in timeline_kinds.EXIT_RULE_KINDS.items() if rule in rules
    }
    for kind, occurred_at in events.get(candidate.pk, ()):
        if kind in kind_rules and occurred_at >= run.started_at:
            return kind_rules[kind], timeline_kinds.EXIT_RULE_REASONS[kind_rules[kind]]
    return None


def runs_exit_sweep(*, organization) -> int:
    """Exit runs whose candidate replied, booked or opted out since the last sweep (read from
    the timeline and the opt-out ledger past the cursor). Runs on every dispatcher tick, so an
    exit takes effect within seconds even when no step is due."""

    def news(cursor):
        events = list(
            TimelineEvent.objects.filter(
                pk__gt=cursor.last_event_id if cursor else 0,
                kind__in=list(timeline_kinds.EXIT_RULE_KINDS.values()),
            ).values_list("pk", "candidate_id", "kind", "occurred_at")
        )
        locks = list(
            OptOutEntry.objects.filter(pk__gt=cursor.last_opt_out_id if cursor else 0).values_list(
                "pk", "phone", "action", "created_at"
            )
        )
        return events, locks

    # Most ticks find nothing new: look before taking the organization's matching lock.
    if not any(news(MatchCursor.objects.filter(organization=organization).first())):
        return 0
    with transaction.atomic():
        cursor = lock_cursor(organization)
        events, locks = news(cursor)
        if not events and not locks:
            return 0
        by_candidate: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
        for _, candidate_id, kind, occurred_at in events:
            by_candidate[candidate_id].append((kind, occurred_at))
        locked_phones = {
            phone: created_at
            for _, phone, action, created_at in locks
            if action == OptOutAction.LOCK
        }
        opted_out: dict[int, datetime] = {}
        if locked_phones:
            for candidate_id, phone in Candidate.objects.filter(
                mobile_phone__in=list(locked_phones)
            ).values_list("pk", "mobile_phone"):
                opted_out[candidate_id] = locked_phones[phone]
        runs = JourneyRun.objects.filter(
            status=RunStatus.ACTIVE, candidate_id__in=set(by_candidate) | set(opted_out)
        ).select_related("version", "journey", "candidate")
        exits = []
        for run in runs:
            rules = set(run.version.exit_rules or ())
            found = None
            for kind, occurred_at in by_candidate.get(run.candidate_id, ()):
                if occurred_at < run.started_at:
                    continue
                for rule, rule_kind in timeline_kinds.EXIT_RULE_KINDS.items():
                    if kind == rule_kind and rule in rules:
                        found = (rule, timeline_kinds.EXIT_RULE_REASONS[rule])
                        break
                if found:
                    break
            locked_at = opted_out.get(run.candidate_id)
            if (
                found is None
                and ExitRule.OPTED_OUT in rules
                and locked_at is not None
                and locked_at >= run.started_at
                and is_locked(organization, run.candidate.mobile_phone)
            ):
                found = (ExitRule.OPTED_OUT, f"{run.candidate.mobile_phone} opted out of texts")
            if found:
                exits.append((run, *found))
        MatchCursor.objects.filter(pk=cursor.pk).update(
            last_event_id=max([cursor.last_event_id, *(e[0] for e in events)]),
            last_opt_out_id=max([cursor.last_opt_out_id, *(lock[0] for lock in locks)]),
        )
    return runs_exit(organization, exits)
