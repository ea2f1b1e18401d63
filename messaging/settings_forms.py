"""Settings → Messaging forms: quiet hours, the automatic texts and the time-zone check.

Forms only parse and check what an admin typed; the writes go through
``messaging.settings_services``. The texting and e-mail vendors' forms are their own
(``integrations/<vendor>/forms.py``).
"""

from __future__ import annotations

import re

import phonenumbers
from django import forms
from django.conf import settings

from integrations.messaging import sms_segments
from messaging.models import DEFAULT_HELP_REPLY, DEFAULT_OPT_OUT_FOOTER
from messaging.settings_services import window_problems

DAY_CHOICES = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
MAX_SMS_CHARS = 1600  # the texting providers refuse longer bodies

STOP_WORD = re.compile(r"\bSTOP\b", re.IGNORECASE)


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(format="%H:%M", attrs={"type": "time"})


def _days_field(*, required: bool) -> forms.TypedMultipleChoiceField:
    return forms.TypedMultipleChoiceField(
        choices=DAY_CHOICES,
        coerce=int,
        required=required,
        widget=forms.CheckboxSelectMultiple,
        label="On these days",
    )


def _add_problems(form: forms.Form, problems: dict[str, str]) -> None:
    for field, message in problems.items():
        form.add_error(field if field in form.fields else None, message)


# --------------------------------------------------------------------------------------------
# Quiet hours and automatic texts
# --------------------------------------------------------------------------------------------


class QuietHoursForm(forms.Form):
    sms_window_start = forms.TimeField(label="Texts go out from", widget=_time_input())
    sms_window_end = forms.TimeField(label="until", widget=_time_input())
    sms_days = _days_field(required=False)
    email_quiet_hours = forms.BooleanField(
        required=False,
        label="Hold e-mails outside a window too",
        help_text="Off: e-mails go out at any hour.",
    )
    email_window_start = forms.TimeField(
        label="E-mails go out from", required=False, widget=_time_input()
    )
    email_window_end = forms.TimeField(label="until", required=False, widget=_time_input())
    email_days = _days_field(required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "quiet_%s")
        super().__init__(*args, **kwargs)

    @classmethod
    def initial_from(cls, prefs) -> dict:
        return {
            "sms_window_start": prefs.sms_window_start,
            "sms_window_end": prefs.sms_window_end,
            "sms_days": list(prefs.sms_days),
            "email_quiet_hours": bool(prefs.email_window_start and prefs.email_window_end),
            "email_window_start": prefs.email_window_start,
            "email_window_end": prefs.email_window_end,
            "email_days": list(prefs.email_days),
        }

    def clean(self):
        cleaned = super().clean()
        _add_problems(
            self,
            window_problems(
                start=cleaned.get("sms_window_start"),
                end=cleaned.get("sms_window_end"),
                days=cleaned.get("sms_days") or [],
                prefix="sms",
                what="Texts",
            ),
        )
        if cleaned.get("email_quiet_hours"):
            for name in ("email_window_start", "email_window_end"):
                if cleaned.get(name) is None and name not in self.errors:
                    self.add_error(name, "Enter a time, or untick “Hold e-mails outside a window”.")
            if cleaned.get("email_window_start") and cleaned.get("email_window_end"):
                _add_problems(
                    self,
                    window_problems(
                        start=cleaned["email_window_start"],
                        end=cleaned["email_window_end"],
                        days=cleaned.get("email_days") or [],
                        prefix="email",
                        what="E-mails",
                    ),
                )
        return cleaned

    def preference_changes(self) -> dict:
        """The MessagingPreferences fields this form sets."""
        data = self.cleaned_data
        email_on = data["email_quiet_hours"]
        return {
            "sms_window_start": data["sms_window_start"],
            "sms_window_end": data["sms_window_end"],
            "sms_days": sorted(data["sms_days"]),
            "email_window_start": data["email_window_start"] if email_on else None,
            "email_window_end": data["email_window_end"] if email_on else None,
            "email_days": sorted(data["email_days"]) if email_on else list(range(7)),
        }


class AutoTextsForm(forms.Form):
    help_reply = forms.CharField(
        label="Reply to HELP",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MAX_SMS_CHARS,
        help_text="Sent at once when a candidate texts HELP or INFO (even during quiet hours: "
        "they just wrote to you). Say who you are and how to stop texts.",
    )
    opt_out_footer = forms.CharField(
        label="Opt-out footer",
        max_length=200,
        help_text="The line that tells candidates how to stop texts. It must mention STOP, "
        "the word carriers and texting providers act on.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "texts_%s")
        super().__init__(*args, **kwargs)

    @classmethod
    def initial_from(cls, prefs) -> dict:
        return {
            "help_reply": prefs.help_reply or DEFAULT_HELP_REPLY,
            "opt_out_footer": prefs.opt_out_footer or DEFAULT_OPT_OUT_FOOTER,
        }

    def clean_help_reply(self) -> str:
        value = (self.cleaned_data.get("help_reply") or "").strip()
        if not value:
            raise forms.ValidationError("Write the reply candidates get when they text HELP.")
        return value

    def clean_opt_out_footer(self) -> str:
        value = " ".join((self.cleaned_data.get("opt_out_footer") or "").split())
        if not STOP_WORD.search(value):
            raise forms.ValidationError(
                "Mention the word STOP, for example “Reply STOP to opt out.” Candidates must be "
                "told how to stop texts, and STOP is the keyword carriers recognise."
            )
        return value

    @staticmethod
    def segments_text(text: str) -> str:
        encoding, segments, chars = sms_segments(text or "")
        unit = "character" if chars == 1 else "characters"
        parts = "text" if segments == 1 else "texts"
        return f"{chars} {unit}, {segments} {parts} ({encoding})"


class ZoneCheckForm(forms.Form):
    """Which time zone a candidate with this number (and office) gets, and what happens to a
    text queued now."""

    check_phone = forms.CharField(
        label="Candidate's mobile number",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "placeholder": "+447700900123"}),
    )
    check_location = forms.CharField(
        label="Office of their job (optional)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "London, UK"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "zone_%s")
        super().__init__(*args, **kwargs)

    def clean_check_phone(self) -> str:
        value = (self.cleaned_data.get("check_phone") or "").strip()
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value, settings.PHONENUMBER_DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            raise forms.ValidationError(
                f"“{value}” is not a phone number. Include the country code, e.g. +447700900123."
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("check_phone") and not cleaned.get("check_location") and not self.errors:
            raise forms.ValidationError("Enter a mobile number, an office location or both.")
        return cleaned
