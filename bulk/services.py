"""Bulk actions: start one (once per confirm form), run it candidate by candidate through the
domains' own services — enrolment by hand (``journeys.enrollment.enroll``) and messaging's send
path (``messaging.services.message_send``) — so opt-outs, quiet hours, the engine's checks and
tenancy hold for each candidate as they do on the candidate page; and read its progress.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from candidates import selectors as candidate_selectors
from candidates.models import Candidate
from journeys.enrollment import EnrollmentRefused, enroll
from journeys.models import Journey
from library import templating
from library.models import MessageTemplate, TemplateChannel
from messaging import services as messaging_services
from messaging.models import MessageStatus
from recruitflow.tasks import task_named
from recruitflow.tenancy import scopes_disabled

from . import checks
from .models import BulkAction, BulkActionItem, BulkKind, BulkStatus, ItemOutcome

logger = logging.getLogger(__name__)

RUN_TASK = "bulk.run_action"
# A queued or running action with no candidate done for this long lost its worker (killed,
# redeployed) or its queued task (a broker outage): the sweep queues it again.
STALLED_AFTER = timedelta(minutes=2)
TOKEN_MAX = 64
# A bulk send's messages: the Inbox shows the person who started it as the sender, and the
# source tells them apart from one sent from the candidate page ("manual").
MESSAGE_SOURCE = "bulk"


class BulkRefused(ValueError):
    """The action can't start; the message says what to change."""


def _person(user) -> str:
    return (user.get_full_name() or "").strip() or user.email


def bulk_start(
    *,
    organization,
    user,
    token: str,
    selection: checks.Selection,
    kind: str,
    journey: Journey | None = None,
    template: MessageTemplate | None = None,
    reason: str = "",
) -> BulkAction:
    """Record the action and its candidates, and queue the run once committed. The same
    ``token`` (the confirm form's) returns the action it started the first time."""
    token = (token or "").strip()
    if not token or len(token) > TOKEN_MAX:
        raise BulkRefused("This form has expired: open the preview again and confirm from there.")
    existing = BulkAction.objects.filter(organization=organization, token=token).first()
    if existing is not None:
        return existing
    if kind == BulkKind.ENROL:
        if journey is None:
            raise BulkRefused("Choose the journey to add them to.")
        if not reason.strip():
            raise BulkRefused("Say why you are adding them by hand (it goes on each timeline).")
        target = journey.name
    elif kind == BulkKind.SEND:
        if template is None:
            raise BulkRefused("Choose the Library template to send.")
        problem = checks.send_setup_problem(organization=organization, template=template)
        if problem:
            raise BulkRefused(problem)
        target = template.name
    else:
        raise BulkRefused("Choose an action: Enrol in a journey or Send a template.")
    if not selection.candidate_ids:
        raise BulkRefused("None of the chosen candidates can be reached: nothing to do.")
    try:
        with transaction.atomic():
            action = BulkAction.objects.create(
                organization=organization,
                token=token,
                kind=kind,
                started_by=user,
                filters=selection.filters,
                selected_all=selection.selected_all,
                journey=journey if kind == BulkKind.ENROL else None,
                template=template if kind == BulkKind.SEND else None,
                target_name=target[:255],
                reason=reason.strip()[:300],
                total=len(selection.candidate_ids),
            )
            BulkActionItem.objects.bulk_create(
                BulkActionItem(organization=organization, action=action, candidate_id=pk)
                for pk in selection.candidate_ids
            )
            transaction.on_commit(lambda: task_named(RUN_TASK).delay(organization.pk, action.pk))
    except IntegrityError:
        # A double submit raced this one: theirs is the action.
        return BulkAction.objects.get(organization=organization, token=token)
    return action


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def _render(template: MessageTemplate, *, organization, candidate) -> dict:
    """Subject, text and HTML of ``template`` written for ``candidate``; ValueError if it can't
    be rendered for them."""
    context = templating.merge_context(organization=organization, candidate=candidate)
    try:
        rendered = templating.render(template, context)
    except templating.TemplateInvalid as exc:
        raise ValueError(f"“{template.name}” can't be rendered: {exc}") from exc
    return {"subject": rendered.subject, "body": rendered.text, "html": rendered.html}


