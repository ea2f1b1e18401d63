"""Forms of the Inbox."""

from __future__ import annotations

import uuid

from django import forms

from accounts.forms import TimeZoneInput
from accounts.models import validate_time_zone
from messaging.inbox import SMS_MAX_CHARS
from messaging.models import Channel

EMAIL_MAX_CHARS = 50_000


class ComposeForm(forms.Form):
    """A reply from the Inbox. ``unavailable`` maps a channel to the reason it cannot be used
    for this candidate (no number, opted out, texting not set up); such a channel is refused
    with that reason, and the text typed is kept."""

    channel = forms.ChoiceField(choices=Channel.choices, widget=forms.RadioSelect)
    subject = forms.CharField(max_length=500, required=False, label="Subject")
    body = forms.CharField(
        required=False,
        strip=False,
        label="Message",
        widget=forms.Textarea(attrs={"rows": 4, "data-composer-body": ""}),
    )
    html = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    send_key = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, unavailable: dict[str, str] | None = None, **kwargs):
        self.unavailable = {k: v for k, v in (unavailable or {}).items() if v}
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("send_key", uuid.uuid4().hex)
        if "channel" not in initial:
            initial["channel"] = next(
                (c for c in (Channel.SMS, Channel.EMAIL) if c not in self.unavailable),
                Channel.SMS,
            )
        super().__init__(*args, **kwargs)

    @property
    def available_channels(self) -> list[tuple[str, str]]:
        return [(v, label) for v, label in Channel.choices if v not in self.unavailable]

    def clean(self):
        data = super().clean()
        channel = data.get("channel")
        body = data.get("body") or ""
        if channel in self.unavailable:
            self.add_error("channel", self.unavailable[channel])
            return data
        if not body.strip():
            self.add_error("body", "Write a message before sending.")
        if channel == Channel.SMS:
            data["html"] = ""
            data["subject"] = ""
            if len(body) > SMS_MAX_CHARS:
                self.add_error(
                    "body",
                    f"A text can be at most {SMS_MAX_CHARS:,} characters; this one has "
                    f"{len(body):,}. Shorten it or send an e-mail instead.",
                )
        elif channel == Channel.EMAIL:
            if not (data.get("subject") or "").strip():
                self.add_error("subject", "An e-mail needs a subject: add one above the message.")
            if len(body) > EMAIL_MAX_CHARS:
                self.add_error(
                    "body",
                    f"An e-mail can be at most {EMAIL_MAX_CHARS:,} characters; this one has "
                    f"{len(body):,}.",
                )
        return data

    def idempotency_key(self) -> str:
        key = (self.cleaned_data.get("send_key") or "").strip()
        return f"inbox:{key}" if key else ""


class AssignForm(forms.Form):
    to = forms.ChoiceField(choices=[("me", "Me"), ("nobody", "Nobody")])


class TimeZoneForm(forms.Form):
    """The candidate's own time zone (empty: work it out from the phone number and office)."""

    time_zone = forms.CharField(
        max_length=64,
        required=False,
        widget=TimeZoneInput(),
        validators=[validate_time_zone],
        help_text="An IANA name such as Europe/London; leave empty to go back to the best guess.",
    )
