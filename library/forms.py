"""The Library's message template editor form. Validation is the template engine's
(:func:`library.templating.check_template`), so the editor and the API refuse the same things
with the same words."""

from __future__ import annotations

from django import forms

from . import services, templating
from .models import TemplateChannel


class MessageTemplateForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        error_messages={"required": "Give the template a name."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    subject = forms.CharField(
        required=False,
        max_length=templating.MAX_LENGTH[(templating.EMAIL, templating.SUBJECT)],
        widget=forms.TextInput(attrs={"data-merge-target": "", "autocomplete": "off"}),
    )
    html_body = forms.CharField(
        label="HTML body",
        required=False,
        strip=False,
        help_text="Merge fields are escaped, so a candidate's name can never add HTML.",
        widget=forms.Textarea(
            attrs={"rows": 14, "class": "code", "data-merge-target": "", "spellcheck": "true"}
        ),
    )
    text_body = forms.CharField(required=False, strip=False, widget=forms.Textarea())
    text_body_edited = forms.BooleanField(label="Write the plain-text part by hand", required=False)

    def __init__(self, *args, channel: str, organization, instance=None, read_only=False, **kw):
        if instance is not None and "initial" not in kw:
            kw["initial"] = {
                "name": instance.name,
                "subject": instance.subject,
                "html_body": instance.html_body,
                "text_body": instance.text_body,
                "text_body_edited": instance.text_body_edited,
            }
        super().__init__(*args, **kw)
        self.channel = channel
        self.organization = organization
        self.instance = instance
        text = self.fields["text_body"]
        if channel == TemplateChannel.SMS:
            for name in ("subject", "html_body", "text_body_edited"):
                del self.fields[name]
            text.label = "Text message"
            text.help_text = (
                "Keep it short: 160 characters make one segment (70 when it holds an emoji or "
                "another character outside GSM-7)."
            )
            text.widget.attrs.update(
                {"rows": 6, "data-merge-target": "", "data-sms-body": "", "spellcheck": "true"}
            )
        else:
            text.label = "Plain-text part"
            text.help_text = (
                "For mail apps that don't show HTML. Derived from the HTML body unless you write "
                "it by hand."
            )
            text.widget.attrs.update({"rows": 10, "data-merge-target": "", "data-text-part": ""})
            self.fields["text_body_edited"].widget.attrs["data-text-toggle"] = ""
            if not self._edited():
                text.widget.attrs["readonly"] = True
        if read_only:
            for form_field in self.fields.values():
                form_field.widget.attrs["readonly"] = True
                if isinstance(form_field.widget, forms.CheckboxInput):
                    form_field.widget.attrs["disabled"] = True

    def _edited(self) -> bool:
        if self.is_bound:
            return self.data.get(self.add_prefix("text_body_edited")) in ("on", "true", "1")
        return bool(self.initial.get("text_body_edited"))

    def clean(self):
        data = super().clean()
        problems = templating.check_template(
            channel=self.channel,
            subject=data.get("subject", ""),
            html_body=data.get("html_body", ""),
            text_body=data.get("text_body", ""),
            text_body_edited=data.get("text_body_edited", False),
        )
        for part, found in problems.items():
            self.add_error(part if part in self.fields else None, [str(p) for p in found])
        return data

    def save(self, *, actor):
        """Save through the engine's service (which re-checks everything)."""
        data = self.cleaned_data
        return services.message_template_save(
            organization=self.organization,
            actor=actor,
            template=self.instance,
            name=data["name"],
            channel=self.channel,
            subject=data.get("subject", ""),
            html_body=data.get("html_body", ""),
            text_body=data.get("text_body", ""),
            text_body_edited=data.get("text_body_edited", False),
        )
