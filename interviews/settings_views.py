"""Settings → Video interviews (owners and admins): how long recordings are kept. The beat task
of :mod:`interviews.retention` deletes them once the period is over; the candidate's recorder
tells them the period before they consent."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.shortcuts import redirect

from candidates.views import render_in_org_time
from recruitflow.decorators import admin_required

from . import retention
from .models import InterviewPolicy


def _limit(validator_class) -> int:
    """The policy's own bound on the retention period, so the form says the same range."""
    field = InterviewPolicy._meta.get_field("retention_days")
    return next(v.limit_value for v in field.validators if isinstance(v, validator_class))


MIN_DAYS, MAX_DAYS = _limit(MinValueValidator), _limit(MaxValueValidator)


class RetentionForm(forms.Form):
    retention_days = forms.IntegerField(
        label="Keep recordings for (days)",
        min_value=MIN_DAYS,
        max_value=MAX_DAYS,
        help_text=f"From {MIN_DAYS} to {MAX_DAYS} days after the interview was completed, or "
        "after its link expired or was cancelled. Then the recordings are deleted and a note "
        "stays on the candidate's timeline; questions, durations and reviews stay.",
        error_messages={
            "required": "Enter how many days recordings are kept, e.g. 180.",
            "invalid": "Enter a whole number of days, e.g. 180.",
            "min_value": f"Keep recordings at least {MIN_DAYS} day.",
            "max_value": f"Keep recordings at most {MAX_DAYS} days (10 years).",
        },
    )


def _render(request, form: RetentionForm, *, status: int = 200):
    days = retention.retention_days_for(request.organization)
    context = {
        "tab": "video_interviews",
        "form": form,
        "retention_days": days,
        "is_default": days == retention.DEFAULT_RETENTION_DAYS,
    }
    return render_in_org_time(request, "interviews/settings.html", context, status=status)


@admin_required
def index(request):
    if request.method != "POST":
        days = retention.retention_days_for(request.organization)
        return _render(request, RetentionForm(initial={"retention_days": days}))
    form = RetentionForm(request.POST)
    if form.is_valid():
        try:
            retention.policy_save(
                organization=request.organization,
                retention_days=form.cleaned_data["retention_days"],
            )
        except ValidationError as exc:
            form.add_error("retention_days", exc.messages)
        else:
            days = form.cleaned_data["retention_days"]
            messages.success(
                request, f"Saved: recordings are kept for {days} day{'s' if days != 1 else ''}."
            )
            return redirect("interview_settings:index")
    return _render(request, form, status=400)
