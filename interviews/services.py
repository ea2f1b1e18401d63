"""Video interview writes: send one to a candidate, the candidate starting and finishing it,
expiry and cancellation. Keyword-only, atomic; each status change is a conditional UPDATE on
the interview row, so two workers (or a double-clicked button) change it once.

The contract other parts of the app build on:

- :func:`interview_send` snapshots the template's intro and questions, sets ``expires_at``,
  queues the Video Interview Invitation with ``interview_link`` and writes
  "video_interview_sent"; one interview per journey step run (``step_run_id``).
- :func:`interview_start` (consent given) and :func:`interview_complete` are idempotent;
  completing writes journeys' "video_interview_completed" (the exit rule and the ATS
  write-back read it) with the review link.
- :func:`interview_expire` and :func:`interview_cancel` close an open interview.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from candidates.models import Application, TimelineEvent
from integrations.messaging import E164
from journeys import timeline_kinds as journeys_kinds
from messaging.selectors import is_locked

from . import notify
from . import timeline_kinds as interview_kinds
from .links import recorder_url, review_url
from .models import (
    OPEN_STATUSES,
    Answer,
    InterviewSource,
    InterviewStatus,
    VideoInterview,
    VideoQuestion,
    VideoTemplate,
)

LIBRARY_PLACE = "Library → Video interview templates"


class InterviewError(Exception):
    """The interview can't be sent or changed; the message says why and what to do."""


class InterviewClosed(InterviewError):
    """The interview is no longer open (expired, cancelled or already finished)."""


# ----------------------------------------------------------------------------------------------
# Timeline
# ----------------------------------------------------------------------------------------------


def _timeline(
    *, interview: VideoInterview, kind: str, summary: str, detail: str = "", when=None, **data
) -> None:
    TimelineEvent.objects.create(
        organization_id=interview.organization_id,
        candidate_id=interview.candidate_id,
        application_id=interview.application_id,
        kind=kind,
        summary=summary[:500],
        detail=detail,
        data={"interview_id": interview.pk, "template": interview.template.name, **data},
        occurred_at=when or timezone.now(),
    )


# ----------------------------------------------------------------------------------------------
# Sending
# ----------------------------------------------------------------------------------------------


def template_problems(template: VideoTemplate) -> list[str]:
    """What stops a video template from being sent, each a sentence saying how to fix it."""
    problems = []
    if not VideoQuestion.objects.filter(
        organization_id=template.organization_id, template=template
    ).exists():
        problems.append(
            f"The video interview template “{template.name}” has no questions. Add at least "
            f"one in {LIBRARY_PLACE}."
        )
    if template.invitation_email_id is None and template.invitation_sms_id is None:
        problems.append(
            f"The video interview template “{template.name}” has no Video Interview Invitation "
            f"message, so the candidate would never get the link. Choose an e-mail or a text "
            f"message for it in {LIBRARY_PLACE}."
        )
    return problems


def reachability_problem(*, organization, template: VideoTemplate, candidate) -> str:
    """Empty when the invitation can reach the candidate on some channel, else what to fix."""
    reasons = []
    if template.invitation_email_id:
        if (candidate.primary_email or "").strip():
            return ""
        reasons.append("it is an e-mail and they have no e-mail address")
    if template.invitation_sms_id:
        phone = (candidate.mobile_phone or "").strip()
        if not phone:
            reasons.append("it is a text message and they have no mobile number")
        elif not E164.match(phone):
            reasons.append(f"it is a text message and {phone} is not a full international number")
        elif is_locked(organization, phone):
            reasons.append("it is a text message and they opted out of texts")
        else:
            return ""
    return (
        f"The Video Interview Invitation can't reach {candidate.full_name}: "
        f"{'; '.join(reasons)}. Add their contact details in the ATS, or give the template an "
        "invitation on another channel."
    )


