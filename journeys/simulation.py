"""Simulation of a journey version: pure reads, nothing is sent or written.

:func:`simulate` replays the organization's real stage transitions of the last N days through a
version: who would have entered (candidate, job, stage, when), when each step would have run
(waits in the candidate's time zone, quiet hours per channel), and who would have been skipped
and why (opted out, no mobile number, no e-mail address, an exit rule already true). Candidates
whose transitions do not meet the criteria are not listed. A fixed number of queries, whatever
the number of candidates.

The dry run (every message of a version rendered with one candidate's data) is in
``journeys.dry_run``.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models.functions import Lower
from django.utils import timezone

from candidates.models import Application, ApplicationStatus, Job, StageTransition, TimelineEvent
from integrations.messaging import E164
from journeys import timeline_kinds
from journeys.engine import wait_end
from journeys.models import (
    ConditionCheck,
    ExitRule,
    JourneyStep,
    JourneyVersion,
    StepKind,
    TriggerKind,
)
from journeys.registry import STEP_KINDS
from journeys.services import SEND_CHANNELS, stage_key
from journeys.triggers import chunked, criteria_match, job_relations, stage_changed, trigger_reason
from messaging.models import MessagingPreferences, OptOutEntry
from messaging.quiet_hours import candidate_zone, next_window_opening

MAX_DAYS = 365

# Outcomes of a simulated step.
SEND, HELD, SKIP, WAIT, CONTINUE, EXIT, NOT_REACHED = (
    "send",
    "held",
    "skip",
    "wait",
    "continue",
    "exit",
    "not_reached",
)


@dataclass(frozen=True)
class SimulatedStep:
    position: int
    kind: str
    label: str
    outcome: str  # send | held | skip | wait | continue | exit | not_reached
    at: datetime | None = None  # UTC: when it would have gone out / the wait would have ended
    note: str = ""  # why, with local times and the zone spelled out
    channel: str = ""
    in_future: bool = False  # later than the end of the simulated period

    @property
    def sends(self) -> bool:
        return self.outcome in (SEND, HELD)


@dataclass
class SimulatedEntry:
    candidate_id: int
    candidate_name: str
    application_id: int
    job_name: str
    stage_name: str
    entered_at: datetime
    why: str  # "moved to Onsite Interview (Sales Rep)"
    zone: str
    zone_evidence: str
    steps: list[SimulatedStep] = field(default_factory=list)
    exited_reason: str = ""

    @property
    def messages(self) -> int:
        return sum(1 for s in self.steps if s.sends)

    @property
    def skipped(self) -> bool:
        return self.messages == 0

    @property
    def skipped_reason(self) -> str:
        """Why nothing at all would have gone out ("" when something would have)."""
        if not self.skipped:
            return ""
        if self.exited_reason:
            return self.exited_reason
        notes = [s.note for s in self.steps if s.outcome == SKIP and s.note]
        return "; ".join(dict.fromkeys(notes)) or "The journey sends no messages."


@dataclass
class SimulationReport:
    version: JourneyVersion
    days: int
    since: datetime
    until: datetime
    transitions_considered: int
    entries: list[SimulatedEntry]  # everyone who would have entered, oldest first

    @property
    def received(self) -> list[SimulatedEntry]:
        return [e for e in self.entries if not e.skipped]

    @property
    def skipped(self) -> list[SimulatedEntry]:
        return [e for e in self.entries if e.skipped]

    @property
    def messages(self) -> int:
        return sum(e.messages for e in self.entries)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


def step_label(step: JourneyStep) -> str:
    """A one-line description of a step: "Send text message “Onsite invite”", "Wait 2 days"."""
    if step.kind in SEND_CHANNELS:
        name = step.message_template.name if step.message_template else "(no template)"
        return f"{step.get_kind_display()} “{name}”"
    config = step.config or {}
    if step.kind == StepKind.WAIT:
        if config.get("mode") == "until":
            names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            days = ", ".join(names[int(d)] for d in sorted(config.get("weekdays") or []))
            return f"Wait until {days or 'any day'} {config.get('time', '09:00')}"
        parts = [
            f"{n} {unit}{'s' if n != 1 else ''}"
            for unit, n in (
                ("day", int(config.get("days") or 0)),
                ("hour", int(config.get("hours") or 0)),
                ("minute", int(config.get("minutes") or 0)),
            )
            if n
        ]
        return "Wait " + (" ".join(parts) or "0 minutes")
    if step.kind == StepKind.CONDITION:
        check = config.get("check")
        label = ConditionCheck(check).label if check in ConditionCheck.values else str(check)
        return f"Continue only if: {label}{'' if config.get('expect', True) else ' (is not)'}"
    plugin = STEP_KINDS.get(step.kind)
    if plugin is not None:
        return plugin.describe(config, step.organization)
    return step.get_kind_display()


def _window(preferences, channel: str):
    return preferences.window(channel)


def _hold(moment: datetime, zone: str, window) -> datetime | None:
    if window is None:
        return None
    start, end, days = window
    return next_window_opening(now=moment, zone=zone, start=start, end=end, days=days)


class _Ledger:
    """Opt-out history per phone, to answer "locked at time t?" without a query per step."""

    def __init__(self, rows):
        self.by_phone: dict[str, list[tuple[datetime, bool]]] = defaultdict(list)
        for phone, action, created_at in rows:
            self.by_phone[phone].append((created_at, action == "lock"))
        for entries in self.by_phone.values():
            entries.sort(key=lambda e: e[0])

    def locked_at(self, phone: str, moment: datetime) -> bool:
        entries = self.by_phone.get(phone)
        if not entries:
            return False
        index = bisect.bisect_right([e[0] for e in entries], moment)
        return index > 0 and entries[index - 1][1]

    def locks_between(self, phone: str, start: datetime) -> list[datetime]:
        return [at for at, lock in self.by_phone.get(phone, ()) if lock and at >= start]


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


def _entry_transitions(version: JourneyVersion, since: datetime, until: datetime):
    """Transitions that could start the version's trigger in the period (criteria are checked
    later in memory). For stale-in-stage, the transitions that entered a stage N days before."""
    transitions = StageTransition.objects.select_related("application", "candidate", "job")
    names = sorted({stage_key(n) for n in version.stage_names if stage_key(n)})
    if names:
        transitions = transitions.annotate(stage_lower=Lower("to_stage_name")).filter(
            stage_lower__in=names
        )
    trigger = version.trigger
    if trigger == TriggerKind.STALE_IN_STAGE:
        days = timedelta(days=version.stale_days or 0)
        transitions = transitions.filter(
            observed_at__gte=since - days, observed_at__lte=until - days
        ).exclude(to_stage_name="")
    else:
        transitions = transitions.filter(observed_at__gte=since, observed_at__lte=until)
    if trigger == TriggerKind.APPLICATION_CREATED:
        transitions = transitions.filter(is_new_application=True)
    elif trigger in (TriggerKind.REJECTED, TriggerKind.HIRED):
        transitions = transitions.filter(to_status=trigger).exclude(from_status=trigger)
    return transitions.order_by("observed_at", "pk")


def _fires(version: JourneyVersion, t: StageTransition) -> bool:
    if version.trigger in (TriggerKind.ENTERED_STAGE, TriggerKind.STALE_IN_STAGE):
        return bool(t.to_stage_name) and stage_changed(t)
    return True  # the query already selected the other triggers


def simulate(
    *, version: JourneyVersion, days: int, now: datetime | None = None
) -> SimulationReport:
    """Replay the last ``days`` days of real transitions through ``version`` (reads only)."""
    if not 1 <= int(days) <= MAX_DAYS:
        raise ValueError(f"Simulate between 1 and {MAX_DAYS} days.")
    organization = version.journey.organization
    until = now or timezone.now()
    since = until - timedelta(days=int(days))
    steps = list(
        JourneyStep.objects.filter(version=version)
        .select_related("message_template")
        .order_by("position", "id")
    )
    candidates_t = [t for t in _entry_transitions(version, since, until) if _fires(version, t)]
    job_offices, job_departments = job_relations(
        (t.job_id or t.application.job_id for t in candidates_t),
        offices=bool(version.office_ids),
        departments=bool(version.department_ids),
    )
    matched = [
        t
        for t in candidates_t
        if t.application.deleted_at is None
        and criteria_match(
            version,
            transition=t,
            application=t.application,
            candidate=t.candidate,
            job_offices=job_offices,
            job_departments=job_departments,
        )
    ]
    application_ids = {t.application_id for t in matched}
    candidate_ids = {t.candidate_id for t in matched}
    later: dict[int, list[StageTransition]] = defaultdict(list)
    events: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    ledger = _Ledger(())
    locations: dict[int, list[str]] = defaultdict(list)
    if matched:
        first = min(t.observed_at for t in matched)
        for chunk in chunked(sorted(application_ids), 2000):
            for t in (
                StageTransition.objects.filter(application_id__in=chunk, observed_at__gte=first)
                .select_related("job")
                .order_by("observed_at", "pk")
            ):
                later[t.application_id].append(t)
        for chunk in chunked(sorted(candidate_ids), 2000):
            for candidate_id, kind, occurred_at in TimelineEvent.objects.filter(
                candidate_id__in=chunk,
                kind__in=list(timeline_kinds.EXIT_RULE_KINDS.values()),
                occurred_at__gte=first,
            ).values_list("candidate_id", "kind", "occurred_at"):
                events[candidate_id].append((occurred_at, kind))
        phones = sorted({t.candidate.mobile_phone for t in matched if t.candidate.mobile_phone})
        rows = []
        for chunk in chunked(phones, 2000):
            rows += OptOutEntry.objects.filter(phone__in=chunk).values_list(
                "phone", "action", "created_at"
            )
        ledger = _Ledger(rows)
        locations = _office_locations(candidate_ids)
    # Read, never created (messaging's preferences_for creates the row on first use).
    preferences = MessagingPreferences.unscoped.filter(
        organization_id=organization.pk
    ).first() or MessagingPreferences(organization=organization)
    windows = {channel: _window(preferences, channel) for channel in ("sms", "email")}

    entries = []
    for t in matched:
        stale = version.trigger == TriggerKind.STALE_IN_STAGE
        entered_at = (
            t.observed_at + timedelta(days=version.stale_days or 0) if stale else (t.observed_at)
        )
        after = [x for x in later.get(t.application_id, ()) if x.pk > t.pk]
        if stale and _left_before(t, after, entered_at):
            continue  # moved on (or closed) before going stale: never entered
        candidate = t.candidate
        zone, evidence = candidate_zone(
            phone=candidate.mobile_phone,
            office_locations=locations.get(candidate.pk, ()),
            organization_zone=organization.time_zone,
            explicit_zone=candidate.time_zone,
            explicit_source=candidate.time_zone_source,
        )
        entry = SimulatedEntry(
            candidate_id=candidate.pk,
            candidate_name=candidate.full_name,
            application_id=t.application_id,
            job_name=t.job.name if t.job else "",
            stage_name=t.to_stage_name,
            entered_at=entered_at,
            why=trigger_reason(
                version.trigger,
                transition=t,
                job_name=t.job.name if t.job else "",
                stale_days=version.stale_days,
            ),
            zone=zone,
            zone_evidence=evidence,
        )
        exits = _exit_events(version, t, after, events.get(candidate.pk, ()), ledger, entered_at)
        _walk(entry, steps, t, after, exits, events.get(candidate.pk, ()), ledger, windows, until)
        entries.append(entry)
    entries.sort(key=lambda e: (e.entered_at, e.application_id))
    return SimulationReport(
        version=version,
        days=int(days),
        since=since,
        until=until,
        transitions_considered=len(candidates_t),
        entries=entries,
    )


def _office_locations(candidate_ids) -> dict[int, list[str]]:
    """Office locations of each candidate's jobs (the time-zone evidence after the phone)."""
    jobs_of: dict[int, set[int]] = defaultdict(set)
    for chunk in chunked(sorted(candidate_ids), 2000):
        for candidate_id, job_id in Application.objects.filter(
            candidate_id__in=chunk, job_id__isnull=False
        ).values_list("candidate_id", "job_id"):
            jobs_of[candidate_id].add(job_id)
    all_jobs = {j for jobs in jobs_of.values() for j in jobs}
    where: dict[int, list[str]] = defaultdict(list)
    if all_jobs:
        for job_id, location in (
            Job.offices.through.objects.filter(job_id__in=all_jobs)
            .exclude(office__location="")
            .values_list("job_id", "office__location")
        ):
            where[job_id].append(location)
    return {
        candidate_id: [loc for job in sorted(jobs) for loc in where.get(job, ())]
        for candidate_id, jobs in jobs_of.items()
    }


