"""The scheduling template editor form. It only carries what the page posts; every rule lives
in :mod:`scheduling.template_services`, so the editor and the partner API refuse the same things
with the same words. Problems that belong to no single input (the weekly windows, the members,
a message kind) are kept in :attr:`SchedulingTemplateForm.group_errors`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms

from library.models import MessageTemplate

from .models import MESSAGE_KINDS, MeetingLink
from .template_services import (
    NUMBER_LIMITS,
    WEEKDAYS,
    default_values,
    template_values,
)
from .words import person_name

# The zones recruiters pick most; the template's and the organization's own are always added.
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Amsterdam",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/St_Johns",
    "America/Halifax",
    "America/New_York",
    "America/Toronto",
    "America/Chicago",
    "America/Mexico_City",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Sao_Paulo",
    "America/Bogota",
)
MEMBER_CHOICES = [("", "Not invited"), ("required", "Required"), ("optional", "Optional")]
_WINDOW_KEY = re.compile(r"^w(?P<day>[0-6])_(?P<n>\d{1,2})_(?P<part>start|end)$")
MAX_WINDOWS_PER_DAY = 8


def zone_choices(*also: str) -> list[tuple[str, str]]:
    zones = list(COMMON_ZONES)
    for zone in also:
        if zone and zone not in zones:
            zones.append(zone)
    return [(zone, zone.replace("_", " ")) for zone in zones]


@dataclass(frozen=True)
class WindowRow:
    prefix: str  # "w0_1": inputs "w0_1_start" / "w0_1_end"
    start: str
    end: str


@dataclass(frozen=True)
class WeekdayRows:
    weekday: int
    name: str
    rows: list[WindowRow]


@dataclass(frozen=True)
class MemberRow:
    user: object
    name: str
    field: forms.BoundField


@dataclass(frozen=True)
class MessageRow:
    kind: str
    label: str
    email: forms.BoundField
    sms: forms.BoundField
    errors: list[str]


def _number(label: str, field: str, *, help_text: str = ""):
    _, lowest, highest, _unit = NUMBER_LIMITS[field]
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.NumberInput(
            attrs={"min": lowest, "max": highest, "step": 1, "inputmode": "numeric"}
        ),
    )


class SchedulingTemplateForm(forms.Form):
    name = forms.CharField(
        required=False,
        max_length=400,
        help_text="For your team, e.g. “Onsite interview · Sales”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    event_title = forms.CharField(
        required=False,
        max_length=400,
        label="Event title",
        help_text="The calendar event's title. Merge fields such as {{ candidate.full_name }} "
        "and {{ job.name }} are filled in.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    description = forms.CharField(
        required=False,
        help_text="Shown to the candidate on the booking page and in the invitation.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    duration_minutes = _number("Length (minutes)", "duration_minutes")
    location = forms.CharField(
        required=False,
        max_length=600,
        help_text="An address, or leave empty for a video interview.",
    )
    meeting_link = forms.ChoiceField(
        label="Meeting link",
        choices=MeetingLink.choices,
        required=False,
        help_text="A conference per booking is created in the first required interviewer's "
        "connected calendar (their default conferencing, e.g. Google Meet or Teams); without "
        "one, their personal meeting link from My calendar is used, then the link below.",
    )
    video_link = forms.CharField(
        required=False,
        max_length=1000,
        label="Video meeting link",
        help_text="Every booking's link when “Same link for every booking” is chosen; the last "
        "fallback of the other video options.",
        widget=forms.URLInput(attrs={"placeholder": "https://meet.example.com/…"}),
    )
    time_zone = forms.ChoiceField(
        label="Time zone of the windows", choices=zone_choices(), required=False
    )
    minimum_notice_hours = _number(
        "Minimum notice (hours)",
        "minimum_notice_hours",
        help_text="The earliest time offered is this long after the candidate opens the link.",
    )
    horizon_days = _number(
        "Bookable up to (days ahead)",
        "horizon_days",
        help_text="Also how long the candidate's link stays open (at least 7 days).",
    )
    slot_interval_minutes = _number(
        "A start time every (minutes)",
        "slot_interval_minutes",
        help_text="30 offers 09:00, 09:30, 10:00 …",
    )
    buffer_before_minutes = _number(
        "Buffer before (minutes)",
        "buffer_before_minutes",
        help_text="Free time each required interviewer keeps before the interview.",
    )
    buffer_after_minutes = _number(
        "Buffer after (minutes)",
        "buffer_after_minutes",
        help_text="Free time each required interviewer keeps after the interview.",
    )
    daily_limit = _number(
        "Interviews per interviewer per day",
        "daily_limit",
        help_text="Leave empty for no limit.",
    )
    reminder_delay_hours = _number(
        "Send the Reminder to Schedule after (hours)",
        "reminder_delay_hours",
        help_text="When the candidate still hasn't booked.",
    )
    public_link_enabled = forms.BooleanField(
        required=False,
        label="Public link on",
        help_text="One link for many candidates (e.g. an e-mail campaign): each gives their "
        "name, e-mail and phone, then books.",
    )

    def __init__(
        self,
        data=None,
        *,
        organization,
        team: list,
        instance=None,
        read_only: bool = False,
    ):
        self.organization = organization
        self.instance = instance
        self.team = team
        base = template_values(instance) if instance is not None else default_values(organization)
        self.base = base
        initial = {
            key: value
            for key, value in base.items()
            if key not in ("windows", "messages", "required_member_ids", "optional_member_ids")
        }
        initial.update(base["messages"])
        for user in team:
            if user.pk in base["required_member_ids"]:
                initial[f"member_{user.pk}"] = "required"
            elif user.pk in base["optional_member_ids"]:
                initial[f"member_{user.pk}"] = "optional"
        super().__init__(data, initial=initial)
        self.group_errors: dict[str, list[str]] = {}
        self.fields["time_zone"].choices = zone_choices(
            base["time_zone"], organization.time_zone, (data or {}).get("time_zone", "")
        )
        for user in team:
            self.fields[f"member_{user.pk}"] = forms.ChoiceField(
                choices=MEMBER_CHOICES, required=False, label=person_name(user)
            )
        library: dict[str, list[tuple[str, str]]] = {"email": [], "sms": []}
        for template in MessageTemplate.objects.filter(organization=organization).order_by(
            "name", "id"
        ):
            library[template.channel].append((str(template.pk), template.name))
        for kind, label in MESSAGE_KINDS:
            for channel in ("email", "sms"):
                what = "E-mail" if channel == "email" else "Text message"
                self.fields[f"{kind}_{channel}"] = forms.ChoiceField(
                    choices=[("", "— none —"), *library[channel]],
                    required=False,
                    label=f"{label}: {what.lower()}",
                )
        self.library_counts = {channel: len(items) for channel, items in library.items()}
        self.read_only = read_only
        if read_only:
            for form_field in self.fields.values():
                form_field.disabled = True

    # --- What the page posted, as template_services values -------------------------------------

    def posted_windows(self) -> list[tuple[int, int, str, str]]:
        """(weekday, row number, start, end) of every window row posted, blank rows included."""
        rows: dict[tuple[int, int], dict[str, str]] = {}
        for key in self.data:
            match = _WINDOW_KEY.match(key)
            if match:
                value = str(self.data.get(key) or "").strip()
                rows.setdefault((int(match["day"]), int(match["n"])), {})[match["part"]] = value
        return [
            (day, n, parts.get("start", ""), parts.get("end", ""))
            for (day, n), parts in sorted(rows.items())
        ]

    def values(self) -> dict:
        """The posted template as :func:`template_services.template_save` takes it."""
        data = self.data
        values: dict = {
            name: data.get(name, "")
            for name in (
                "name",
                "event_title",
                "description",
                "location",
                "video_link",
                "meeting_link",
                "time_zone",
                *NUMBER_LIMITS,
            )
        }
        values["public_link_enabled"] = data.get("public_link_enabled") in ("on", "true", "1")
        values["windows"] = [
            {"weekday": day, "start": start, "end": end}
            for day, _n, start, end in self.posted_windows()
            if start or end
        ]
        required, optional = [], []
        for user in self.team:
            choice = data.get(f"member_{user.pk}", "")
            if choice == "required":
                required.append(user.pk)
            elif choice == "optional":
                optional.append(user.pk)
        values["required_member_ids"] = required
        values["optional_member_ids"] = optional
        values["messages"] = {
            f"{kind}_{channel}": data.get(f"{kind}_{channel}") or None
            for kind, _ in MESSAGE_KINDS
            for channel in ("email", "sms")
        }
        return values

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put the service's problems next to the inputs they are about."""
        for key, messages in errors.items():
            if key in self.fields:
                self.add_error(key, messages)
            else:
                self.group_errors.setdefault(key, []).extend(messages)

    # --- What the page shows ----------------------------------------------------------------------

    def weekday_rows(self) -> list[WeekdayRows]:
        """Each weekday's windows, then one empty row to add another."""
        if self.is_bound:
            pairs = [(day, start, end) for day, _n, start, end in self.posted_windows()]
        else:
            pairs = [(w["weekday"], w["start"], w["end"]) for w in self.base["windows"]]
        days = []
        for weekday, name in enumerate(WEEKDAYS):
            mine = [(start, end) for day, start, end in pairs if day == weekday and (start or end)]
            mine = mine[: MAX_WINDOWS_PER_DAY - 1]
            if not self.read_only or not mine:
                mine.append(("", ""))
            rows = [
                WindowRow(prefix=f"w{weekday}_{n}", start=start, end=end)
                for n, (start, end) in enumerate(mine)
            ]
            days.append(WeekdayRows(weekday=weekday, name=name, rows=rows))
        return days

    def member_rows(self) -> list[MemberRow]:
        return [
            MemberRow(user=user, name=person_name(user), field=self[f"member_{user.pk}"])
            for user in self.team
        ]

    def message_rows(self) -> list[MessageRow]:
        rows = []
        for kind, label in MESSAGE_KINDS:
            errors = [
                *self.group_errors.get(kind, []),
                *self.errors.get(f"{kind}_email", []),
                *self.errors.get(f"{kind}_sms", []),
            ]
            rows.append(
                MessageRow(
                    kind=kind,
                    label=label,
                    email=self[f"{kind}_email"],
                    sms=self[f"{kind}_sms"],
                    errors=errors,
                )
            )
        return rows
