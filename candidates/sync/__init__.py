"""Writing what an ATS says into the mirror: bulk upserts, the stage/status diff that produces
StageTransition rows, and the page-by-page poll.

Public entry points are in ``candidates.services``; this package holds the machinery they share
with webhook processing: ``mapping`` (records → rows), ``writer`` (:class:`MirrorWriter`, every
mirror write) and ``poll`` (:class:`SyncEngine`, the page-by-page read).

How the poll stays exact:

* Each page is one transaction: the candidates/applications upsert, the transitions found by
  diffing the page against the mirror rows (loaded once per page, locked), and, with the last
  page of a pass, the resource's cursor. A failure mid-pass rolls back only that page and
  leaves the cursor where the last complete pass put it, so the next poll re-reads from there.
* Duplicates cannot happen by construction: a change is recorded only when the incoming row
  differs from the mirror, and the mirror is updated in the same transaction. A webhook that
  already applied a change leaves nothing for the poll to find.
* A page read before a webhook landed must not roll the mirror back: rows whose
  ``last_activity_at`` is older than the mirror's are skipped as stale.
* The cursor is the time a complete pass *started*; the next pass asks for changes since then
  minus an overlap window, because vendors list by id, not by time, and clocks drift.
"""
