"""The dispatcher's sweeps (beat, every few seconds, see ``journeys.tasks``): claim due steps
across organizations, recover steps whose worker died, follow journey messages in the outbox,
the matching safety net and the stale-in-stage starter."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from candidates.models import Application, ApplicationStatus, StageTransition
from journeys import timeline_kinds
from journeys.engine import (
    MATCH_BATCH,
    MAX_STEP_ATTEMPTS,
    MatchResult,
    complete_if_finished,
    following_step_create,
    start_runs,
    step_timeout,
    transitions_match,
)
from journeys.models import (
    JourneyRun,
    JourneyTriggerKey,
    MatchCursor,
    RunStatus,
    StepRun,
    StepRunStatus,
    TriggerKind,
)
from journeys.registry import STEP_HANDLERS, run_event, send_key, write_events
from journeys.triggers import chunked, criteria_match, job_relations, lock_cursor, normalized_words
from messaging.models import Message, MessageStatus
from recruitflow.tenancy import scopes_disabled

# --------------------------------------------------------------------------------------------
# The dispatcher's sweeps
# --------------------------------------------------------------------------------------------


def step_runs_claim_due(*, limit: int = 100, now: datetime | None = None) -> list[tuple[int, int]]:
    """Claim up to ``limit`` due step rows of active journeys across organizations:
    ``select_for_update(skip_locked=True)`` so concurrent dispatchers take different rows, then
    pending → running in the same transaction. Returns ``[(organization_id, step_run_id)]``."""
    now = now or timezone.now()
    with scopes_disabled(), transaction.atomic():
        rows = list(
            StepRun.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=StepRunStatus.PENDING,
                due_at__lte=now,
                run__status=RunStatus.ACTIVE,
                run__journey__is_active=True,
                organization__is_active=True,
            )
            .order_by("due_at", "id")
            .values_list("organization_id", "pk")[:limit]
        )
        if rows:
            StepRun.objects.filter(pk__in=[pk for _, pk in rows]).update(
                status=StepRunStatus.RUNNING, started_at=now, attempts=F("attempts") + 1
            )
    return rows


def step_runs_recover(*, organization, now: datetime | None = None) -> int:
    """Steps still ``running`` after the step timeout lost their worker. A step that does not
    contact the candidate, and a send step (its message carries the idempotency key
    ``journey-step:<id>``, so running it again finds the message already in the outbox and
    sends nothing twice), is put back to run again — up to ``MAX_STEP_ATTEMPTS`` times. Any
    other step that contacts the candidate, or one that keeps losing its worker, becomes
    ``unknown`` (the run stops; the timeline says whether the outbox holds the message)."""
    now = now or timezone.now()
    stale = list(
        StepRun.objects.filter(
            status=StepRunStatus.RUNNING, started_at__lt=now - step_timeout()
        ).select_related("step", "run__journey", "run__version")
    )
    recovered = 0
    for step_run in stale:
        handler = STEP_HANDLERS.get(step_run.step.kind)
        if handler is not None and (
            not handler.contacts_candidate
            or (handler.rerun_safe and step_run.attempts < MAX_STEP_ATTEMPTS)
        ):
            recovered += StepRun.objects.filter(
                pk=step_run.pk, status=StepRunStatus.RUNNING
            ).update(status=StepRunStatus.PENDING)
            continue
        message = Message.objects.filter(idempotency_key=send_key(step_run.pk)).first()
        if message is not None:
            reason = (
                f"The worker stopped while sending step {step_run.position}. The message is in "
                f"the outbox ({message.get_status_display().lower()}); it is never sent twice. "
                "Check the conversation before sending anything by hand."
            )
        else:
            reason = (
                f"The worker stopped while running step {step_run.position}; no message reached "
                "the outbox. Nothing is resent automatically: send it by hand if it is still "
                "needed."
            )
        run = step_run.run
        with transaction.atomic():
            if not StepRun.objects.filter(pk=step_run.pk, status=StepRunStatus.RUNNING).update(
                status=StepRunStatus.UNKNOWN, reason=reason[:500], message=message, finished_at=now
            ):
                continue
            recovered += 1
            JourneyRun.objects.filter(pk=run.pk, status=RunStatus.ACTIVE).update(
                status=RunStatus.FAILED,
                reason=unknown_stop_reason(step_run.position),
                finished_at=now,
            )
            write_events(
                organization,
                run,
                [
                    run_event(
                        run,
                        timeline_kinds.JOURNEY_STEP_UNKNOWN,
                        f"Journey “{run.journey.name}”, step {step_run.position}: outcome unknown",
                        reason,
                        message_id=message.pk if message else None,
                    )
                ],
                now,
            )
    return recovered


def step_runs_reconcile(*, organization, since: timedelta = timedelta(days=2)) -> int:
    """Steps follow the messages they handed to the outbox: a send the provider refused or
    could not deliver marks its step ``failed`` with the provider's reason, an ambiguous one
    ``unknown``, a held one that went out ``done``, a held one canceled (opt-out) ``skipped``.
    An ``unknown`` step whose message the provider (a reconcile, a delivery callback) settled
    says what really happened: ``done`` when it went out — and a run stopped at that step goes
    on — ``failed`` when it was not delivered, ``skipped`` when canceled. Each change is put on
    the timeline once."""
    now = timezone.now()
    failed = [MessageStatus.FAILED, MessageStatus.UNDELIVERED]
    went_out = [
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.READ,
        MessageStatus.OPENED,
    ]
    # Provider news arrives within minutes or hours of the send: recent sends are followed for
    # ``since``; held ones (few) until they go out; unknown ones (few) for a week.
    rows = list(
        StepRun.objects.filter(
            Q(
                status__in=[StepRunStatus.DONE, StepRunStatus.HELD],
                finished_at__gte=now - since,
                message__status__in=[*failed, MessageStatus.UNKNOWN],
            )
            | Q(
                status=StepRunStatus.HELD,
                message__status__in=[*went_out, MessageStatus.CANCELED],
            )
            | Q(
                status=StepRunStatus.UNKNOWN,
                finished_at__gte=now - timedelta(days=7),
                message__status__in=[*went_out, *failed, MessageStatus.CANCELED],
            )
        ).select_related("message", "run__journey", "run__version", "run__candidate")
    )
    changed = 0
    for step_run in rows:
        message, run = step_run.message, step_run.run
        label = "text" if message.channel == "sms" else "e-mail"
        was_unknown = step_run.status == StepRunStatus.UNKNOWN
        events = []
        if message.status in failed:
            provider_reason = message.error_message or (
                f"error {message.error_code}" if message.error_code else "no reason given"
            )
            status = StepRunStatus.FAILED
            reason = f"The {label} was not delivered: {provider_reason}"
            events.append(
                run_event(
                    run,
                    timeline_kinds.JOURNEY_STEP_FAILED,
                    f"Journey “{run.journey.name}”, step {step_run.position}: {label} not "
                    f"delivered — {provider_reason}",
                    message_id=message.pk,
                    error_code=message.error_code,
                )
            )
        elif message.status == MessageStatus.UNKNOWN:
            status = StepRunStatus.UNKNOWN
            reason = (
                f"The provider did not confirm the {label} yet (it may have gone out). "
                "RecruitFlow asks the provider and this step will follow its answer; don't "
                "send it again by hand."
            )
            events.append(
                run_event(
                    run,
                    timeline_kinds.JOURNEY_STEP_UNKNOWN,
                    f"Journey “{run.journey.name}”, step {step_run.position}: {label} outcome "
                    "unknown",
                    reason,
                    message_id=message.pk,
                )
            )
        elif message.status == MessageStatus.CANCELED:
            status = StepRunStatus.SKIPPED
            reason = message.error_message or f"The held {label} was canceled."
        elif was_unknown:
            status = StepRunStatus.DONE
            reason = f"The provider confirmed the {label} went out; it was sent once."
            events.append(
                run_event(
                    run,
                    timeline_kinds.JOURNEY_SENT,
                    f"Journey “{run.journey.name}”, step {step_run.position}: the {label} went "
                    "out (confirmed by the provider after its outcome was unknown)",
                    message_id=message.pk,
                    channel=message.channel,
                    settled=True,
                )
            )
        else:
            status, reason = StepRunStatus.DONE, f"The held {label} went out."
        with transaction.atomic():
            if StepRun.objects.filter(pk=step_run.pk, status=step_run.status).update(
                status=status, reason=reason[:500]
            ):
                changed += 1
                write_events(organization, run, events, now)
                if step_run.status == StepRunStatus.HELD and run.status == RunStatus.ACTIVE:
                    complete_if_finished(organization, run, now)
                if was_unknown and status == StepRunStatus.DONE:
                    _run_resume(organization, run, step_run, base=message.sent_at or now, now=now)
    return changed


def _run_resume(organization, run: JourneyRun, step_run: StepRun, *, base, now) -> bool:
    """A run stopped because ``step_run``'s outcome was unknown goes on once the provider
    confirmed the message went out: active again, its next step due from when it was sent."""
    stopped = unknown_stop_reason(step_run.position)
    if not JourneyRun.objects.filter(pk=run.pk, status=RunStatus.FAILED, reason=stopped).update(
        status=RunStatus.ACTIVE, reason="", finished_at=None
    ):
        return False
    run.status = RunStatus.ACTIVE
    if StepRun.objects.filter(run_id=run.pk, position__gt=step_run.position).exists():
        return True
    following_step_create(organization, run, step_run.position, base=base, now=now)
    return True


def unknown_stop_reason(position: int) -> str:
    return f"Stopped at step {position}: its outcome is unknown."


def transitions_match_pending(*, organization, limit: int = 5000) -> MatchResult:
    """The safety net: match transitions past the organization's MatchCursor (ones whose
    on-commit match task was lost), then advance the cursor over the ones old enough that no
    transaction still writing them can commit behind it."""
    cursor = MatchCursor.objects.filter(organization=organization).first()
    start = cursor.last_transition_id if cursor else 0
    rows = list(
        StageTransition.objects.filter(pk__gt=start)
        .order_by("pk")
        .values_list("pk", "observed_at")[:limit]
    )
    if not rows:
        return MatchResult()
    result = transitions_match(organization=organization, transition_ids=[pk for pk, _ in rows])
    settled = timezone.now() - timedelta(
        seconds=getattr(settings, "JOURNEYS_MATCH_SETTLE_SECONDS", 60)
    )
    last = start
    for pk, observed_at in rows:
        if observed_at > settled:
            break
        last = pk
    if last > start:
        MatchCursor.objects.filter(organization=organization).update(last_transition_id=last)
    return result


def stale_runs_start(*, organization, now: datetime | None = None) -> MatchResult:
    """Start runs of active "stale in stage for N days" journeys: applications still active in
    a matching stage whose ``stage_entered_at`` is N days old or more, once per (journey, the
    transition that entered the stage). Only candidates who go stale after the journey was
    activated start it; applications that entered the stage before RecruitFlow was connected
    have no such transition and are not started either."""
    now = now or timezone.now()
    versions = {
        key.version_id: key.version
        for key in JourneyTriggerKey.objects.filter(
            trigger=TriggerKind.STALE_IN_STAGE, version__journey__is_active=True
        ).select_related("version__journey")
        if key.version.journey.current_version_id == key.version_id and key.version.stale_days
    }
    result = MatchResult()
    for version in versions.values():
        entered = StageTransition.objects.filter(
            application=OuterRef("pk"), to_stage_name=OuterRef("stage_name")
        ).filter(Q(is_new_application=True) | ~Q(from_stage_name=F("to_stage_name")))
        stale_for = timedelta(days=version.stale_days)
        applications = Application.objects.filter(
            status=ApplicationStatus.ACTIVE,
            deleted_at__isnull=True,
            candidate__deleted_at__isnull=True,
            stage_entered_at__lte=now - stale_for,
        )
        if version.journey.activated_at:
            # From activation on: candidates who went stale before it are not started.
            applications = applications.filter(
                stage_entered_at__gte=version.journey.activated_at - stale_for
            )
        names = sorted(normalized_words(version.stage_names))
        if names:
            applications = applications.annotate(stage_lower=Lower("stage_name")).filter(
                stage_lower__in=names
            )
        transition_ids = list(
            applications.annotate(entered_by=Subquery(entered.order_by("-pk").values("pk")[:1]))
            .filter(entered_by__isnull=False)
            .exclude(
                Exists(
                    JourneyRun.objects.filter(
                        journey_id=version.journey_id, transition_id=OuterRef("entered_by")
                    )
                )
            )
            .values_list("entered_by", flat=True)
        )
        for chunk in chunked(transition_ids, MATCH_BATCH):
            with transaction.atomic():
                lock_cursor(organization)
                transitions = list(
                    StageTransition.objects.filter(pk__in=chunk).select_related(
                        "application", "candidate", "job"
                    )
                )
                job_offices, job_departments = job_relations(
                    (t.job_id or t.application.job_id for t in transitions),
                    offices=bool(version.office_ids),
                    departments=bool(version.department_ids),
                )
                wanted = [
                    (version, t, TriggerKind.STALE_IN_STAGE)
                    for t in transitions
                    if criteria_match(
                        version,
                        transition=t,
                        application=t.application,
                        candidate=t.candidate,
                        job_offices=job_offices,
                        job_departments=job_departments,
                    )
                ]
                result.add(start_runs(organization, wanted))
    return result
