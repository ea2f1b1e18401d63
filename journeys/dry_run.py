"""The dry run: what each step of a journey's current version would do for one candidate now
(the message it would render, or why it would be skipped), sending nothing. The messages are
rendered with the candidate's application that matches the journey's trigger and criteria
(``choose_application``), as a real run would; the page says which one and why."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from django.db.models import F, Q

from candidates.models import Application, ApplicationStatus, Candidate, Job
from integrations.messaging import E164
from journeys.models import (
    JourneyStep,
    JourneyVersion,
    TriggerKind,
)
from journeys.services import SEND_CHANNELS
from journeys.simulation import step_label
from journeys.triggers import criteria_match, job_relations
from library import templating
from messaging.selectors import is_locked

# --------------------------------------------------------------------------------------------
# Which application the messages are rendered with
# --------------------------------------------------------------------------------------------

# How the application was chosen.
MATCHES, SAME_JOB, MOST_RECENT, NO_APPLICATION = "matches", "same_job", "most_recent", "none"

# The criteria a version keeps (``criteria_match`` reads them).
CRITERIA = ("job_ids", "office_ids", "department_ids", "tags", "sources")

# A trigger on a status change needs the application to have that status now.
TRIGGER_STATUS: dict[str, ApplicationStatus] = {
    TriggerKind.REJECTED: ApplicationStatus.REJECTED,
    TriggerKind.HIRED: ApplicationStatus.HIRED,
}


@dataclass(frozen=True)
class ApplicationChoice:
    application: Application | None
    how: str  # MATCHES | SAME_JOB | MOST_RECENT | NO_APPLICATION
    message: str  # what the page says about it

    @property
    def matches(self) -> bool:
        return self.how == MATCHES


def _stage_name(application: Application) -> str:
    return application.stage_name or (application.stage.name if application.stage else "")


def application_words(application: Application) -> str:
    """How the page names an application: "Sales Rep (at Onsite Interview)"."""
    job = application.job.name if application.job else "no job"
    stage = _stage_name(application)
    status = (
        ""
        if application.status == ApplicationStatus.ACTIVE
        else f", {application.get_status_display().lower()}"
    )
    return f"{job} (at {stage or 'no stage'}{status})"


def trigger_words(version: JourneyVersion) -> str:
    """The trigger and its stage and job criteria in words: "entered Onsite Interview on
    Sales Rep"."""
    if version.trigger == TriggerKind.APPLICATION_CREATED:
        words = "applied"
    elif version.trigger in TRIGGER_STATUS:
        words = f"became {TRIGGER_STATUS[version.trigger].label.lower()}"
    else:
        stages = " or ".join(str(s) for s in version.stage_names) or "any stage"
        words = (
            f"in {stages} for {version.stale_days or 'some'} days"
            if version.trigger == TriggerKind.STALE_IN_STAGE
            else f"entered {stages}"
        )
    job_ids = [int(j) for j in version.job_ids or () if str(j).isdigit()]
    names = list(
        Job.objects.filter(organization_id=version.organization_id, pk__in=job_ids)
        .order_by("name")
        .values_list("name", flat=True)
    )
    return f"{words} on {' or '.join(names)}" if names else words


def _as_now(application: Application) -> SimpleNamespace:
    """The application's current state in the shape ``criteria_match`` reads a transition."""
    return SimpleNamespace(
        to_stage_name=_stage_name(application), job_id=application.job_id, to_status=""
    )


def choose_application(*, version: JourneyVersion, candidate) -> ApplicationChoice:
    """The candidate's live application a run of ``version`` would be about: the most recently
    active one that meets the trigger (its status for "rejected"/"hired") and every criterion as
    it stands now; else the most recent one on a job the journey is for (its job, office,
    department, tag and source criteria), not at its stage yet; else the most recent one."""
    applications = list(
        Application.objects.filter(
            organization_id=version.organization_id,
            candidate_id=candidate.pk,
            deleted_at__isnull=True,
        )
        .select_related("job", "stage")
        .order_by(F("last_activity_at").desc(nulls_last=True), "-id")
    )
    name = candidate.first_name or "This candidate"
    if not applications:
        return ApplicationChoice(
            None,
            NO_APPLICATION,
            f"{name} has no application, so job and stage merge fields are empty.",
        )
    job_offices, job_departments = job_relations(
        (a.job_id for a in applications),
        offices=bool(version.office_ids),
        departments=bool(version.department_ids),
    )
    wanted_status = TRIGGER_STATUS.get(version.trigger)

    def meets(application: Application, criteria) -> bool:
        return criteria_match(
            criteria,
            transition=_as_now(application),
            application=application,
            candidate=candidate,
            job_offices=job_offices,
            job_departments=job_departments,
        )

    for application in applications:
        if (not wanted_status or application.status == wanted_status) and meets(
            application, version
        ):
            return ApplicationChoice(
                application,
                MATCHES,
                f"Rendered with {name}'s application for {application_words(application)}: "
                "it matches this journey's trigger.",
            )
    none = (
        f"None of {name}'s {len(applications)} applications matches"
        if len(applications) > 1
        else f"{name}'s only application doesn't match"
    )
    if version.job_ids or version.office_ids or version.department_ids:
        # The job side only: stage and status are what the next move changes.
        job_side = SimpleNamespace(
            **{field: getattr(version, field) for field in CRITERIA}, stage_names=[], statuses=[]
        )
        for application in applications:
            if meets(application, job_side):
                return ApplicationChoice(
                    application,
                    SAME_JOB,
                    f"{none} this journey's trigger ({trigger_words(version)}) now. Rendered with the application for "
                    f"{application_words(application)}, on a job this journey is for.",
                )
    application = applications[0]
    return ApplicationChoice(
        application,
        MOST_RECENT,
        f"{none} this journey's trigger ({trigger_words(version)}). Rendered with the most recent "
        f"application instead: {application_words(application)}.",
    )


