"""Bulk actions' part of deleting a candidate's personal data (``candidates.erasure``; this
module registers itself when ``BulkConfig.ready`` imports it).

The candidate's line in each bulk action keeps its outcome (the action's summary stays true);
a detail that quotes them (an address a send was refused for) becomes the marker.
"""

from __future__ import annotations

from candidates.erasure import ERASED, ErasurePart, quoting, register_eraser

from .models import BulkActionItem


def bulk_erase(*, organization, candidate) -> ErasurePart:
    emptied = (
        BulkActionItem.objects.filter(organization=organization, candidate=candidate)
        .filter(quoting(candidate, "detail"))
        .update(detail=ERASED)
    )
    return ErasurePart(counts={"bulk_action_details": emptied})


register_eraser("bulk", bulk_erase)
