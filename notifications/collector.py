"""The reader: each source of one organization past its cursor, and a notification per member
told (once per member and source row, by the unique ``source_key``), in one transaction with
the cursor.

The cursor settles behind a window (``NOTIFICATIONS_SETTLE_SECONDS``): rows above the settled
position are read again on each pass until a pass that saw them is older than the window, so a
row whose transaction took its id early and committed late is still read. Rows already told are
skipped by their key. A new cursor starts at the source's present: nobody is told about
history."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from notifications import badge
from notifications.models import ConnectionSeen, Notification, ReadCursor
from notifications.preferences import channels_for
from notifications.sources import Item, Source, all_sources
from recruitflow.cursors import cursor_advance

WINDOW_MAX = 5_000  # source rows read per pass and source
BUILD_CHUNK = 500


def settle_window() -> timedelta:
    return timedelta(seconds=getattr(settings, "NOTIFICATIONS_SETTLE_SECONDS", 60))


def notifications_write(*, organization, items: list[Item]) -> list[Notification]:
    """Write the notifications not written yet, each with the channels its member chose for its
    kind; a member who switched a kind off entirely gets no row. Returns the new rows."""
    if not items:
        return []
    users = {u for item in items for u in item.user_ids}
    channels = channels_for(organization=organization, user_ids=users)
    existing = set(
        Notification.objects.filter(
            organization=organization, source_key__in={i.key for i in items}
        ).values_list("user_id", "source_key")
    )
    fresh = []
    for item in items:
        for user_id in item.user_ids:
            chosen = channels[(user_id, item.kind)]
            if not chosen.any or (user_id, item.key) in existing:
                continue
            existing.add((user_id, item.key))
            fresh.append(
                Notification(
                    organization=organization,
                    user_id=user_id,
                    kind=item.kind,
                    title=item.title[:300],
                    body=item.body,
                    link=item.link[:500],
                    source_key=item.key[:200],
                    created_at=item.occurred_at,
                    in_app=chosen.in_app,
                    email_pending=chosen.email,
                    digest_pending=chosen.digest,
                )
            )
    written = Notification.objects.bulk_create(fresh, ignore_conflicts=True)
    badge.unread_changed(
        organization_id=organization.pk, user_ids=[n.user_id for n in fresh if n.in_app]
    )
    return written


def _cursor_locked(organization, source: Source, now: datetime) -> ReadCursor:
    cursor = (
        ReadCursor.objects.select_for_update()
        .filter(organization=organization, source=source.name)
        .first()
    )
    if cursor is not None:
        return cursor
    start = ReadCursor(organization=organization, source=source.name)
    if source.time_field is None:
        start.position = source.queryset().aggregate(m=Max("pk"))["m"] or 0
    else:
        start.position_time = now
    ReadCursor.objects.bulk_create([start], ignore_conflicts=True)
    return ReadCursor.objects.select_for_update().get(organization=organization, source=source.name)


def _build(organization, source: Source, rows: list) -> int:
    written = 0
    for start in range(0, len(rows), BUILD_CHUNK):
        items = source.build(organization, rows[start : start + BUILD_CHUNK])
        written += len(notifications_write(organization=organization, items=items))
    return written


def _by_id(organization, source: Source, cursor: ReadCursor, now: datetime) -> int:
    rows = list(source.queryset().filter(pk__gt=cursor.position).order_by("pk")[:WINDOW_MAX])
    written = _build(organization, source, rows)
    cursor_advance(
        cursor,
        seen=rows[-1].pk if rows else None,
        truncated=len(rows) == WINDOW_MAX,
        now=now,
        settle=settle_window(),
    )
    return written


def _status_changes(organization, source: Source, rows: list) -> list:
    """The rows whose status differs from the one last seen (so a connection that stays in
    "Needs attention" is told once, and again only after it recovered and failed again)."""
    if not source.repeats or not rows:
        return rows
    seen = {
        s.object_id: s
        for s in ConnectionSeen.objects.filter(
            organization=organization, model=source.name, object_id__in=[r.pk for r in rows]
        )
    }
    changed = []
    for row in rows:
        state = seen.get(row.pk)
        if state is not None and state.status == row.status:
            continue
        changed.append(row)
        ConnectionSeen.objects.update_or_create(
            organization=organization,
            model=source.name,
            object_id=row.pk,
            defaults={"status": row.status},
        )
    return changed


def _by_time(organization, source: Source, cursor: ReadCursor, now: datetime) -> int:
    assert source.time_field is not None
    since = cursor.position_time or now
    rows = list(
        source.queryset()
        .filter(**{f"{source.time_field}__gt": since})
        .order_by(source.time_field, "pk")[:WINDOW_MAX]
    )
    written = _build(organization, source, _status_changes(organization, source, rows))
    settled = now - settle_window()
    if len(rows) == WINDOW_MAX:
        settled = min(settled, getattr(rows[-1], source.time_field))
    if settled > since:
        cursor.position_time = settled
        cursor.save()
    return written


def collect(*, organization, now: datetime | None = None) -> int:
    """Read every source of one organization once; returns how many notifications were
    written. Safe to run twice at once: each source's cursor row is locked for its pass and
    the unique key makes a second read write nothing."""
    written = 0
    for source in all_sources():
        with transaction.atomic():
            moment = now or timezone.now()
            cursor = _cursor_locked(organization, source, moment)
            reader = _by_id if source.time_field is None else _by_time
            written += reader(organization, source, cursor, moment)
    return written
