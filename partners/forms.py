"""Forms of Settings → Webhooks. Validation of the address and the event types is the
services' (the API uses the same rules); the form shows their messages next to the field."""

from __future__ import annotations

from django import forms

from partners import event_types


def _type_choices() -> list[tuple[str, str]]:
    return [(t.name, t.name) for t in event_types.all_types() if t.name != event_types.TEST_EVENT]


class SubscriptionForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=1000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/recruitflow"}),
        help_text="An https:// address that answers 2xx within 10 seconds.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events to send",
        choices=_type_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event type."},
    )
    enabled = forms.BooleanField(label="On (send events)", required=False, initial=True)
    ordered = forms.BooleanField(
        label="Deliver in order (a later event waits until the earlier ones are delivered)",
        required=False,
    )


class ReplayFailedForm(forms.Form):
    since = forms.DateTimeField(
        label="Failed since",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
