"""The Library's message template editor form. Validation is the template engine's
(:func:`library.templating.check_template`), so the editor and the API refuse the same things
with the same words.

An e-mail's HTML body is written in a visual editor (``static/js/library_editor.js``) that keeps
only what its schema holds (:data:`VISUAL_TAGS`); :func:`visual_editor_refusal` says when a body
holds more, so the page opens it as HTML source instead of letting the editor drop it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django import forms

from . import services, templating
from .models import TemplateChannel

# What the visual editor keeps: each element with the attributes it keeps. Anything else (other
# elements, inline styles, classes, tables, images, comments) it would drop. Mirrored by the
# editor's own check when switching from HTML source back to the visual editor (it reads this
# table from the page).
VISUAL_TAGS: dict[str, tuple[str, ...]] = {
    "p": (),
    "br": (),
    "strong": (),
    "b": (),
    "em": (),
    "i": (),
    "u": (),
    "s": (),
    "a": ("href", "target", "rel", "title"),
    "ul": (),
    "ol": ("start", "type"),
    "li": (),
    "h1": (),
    "h2": (),
    "h3": (),
    "blockquote": (),
}
# A merge field whose expression holds markup characters would be split or decoded by an HTML
# parser, and {{- -}} trims whitespace the editor can't show.
_AWKWARD_OUTPUT = re.compile(r"\{\{[^}]*[<>&][^}]*\}\}")
_TRIMMING = re.compile(r"\{\{-|-\}\}")


class _VisualCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[str] = []
        self.attributes: list[str] = []
        self.comments = False

    def handle_starttag(self, tag, attrs):
        if tag not in VISUAL_TAGS:
            if f"<{tag}>" not in self.elements:
                self.elements.append(f"<{tag}>")
            return
        for name, _ in attrs:
            if name not in VISUAL_TAGS[tag] and f"{name} on <{tag}>" not in self.attributes:
                self.attributes.append(f"{name} on <{tag}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data):
        self.comments = True

    def handle_decl(self, decl):
        if "<!doctype>" not in self.elements:
            self.elements.append("<!doctype>")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def visual_editor_refusal(html_body: str) -> str:
    """Why the visual editor can't open this HTML body without changing what it sends ("" when
    it can): template blocks such as ``{% if %}``, comments, or HTML it has no place for. The
    page then opens the body as HTML source and shows this sentence."""
    found: list[str] = []
    if "{%" in html_body:
        found.append("{% … %} blocks such as {% if %}")
    if "{#" in html_body:
        found.append("template comments {# … #}")
    if _TRIMMING.search(html_body):
        found.append("whitespace control {{- … -}}")
    if _AWKWARD_OUTPUT.search(html_body):
        found.append("a merge field with <, > or & inside its {{ … }}")
    check = _VisualCheck()
    check.feed(html_body)
    check.close()
    if check.comments:
        found.append("HTML comments")
    if check.elements:
        noun = "elements" if len(check.elements) > 1 else "element"
        found.append(f"the {_and(check.elements[:4])} {noun}")
    if check.attributes:
        noun = "attributes" if len(check.attributes) > 1 else "attribute"
        found.append(f"the {noun} {_and(check.attributes[:4])}")
    if not found:
        return ""
    return (
        f"This body uses {_and(found)}, which the visual editor would lose, so it is open as HTML "
        "source. Edit it here; the preview shows the e-mail."
    )


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
    # The e-mail body's editing mode when the form was sent, so a refused save reopens in it.
    editor_mode = forms.ChoiceField(
        required=False,
        choices=(("visual", "Visual"), ("source", "HTML source")),
        widget=forms.HiddenInput(attrs={"data-editor-mode": ""}),
    )

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
            for name in ("subject", "html_body", "text_body_edited", "editor_mode"):
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

    def html_source(self) -> str:
        """The HTML body as it stands: as sent, or as saved."""
        if self.is_bound:
            return self.data.get(self.add_prefix("html_body"), "")
        return self.initial.get("html_body") or ""

    def visual_refusal(self) -> str:
        """Why the body opens as HTML source ("" when the visual editor can hold it)."""
        return visual_editor_refusal(self.html_source())

    def opens_as_source(self) -> bool:
        """The body opens as HTML source: the visual editor can't hold it, or it was being
        edited as source when the form was sent."""
        if self.is_bound and self.data.get(self.add_prefix("editor_mode")) == "source":
            return True
        return bool(self.visual_refusal())

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
