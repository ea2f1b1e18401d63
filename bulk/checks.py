"""Who a bulk action would reach, before anything is sent: the selection (ticked candidates, or
every candidate matching the list's filter), and for each candidate whether it goes ahead,
waits for quiet hours, or is skipped and why — with the same checks the send path and the
journey engine make, so the preview and the run agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from candidates import selectors as candidate_selectors
from candidates.models import Application, Candidate, StageTransition
from integrations.messaging import E164
from journeys.models import ExitRule, Journey, JourneyRun, RunStatus, StepKind
from library import templating
from library.models import MessageTemplate, TemplateChannel
from messaging import inbox
from messaging import selectors as messaging_selectors
from messaging.email_consent import email_is_locked
from messaging.quiet_hours import next_window_opening

from .models import BulkKind

# At most this many candidates in one action: a bigger list is narrowed with the filters.
MAX_CANDIDATES = 2000
# Names shown per group in the preview and the summary; the rest are a "+ N more".
NAMES_SHOWN = 8
MAX_ID = 2**63 - 1

# Why a candidate is skipped, in the order the preview lists the groups.
SKIP_REASONS = {
    "not_visible": "Not among the candidates you can see",
    "opted_out_sms": "Opted out of texts",
    "opted_out_email": "Opted out of e-mail",
    "no_mobile": "No mobile number",
    "bad_mobile": "Mobile number not in international form (like +447700900123)",
    "no_email": "No e-mail address",
    "email_off": "Your ATS says not to e-mail them",
    "journey_inactive": "Journey inactive",
    "already_enrolled": "Already in that journey",
    "no_application": "No live application",
    "several_applications": "Several applications (filter by job, or add them from their page)",
    "no_stage_change": "No stage change received from the ATS yet",
}


class SelectionError(ValueError):
    """The selection can't be acted on; the message says what to change."""


@dataclass(frozen=True)
class Selection:
    candidate_ids: list[int]
    unseen: int  # ticked ids that are not (or no longer) among the candidates one can see
    filters: dict
    selected_all: bool


def as_ids(raw: Iterable[str]) -> list[int]:
    ids = []
    for value in raw:
        value = str(value or "").strip()
        if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
            ids.append(int(value))
    return list(dict.fromkeys(ids))


def selection_resolve(*, organization, query, ticked: Iterable[str], select_all: bool) -> Selection:
    """The live candidates chosen: every one matching the list's filter (``query``: its
    query string) or the ticked ids among those the person acting can see (the request's scope
    narrows a hiring manager's candidates)."""
    filters = candidate_selectors.CandidateFilters.from_query(query)
    kept = {
        name: query.get(name)
        for name in ("q", "job", "stage", "office", "department", "status")
        if query.get(name)
    }
    if select_all:
        ids = list(
            candidate_selectors.candidate_search(organization=organization, filters=filters)
            .prefetch_related(None)
            .values_list("pk", flat=True)[: MAX_CANDIDATES + 1]
        )
        unseen = 0
    else:
        asked = as_ids(ticked)
        if not asked:
            raise SelectionError(
                "Tick the candidates to act on, or choose “Select all matching this filter”."
            )
        found = set(
            Candidate.objects.filter(
                organization=organization,
                pk__in=asked,
                deleted_at__isnull=True,
                merged_into__isnull=True,
            ).values_list("pk", flat=True)
        )
        ids = [pk for pk in asked if pk in found]
        unseen = len(asked) - len(ids)
    if len(ids) > MAX_CANDIDATES:
        raise SelectionError(
            f"More than {MAX_CANDIDATES} candidates match: narrow the filter (a job, a stage, a "
            "status) and run the action once per part."
        )
    if not ids and not unseen:
        raise SelectionError("No candidates match this filter: change it and try again.")
    return Selection(candidate_ids=ids, unseen=unseen, filters=kept, selected_all=select_all)


# --------------------------------------------------------------------------------------------
# What happens to each candidate
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    skip: str = ""  # a SKIP_REASONS key; empty when the action goes ahead
    waits_until: datetime | None = None  # quiet hours: it goes out then
    application: Application | None = None