# How many recently active candidates the builder tries for a sample that matches the trigger.
SAMPLE_CANDIDATES = 5


def trigger_sample(version: JourneyVersion) -> tuple[Candidate, ApplicationChoice] | None:
    """A real candidate whose application matches ``version``'s trigger and criteria now, for
    the builder's step previews: the most recently active of a few whose application is at a
    trigger stage, on a trigger job, with the trigger's status; None when none matches."""
    applications = Application.objects.filter(
        organization_id=version.organization_id,
        deleted_at__isnull=True,
        candidate__deleted_at__isnull=True,
    )
    if version.stage_names:
        at_stage = Q()
        for name in version.stage_names:
            at_stage |= Q(stage_name__iexact=str(name))
        applications = applications.filter(at_stage)
    job_ids = [int(j) for j in version.job_ids if str(j).isdigit()]
    if job_ids:
        applications = applications.filter(job_id__in=job_ids)
    wanted_status = TRIGGER_STATUS.get(version.trigger)
    if wanted_status:
        applications = applications.filter(status=wanted_status)
    candidate_ids = list(
        dict.fromkeys(
            applications.order_by(F("last_activity_at").desc(nulls_last=True), "-id").values_list(
                "candidate_id", flat=True
            )[: SAMPLE_CANDIDATES * 3]
        )
    )[:SAMPLE_CANDIDATES]
    candidates = Candidate.objects.in_bulk(candidate_ids)
    for candidate_id in candidate_ids:
        candidate = candidates.get(candidate_id)
        if candidate is None:
            continue
        choice = choose_application(version=version, candidate=candidate)
        if choice.matches:
            return candidate, choice
    return None


# --------------------------------------------------------------------------------------------
# Dry run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunStep:
    position: int
    kind: str
    label: str
    channel: str = ""  # "sms" | "email" for sends
    template_name: str = ""
    to_address: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    segments: int = 0  # texts: SMS segments
    encoding: str = ""
    error: str = ""  # why it cannot render
    note: str = ""  # why it would be skipped for this candidate, or what a non-send step does

    @property
    def is_send(self) -> bool:
        return bool(self.channel)


def dry_run(
    *, version: JourneyVersion, candidate, application: Application | None = None
) -> list[DryRunStep]:
    """Every step of ``version`` for ``candidate``: each message rendered with their data
    (subject, text, HTML, or the error that stops it), and what would stop it reaching them.
    ``application`` (default: ``choose_application``) fills the job and stage fields."""
    organization = version.journey.organization
    if application is None:
        application = choose_application(version=version, candidate=candidate).application
    steps = list(
        JourneyStep.objects.filter(version=version)
        .select_related("message_template")
        .order_by("position", "id")
    )
    context = None
    context_error = ""
    out = []
    for step in steps:
        label = step_label(step)
        channel = SEND_CHANNELS.get(step.kind)
        if channel is None:
            out.append(DryRunStep(step.position, step.kind, label))
            continue
        template = step.message_template
        if template is None:
            out.append(
                DryRunStep(
                    step.position,
                    step.kind,
                    label,
                    channel=channel,
                    error="No message template: choose one from the Library.",
                )
            )
            continue
        note = ""
        if channel == "sms":
            to_address = (candidate.mobile_phone or "").strip()
            if not to_address:
                note = "No mobile number: this text would be skipped."
            elif not E164.match(to_address):
                note = f"{to_address} is not a full international mobile number: skipped."
            elif is_locked(organization, to_address):
                note = f"{to_address} opted out of texts: this text would be skipped."
        else:
            to_address = (candidate.primary_email or "").strip()
            if not to_address:
                note = "No email address: this e-mail would be skipped."
        if context is None and not context_error:
            try:
                context = templating.merge_context(
                    organization=organization, candidate=candidate, application=application
                )
            except ValueError as exc:
                context_error = str(exc)
        try:
            if context_error or context is None:
                raise ValueError(context_error)
            rendered = templating.render(template, context)
        except (templating.TemplateInvalid, ValueError) as exc:
            out.append(
                DryRunStep(
                    step.position,
                    step.kind,
                    label,
                    channel=channel,
                    template_name=template.name,
                    to_address=to_address,
                    error=str(exc),
                    note=note,
                )
            )
            continue
        count = rendered.sms if channel == "sms" else None
        out.append(
            DryRunStep(
                step.position,
                step.kind,
                label,
                channel=channel,
                template_name=template.name,
                to_address=to_address,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                segments=count.segments if count else 0,
                encoding=count.encoding if count else "",
                note=note,
            )
        )
    return out
