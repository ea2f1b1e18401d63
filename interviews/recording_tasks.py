"""Celery tasks of the candidate's recordings: thin wrappers that load by id and call a service.

``interviews.process_answer`` is queued when a take's last chunk is in
(:func:`interviews.uploads.take_finish`); ``interviews.process_stuck_answers`` (beat) queues it
again for takes a worker died on, so no answer waits forever.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from recruitflow.tasks import OrganizationTask
from recruitflow.tenancy import scopes_disabled

from . import processing
from .models import Answer, AnswerStatus

# A take still "uploaded" or "processing" this long after it was uploaded lost its worker.
STUCK_AFTER = timedelta(minutes=45)


@shared_task(name="interviews.process_answer", base=OrganizationTask)
def process_answer(organization, answer_id: int) -> str | None:
    """Duration, poster and MP4 rendition of one take; returns its status."""
    answer = Answer.objects.filter(organization=organization, pk=answer_id).first()
    if answer is None:  # erased since it was queued
        return None
    return processing.answer_process(answer=answer).status


@shared_task(name="interviews.process_stuck_answers")
def process_stuck_answers() -> int:
    """Beat: queue processing again for takes left uploaded or processing; returns how many."""
    cutoff = timezone.now() - STUCK_AFTER
    with scopes_disabled():  # beat fan-out: a deliberate look across organizations
        stuck = list(
            Answer.objects.filter(
                status__in=(AnswerStatus.UPLOADED, AnswerStatus.PROCESSING),
                uploaded_at__lt=cutoff,
            ).values_list("organization_id", "pk")[:500]
        )
    for organization_id, answer_id in stuck:
        process_answer.delay(organization_id, answer_id)
    return len(stuck)
