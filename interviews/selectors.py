"""Reads of the Interviews page, the review page and the shared review page.

Every read takes the organization. A hiring manager (a role that sees only the candidates of the
jobs whose ATS hiring team includes them) already reaches only those candidates' interviews
through the tenant managers; :func:`interviews_for` narrows further to the interviews *of those
jobs* (an interview sent without a job stays visible with its candidate), so an interview for
another job of a candidate they share with another team stays hidden.

Averages: an answer's average is the mean of every reviewer's rating of it; an interview's
average is the mean of all its ratings (each rating counts once, so a reviewer who rated more
answers weighs more), the same figure on the list and on the review page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Q, QuerySet

from candidates.models import Job
from candidates.selectors import hiring_team_jobs

from .models import (
    Answer,
    AnswerStatus,
    InterviewStatus,
    Review,
    VideoInterview,
    VideoTemplate,
    VideoTemplateReviewer,
)

# The tabs of the Interviews page, in the order an interview moves through them.
STATUS_TABS: tuple[tuple[str, str], ...] = (
    (InterviewStatus.INVITED, "Invited"),
    (InterviewStatus.STARTED, "Started"),
    (InterviewStatus.COMPLETED, "Completed"),
    (InterviewStatus.REVIEWED, "Reviewed"),
    (InterviewStatus.EXPIRED, "Expired"),
    (InterviewStatus.CANCELLED, "Cancelled"),
)


@dataclass(frozen=True)
class InterviewFilters:
    status: str = ""
    job: int | None = None
    template: int | None = None
    reviewer: int | None = None  # a user: on the template's reviewers, or wrote a review

    @property
    def active(self) -> bool:
        return bool(self.status or self.job or self.template or self.reviewer)

    @property
    def narrowing(self) -> bool:
        """Whether anything but the status tab narrows the list."""
        return bool(self.job or self.template or self.reviewer)

    @classmethod
    def from_query(cls, query) -> InterviewFilters:
        def number(name: str) -> int | None:
            value = (query.get(name) or "").strip()
            return int(value) if value.isdigit() and len(value) < 18 else None

        status = (query.get("status") or "").strip()
        return cls(
            status=status if status in InterviewStatus.values else "",
            job=number("job"),
            template=number("template"),
            reviewer=number("reviewer"),
        )


def interviews_for(*, organization, membership) -> QuerySet[VideoInterview]:
    """The interviews ``membership`` may see (the tenant scope narrows to their candidates; a
    hiring manager also to their jobs' interviews)."""
    interviews = VideoInterview.objects.filter(organization=organization)
    if membership is not None and membership.sees_only_hiring_team_candidates:
        jobs = hiring_team_jobs(organization=organization, email=membership.user.email)
        interviews = interviews.filter(Q(job__in=jobs.values("pk")) | Q(job__isnull=True))
    return interviews


def _filtered(interviews: QuerySet, filters: InterviewFilters) -> QuerySet:
    if filters.job:
        interviews = interviews.filter(job_id=filters.job)
    if filters.template:
        interviews = interviews.filter(template_id=filters.template)
    if filters.reviewer:
        assigned = VideoTemplateReviewer.objects.filter(user_id=filters.reviewer).values(
            "template_id"
        )
        reviewed = Review.objects.filter(reviewer_id=filters.reviewer).values("interview_id")
        interviews = interviews.filter(Q(template_id__in=assigned) | Q(pk__in=reviewed))
    return interviews


def interview_list(
    *, organization, membership, filters: InterviewFilters
) -> QuerySet[VideoInterview]:
    """The page's rows, newest first, each with ``average_score`` and ``review_count``."""
    interviews = _filtered(
        interviews_for(organization=organization, membership=membership), filters
    )
    if filters.status:
        interviews = interviews.filter(status=filters.status)
    return (
        interviews.select_related("candidate", "job", "template")
        .annotate(
            average_score=Avg("reviews__ratings__rating"),
            review_count=Count("reviews", distinct=True),
        )
        .order_by("-created_at", "-id")
    )


def interview_status_counts(
    *, organization, membership, filters: InterviewFilters
) -> list[tuple[str, str, int]]:
    """``(status, label, count)`` for every tab under the other filters (one query)."""
    interviews = _filtered(
        interviews_for(organization=organization, membership=membership), filters
    )
    counts = dict(
        interviews.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return [(value, label, counts.get(value, 0)) for value, label in STATUS_TABS]


@dataclass
class FilterOptions:
    jobs: list
    templates: list
    reviewers: list


def interview_filter_options(*, organization, membership) -> FilterOptions:
    """The jobs with interviews the member may see, the templates, and the people who review."""
    visible = interviews_for(organization=organization, membership=membership)
    jobs = list(
        Job.objects.filter(organization=organization, pk__in=visible.values("job_id"))
        .order_by("name")
        .only("pk", "name")
    )
    templates = list(
        VideoTemplate.objects.filter(organization=organization).order_by("name").only("pk", "name")
    )
    reviewer_ids = VideoTemplateReviewer.objects.filter(organization=organization).values("user_id")
    review_ids = Review.objects.filter(organization=organization).values("reviewer_id")
    reviewers = list(
        get_user_model()
        .objects.filter(
            Q(pk__in=reviewer_ids) | Q(pk__in=review_ids),
            memberships__organization=organization,
        )
        .distinct()
        .order_by("first_name", "last_name", "email")
    )
    return FilterOptions(jobs=jobs, templates=templates, reviewers=reviewers)


def interview_for_review(*, organization, membership, pk: int) -> VideoInterview | None:
    """One interview the member may see, with its candidate, job and template, or None."""
    return (
        interviews_for(organization=organization, membership=membership)
        .select_related("candidate", "job", "template")
        .filter(pk=pk)
        .first()
    )


def shared_interview(*, organization, pk: int) -> VideoInterview | None:
    """The interview behind a share link (whoever holds the link sees it, read-only)."""
    return (
        VideoInterview.objects.filter(organization=organization, pk=pk)
        .exclude(status=InterviewStatus.CANCELLED)
        .select_related("candidate", "job", "template", "organization")
        .first()
    )


# ----------------------------------------------------------------------------------------------
# The review sheet: the answers in order, the reviews and their averages
# ----------------------------------------------------------------------------------------------


@dataclass
class AnswerRow:
    index: int
    number: int
    question: dict
    answer: Answer | None
    ratings: list = field(default_factory=list)  # (review, rating row) of every reviewer

    @property
    def text(self) -> str:
        return str(self.question.get("text", ""))

    @property
    def limit_seconds(self) -> int | None:
        return self.question.get("answer_seconds")

    @property
    def state(self) -> str:
        """ready, processing, failed or missing: what the player can show."""
        if self.answer is None:
            return "missing"
        if self.answer.status == AnswerStatus.READY and self.answer.rendition:
            return "ready"
        if self.answer.status == AnswerStatus.FAILED:
            return "failed"
        return "processing"

    @property
    def average(self) -> float | None:
        scores = [rating.rating for _, rating in self.ratings if rating.rating]
        return sum(scores) / len(scores) if scores else None


@dataclass
class ReviewSheet:
    interview: VideoInterview
    answers: list[AnswerRow]
    reviews: list[Review]  # every submitted review, oldest first, with ``ratings_by_index``
    mine: Review | None

    @property
    def average(self) -> float | None:
        scores = [
            row.rating for review in self.reviews for row in review.ratings.all() if row.rating
        ]
        return sum(scores) / len(scores) if scores else None

    @property
    def others(self) -> list[Review]:
        return [review for review in self.reviews if self.mine is None or review.pk != self.mine.pk]


def review_sheet(*, interview: VideoInterview, user=None) -> ReviewSheet:
    """The interview's questions in order with the answer that counts for each, every review
    with its ratings, and ``user``'s own review (three queries)."""
    answers = {
        answer.question_index: answer
        for answer in Answer.objects.filter(
            organization_id=interview.organization_id, interview=interview, is_final=True
        )
    }
    reviews = list(
        Review.objects.filter(organization_id=interview.organization_id, interview=interview)
        .select_related("reviewer")
        .prefetch_related("ratings")
        .order_by("created_at", "id")
    )
    by_index: dict[int, list] = defaultdict(list)
    for review in reviews:
        review.ratings_by_index = {row.question_index: row for row in review.ratings.all()}
        scores = [row.rating for row in review.ratings.all() if row.rating]
        review.average = sum(scores) / len(scores) if scores else None
        for row in review.ratings.all():
            by_index[row.question_index].append((review, row))
    rows = [
        AnswerRow(
            index=index,
            number=index + 1,
            question=question if isinstance(question, dict) else {"text": str(question)},
            answer=answers.get(index),
            ratings=by_index.get(index, []),
        )
        for index, question in enumerate(interview.questions or [])
    ]
    mine = next((r for r in reviews if user is not None and r.reviewer_id == user.pk), None)
    return ReviewSheet(interview=interview, answers=rows, reviews=reviews, mine=mine)


def final_answer(*, interview: VideoInterview, index: int) -> Answer | None:
    return Answer.objects.filter(
        organization_id=interview.organization_id,
        interview=interview,
        question_index=index,
        is_final=True,
    ).first()