def check_usable(*, organization, template: VideoTemplate, candidate, application=None) -> None:
    """Raise :class:`InterviewError` when ``template`` can't be sent to ``candidate``."""
    if template.organization_id != organization.pk:
        raise InterviewError("That video interview template doesn't exist.")
    if candidate.organization_id != organization.pk or candidate.deleted_at is not None:
        raise InterviewError("That candidate doesn't exist (any more).")
    if application is not None and application.candidate_id != candidate.pk:
        raise InterviewError("That application belongs to another candidate.")
    problems = template_problems(template)
    if problems:
        raise InterviewError(problems[0])
    problem = reachability_problem(
        organization=organization, template=template, candidate=candidate
    )
    if problem:
        raise InterviewError(problem)


def _application_for(organization, candidate, application):
    """The application the interview is about: the one given, else the candidate's most
    recently active live one (its job is the interview's job), else None."""
    if application is not None:
        return application
    return (
        Application.objects.filter(
            organization=organization, candidate_id=candidate.pk, deleted_at__isnull=True
        )
        .order_by(F("last_activity_at").desc(nulls_last=True), "-id")
        .first()
    )


def interview_send(
    *,
    organization,
    template: VideoTemplate,
    candidate,
    application=None,
    source: str,
    created_by=None,
    step_run_id: int | None = None,
    now: datetime | None = None,
) -> VideoInterview:
    """Send ``candidate`` a video interview from ``template``: an interview with its own
    recorder link and a copy of the intro and questions, the Video Interview Invitation
    (e-mail and/or text; a channel that can't go out is on the timeline and does not stop the
    other) and a "video_interview_sent" timeline entry. The same ``step_run_id`` returns the
    first interview. Raises :class:`InterviewError` saying what to fix when it can't be sent."""
    if source not in InterviewSource.values:
        raise ValueError(f"Unknown interview source {source!r}.")
    now = now or timezone.now()
    if step_run_id is not None:
        existing = VideoInterview.objects.filter(
            organization=organization, step_run_id=step_run_id
        ).first()
        if existing is not None:
            return existing
    check_usable(
        organization=organization, template=template, candidate=candidate, application=application
    )
    application = _application_for(organization, candidate, application)
    questions = [
        q.snapshot()
        for q in VideoQuestion.objects.filter(organization=organization, template=template)
    ]
    with transaction.atomic():
        try:
            with transaction.atomic():
                interview = VideoInterview.objects.create(
                    organization=organization,
                    template=template,
                    candidate=candidate,
                    application=application,
                    job_id=application.job_id if application is not None else None,
                    source=source,
                    intro=template.intro,
                    questions=questions,
                    step_run_id=step_run_id,
                    created_by=created_by,
                    invited_at=now,
                    expires_at=now + timedelta(days=template.expiry_days),
                )
        except IntegrityError:
            if step_run_id is None:
                raise
            # A concurrent run of the same step won: theirs is the interview.
            return VideoInterview.objects.get(organization=organization, step_run_id=step_run_id)
        result = notify.notify(organization=organization, kind="invitation", interview=interview)
        link = recorder_url(interview)
        summary = (
            f"Video interview “{template.name}” sent by {result.channels_sent()}"
            if result.sent
            else f"Video interview “{template.name}” created; the invitation could not be sent"
        )
        _timeline(
            interview=interview,
            kind=interview_kinds.VIDEO_INTERVIEW_SENT,
            summary=summary,
            detail="\n".join([f"Interview link: {link}", *result.problems()]),
            when=now,
            link=link,
            source=source,
            channels=[d.channel for d in result.sent],
            questions=len(questions),
            expires_at=interview.expires_at.isoformat(),
        )
    return interview


def invitation_sent(interview: VideoInterview) -> bool:
    """Whether the timeline of ``interview`` says its invitation went out on some channel."""
    return (
        TimelineEvent.objects.filter(
            organization_id=interview.organization_id,
            candidate_id=interview.candidate_id,
            kind=interview_kinds.VIDEO_INTERVIEW_SENT,
            data__interview_id=interview.pk,
        )
        .exclude(data__channels=[])
        .exists()
    )


# ----------------------------------------------------------------------------------------------
# The candidate's progress
# ----------------------------------------------------------------------------------------------


def _closed_message(interview: VideoInterview) -> str:
    if interview.status == InterviewStatus.EXPIRED:
        return "This video interview has expired. Ask the recruiter for a new link."
    if interview.status == InterviewStatus.CANCELLED:
        return "This video interview was withdrawn by the team."
    return "This video interview is already finished. Thank you!"


