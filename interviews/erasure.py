"""Video interviews' part of deleting a candidate's personal data (``candidates.erasure``; this
module registers itself when ``InterviewsConfig.ready`` imports it).

Every recording of the candidate goes from storage (originals, renditions, posters, chunks), as
retention would delete it; the reviewers' notes about them become the marker (ratings and
recommendations, which are the team's, stay for the averages); an interview the candidate could
still record is cancelled, so its link no longer accepts answers. The interview rows stay, so
the Interviews page's counts stay.
"""

from __future__ import annotations

from django.utils import timezone

from candidates.erasure import ERASED, ErasurePart, register_eraser

from .models import OPEN_STATUSES, AnswerRating, InterviewStatus, Review, VideoInterview
from .retention import interview_recordings_delete


def interviews_erase(*, organization, candidate) -> ErasurePart:
    now = timezone.now()
    interviews = list(
        VideoInterview.objects.filter(organization=organization, candidate=candidate)
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    files = 0
    for interview in interviews:
        files += interview_recordings_delete(interview=interview, now=now)
    ids = [interview.pk for interview in interviews]
    VideoInterview.objects.filter(
        organization=organization, pk__in=ids, status__in=OPEN_STATUSES
    ).update(status=InterviewStatus.CANCELLED)
    reviews = (
        Review.objects.filter(organization=organization, interview_id__in=ids)
        .exclude(notes="")
        .update(notes=ERASED)
    )
    reviews += (
        AnswerRating.objects.filter(organization=organization, review__interview_id__in=ids)
        .exclude(note="")
        .update(note=ERASED)
    )
    return ErasurePart(
        counts={"video_interviews": len(interviews), "recording_files": files, "reviews": reviews}
    )


register_eraser("interviews", interviews_erase)
