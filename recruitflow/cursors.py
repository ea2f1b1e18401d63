"""Reading rows past a cursor when rows can commit out of id order.

A reader (partner webhooks, notifications) reads the rows past its cursor's ``position`` and
handles them idempotently. A row with a lower id may still commit after a higher one, so the
cursor does not jump to the last id it saw: it remembers it as ``pending_position`` with the
time (``pending_since``) and moves there only once that has been settled for the reader's
window. Until then the same rows are read again, which their unique keys make harmless.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def cursor_advance(
    cursor, *, seen: int | None, truncated: bool, now: datetime, settle: timedelta
) -> None:
    """Move ``cursor`` (fields ``position``, ``pending_position``, ``pending_since``) after a
    read whose highest id was ``seen`` (None: nothing read); ``truncated`` when the read hit its
    limit (then a settled pending position is taken only once the read reached it). Saves it."""
    if (
        cursor.pending_since is not None
        and cursor.pending_position is not None
        and cursor.pending_since <= now - settle
        and (not truncated or (seen or 0) >= cursor.pending_position)
    ):
        cursor.position = max(cursor.position, cursor.pending_position)
        cursor.pending_position = cursor.pending_since = None
    if cursor.pending_position is None and seen is not None and seen > cursor.position:
        cursor.pending_position, cursor.pending_since = seen, now
    cursor.save()