def interview_start(*, interview: VideoInterview, now: datetime | None = None) -> VideoInterview:
    """The candidate gave their consent: the interview is started (idempotent: starting a
    started or finished interview changes nothing). Raises :class:`InterviewClosed` for an
    expired or cancelled one, or one past its expiry time."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = VideoInterview.objects.filter(
            organization_id=interview.organization_id,
            pk=interview.pk,
            status=InterviewStatus.INVITED,
            expires_at__gt=now,
        ).update(status=InterviewStatus.STARTED, consent_at=now, started_at=now)
        interview.refresh_from_db()
        if claimed:
            _timeline(
                interview=interview,
                kind=interview_kinds.VIDEO_INTERVIEW_STARTED,
                summary=f"Started the video interview “{interview.template.name}”",
                when=now,
            )
            return interview
    if interview.status == InterviewStatus.STARTED:
        return interview
    if interview.status == InterviewStatus.INVITED:  # past its expiry, not swept yet
        interview_expire(interview=interview, now=now)
        interview.refresh_from_db()
    if interview.status in (InterviewStatus.COMPLETED, InterviewStatus.REVIEWED):
        return interview
    raise InterviewClosed(_closed_message(interview))


def interview_complete(*, interview: VideoInterview, now: datetime | None = None) -> VideoInterview:
    """The candidate finished: status completed, the Video Interview Completed message, and
    journeys' "video_interview_completed" timeline entry with the review link (the journey
    exit rule and the ATS write-back read it). Idempotent: a finished interview stays as it
    is. Raises :class:`InterviewClosed` for an expired or cancelled one."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = VideoInterview.objects.filter(
            organization_id=interview.organization_id, pk=interview.pk, status__in=OPEN_STATUSES
        ).update(
            status=InterviewStatus.COMPLETED,
            completed_at=now,
            # Finishing without a consent step (e.g. the file-upload fallback) starts it too.
            started_at=Coalesce(F("started_at"), Value(now)),
        )
        interview.refresh_from_db()
        if not claimed:
            if interview.status in (InterviewStatus.COMPLETED, InterviewStatus.REVIEWED):
                return interview
            raise InterviewClosed(_closed_message(interview))
        answers = Answer.objects.filter(
            organization_id=interview.organization_id, interview=interview, is_final=True
        ).count()
        result = notify.notify(
            organization=interview.organization, kind="completion", interview=interview
        )
        link = review_url(interview)
        _timeline(
            interview=interview,
            kind=journeys_kinds.VIDEO_INTERVIEW_COMPLETED,
            summary=f"Completed the video interview “{interview.template.name}” "
            f"({answers} answer{'s' if answers != 1 else ''})",
            detail="\n".join([f"Review: {link}", *result.problems()]),
            when=now,
            review_url=link,
            answers=answers,
        )
    return interview


def interview_expire(*, interview: VideoInterview, now: datetime | None = None) -> bool:
    """Close an open interview whose link has run out: status expired and a
    "video_interview_expired" timeline entry. Returns False when it was no longer open (or is
    not due yet)."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = VideoInterview.objects.filter(
            organization_id=interview.organization_id,
            pk=interview.pk,
            status__in=OPEN_STATUSES,
            expires_at__lte=now,
        ).update(status=InterviewStatus.EXPIRED)
        if not claimed:
            return False
        interview.refresh_from_db()
        started = interview.started_at is not None
        _timeline(
            interview=interview,
            kind=interview_kinds.VIDEO_INTERVIEW_EXPIRED,
            summary=f"Video interview “{interview.template.name}” expired "
            + ("unfinished" if started else "without being started"),
            when=now,
        )
    return True


def interview_cancel(*, interview: VideoInterview, actor=None) -> bool:
    """Withdraw an open interview (its link stops working at once). Returns False when it was
    no longer open."""
    with transaction.atomic():
        claimed = VideoInterview.objects.filter(
            organization_id=interview.organization_id, pk=interview.pk, status__in=OPEN_STATUSES
        ).update(status=InterviewStatus.CANCELLED)
        interview.refresh_from_db()
        return bool(claimed)
