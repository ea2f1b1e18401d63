"""A candidate's timeline as the candidate page shows it: stage changes and events, newest
first, with the events of one journey run (or anything else a higher app groups) under one
entry that expands (:func:`candidates.timeline.group_entries`)."""

from __future__ import annotations

from . import selectors, timeline
from .models import Candidate, TimelineEvent


def grouped_timeline(*, organization, candidate: Candidate, limit: int = 200) -> list:
    entries = selectors.candidate_timeline(
        organization=organization, candidate=candidate, limit=limit
    )
    event_ids = [e.event_id for e in entries if e.event_id is not None]
    data = (
        dict(
            TimelineEvent.objects.filter(organization=organization, pk__in=event_ids).values_list(
                "pk", "data"
            )
        )
        if event_ids
        else {}
    )
    return timeline.group_entries(organization, entries, {pk: d or {} for pk, d in data.items()})