def template_problem(template: MessageTemplate) -> str:
    """Why ``template`` can't be sent by hand at all (a merge field only another sender fills),
    as the candidate page refuses it; empty when it can."""
    parts = {"text_body": template.text_body}
    if template.channel == TemplateChannel.EMAIL:
        parts = {"subject": template.subject, "html_body": template.html_body}
        if template.text_body_edited:
            parts["text_body"] = template.text_body
    used = {
        name
        for part, source in parts.items()
        for name in templating.used_fields(source, channel=template.channel, part=part)
    }
    unfilled = templating.unfilled_fields(used)
    if not unfilled:
        return ""
    first = unfilled[0]
    return (
        f"“{template.name}” uses {first.tag}, which only {first.filled_by} fills, so it can't "
        f"be sent by hand. Send it from {first.send_from}, or choose another template."
    )


def send_setup_problem(*, organization, template: MessageTemplate) -> str:
    """Why no one can get ``template`` now (texting not set up, a field it can't fill)."""
    problem = template_problem(template)
    if problem:
        return problem
    if template.channel == TemplateChannel.SMS:
        missing = inbox.sms_setup(organization=organization).missing_reason
        if missing:
            return f"Texts can't go out: {missing}"
    return ""


def send_verdict(
    *, organization, candidate: Candidate, channel: str, now: datetime | None = None
) -> Verdict:
    """Whether a message on ``channel`` reaches ``candidate`` now, waits, or is skipped: the
    checks of messaging's send path (``messaging.services.message_send``)."""
    if channel == TemplateChannel.SMS:
        phone = (candidate.mobile_phone or "").strip()
        if not phone:
            return Verdict(skip="no_mobile")
        if not E164.match(phone):
            return Verdict(skip="bad_mobile")
        if messaging_selectors.is_locked(organization, phone):
            return Verdict(skip="opted_out_sms")
    else:
        address = (candidate.primary_email or "").strip()
        if not address:
            return Verdict(skip="no_email")
        if not candidate.can_email:
            return Verdict(skip="email_off")
        if email_is_locked(organization, address):
            return Verdict(skip="opted_out_email")
    window = messaging_selectors.preferences_for(organization=organization).window(channel)
    if window is None:
        return Verdict()
    zone = messaging_selectors.candidate_time_zone(organization=organization, candidate=candidate)
    start, end, days = window
    opens = next_window_opening(
        now=now or timezone.now(), zone=zone.zone, start=start, end=end, days=days
    )
    return Verdict(waits_until=opens)


def live_applications(candidate_ids: list[int]) -> dict[int, list[Application]]:
    by_candidate: dict[int, list[Application]] = {pk: [] for pk in candidate_ids}
    rows = Application.objects.filter(
        candidate_id__in=candidate_ids, deleted_at__isnull=True
    ).order_by("-last_activity_at", "-id")
    for application in rows:
        by_candidate[application.candidate_id].append(application)
    return by_candidate


def application_choice(
    applications: list[Application], *, job_id: int | None
) -> tuple[Application | None, str]:
    """The application a journey runs for: the only live one, or the only one on the filtered
    job; else a skip reason."""
    if job_id:
        on_job = [a for a in applications if a.job_id == job_id]
        applications = on_job or applications
    if not applications:
        return None, "no_application"
    if len(applications) > 1:
        return None, "several_applications"
    return applications[0], ""


def journey_texts(journey: Journey) -> bool:
    """Whether a locked number keeps a candidate out (the journey texts, or exits on opt-out)."""
    version = journey.current_version
    if version is None:
        return False
    if ExitRule.OPTED_OUT in (version.exit_rules or ()):
        return True
    return version.steps.filter(kind=StepKind.SEND_SMS).exists()


