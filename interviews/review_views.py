"""The review page (``/interviews/<pk>/``): the answers in order, each played through a
short-lived signed URL (``interviews.playback``), a speed control (static/js/review.js), the
member's own review (a rating and a note per answer, a recommendation and notes), the team's
reviews and averages, and the share link for a hiring manager without an account.

Other reviewers' scores stay hidden until the member has submitted their own review: a hiring
team wants independent judgements, and a score seen first anchors the next one. Members who do
not review (viewers) see the team's scores straight away, as does the shared page.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_http_methods, require_POST

from candidates.views import render_in_org_time
from recruitflow.decorators import editor_required, organization_required

from . import selectors, sharing
from .playback import playback_url
from .review_forms import ReviewForm, ShareForm
from .reviews import REVIEWABLE_STATUSES, ReviewRefused, review_submit

# How long the review page's player URLs work: long enough to watch every answer and seek in
# it without reloading, short enough that a copied URL soon stops working.
PLAYBACK_TTL_SECONDS = 3600
SHARE_SESSION_KEY = "interviews_share_created"


def can_review(membership) -> bool:
    """Recruiters, admins, owners and hiring managers review; viewers read."""
    return membership.can_edit or membership.sees_only_hiring_team_candidates


def player_urls(answer_rows, url_for) -> None:
    """Give each playable answer row ``video_url`` and ``poster_url`` from ``url_for(answer,
    field)``."""
    for row in answer_rows:
        row.video_url = row.poster_url = ""
        if row.state == "ready":
            row.video_url = url_for(row.answer, "rendition")
            if row.answer.poster:
                row.poster_url = url_for(row.answer, "poster")


def _signed_playback(answer, field):
    return playback_url(answer, field, ttl=PLAYBACK_TTL_SECONDS)


def _interview_or_404(request, pk: int):
    interview = selectors.interview_for_review(
        organization=request.organization, membership=request.membership, pk=pk
    )
    if interview is None:
        raise Http404("No such interview.")
    return interview


@organization_required
@require_http_methods(["GET", "HEAD", "POST"])
def interview_review(request, pk: int):
    interview = _interview_or_404(request, pk)
    sheet = selectors.review_sheet(interview=interview, user=request.user)
    reviewer = can_review(request.membership)
    form = None
    refusal = ""
    if reviewer and interview.status in REVIEWABLE_STATUSES:
        if request.method == "POST":
            form = ReviewForm(request.POST, answers=sheet.answers)
            if form.is_valid():
                try:
                    review_submit(
                        interview=interview,
                        reviewer=request.user,
                        ratings=form.ratings(),
                        recommendation=form.cleaned_data["recommendation"],
                        notes=form.cleaned_data["notes"].strip(),
                    )
                except ReviewRefused as exc:
                    refusal = str(exc)
                else:
                    messages.success(
                        request,
                        "Your review is saved."
                        + (
                            " The team's scores are shown below."
                            if sheet.mine is None and sheet.reviews
                            else ""
                        ),
                    )
                    return redirect("interviews:review", pk=interview.pk)
        else:
            form = ReviewForm(answers=sheet.answers, review=sheet.mine)
    elif request.method == "POST":
        refusal = (
            "Your role can read reviews but not write them."
            if not reviewer
            else f"This interview is {interview.get_status_display().lower()}: it can be "
            "reviewed once the candidate has finished it."
        )
    return _render(request, interview, sheet, form=form, refusal=refusal)


def _render(request, interview, sheet, *, form=None, refusal="", share_form=None, status=200):
    player_urls(sheet.answers, _signed_playback)
    reviewer = can_review(request.membership)
    created = request.session.pop(SHARE_SESSION_KEY, None) if request.method != "POST" else None
    if created and created.get("interview") != interview.pk:
        created = None
    if created:
        created = {**created, "expires_at": parse_datetime(created["expires_at"])}
    context = {
        "interview": interview,
        "sheet": sheet,
        "form": form,
        "refusal": refusal,
        "can_review": reviewer,
        # Independent judgements first: see the others' scores after submitting your own.
        "show_team": sheet.mine is not None or not reviewer,
        "can_share": request.membership.can_edit,
        "share_form": share_form or ShareForm(),
        "share_created": created,
        "speeds": SPEEDS,
    }
    return render_in_org_time(request, "interviews/review.html", context, status=status)


SPEEDS = ("0.75", "1", "1.25", "1.5", "2")


@editor_required
@require_POST
def interview_share(request, pk: int):
    """Make a share link for a hiring manager; the review page shows it once."""
    interview = _interview_or_404(request, pk)
    form = ShareForm(request.POST)
    if not form.is_valid():
        sheet = selectors.review_sheet(interview=interview, user=request.user)
        review_form = None
        if can_review(request.membership) and interview.status in REVIEWABLE_STATUSES:
            review_form = ReviewForm(answers=sheet.answers, review=sheet.mine)
        return _render(request, interview, sheet, form=review_form, share_form=form, status=400)
    created = sharing.share_create(
        interview=interview, days=form.cleaned_data["days"], created_by=request.user
    )
    request.session[SHARE_SESSION_KEY] = {
        "interview": interview.pk,
        "url": created.url,
        "expires_at": created.expires_at.isoformat(),
        "days": form.cleaned_data["days"],
    }
    return redirect("interviews:review", pk=interview.pk)