def _left_before(t: StageTransition, after: list[StageTransition], moment: datetime) -> bool:
    for x in after:
        if x.observed_at > moment:
            return False
        if stage_key(x.to_stage_name) != stage_key(t.to_stage_name) or x.to_status not in (
            "",
            ApplicationStatus.ACTIVE,
        ):
            return True
    return False


def _exit_events(version, t, after, candidate_events, ledger: _Ledger, entered_at):
    """``[(time, reason)]`` of the exit rules that fire after the candidate entered."""
    rules = set(version.exit_rules or ())
    found: list[tuple[datetime, str]] = []
    for x in after:
        job = f" for {x.job.name}" if x.job else ""
        if (
            ExitRule.REJECTED in rules
            and version.trigger != TriggerKind.REJECTED
            and x.to_status == ApplicationStatus.REJECTED
            and x.from_status != ApplicationStatus.REJECTED
        ):
            found.append((x.observed_at, f"rejected{job} (exit rule)"))
        elif (
            ExitRule.HIRED in rules
            and version.trigger != TriggerKind.HIRED
            and x.to_status == ApplicationStatus.HIRED
            and x.from_status != ApplicationStatus.HIRED
        ):
            found.append((x.observed_at, f"hired{job} (exit rule)"))
        elif (
            ExitRule.LEFT_STAGE in rules
            and stage_changed(x)
            and stage_key(x.to_stage_name) != stage_key(t.to_stage_name)
        ):
            found.append(
                (
                    x.observed_at,
                    f"moved from {t.to_stage_name} to {x.to_stage_name or 'another stage'} "
                    "(exit rule)",
                )
            )
    for occurred_at, kind in candidate_events:
        if occurred_at < entered_at:
            continue
        for rule, rule_kind in timeline_kinds.EXIT_RULE_KINDS.items():
            if kind == rule_kind and rule in rules:
                found.append((occurred_at, f"{timeline_kinds.EXIT_RULE_REASONS[rule]} (exit rule)"))
    phone = t.candidate.mobile_phone
    if ExitRule.OPTED_OUT in rules and phone:
        for at in ledger.locks_between(phone, entered_at):
            found.append((at, f"{phone} opted out of texts (exit rule)"))
    return sorted(found, key=lambda f: f[0])


