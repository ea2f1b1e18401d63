"""A completed video interview into the ATS: the review link in the candidate's "Video
Interview" custom field and a note.

The interviews app writes the timeline event ``journeys.timeline_kinds.VIDEO_INTERVIEW_COMPLETED``
(data: ``interview_id``, ``review_url``, ``template``, ``answers``); the reader hands it here and
two outbox rows are made, each with its own dedupe key, so reading the event again or a worker
retrying never writes twice:

* ``event:<id>`` — a note ("Video interview completed", the template, the answers, the link),
  kind ``video_interview``; every ATS takes it (where there are no fields, the note is all).
* ``videofield:<id>`` — the link (and the template's name) in the candidate custom field
  ``integrations.base.VIDEO_INTERVIEW_FIELD``, kind ``link_field``, written by
  ``ATSProvider.write_candidate_link_field`` (the adapter finds the field by reading the
  ATS's candidate field definitions and sets it on the candidate). Setting the
  same value again changes nothing, so an ambiguous failure is simply written again. Only
  queued while the connection's adapter can write such a field
  (``candidate_link_field_refusal``); Settings → ATS activity says why not otherwise.

Both follow the organization's rule "Video interviews" (default on) like every other kind.
"""

from __future__ import annotations

from candidates.models import TimelineEvent
from integrations.base import VIDEO_INTERVIEW_FIELD
from integrations.connections import link_field_refusal
from writeback.models import WritebackRules, WriteKind, WriteStatus
from writeback.services import when_text, write_enqueue

TITLE = "Video interview completed"


def field_key(event_id: int) -> str:
    """The dedupe key of the custom field write of a completion event."""
    return f"videofield:{event_id}"


def field_value(*, review_url: str, template: str, completed: str) -> str:
    """What the "Video Interview" field holds: the link first (ATS screens make it
    clickable), then what it is."""
    lines = [review_url]
    if template:
        lines.append(f"{template} · completed {completed}")
    else:
        lines.append(f"Completed {completed}")
    return "\n".join(lines)


def video_interview_read(*, organization, rules: WritebackRules, event: TimelineEvent) -> None:
    """The outbox rows of one completion event under ``rules`` (idempotent)."""
    if not rules.video_interviews:
        write_enqueue(
            organization=organization,
            candidate_id=event.candidate_id,
            kind=WriteKind.VIDEO_INTERVIEW,
            dedupe_key=f"event:{event.pk}",
            occurred_at=event.occurred_at,
            events=[event.pk],
            subject=event.summary or TITLE,
            status=WriteStatus.RULE_OFF,
            reason="“Video interviews” is off",
        )
        return
    data = event.data or {}
    review_url = str(data.get("review_url") or "").strip()
    template = str(data.get("template") or "").strip()
    answers = data.get("answers")
    completed = when_text(organization, event.occurred_at)
    body = f"{TITLE} — {completed}"
    if template:
        body += f"\nTemplate: {template}"
    if isinstance(answers, int):
        body += f"\nAnswers: {answers}"
    body += f"\nReview: {review_url}" if review_url else "\nReview link: not available"
    write_enqueue(
        organization=organization,
        candidate_id=event.candidate_id,
        kind=WriteKind.VIDEO_INTERVIEW,
        dedupe_key=f"event:{event.pk}",
        occurred_at=event.occurred_at,
        events=[event.pk],
        subject=f"{TITLE}: {template}" if template else TITLE,
        body=body,
        visibility=rules.note_visibility,
    )
    if not review_url or link_field_refusal(organization):
        return
    write_enqueue(
        organization=organization,
        candidate_id=event.candidate_id,
        kind=WriteKind.LINK_FIELD,
        dedupe_key=field_key(event.pk),
        occurred_at=event.occurred_at,
        events=[event.pk],
        subject=VIDEO_INTERVIEW_FIELD,
        body=field_value(review_url=review_url, template=template, completed=completed),
    )
