"""Reads of the ATS mirror, the sync history and the candidate timeline. Every selector takes
the organization and filters on it (on top of the tenant scope), and returns querysets or plain
objects with their relations loaded, so a page costs a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet

from integrations import intake
from integrations.connections import ats_connection_for, provider_identifier
from integrations.models import WebhookDelivery

from . import timeline
from .models import (
    Application,
    ApplicationStatus,
    AtsUser,
    Candidate,
    Department,
    Job,
    Office,
    Stage,
    StageTransition,
    SyncKind,
    SyncRun,
    SyncStatus,
    TimelineEvent,
    TransitionSource,
)

# ----------------------------------------------------------------------------------------------
# Sync state
# ----------------------------------------------------------------------------------------------


def sync_runs(*, organization) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(organization=organization).order_by("-started_at", "-id")


def sync_run_get(*, organization, pk: int) -> SyncRun | None:
    return sync_runs(organization=organization).filter(pk=pk).first()


def sync_run_running(*, organization) -> SyncRun | None:
    return sync_runs(organization=organization).filter(status=SyncStatus.RUNNING).first()


def last_webhook_event(*, organization, provider: str) -> WebhookDelivery | None:
    """The ATS's latest stored webhook delivery (the one intake keeps every vendor's)."""
    return intake.latest(organization=organization, provider=provider)


@dataclass
class AtsOverview:
    """What the dashboard, the candidate list and the Integrations page say about the ATS."""

    connection: object | None
    provider: str
    running_run: SyncRun | None
    last_run: SyncRun | None
    last_success: SyncRun | None
    candidate_count: int

    @property
    def first_sync_pending(self) -> bool:
        """Connected, but no sync has finished yet: the mirror is still empty or filling."""
        return self.connection is not None and self.last_success is None


def ats_overview(*, organization) -> AtsOverview:
    connection = ats_connection_for(organization)
    runs = sync_runs(organization=organization)
    last_run = runs.first()
    running = last_run if last_run and last_run.status == SyncStatus.RUNNING else None
    if running is None and last_run is not None:
        running = runs.filter(status=SyncStatus.RUNNING).first()
    last_success = (
        last_run
        if last_run and last_run.status == SyncStatus.SUCCEEDED
        else runs.filter(status=SyncStatus.SUCCEEDED).first()
    )
    return AtsOverview(
        connection=connection,
        provider=provider_identifier(connection) if connection else "",
        running_run=running,
        last_run=last_run,
        last_success=last_success,
        candidate_count=_live_candidates(organization).count(),
    )


def sync_progress(run: SyncRun) -> dict:
    """Phase, done/total and a percentage for the progress bar (None when the total is not
    known yet)."""
    total = run.progress_total
    percent = None
    if run.status == SyncStatus.SUCCEEDED:
        percent = 100
    elif total:
        percent = min(100, int(run.progress_done * 100 / total))
    return {
        "run": run,
        "phase": run.phase or ("starting" if run.status == SyncStatus.RUNNING else ""),
        "done": run.progress_done,
        "total": total,
        "percent": percent,
        "finished": run.status != SyncStatus.RUNNING,
        "is_full": run.kind == SyncKind.FULL,
    }


# ----------------------------------------------------------------------------------------------
# Who sees which candidates
# ----------------------------------------------------------------------------------------------


def hiring_team_jobs(*, organization, email: str) -> QuerySet[Job]:
    """The jobs whose hiring team (recruiters, coordinators, hiring managers, as synced from the
    ATS) includes the ATS user with this e-mail address."""
    if not email:
        return Job.unscoped.none()
    team_members = AtsUser.unscoped.filter(
        organization_id=organization.pk, email__iexact=email
    ).values("pk")
    on_team = Q()
    for relation in Job.HIRING_TEAM:
        on_team |= Q(**{f"{relation}__in": team_members})
    return Job.unscoped.filter(on_team, organization_id=organization.pk).distinct()


def visible_candidate_ids(*, organization, membership) -> QuerySet | None:
    """The ids of the candidates `membership` may see, as a query, or None for all of them.

    A hiring manager sees the candidates with a live application on a job whose hiring team
    includes them (their member e-mail is the ATS user's e-mail); everyone else sees every
    candidate. The request's tenant scope applies this to every read of a candidate's rows
    (`recruitflow.tenancy`), so a page or API view cannot forget it."""
    if not membership.sees_only_hiring_team_candidates:
        return None
    jobs = hiring_team_jobs(organization=organization, email=membership.user.email)
    # Applications are themselves a candidate's rows: read them with a plain queryset so the
    # restriction being defined does not apply to its own definition.
    return (
        QuerySet(model=Application)
        .filter(organization_id=organization.pk, deleted_at__isnull=True, job__in=jobs.values("pk"))
        .values("candidate_id")
    )


# ----------------------------------------------------------------------------------------------
# Candidates
# ----------------------------------------------------------------------------------------------


def _live_candidates(organization) -> QuerySet[Candidate]:
    return Candidate.objects.filter(
        organization=organization, deleted_at__isnull=True, merged_into__isnull=True
    )


@dataclass(frozen=True)
class CandidateFilters:
    job: int | None = None
    stage: str = ""  # a stage name: the same stage name across jobs is one choice
    office: int | None = None
    department: int | None = None
    status: str = ""
    q: str = ""

    @property
    def active(self) -> bool:
        return any((self.job, self.stage, self.office, self.department, self.status, self.q))

    @classmethod
    def from_query(cls, query) -> CandidateFilters:
        def number(name):
            value = (query.get(name) or "").strip()
            return int(value) if value.isdigit() else None

        status = (query.get("status") or "").strip()
        return cls(
            job=number("job"),
            stage=(query.get("stage") or "").strip()[:255],
            office=number("office"),
            department=number("department"),
            status=status if status in ApplicationStatus.values else "",
            q=(query.get("q") or "").strip()[:200],
        )


def _matching_applications(organization, filters: CandidateFilters, *, with_status: bool = True):
    """Applications matching the job/stage/office/department/status filters, all on the same
    application (a candidate in Onsite for job A and Phone Screen for job B does not match
    "job A, Phone Screen")."""
    apps = Application.objects.filter(organization=organization, deleted_at__isnull=True)
    if filters.job:
        apps = apps.filter(job_id=filters.job)
    if filters.stage:
        apps = apps.filter(stage_name=filters.stage)
    if filters.office:
        apps = apps.filter(job__offices=filters.office)
    if filters.department:
        apps = apps.filter(job__departments=filters.department)
    if with_status and filters.status:
        apps = apps.filter(status=filters.status)
    return apps


def _application_filters_used(filters: CandidateFilters, *, with_status: bool = True) -> bool:
    return bool(
        filters.job
        or filters.stage
        or filters.office
        or filters.department
        or (with_status and filters.status)
    )


def _text_search(candidates: QuerySet[Candidate], q: str) -> QuerySet[Candidate]:
    for word in q.split()[:5]:
        candidates = candidates.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(primary_email__icontains=word)
        )
    return candidates


def _searched_candidates(organization, filters: CandidateFilters) -> QuerySet[Candidate]:
    candidates = _live_candidates(organization)
    if _application_filters_used(filters):
        candidates = candidates.filter(
            pk__in=_matching_applications(organization, filters).values("candidate_id")
        )
    if filters.q:
        candidates = _text_search(candidates, filters.q)
    return candidates.order_by("last_name", "first_name", "id")


def candidate_search(*, organization, filters: CandidateFilters) -> QuerySet[Candidate]:
    """Candidates matching the filters, each with its live applications (job and stage
    loaded) in `live_applications`."""
    applications = (
        Application.objects.filter(organization=organization, deleted_at__isnull=True)
        .select_related("job", "stage")
        .order_by("-last_activity_at", "-id")
    )
    return _searched_candidates(organization, filters).prefetch_related(
        Prefetch("applications", queryset=applications, to_attr="live_applications")
    )


# What the Candidates list shows of a candidate and of each of its live applications.
LIST_CANDIDATE_FIELDS = ("first_name", "last_name", "primary_email", "mobile_phone")
LIST_APPLICATION_FIELDS = (
    "candidate", "job__name", "stage_name", "status", "prospect", "last_activity_at"
)  # fmt: skip


def candidate_list(*, organization, filters: CandidateFilters) -> QuerySet[Candidate]:
    """:func:`candidate_search` as the Candidates list reads it: only the columns the list
    shows (a page of 50 candidates and their applications is built on every visit)."""
    applications = (
        Application.objects.filter(organization=organization, deleted_at__isnull=True)
        .select_related("job")
        .only(*LIST_APPLICATION_FIELDS)
        .order_by("-last_activity_at", "-id")
    )
    return (
        _searched_candidates(organization, filters)
        .only(*LIST_CANDIDATE_FIELDS)
        .prefetch_related(
            Prefetch("applications", queryset=applications, to_attr="live_applications")
        )
    )


def candidate_status_counts(
    *, organization, filters: CandidateFilters
) -> list[tuple[str, str, int]]:
    """How many candidates have an application in each status, under every filter but the
    status one (so the counts tell what choosing a status would show)."""
    apps = _matching_applications(organization, filters, with_status=False).filter(
        candidate__deleted_at__isnull=True, candidate__merged_into__isnull=True
    )
    if filters.q:
        apps = apps.filter(candidate__in=_text_search(_live_candidates(organization), filters.q))
    rows = apps.order_by().values("status").annotate(n=Count("candidate_id", distinct=True))
    counts = {row["status"]: row["n"] for row in rows}
    return [(value, label, counts.get(value, 0)) for value, label in ApplicationStatus.choices]


@dataclass
class FilterOptions:
    jobs: list[Job]
    stages: list[str]
    offices: list[Office]
    departments: list[Department]
    statuses: list[tuple[str, str]] = field(default_factory=lambda: ApplicationStatus.choices)


def candidate_filter_options(*, organization, job_id: int | None) -> FilterOptions:
    """The values to filter by, as synced from the ATS; stages are the chosen job's."""
    stages = Stage.objects.filter(organization=organization)
    if job_id:
        # Some ATSs' stages are global to the account (no job): they apply to every job.
        stage_names = list(
            stages.filter(Q(job_id=job_id) | Q(job__isnull=True))
            .order_by("position")
            .values_list("name")
        )
    else:
        stage_names = sorted(set(stages.values_list("name")))
    seen: set[str] = set()
    names = []
    for (name,) in stage_names:
        if name not in seen:
            seen.add(name)
            names.append(name)
    return FilterOptions(
        jobs=list(Job.objects.filter(organization=organization).only("id", "name", "status")),
        stages=names,
        offices=list(Office.objects.filter(organization=organization).only("id", "name")),
        departments=list(Department.objects.filter(organization=organization).only("id", "name")),
    )


def candidate_detail(*, organization, pk: int) -> Candidate | None:
    applications = (
        Application.objects.filter(organization=organization, deleted_at__isnull=True)
        .select_related("job", "stage")
        .prefetch_related("job__offices", "job__departments")
        .order_by("-last_activity_at", "-id")
    )
    return (
        Candidate.objects.filter(organization=organization, deleted_at__isnull=True)
        .select_related("merged_into")
        .prefetch_related(
            Prefetch("applications", queryset=applications, to_attr="live_applications")
        )
        .filter(pk=pk)
        .first()
    )


# ----------------------------------------------------------------------------------------------
# Timeline
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "transition" or the TimelineEvent kind
    title: str
    context: list[str]  # shown after the title, joined by " · "
    detail: str = ""
    tone: str = ""  # "ok" | "bad" | "warn" | ""
    event_id: int | None = None  # the TimelineEvent's id (higher apps annotate entries by it)

    @property
    def line(self) -> str:
        return " · ".join([self.title, *self.context])

    @property
    def label(self) -> str:
        return timeline.get(self.kind).label

    @property
    def icon(self) -> str:
        return timeline.get(self.kind).icon


def describe_transition(transition: StageTransition) -> tuple[str, str]:
    """The sentence a recruiter reads for a stage or status change, and its tone."""
    from_stage, to_stage = transition.from_stage_name, transition.to_stage_name
    from_status, to_status = transition.from_status, transition.to_status
    if transition.is_new_application:
        return (f"Applied · entered {to_stage}" if to_stage else "Applied"), ""
    if to_status != from_status and to_status == ApplicationStatus.REJECTED:
        return (
            f"Rejected at {to_stage or from_stage}" if (to_stage or from_stage) else "Rejected"
        ), "bad"
    if to_status != from_status and to_status == ApplicationStatus.HIRED:
        return "Hired", "ok"
    if from_status == ApplicationStatus.REJECTED and to_status == ApplicationStatus.ACTIVE:
        title = "Unrejected"
        if to_stage:
            title += f" · back in {to_stage}"
        return title, "warn"
    if to_status != from_status and to_status:
        return f"Status changed to {ApplicationStatus(to_status).label}", ""
    if from_stage and to_stage and from_stage != to_stage:
        return f"Moved from {from_stage} to {to_stage}", ""
    if to_stage:
        return f"Moved to {to_stage}", ""
    return "Application updated", ""


_SOURCE_WORDS = {TransitionSource.WEBHOOK: "via webhook", TransitionSource.POLL: "via sync"}


def candidate_timeline(*, organization, candidate: Candidate, limit: int = 200):
    """Stage transitions and timeline events of one candidate, newest first."""
    transitions = (
        StageTransition.objects.filter(organization=organization, candidate=candidate)
        .select_related("job")
        .order_by("-observed_at", "-id")[:limit]
    )
    events = (
        TimelineEvent.objects.filter(organization=organization, candidate=candidate)
        .select_related("application__job")
        .order_by("-occurred_at", "-id")[:limit]
    )
    entries = []
    for t in transitions:
        title, tone = describe_transition(t)
        context = [t.job.name] if t.job else []
        context.append(_SOURCE_WORDS.get(t.source, f"via {t.source}"))
        entries.append(TimelineEntry(t.observed_at, timeline.TRANSITION, title, context, tone=tone))
    for e in events:
        context = [e.application.job.name] if e.application and e.application.job else []
        entries.append(
            TimelineEntry(e.occurred_at, e.kind, e.summary, context, detail=e.detail, event_id=e.pk)
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]
