"""The review page's forms: a reviewer's review (a rating 1–5 and a note per answer, a
recommendation and notes) and the share link's expiry."""

from __future__ import annotations

from django import forms

from .models import Recommendation
from .reviews import RatingInput
from .sharing import DEFAULT_SHARE_DAYS, SHARE_DAY_CHOICES

RATING_CHOICES = [
    (1, "1 · Poor"),
    (2, "2 · Weak"),
    (3, "3 · Acceptable"),
    (4, "4 · Good"),
    (5, "5 · Excellent"),
]
NOTE_MAX = 4000


class ReviewForm(forms.Form):
    """Built for the interview's questions: ``rating_<n>`` and ``note_<n>`` per answer (0-based
    ``n``, the index the answers use)."""

    recommendation = forms.ChoiceField(
        label="Overall recommendation",
        choices=[("", "Choose…"), *Recommendation.choices],
        error_messages={
            "required": "Choose a recommendation (strong yes, yes, no or strong no) so the "
            "team knows where you stand.",
            "invalid_choice": "Choose a recommendation from the list.",
        },
    )
    notes = forms.CharField(
        label="Overall notes",
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the hiring team should know: strengths, concerns, what to ask next.",
    )

    def __init__(self, *args, answers=(), review=None, **kwargs):
        self.answers = list(answers)
        initial = dict(kwargs.pop("initial", None) or {})
        if review is not None:
            initial.setdefault("recommendation", review.recommendation)
            initial.setdefault("notes", review.notes)
            for index, row in review.ratings_by_index.items():
                initial.setdefault(f"rating_{index}", row.rating)
                initial.setdefault(f"note_{index}", row.note)
        super().__init__(*args, initial=initial, **kwargs)
        for answer in self.answers:
            self.fields[f"rating_{answer.index}"] = forms.TypedChoiceField(
                label=f"Rating of answer {answer.number}",
                choices=RATING_CHOICES,
                coerce=int,
                required=False,
                empty_value=None,
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": "Rate from 1 (poor) to 5 (excellent)."},
            )
            self.fields[f"note_{answer.index}"] = forms.CharField(
                label=f"Note on answer {answer.number}",
                required=False,
                max_length=NOTE_MAX,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def answer_fields(self):
        """(answer row, rating field, note field) in question order, for the template."""
        return [
            (answer, self[f"rating_{answer.index}"], self[f"note_{answer.index}"])
            for answer in self.answers
        ]

    def clean(self):
        cleaned = super().clean()
        for answer in self.answers:
            if answer.state != "ready" and cleaned.get(f"rating_{answer.index}"):
                self.add_error(
                    f"rating_{answer.index}",
                    f"Answer {answer.number} cannot be played yet, so it cannot be rated; "
                    "leave its rating empty.",
                )
        return cleaned

    def ratings(self) -> list[RatingInput]:
        return [
            RatingInput(
                question_index=answer.index,
                rating=self.cleaned_data.get(f"rating_{answer.index}"),
                note=(self.cleaned_data.get(f"note_{answer.index}") or "").strip(),
            )
            for answer in self.answers
            if self.cleaned_data.get(f"rating_{answer.index}")
            or (self.cleaned_data.get(f"note_{answer.index}") or "").strip()
        ]


class ShareForm(forms.Form):
    days = forms.TypedChoiceField(
        label="Link works for",
        choices=[(d, f"{d} day{'s' if d != 1 else ''}") for d in SHARE_DAY_CHOICES],
        coerce=int,
        initial=DEFAULT_SHARE_DAYS,
        error_messages={
            "invalid_choice": "Choose how long the link works: "
            + ", ".join(str(d) for d in SHARE_DAY_CHOICES)
            + " days.",
            "required": "Choose how long the link works.",
        },
    )