def enrol_verdicts(
    *, organization, journey: Journey, candidates: list[Candidate], job_id: int | None
) -> dict[int, Verdict]:
    """Per candidate: the enrolment checks that can be told before trying
    (``journeys.enrollment.enroll`` makes them again, with the journey's criteria, at run)."""
    ids = [c.pk for c in candidates]
    if not journey.is_active or journey.current_version_id is None:
        return {pk: Verdict(skip="journey_inactive") for pk in ids}
    inside = set(
        JourneyRun.objects.filter(
            journey=journey, candidate_id__in=ids, status=RunStatus.ACTIVE
        ).values_list("candidate_id", flat=True)
    )
    applications = live_applications(ids)
    with_changes = set(
        StageTransition.objects.filter(
            application_id__in=[a.pk for apps in applications.values() for a in apps]
        ).values_list("application_id", flat=True)
    )
    texts = journey_texts(journey)
    verdicts = {}
    for candidate in candidates:
        application, skip = application_choice(applications[candidate.pk], job_id=job_id)
        if candidate.pk in inside:
            skip = "already_enrolled"
        elif not skip and application is not None and application.pk not in with_changes:
            skip = "no_stage_change"
        elif (
            not skip
            and texts
            and candidate.mobile_phone
            and messaging_selectors.is_locked(organization, candidate.mobile_phone)
        ):
            skip = "opted_out_sms"
        verdicts[candidate.pk] = Verdict(skip=skip, application=application)
    return verdicts


# --------------------------------------------------------------------------------------------
# The preview
# --------------------------------------------------------------------------------------------


@dataclass
class Group:
    code: str
    title: str
    names: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, name: str) -> None:
        self.count += 1
        if len(self.names) < NAMES_SHOWN:
            self.names.append(name)

    @property
    def more(self) -> int:
        return self.count - len(self.names)


@dataclass
class Preview:
    kind: str
    target_name: str
    selected: int
    going: Group
    waiting: Group
    waiting_until: str
    skipped: list[Group]
    problem: str = ""

    @property
    def can_start(self) -> bool:
        return not self.problem and self.going.count > 0


def when_in_zone(moment: datetime, zone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(zone)):%a %-d %b %Y %H:%M} ({zone})"


def organization_zone(organization) -> str:
    try:
        ZoneInfo(organization.time_zone)
    except (ValueError, KeyError):
        return "UTC"
    return organization.time_zone or "UTC"


def preview_build(
    *,
    organization,
    selection: Selection,
    kind: str,
    journey: Journey | None = None,
    template: MessageTemplate | None = None,
    now: datetime | None = None,
) -> Preview:
    """How many would get the action, who waits for quiet hours (until when, in the
    organization's zone) and who is skipped, grouped by reason. Nothing is written."""
    now = now or timezone.now()
    candidates = list(
        Candidate.objects.filter(pk__in=selection.candidate_ids).order_by(
            "last_name", "first_name", "id"
        )
    )
    groups = {code: Group(code, title) for code, title in SKIP_REASONS.items()}
    groups["not_visible"].count = selection.unseen
    going = Group("going", "Will get it")
    waiting = Group("waiting", "Wait for quiet hours")
    latest: list[datetime] = []
    problem = ""
    if kind == BulkKind.SEND and template is not None:
        target = template.name
        problem = send_setup_problem(organization=organization, template=template)
        verdicts = {
            c.pk: send_verdict(
                organization=organization, candidate=c, channel=template.channel, now=now
            )
            for c in candidates
        }
    elif kind == BulkKind.ENROL and journey is not None:
        target = journey.name
        job_id = candidate_selectors.CandidateFilters.from_query(selection.filters).job
        verdicts = enrol_verdicts(
            organization=organization, journey=journey, candidates=candidates, job_id=job_id
        )
    else:
        raise ValueError(f"A {kind!r} action needs its journey or template.")
    for candidate in candidates:
        verdict = verdicts[candidate.pk]
        name = candidate.full_name or f"Candidate {candidate.pk}"
        if verdict.skip:
            groups[verdict.skip].add(name)
            continue
        going.add(name)
        if verdict.waits_until is not None:
            waiting.add(name)
            latest.append(verdict.waits_until)
    zone = organization_zone(organization)
    until = ""
    if latest:
        first, last = min(latest), max(latest)
        until = when_in_zone(first, zone)
        if when_in_zone(last, zone) != until:
            until = f"{when_in_zone(first, zone)} to {when_in_zone(last, zone)}"
    return Preview(
        kind=kind,
        target_name=target,
        selected=len(candidates) + selection.unseen,
        going=going,
        waiting=waiting,
        waiting_until=until,
        skipped=[g for g in groups.values() if g.count],
        problem=problem,
    )
