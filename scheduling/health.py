"""The scheduling template health check: how many interview times the next two weeks offer (a
bar per day), which interviewers have no connected calendar, and what stops the template from
working, each problem saying what to do.

Shown on the Library's scheduling template list and in the editor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Membership

from . import availability as av
from . import calendars, conferencing, services
from .models import MESSAGE_LABELS, MeetingLink, SchedulingTemplate, SchedulingTemplateMember
from .template_services import person_name

DAYS = 14
CHART_HEIGHT = 48
BAR_STEP = 20
BAR_WIDTH = 16


@dataclass(frozen=True)
class DayBar:
    """One day of the chart: the slots starting that day (in the template's zone) and the
    bar's geometry in the SVG (no inline styles: the page's policy forbids them)."""

    day: date
    count: int
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class MemberHealth:
    user: object
    name: str
    required: bool
    in_team: bool
    status: object | None  # calendars.CalendarStatus

    @property
    def connected(self) -> bool:
        return bool(self.status and self.status.connected)


@dataclass
class TemplateHealth:
    template: SchedulingTemplate
    days: int
    zone: str
    now: datetime
    slot_count: int = 0
    first_slot: av.Slot | None = None
    bars: list[DayBar] = field(default_factory=list)
    peak: int = 0
    members: list[MemberHealth] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # What the meeting link setting will give, when an interviewer can't provide their part.
    meeting_notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def without_calendar(self) -> list[MemberHealth]:
        """Interviewers whose times come from working hours in RecruitFlow, not a calendar."""
        return [m for m in self.members if m.in_team and not m.connected]

    @property
    def chart_width(self) -> int:
        return max(1, len(self.bars)) * BAR_STEP

    @property
    def chart_height(self) -> int:
        return CHART_HEIGHT

    @property
    def first_day(self) -> date | None:
        return self.bars[0].day if self.bars else None

    @property
    def last_day(self) -> date | None:
        return self.bars[-1].day if self.bars else None


def _bars(slots: list[av.Slot], zone: str, now: datetime, days: int) -> tuple[list[DayBar], int]:
    per_day = {group.day: len(group.slots) for group in av.group_by_day(slots, zone)}
    local = av.resolve_zone(zone)
    first = now.astimezone(local).date()
    last = (now + timedelta(days=days)).astimezone(local).date()
    counts = []
    day = first
    while day <= last:
        counts.append((day, per_day.get(day, 0)))
        day += timedelta(days=1)
    peak = max((count for _, count in counts), default=0)
    bars = []
    for index, (day, count) in enumerate(counts):
        height = max(2, round(count / peak * (CHART_HEIGHT - 2))) if count else 1
        bars.append(
            DayBar(
                day=day,
                count=count,
                x=index * BAR_STEP + (BAR_STEP - BAR_WIDTH) // 2,
                y=CHART_HEIGHT - height,
                width=BAR_WIDTH,
                height=height,
            )
        )
    return bars, peak


def _window_minutes(window: dict) -> int:
    start_h, start_m = map(int, window["start"].split(":"))
    end_h, end_m = map(int, window["end"].split(":"))
    end = end_h * 60 + end_m or 24 * 60
    return end - (start_h * 60 + start_m)


def _members(organization, templates: list[SchedulingTemplate]) -> dict[int, list]:
    """Members of each template, with their calendar status: three queries for all."""
    rows = list(
        SchedulingTemplateMember.objects.filter(
            organization=organization, template__in=[t.pk for t in templates]
        ).order_by("-required", "id")
    )
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in={r.user_id for r in rows})}
    team = set(
        Membership.objects.filter(organization=organization, user_id__in=list(users)).values_list(
            "user_id", flat=True
        )
    )
    statuses = (
        calendars.calendar_statuses(
            organization=organization, users=[users[pk] for pk in users if pk in team]
        )
        if team
        else {}
    )
    members: dict[int, list] = {t.pk: [] for t in templates}
    for row in rows:
        user = users[row.user_id]
        members[row.template_id].append(
            MemberHealth(
                user=user,
                name=person_name(user),
                required=row.required,
                in_team=user.pk in team and user.is_active,
                status=statuses.get(user.pk),
            )
        )
    return members


def _check(health: TemplateHealth, organization) -> None:
    template = health.template
    problems = health.problems
    required = [m for m in health.members if m.required and m.in_team]
    if not required:
        problems.append("No required members: add at least one interviewer who must attend.")
    for member in health.members:
        if not member.in_team:
            problems.append(
                f"{member.name} is no longer in your team: remove them from the interviewers."
            )
        elif (
            member.status is not None
            and member.status.kind != "builtin"
            and (member.status.problem)
        ):
            # The calendar layer names the member and the reason.
            problems.append(member.status.problem)
    for kind in ("request", "invitation"):
        if not (template.message_template(kind, "email") or template.message_template(kind, "sms")):
            problems.append(
                f"No {MESSAGE_LABELS[kind]} message: choose an e-mail or a text message."
            )
    windows = template.windows or []
    if not windows:
        problems.append("No availability windows: add the days and hours interviews may happen.")
    elif all(_window_minutes(w) < template.duration_minutes for w in windows):
        problems.append(
            f"Every availability window is shorter than the {template.duration_minutes}-minute "
            "interview: make a window longer or the interview shorter."
        )
    if not required:
        return
    try:
        slots = services.template_slots(
            organization=organization, template=template, now=health.now, days=health.days
        )
    except (services.SchedulingError, av.AvailabilityInputError) as exc:
        problems.append(str(exc))
        slots = []
    health.slot_count = len(slots)
    health.first_slot = slots[0] if slots else None
    health.bars, health.peak = _bars(slots, health.zone, health.now, health.days)
    if not slots and not problems:
        problems.append(
            f"No free times in the next {health.days} days: check the interviewers' calendars, "
            "widen the availability windows or lower the minimum notice."
        )


def _meeting_notes(health: TemplateHealth, organization) -> list[str]:
    """Interviewers who can't give what the template's meeting link asks, and what bookings
    get instead."""
    template = health.template
    mode = template.meeting_link
    if mode not in (MeetingLink.CONFERENCE, MeetingLink.PERSONAL):
        return []
    required = [m for m in health.members if m.required and m.in_team]
    if not required:
        return []
    abilities = conferencing.members_conferencing(
        organization=organization, users=[m.user for m in required]
    )
    fallback = f"the template's link ({template.video_link})" if template.video_link else "no link"
    notes = []
    if mode == MeetingLink.CONFERENCE:
        unable = [m for m in required if not abilities[m.user.pk].can_create]
        notes += [abilities[m.user.pk].problem for m in unable]
        if len(unable) == len(required):
            personal = [m.name for m in required if abilities[m.user.pk].personal_link]
            instead = f"{personal[0]}'s personal meeting link" if personal else fallback
            notes.append(f"No interviewer can host a conference: bookings get {instead}.")
        return notes
    without = [m for m in required if not abilities[m.user.pk].personal_link]
    notes += [
        f"{m.name} has no personal meeting link (they add it in Schedule → My calendar)."
        for m in without
    ]
    if len(without) == len(required):
        notes.append(f"No interviewer has a personal meeting link: bookings get {fallback}.")
    return notes


def templates_health(
    *,
    organization,
    templates: list[SchedulingTemplate],
    now: datetime | None = None,
    days: int = DAYS,
) -> dict[int, TemplateHealth]:
    """The health of several templates (the list page), by template id."""
    now = now or timezone.now()
    members = _members(organization, templates)
    report: dict[int, TemplateHealth] = {}
    for template in templates:
        health = TemplateHealth(
            template=template,
            days=days,
            zone=template.time_zone,
            now=now,
            members=members.get(template.pk, []),
        )
        health.bars, health.peak = _bars([], health.zone, now, days)
        _check(health, organization)
        health.meeting_notes = _meeting_notes(health, organization)
        report[template.pk] = health
    return report


def template_health(
    *, organization, template: SchedulingTemplate, now: datetime | None = None, days: int = DAYS
) -> TemplateHealth:
    """The health of one template (the editor)."""
    return templates_health(organization=organization, templates=[template], now=now, days=days)[
        template.pk
    ]
