"""Forms of the Schedule page and My calendar (the calendar vendor's settings form is its own,
in its folder under ``integrations/``).

Forms parse and check what a person typed; the writes go through
``scheduling.calendar_services``.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time

from django import forms

from scheduling import availability as av

WEEKDAYS = list(enumerate(av.WEEKDAY_NAMES))
MIDNIGHT = time(0)


def zone_choices() -> list[tuple[str, str]]:
    zones = sorted(
        z
        for z in zoneinfo.available_timezones()
        if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    )
    return [("UTC", "UTC"), *((z, z) for z in zones)]


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(format="%H:%M", attrs={"type": "time"})


def _span(start: time, end: time) -> tuple[int, int]:
    begin = start.hour * 60 + start.minute
    finish = 24 * 60 if end == MIDNIGHT else end.hour * 60 + end.minute
    return begin, finish


class WorkingHoursForm(forms.Form):
    """Per weekday: works that day, a window, and an optional second window (a split day)."""

    time_zone = forms.ChoiceField(
        label="My time zone",
        help_text="Working hours and busy times are in this zone.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = zone_choices()
        for day, name in WEEKDAYS:
            self.fields[f"d{day}_on"] = forms.BooleanField(required=False, label=name)
            self.fields[f"d{day}_start"] = forms.TimeField(
                required=False, label=f"{name} from", widget=_time_input()
            )
            self.fields[f"d{day}_end"] = forms.TimeField(
                required=False, label=f"{name} until", widget=_time_input()
            )
            self.fields[f"d{day}_start2"] = forms.TimeField(
                required=False, label=f"{name} again from", widget=_time_input()
            )
            self.fields[f"d{day}_end2"] = forms.TimeField(
                required=False, label=f"{name} again until", widget=_time_input()
            )

    @classmethod
    def initial_from(cls, calendar) -> dict:
        initial: dict = {"time_zone": calendar.time_zone}
        for day, _ in WEEKDAYS:
            windows = sorted(
                (w for w in calendar.working_hours or [] if int(w.get("weekday", -1)) == day),
                key=lambda w: w.get("start", ""),
            )
            initial[f"d{day}_on"] = bool(windows)
            if windows:
                initial[f"d{day}_start"] = windows[0]["start"]
                initial[f"d{day}_end"] = windows[0]["end"]
            if len(windows) > 1:
                initial[f"d{day}_start2"] = windows[1]["start"]
                initial[f"d{day}_end2"] = windows[1]["end"]
        return initial

    def days(self):
        """Rows for the template: (name, on, start, end, start2, end2) bound fields."""
        return [
            {
                "name": name,
                "on": self[f"d{day}_on"],
                "start": self[f"d{day}_start"],
                "end": self[f"d{day}_end"],
                "start2": self[f"d{day}_start2"],
                "end2": self[f"d{day}_end2"],
            }
            for day, name in WEEKDAYS
        ]

    def clean(self):
        cleaned = super().clean()
        windows: list[dict] = []
        for day, name in WEEKDAYS:
            if not cleaned.get(f"d{day}_on"):
                continue
            start, end = cleaned.get(f"d{day}_start"), cleaned.get(f"d{day}_end")
            if start is None or end is None:
                if f"d{day}_start" not in self.errors and f"d{day}_end" not in self.errors:
                    self.add_error(
                        f"d{day}_start",
                        f"{name}: give both a start and an end, or untick {name}.",
                    )
                continue
            first = _span(start, end)
            if first[1] <= first[0]:
                self.add_error(
                    f"d{day}_end",
                    f"{name}: the end ({end:%H:%M}) is before the start ({start:%H:%M}). "
                    "Use an end after the start (00:00 as an end means midnight).",
                )
                continue
            windows.append({"weekday": day, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"})
            start2, end2 = cleaned.get(f"d{day}_start2"), cleaned.get(f"d{day}_end2")
            if start2 is None and end2 is None:
                continue
            if start2 is None or end2 is None:
                self.add_error(
                    f"d{day}_start2",
                    f"{name}: the second window needs both a start and an end (or leave both "
                    "empty).",
                )
                continue
            second = _span(start2, end2)
            if second[1] <= second[0]:
                self.add_error(
                    f"d{day}_end2",
                    f"{name}: the second window's end ({end2:%H:%M}) is before its start "
                    f"({start2:%H:%M}). Use an end after the start.",
                )
                continue
            if second[0] < first[1] and first[0] < second[1]:
                self.add_error(
                    f"d{day}_start2",
                    f"{name}: the second window {start2:%H:%M}–{end2:%H:%M} overlaps the first "
                    f"{start:%H:%M}–{end:%H:%M}. Make them one window, or move the second.",
                )
                continue
            windows.append({"weekday": day, "start": f"{start2:%H:%M}", "end": f"{end2:%H:%M}"})
        cleaned["windows"] = windows
        return cleaned


class BusyBlockForm(forms.Form):
    """Busy time, typed as wall-clock times in the person's zone (``zone``)."""

    title = forms.CharField(
        required=False,
        max_length=200,
        label="What",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Dentist"}),
        help_text="Only you see this; candidates just see that the time isn't offered.",
    )
    start = forms.DateTimeField(
        label="From",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    end = forms.DateTimeField(
        label="Until",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, zone: str, **kwargs):
        self.zone = zone
        super().__init__(*args, **kwargs)
        self.fields["start"].help_text = f"In {zone}."
        self.fields["end"].help_text = f"In {zone}."

    def _aware(self, value: datetime) -> datetime:
        # The form reads wall-clock time in the person's zone, not the server's.
        naive = value.replace(tzinfo=None)
        seconds = av.local_to_utc(naive, av.resolve_zone(self.zone))
        return datetime.fromtimestamp(seconds, av.resolve_zone(self.zone))

    def clean_start(self):
        return self._aware(self.cleaned_data["start"])

    def clean_end(self):
        return self._aware(self.cleaned_data["end"])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end <= start:
            self.add_error(
                "end",
                f"The end ({end:%a %-d %b %H:%M}) is before the start ({start:%a %-d %b %H:%M}) "
                f"in {self.zone}. Pick an end after the start.",
            )
        return cleaned


class CancelBookingForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Reason (sent to the candidate)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. The interviewer is ill"}),
    )


class ConnectByEmailForm(forms.Form):
    """An admin connects a teammate's calendar through Enterprise Connect."""

    member = forms.TypedChoiceField(coerce=int, label="Teammate")
    email = forms.EmailField(
        label="Calendar e-mail address",
        help_text="The address of their calendar account in the authorized domain.",
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [
            (m.user_id, m.user.get_full_name() or m.user.email) for m in members
        ]


class PersonalMeetingLinkForm(forms.Form):
    personal_meeting_link = forms.CharField(
        label="Your personal meeting link",
        required=False,
        max_length=500,
        help_text="Your own video meeting room (Zoom, Teams, Meet, …), starting with https://. "
        "Used for interviews from templates set to “Use each interviewer's personal meeting "
        "link”, and when a conference can't be created in your calendar. Leave empty to "
        "remove it.",
        widget=forms.URLInput(attrs={"placeholder": "https://meet.example.com/your-name"}),
    )
