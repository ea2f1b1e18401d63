"""The minute sweep of one organization's video interviews: expire the links past their
``expires_at`` and send each Video Interview Reminder once, ``reminder_after_hours`` after the
invitation, to candidates who haven't started. Each item is claimed by a conditional UPDATE, so
overlapping sweeps send once."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import notify
from . import timeline_kinds as interview_kinds
from .models import OPEN_STATUSES, InterviewStatus, VideoInterview
from .services import _timeline, interview_expire


def _expire_due(*, organization, now: datetime) -> int:
    due = VideoInterview.objects.filter(
        organization=organization, status__in=OPEN_STATUSES, expires_at__lte=now
    ).select_related("template")
    return sum(1 for interview in due if interview_expire(interview=interview, now=now))


def _send_reminders(*, organization, now: datetime) -> int:
    waiting = (
        VideoInterview.objects.filter(
            organization=organization,
            status=InterviewStatus.INVITED,
            reminder_sent_at__isnull=True,
            expires_at__gt=now,
            invited_at__isnull=False,
            template__reminder_after_hours__gt=0,
        )
        .filter(Q(template__reminder_email__isnull=False) | Q(template__reminder_sms__isnull=False))
        .values_list("pk", "invited_at", "template__reminder_after_hours")
    )
    due = [pk for pk, invited, hours in waiting if invited + timedelta(hours=hours) <= now]
    sent = 0
    for pk in due:
        with transaction.atomic():
            # The claim: a concurrent sweep waits on this row, then finds it taken.
            claimed = VideoInterview.objects.filter(
                organization=organization,
                pk=pk,
                status=InterviewStatus.INVITED,
                reminder_sent_at__isnull=True,
            ).update(reminder_sent_at=now)
            if not claimed:
                continue
            interview = VideoInterview.objects.select_related(
                "template", "candidate", "application"
            ).get(organization=organization, pk=pk)
            result = notify.notify(organization=organization, kind="reminder", interview=interview)
            if result.sent:
                sent += 1
            name = interview.template.name
            _timeline(
                interview=interview,
                kind=interview_kinds.VIDEO_INTERVIEW_REMINDER_SENT,
                summary=f"Video Interview Reminder “{name}” sent by {result.channels_sent()}"
                if result.sent
                else f"Video Interview Reminder “{name}” could not be sent",
                detail="\n".join(result.problems()),
                when=now,
                channels=[d.channel for d in result.sent],
            )
    return sent


def reminders_send_due(*, organization, now: datetime | None = None) -> int:
    """Expire what ran out, then send the reminders due. Returns how many reminders went out."""
    now = now or timezone.now()
    _expire_due(organization=organization, now=now)
    return _send_reminders(organization=organization, now=now)