def _send_one(action: BulkAction, item: BulkActionItem, *, organization, zone: str) -> None:
    template = action.template
    candidate = item.candidate
    if template is None:
        item.outcome, item.detail = (
            ItemOutcome.SKIPPED,
            "The template was deleted from the Library.",
        )
        return
    try:
        parts = _render(template, organization=organization, candidate=candidate)
    except ValueError as exc:
        item.outcome, item.detail = ItemOutcome.FAILED, str(exc)
        return
    try:
        message = messaging_services.message_send(
            organization=organization,
            candidate=candidate,
            channel=template.channel,
            body=parts["body"],
            subject=(parts["subject"] or "").strip(),
            html=parts["html"] if template.channel == TemplateChannel.EMAIL else "",
            source=MESSAGE_SOURCE,
            sent_by=action.started_by,
            idempotency_key=f"bulk:{action.pk}:{candidate.pk}",
        )
    except messaging_services.CannotSend as exc:
        # The preview's words for the reason (the send path's name the address), so the
        # summary groups alike refusals; its own words when the preview has none.
        verdict = checks.send_verdict(
            organization=organization, candidate=candidate, channel=template.channel
        )
        words = checks.SKIP_REASONS.get(verdict.skip, exc.reason)
        item.outcome, item.detail = ItemOutcome.SKIPPED, words
        return
    item.message_id = message.pk
    item.outcome = ItemOutcome.DONE
    if message.status == MessageStatus.HELD and message.hold_until:
        item.detail = f"Held for quiet hours until {checks.when_in_zone(message.hold_until, zone)}"
    else:
        item.detail = "Queued"


# The engine's refusals that the preview names the same way.
REFUSAL_REASONS = {
    "paused": "journey_inactive",
    "already_enrolled": "already_enrolled",
    "no_application": "no_application",
    "application_required": "several_applications",
    "no_stage_change": "no_stage_change",
}


def _refusal_words(exc: EnrollmentRefused, candidate: Candidate) -> str:
    """The engine's refusal without the candidate's name, so the summary groups alike ones."""
    if exc.code in REFUSAL_REASONS:
        return checks.SKIP_REASONS[REFUSAL_REASONS[exc.code]]
    text = str(exc)
    name = candidate.full_name or f"Candidate {candidate.pk}"
    if text.startswith(f"{name} "):
        text = text[len(name) + 1 :]
        text = text[:1].upper() + text[1:]
    return text[:500]


def _enrol_one(
    action: BulkAction, item: BulkActionItem, *, organization, applications: dict
) -> None:
    journey = action.journey
    if journey is None:
        item.outcome, item.detail = ItemOutcome.SKIPPED, "The journey was deleted."
        return
    candidate = item.candidate
    job_id = candidate_selectors.CandidateFilters.from_query(action.filters).job
    application, skip = checks.application_choice(applications.get(candidate.pk, []), job_id=job_id)
    if skip:
        item.outcome, item.detail = ItemOutcome.SKIPPED, checks.SKIP_REASONS[skip]
        return
    actor = _person(action.started_by) if action.started_by else "a team member"
    try:
        made = enroll(
            organization=organization,
            journey=journey,
            candidate=candidate,
            application=application,
            reason=action.reason,
            actor=actor,
        )
    except EnrollmentRefused as exc:
        item.outcome, item.detail = ItemOutcome.SKIPPED, _refusal_words(exc, candidate)
        return
    item.outcome, item.detail, item.run_id = ItemOutcome.DONE, "Added", made.run.pk


def bulk_run(*, organization, action_id: int) -> BulkAction | None:
    """Work through the action's waiting candidates, recording each outcome as it goes (the
    page's progress). Runs once: a second run of the same action does nothing."""
    claimed = BulkAction.objects.filter(
        organization=organization, pk=action_id, status=BulkStatus.QUEUED
    ).update(status=BulkStatus.RUNNING)
    if not claimed:
        return None
    action = BulkAction.objects.select_related("journey", "template", "started_by").get(
        pk=action_id
    )
    if action.journey is not None:
        action.journey = Journey.objects.select_related("current_version").get(pk=action.journey_id)
    zone = checks.organization_zone(organization)
    pending = list(
        BulkActionItem.objects.filter(action=action, outcome=ItemOutcome.PENDING)
        .select_related("candidate")
        .order_by("id")
    )
    applications = (
        checks.live_applications([item.candidate_id for item in pending])
        if action.kind == BulkKind.ENROL
        else {}
    )
    # The messages go out as they are queued, up to 25 to a delivery task.
    with messaging_services.messages_batched():
        for item in pending:
            try:
                if action.kind == BulkKind.SEND:
                    _send_one(action, item, organization=organization, zone=zone)
                else:
                    _enrol_one(action, item, organization=organization, applications=applications)
            except Exception:
                logger.exception(
                    "Bulk action %s failed for candidate %s", action.pk, item.candidate_id
                )
                item.outcome = ItemOutcome.FAILED
                item.detail = "An unexpected error stopped this one; it was logged for the team."
            item.detail = item.detail[:500]
            item.save(update_fields=["outcome", "detail", "message_id", "run_id", "updated_at"])
    action.status = BulkStatus.DONE
    action.finished_at = timezone.now()
    action.save(update_fields=["status", "finished_at"])
    return action


