"""The video interview template editor form. It only carries what the page posts; every rule
lives in :mod:`interviews.template_services`, so the editor and the partner API refuse the same
things with the same words. Problems that belong to no single input (the questions, the
reviewers, a message kind) are kept in :attr:`VideoTemplateForm.group_errors`.

Questions are posted as rows ``q<n>_text``, ``q<n>_think_seconds``, ``q<n>_answer_seconds``,
``q<n>_retakes``, ``q<n>_order`` (the place it takes; the page's arrows renumber it) and
``q<n>_remove``. A row without text is an unused "add a question" row and is left out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms

from library.models import MessageTemplate

from .models import MESSAGE_KINDS
from .template_services import (
    NUMBER_LIMITS,
    QUESTION_DEFAULTS,
    QUESTION_LIMITS,
    default_values,
    person_name,
    template_values,
)

_QUESTION_KEY = re.compile(
    r"^q(?P<n>\d{1,2})_(?P<part>text|think_seconds|answer_seconds|retakes|order|remove)$"
)
BLANK_ROWS = 2


@dataclass(frozen=True)
class QuestionRow:
    prefix: str  # "q0": inputs "q0_text", "q0_think_seconds" …
    number: int
    text: str
    think_seconds: str
    answer_seconds: str
    retakes: str
    blank: bool


@dataclass(frozen=True)
class ReviewerRow:
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


class VideoTemplateForm(forms.Form):
    name = forms.CharField(
        required=False,
        max_length=400,
        help_text="For your team, e.g. “Sales screen”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    intro = forms.CharField(
        required=False,
        label="Introduction",
        help_text="Shown to the candidate before the first question: who you are, what to "
        "expect, how long it takes.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    expiry_days = _number(
        "The link works for (days)",
        "expiry_days",
        help_text="Counted from when the invitation is sent; then the interview expires.",
    )
    reminder_after_hours = _number(
        "Send the reminder after (hours)",
        "reminder_after_hours",
        help_text="Once, if the candidate hasn't started by then. 0: no reminder.",
    )

    def __init__(self, data=None, *, organization, team: list, instance=None, read_only=False):
        self.organization = organization
        self.instance = instance
        self.team = team
        base = template_values(instance) if instance is not None else default_values(organization)
        self.base = base
        initial = {
            key: value
            for key, value in base.items()
            if key not in ("questions", "messages", "reviewer_ids")
        }
        initial.update(base["messages"])
        for user in team:
            initial[f"reviewer_{user.pk}"] = user.pk in base["reviewer_ids"]
        super().__init__(data, initial=initial)
        self.group_errors: dict[str, list[str]] = {}
        for user in team:
            self.fields[f"reviewer_{user.pk}"] = forms.BooleanField(
                required=False, label=person_name(user)
            )
        library: dict[str, list[tuple[str, str]]] = {"email": [], "sms": []}
        for template in MessageTemplate.objects.filter(organization=organization).order_by(
            "name", "id"
        ):
            library[template.channel].append((str(template.pk), template.name))
        for kind, label in MESSAGE_KINDS:
            for channel in ("email", "sms"):
                what = "e-mail" if channel == "email" else "text message"
                self.fields[f"{kind}_{channel}"] = forms.ChoiceField(
                    choices=[("", "— none —"), *library[channel]],
                    required=False,
                    label=f"{label}: {what}",
                )
        self.library_counts = {channel: len(items) for channel, items in library.items()}
        self.read_only = read_only
        if read_only:
            for form_field in self.fields.values():
                form_field.disabled = True

    # --- What the page posted, as template_services values -------------------------------------

    def _posted_rows(self) -> list[tuple[int, dict[str, str]]]:
        rows: dict[int, dict[str, str]] = {}
        for key in self.data:
            match = _QUESTION_KEY.match(key)
            if match:
                value = str(self.data.get(key) or "")
                rows.setdefault(int(match["n"]), {})[match["part"]] = value
        return sorted(rows.items())

    def posted_questions(self) -> list[dict]:
        """The questions posted, in the order asked for, without removed and unused rows."""
        kept = []
        for n, parts in self._posted_rows():
            if parts.get("remove") in ("on", "true", "1"):
                continue
            if not parts.get("text", "").strip():
                continue
            try:
                order = int(parts.get("order", ""))
            except ValueError:
                order = 1000 + n
            question = {"text": parts.get("text", "")}
            for field in QUESTION_LIMITS:
                question[field] = parts.get(field, "").strip()
            kept.append((order, n, question))
        return [question for _order, _n, question in sorted(kept, key=lambda row: row[:2])]

    def values(self) -> dict:
        """The posted template as :func:`template_services.template_save` takes it."""
        data = self.data
        values: dict = {name: data.get(name, "") for name in ("name", "intro", *NUMBER_LIMITS)}
        values["questions"] = self.posted_questions()
        values["reviewer_ids"] = [
            user.pk for user in self.team if data.get(f"reviewer_{user.pk}") in ("on", "true", "1")
        ]
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

    def question_rows(self) -> list[QuestionRow]:
        """The questions in order, then empty rows to add more (none when read-only)."""
        if self.is_bound:
            questions = [
                {key: str(value) for key, value in q.items()} for q in self.posted_questions()
            ]
        else:
            questions = [{k: str(v) for k, v in q.items()} for q in self.base["questions"]]
        blank = {"text": "", **{k: str(v) for k, v in QUESTION_DEFAULTS.items()}}
        rows = [(q, False) for q in questions]
        if not self.read_only:
            rows += [(dict(blank), True)] * (BLANK_ROWS if questions else BLANK_ROWS + 1)
        return [
            QuestionRow(
                prefix=f"q{n}",
                number=n + 1,
                text=q.get("text", ""),
                think_seconds=q.get("think_seconds", ""),
                answer_seconds=q.get("answer_seconds", ""),
                retakes=q.get("retakes", ""),
                blank=is_blank,
            )
            for n, (q, is_blank) in enumerate(rows)
        ]

    def reviewer_rows(self) -> list[ReviewerRow]:
        return [
            ReviewerRow(user=user, name=person_name(user), field=self[f"reviewer_{user.pk}"])
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