def _condition(check, *, t, after, candidate_events, entered_at, moment) -> bool:
    candidate = t.candidate
    if check == ConditionCheck.STILL_IN_STAGE:
        for x in after:
            if x.observed_at > moment:
                break
            if stage_key(x.to_stage_name) != stage_key(t.to_stage_name):
                return False
        return True
    if check == ConditionCheck.HAS_MOBILE:
        return bool(E164.match((candidate.mobile_phone or "").strip()))
    if check == ConditionCheck.HAS_EMAIL:
        return bool((candidate.primary_email or "").strip())
    kind = timeline_kinds.CONDITION_KINDS.get(check)
    return any(k == kind and entered_at <= at <= moment for at, k in candidate_events)


def _walk(entry, steps, t, after, exits, candidate_events, ledger, windows, until) -> None:
    candidate = t.candidate
    moment = entry.entered_at
    stopped = ""
    for step in steps:
        label = step_label(step)
        if stopped:
            entry.steps.append(SimulatedStep(step.position, step.kind, label, NOT_REACHED))
            continue
        due_exit = next((reason for at, reason in exits if at <= moment), None)
        if due_exit:
            stopped = entry.exited_reason = f"Exited before step {step.position}: {due_exit}"
            entry.steps.append(
                SimulatedStep(step.position, step.kind, label, NOT_REACHED, note=due_exit)
            )
            continue
        if step.kind == StepKind.WAIT:
            moment = wait_end(moment, step.config or {}, zone=entry.zone)
            entry.steps.append(
                SimulatedStep(
                    step.position,
                    step.kind,
                    label,
                    WAIT,
                    at=moment,
                    note=f"until {_local(moment, entry.zone)} ({entry.zone})",
                    in_future=moment > until,
                )
            )
        elif step.kind in SEND_CHANNELS:
            channel = SEND_CHANNELS[step.kind]
            problem = ""
            if channel == "sms":
                phone = (candidate.mobile_phone or "").strip()
                if not phone:
                    problem = "No mobile number"
                elif not E164.match(phone):
                    problem = f"{phone} is not a full international mobile number"
                elif ledger.locked_at(phone, moment):
                    problem = f"{phone} opted out of texts"
            elif not (candidate.primary_email or "").strip():
                problem = "No email address"
            if problem:
                entry.steps.append(
                    SimulatedStep(
                        step.position,
                        step.kind,
                        label,
                        SKIP,
                        at=moment,
                        note=problem,
                        channel=channel,
                    )
                )
                continue
            hold = _hold(moment, entry.zone, windows[channel])
            if hold:
                moment = hold
                entry.steps.append(
                    SimulatedStep(
                        step.position,
                        step.kind,
                        label,
                        HELD,
                        at=hold,
                        note=f"held for quiet hours until {_local(hold, entry.zone)} "
                        f"({entry.zone})",
                        channel=channel,
                        in_future=hold > until,
                    )
                )
            else:
                entry.steps.append(
                    SimulatedStep(
                        step.position,
                        step.kind,
                        label,
                        SEND,
                        at=moment,
                        note=f"{_local(moment, entry.zone)} ({entry.zone})",
                        channel=channel,
                        in_future=moment > until,
                    )
                )
        elif step.kind == StepKind.CONDITION:
            config = step.config or {}
            value = _condition(
                config.get("check"),
                t=t,
                after=after,
                candidate_events=candidate_events,
                entered_at=entry.entered_at,
                moment=moment,
            )
            if value == config.get("expect", True):
                entry.steps.append(
                    SimulatedStep(step.position, step.kind, label, CONTINUE, at=moment)
                )
            else:
                stopped = entry.exited_reason = f"Exited at step {step.position}: condition not met"
                entry.steps.append(
                    SimulatedStep(
                        step.position, step.kind, label, EXIT, at=moment, note="condition not met"
                    )
                )
        elif step.kind == StepKind.EXIT:
            stopped = "exit"
            entry.steps.append(SimulatedStep(step.position, step.kind, label, EXIT, at=moment))
        elif step.kind in STEP_KINDS:
            # A step another app plugs in (a scheduling request): it contacts the candidate now.
            entry.steps.append(
                SimulatedStep(
                    step.position,
                    step.kind,
                    label,
                    SEND,
                    at=moment,
                    note=f"{_local(moment, entry.zone)} ({entry.zone})",
                    in_future=moment > until,
                )
            )
        else:
            stopped = entry.exited_reason = (
                f"Stopped at step {step.position}: {step.get_kind_display()} is not available yet"
            )
            entry.steps.append(
                SimulatedStep(step.position, step.kind, label, SKIP, note="not available yet")
            )