def _requeue_running(pk: int) -> bool:
    return bool(
        BulkAction.objects.filter(pk=pk, status=BulkStatus.RUNNING).update(status=BulkStatus.QUEUED)
    )


def bulk_resume_stalled(*, now=None) -> int:
    """Queue again the actions that stopped: queued or running for longer than
    ``STALLED_AFTER`` with no candidate done in that time. The run picks up the candidates
    still waiting; one a killed worker was half-way through is safe to do again (a message's
    key is per action and candidate, and the engine refuses a second enrolment). Returns how
    many were queued again."""
    cutoff = (now or timezone.now()) - STALLED_AFTER
    with scopes_disabled():  # beat sweep: a deliberate look across organizations
        stalled = list(
            BulkAction.objects.filter(
                status__in=[BulkStatus.QUEUED, BulkStatus.RUNNING], created_at__lt=cutoff
            )
            .annotate(last_done=Max("items__updated_at"))
            .filter(Q(last_done__lt=cutoff) | Q(last_done__isnull=True))
            .values_list("pk", "organization_id", "status")
        )
        resumed = 0
        for pk, organization_id, status in stalled:
            # Only one sweep hands a stopped run back to the queue.
            if status == BulkStatus.RUNNING and not _requeue_running(pk):
                continue
            # A queued one whose task is only late runs once: the run claims queued → running.
            task_named(RUN_TASK).delay(organization_id, pk)
            resumed += 1
    if resumed:
        logger.warning("Queued %s stalled bulk action(s) again", resumed)
    return resumed


# --------------------------------------------------------------------------------------------
# Progress and summary
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    status: str
    total: int
    done: int
    skipped: int
    failed: int

    @property
    def processed(self) -> int:
        return self.done + self.skipped + self.failed

    @property
    def finished(self) -> bool:
        return self.status == BulkStatus.DONE

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "total": self.total,
            "processed": self.processed,
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "finished": self.finished,
        }


def bulk_history(*, organization) -> QuerySet[BulkAction]:
    """The organization's bulk actions, newest first, each with its outcome counts (one query
    per page of the list)."""
    return (
        BulkAction.objects.filter(organization=organization)
        .select_related("started_by")
        .annotate(
            done=Count("items", filter=Q(items__outcome=ItemOutcome.DONE)),
            skipped=Count("items", filter=Q(items__outcome=ItemOutcome.SKIPPED)),
            failed=Count("items", filter=Q(items__outcome=ItemOutcome.FAILED)),
        )
        .order_by("-created_at", "-pk")
    )


def bulk_progress(action: BulkAction) -> Progress:
    counts = dict(
        BulkActionItem.objects.filter(action=action)
        .order_by()
        .values_list("outcome")
        .annotate(n=Count("id"))
    )
    return Progress(
        status=action.status,
        total=sum(counts.values()),
        done=counts.get(ItemOutcome.DONE, 0),
        skipped=counts.get(ItemOutcome.SKIPPED, 0),
        failed=counts.get(ItemOutcome.FAILED, 0),
    )


@dataclass
class SummaryGroup:
    outcome: str
    detail: str
    candidates: list[Candidate]
    count: int

    @property
    def more(self) -> int:
        return self.count - len(self.candidates)


SUMMARY_NAMES = 25


def bulk_summary(action: BulkAction) -> list[SummaryGroup]:
    """The outcomes grouped by what happened (sent, held until..., each skip reason, each
    failure), each with its first candidates (for links) and how many in all."""
    groups: dict[tuple[str, str], SummaryGroup] = {}
    order: dict[str, int] = {ItemOutcome.DONE: 0, ItemOutcome.SKIPPED: 1, ItemOutcome.FAILED: 2}
    rows = (
        BulkActionItem.objects.filter(action=action)
        .exclude(outcome=ItemOutcome.PENDING)
        .select_related("candidate")
        .order_by("candidate__last_name", "candidate__first_name", "id")
    )
    for item in rows:
        key = (item.outcome, item.detail)
        group = groups.setdefault(key, SummaryGroup(item.outcome, item.detail, [], 0))
        group.count += 1
        if len(group.candidates) < SUMMARY_NAMES:
            group.candidates.append(item.candidate)
    return sorted(groups.values(), key=lambda g: (order.get(g.outcome, 3), -g.count, g.detail))
