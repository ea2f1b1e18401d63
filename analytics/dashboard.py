"""The recruiting numbers of the dashboard (``recruitflow.views.dashboard`` asks for them):
the last seven days with sparklines, and the "needs you" lists. Reads through the same figures
as the Analytics page (today live, earlier days from the rollup) plus three short lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from messaging.badge import unread_conversation_count
from messaging.models import Conversation, Direction, Message, MessageStatus
from scheduling.models import Booking, BookingStatus, RequestStatus, SchedulingRequest

from . import figures as m
from .figures import day_bounds
from .registry import Chart
from .selectors import Filters, figure_set
from .services import organization_today

DAYS = 7
LIST_LENGTH = 5
EXPIRING_WITHIN = timedelta(hours=48)


@dataclass
class Sparkline:
    label: str
    total: int
    chart: Chart
    url_name: str = ""


@dataclass
class DashboardNumbers:
    sparklines: list[Sparkline] = field(default_factory=list)
    replies_waiting: int = 0
    interviews_today: int = 0
    interviews_this_week: int = 0
    my_unanswered: list = field(default_factory=list)
    failed_sends: list = field(default_factory=list)
    expiring_requests: list = field(default_factory=list)

    @property
    def needs_you(self) -> bool:
        return bool(self.my_unanswered or self.failed_sends or self.expiring_requests)


def dashboard_numbers(*, organization, user, visible_jobs=None, now=None) -> DashboardNumbers:
    now = now or timezone.now()
    today = organization_today(organization, now)
    filters = Filters(start=today - timedelta(days=DAYS - 1), end=today)
    figures = figure_set(
        organization=organization, filters=filters, visible_job_ids=visible_jobs, now=now
    )
    labels = [day.isoformat() for day in figures.period_days()]

    def spark(slug, label, metrics, url_name="") -> Sparkline:
        series = [sum(values) for values in zip(*(figures.by_day(x) for x in metrics), strict=True)]
        chart = Chart(f"spark-{slug}", label, "line", labels, [(label, series)])
        return Sparkline(label, sum(series), chart, url_name)

    numbers = DashboardNumbers(
        sparklines=[
            spark("sent", "Messages sent", [m.SENT], "messaging:inbox"),
            spark("replies", "Replies", [m.REPLIED], "messaging:inbox"),
            spark("interviews", "Interviews", [m.INTERVIEWS], "scheduling:schedule"),
            spark("held", "Runs held or failed", [m.STEPS_HELD, m.RUNS_FAILED], "journeys:list"),
        ]
    )
    # The Inbox badge's figure (cached per organization, shared with the sidebar).
    numbers.replies_waiting = unread_conversation_count(organization=organization)
    day_start, day_end = day_bounds(organization, today)
    upcoming = Booking.objects.filter(
        organization=organization,
        status=BookingStatus.CONFIRMED,
        start__gte=day_start,
        start__lt=day_start + timedelta(days=DAYS),
    ).aggregate(today=Count("id", filter=Q(start__lt=day_end)), week=Count("id"))
    numbers.interviews_today = upcoming["today"]
    numbers.interviews_this_week = upcoming["week"]
    numbers.my_unanswered = list(
        Conversation.objects.filter(organization=organization, assigned_to=user, unread_count__gt=0)
        .select_related("candidate")
        .order_by("-last_message_at")[:LIST_LENGTH]
    )
    numbers.failed_sends = list(
        Message.objects.filter(
            organization=organization,
            direction=Direction.OUTBOUND,
            status__in=(MessageStatus.FAILED, MessageStatus.UNDELIVERED),
            created_at__gte=now - timedelta(days=DAYS),
        )
        .select_related("candidate")
        .order_by("-created_at")[:LIST_LENGTH]
    )
    numbers.expiring_requests = list(
        SchedulingRequest.objects.filter(
            organization=organization,
            status=RequestStatus.PENDING,
            expires_at__gte=now,
            expires_at__lt=now + EXPIRING_WITHIN,
        )
        .select_related("candidate", "template")
        .order_by("expires_at")[:LIST_LENGTH]
    )
    return numbers
