"""Journeys' part of deleting a candidate's personal data (``candidates.erasure``; this module
registers itself when ``JourneysConfig.ready`` imports it).

A run and its steps keep their rows, statuses and times (the journey's counts stay); a reason
that quotes the candidate (a provider's refusal naming their number or address) becomes the
marker.
"""

from __future__ import annotations

from candidates.erasure import ERASED, ErasurePart, quoting, register_eraser

from .models import JourneyRun, StepRun


def journeys_erase(*, organization, candidate) -> ErasurePart:
    runs = JourneyRun.objects.filter(organization=organization, candidate=candidate)
    emptied = runs.filter(quoting(candidate, "reason")).update(reason=ERASED)
    emptied += (
        StepRun.objects.filter(organization=organization, run__in=runs)
        .filter(quoting(candidate, "reason"))
        .update(reason=ERASED)
    )
    return ErasurePart(counts={"journey_reasons": emptied})


register_eraser("journeys", journeys_erase)
