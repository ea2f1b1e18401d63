"""The ATS write-back's part of deleting a candidate's personal data (``candidates.erasure``;
this module registers itself when ``WritebackConfig.ready`` imports it).

The outbox keeps its rows (kind, status, times, the ATS's id of what was written), so Settings →
ATS activity's counts stay; the copies it holds of what it writes — a note's or e-mail's subject
and body, the addresses, a file's name and bytes (an SMS transcript), what a producer renders it
from — are replaced by the marker or emptied. A write not yet made (waiting, being written,
paused or failed, so Retry could send it) is stopped: it is never written after the erasure, and
the candidate page says why. What is already in the ATS is the ATS's to delete. The one-time
"recorded in our ATS" notice keeps its outcome, its reason emptied.
"""

from __future__ import annotations

from candidates.erasure import ERASED, ErasurePart, register_eraser

from .models import ActivityWrite, RecordingNotice, WriteStatus

STOPPED_REASON = "the candidate's personal data was deleted"
NOT_WRITTEN = (WriteStatus.PENDING, WriteStatus.WRITING, WriteStatus.PAUSED, WriteStatus.FAILED)


def writeback_erase(*, organization, candidate) -> ErasurePart:
    writes = ActivityWrite.objects.filter(organization=organization, candidate=candidate)
    # A worker holding a "writing" row records its outcome only while the row is still
    # "writing" (worker._Outcome), so this stop wins over it.
    stopped = writes.filter(status__in=NOT_WRITTEN).update(
        status=WriteStatus.RULE_OFF,
        reason=STOPPED_REASON,
        next_attempt_at=None,
        claimed_at=None,
        ambiguous=False,
    )
    erased = writes.update(body=ERASED, data=None, producer_args={})
    for name in ("subject", "email_to", "email_from", "filename"):
        writes.exclude(**{name: ""}).update(**{name: ERASED})
    RecordingNotice.objects.filter(organization=organization, candidate=candidate).exclude(
        reason=""
    ).update(reason=ERASED)
    return ErasurePart(counts={"ats_writes": erased, "ats_writes_stopped": stopped})


register_eraser("writeback", writeback_erase)
