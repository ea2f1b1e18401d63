"""Writes of the review page: a reviewer's review of an interview (their ratings and notes per
answer, a recommendation and notes), one per reviewer, changed by submitting again.

The first submitted review moves a completed interview to "reviewed" (a conditional UPDATE, so
two reviewers submitting at once move it once). Each reviewer's first submission is a
``video_interview_reviewed`` timeline entry with their recommendation and average, so the
candidate's timeline says who reviewed and what they thought; later edits are not repeated there.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from candidates.models import TimelineEvent

from .models import AnswerRating, InterviewStatus, Recommendation, Review, VideoInterview
from .timeline_kinds import VIDEO_INTERVIEW_REVIEWED

# Interviews a reviewer can review: the candidate has finished.
REVIEWABLE_STATUSES = (InterviewStatus.COMPLETED, InterviewStatus.REVIEWED)


class ReviewRefused(Exception):
    """The interview cannot be reviewed now (the message says why)."""


@dataclass(frozen=True)
class RatingInput:
    question_index: int
    rating: int | None
    note: str


def review_submit(
    *,
    interview: VideoInterview,
    reviewer,
    ratings: list[RatingInput],
    recommendation: str,
    notes: str,
) -> Review:
    """Create or replace ``reviewer``'s review of ``interview``."""
    if interview.status not in REVIEWABLE_STATUSES:
        raise ReviewRefused(
            f"This interview is {interview.get_status_display().lower()}: it can be reviewed "
            "once the candidate has finished it."
        )
    if recommendation and recommendation not in Recommendation.values:
        raise ReviewRefused("Choose a recommendation from the list.")
    questions = len(interview.questions or [])
    now = timezone.now()
    with transaction.atomic():
        review, created = Review.objects.get_or_create(
            organization_id=interview.organization_id,
            interview=interview,
            reviewer=reviewer,
            defaults={"recommendation": recommendation, "notes": notes},
        )
        if not created:
            review.recommendation, review.notes = recommendation, notes
            review.save(update_fields=["recommendation", "notes", "updated_at"])
        kept = []
        for item in ratings:
            if not 0 <= item.question_index < questions:
                continue
            AnswerRating.objects.update_or_create(
                organization_id=interview.organization_id,
                review=review,
                question_index=item.question_index,
                defaults={"rating": item.rating, "note": item.note},
            )
            kept.append(item.question_index)
        AnswerRating.objects.filter(review=review).exclude(question_index__in=kept).delete()
        moved = VideoInterview.objects.filter(
            pk=interview.pk, status=InterviewStatus.COMPLETED
        ).update(status=InterviewStatus.REVIEWED, reviewed_at=now)
        if moved:
            interview.status, interview.reviewed_at = InterviewStatus.REVIEWED, now
        if created:
            _tell_timeline(interview, review, ratings, reviewer, now)
    return review


def _tell_timeline(interview, review, ratings, reviewer, now) -> None:
    scores = [item.rating for item in ratings if item.rating]
    average = round(sum(scores) / len(scores), 1) if scores else None
    who = reviewer.get_full_name() or reviewer.email
    words = [f"{who} reviewed the video interview ({interview.template.name})"]
    if review.recommendation:
        words.append(f"recommendation: {review.get_recommendation_display().lower()}")
    if average is not None:
        words.append(f"average {average}/5")
    TimelineEvent.objects.create(
        organization_id=interview.organization_id,
        candidate_id=interview.candidate_id,
        application_id=interview.application_id,
        kind=VIDEO_INTERVIEW_REVIEWED,
        summary=" · ".join(words)[:500],
        data={
            "interview_id": interview.pk,
            "review_id": review.pk,
            "reviewer": reviewer.pk,
            "recommendation": review.recommendation,
            "average": average,
        },
        occurred_at=now,
    )
