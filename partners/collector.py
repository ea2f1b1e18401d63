"""The collector: reads each source past the organization's cursor, writes the events (once per
key) and one delivery per subscribed, enabled subscription, in one transaction with the cursor.

The cursor settles behind a window (``PARTNER_WEBHOOK_SETTLE_SECONDS``): rows above the settled
position are looked at again on each pass until a pass that saw them is older than the window,
so a row whose transaction took its id early and committed late is still read. Rows that already
gave their event are skipped by id (``Event.source_id``), so a pass costs an index scan."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from journeys.triggers import chunked
from partners.models import ConnectionState, Delivery, Event, SourceCursor, Subscription
from partners.sources import Built, Source, all_sources, connection_sources, iso
from recruitflow.cursors import cursor_advance
from recruitflow.tasks import task_named

WINDOW_MAX = 50_000  # source ids looked at per pass and source
BUILD_CHUNK = 500


@dataclass
class CollectResult:
    events: int = 0
    deliveries: int = 0


def settle_window() -> timedelta:
    return timedelta(seconds=getattr(settings, "PARTNER_WEBHOOK_SETTLE_SECONDS", 60))


def payload_body(event_type: str, data: dict, occurred_at: datetime) -> str:
    """The JSON body as sent (Standard Webhooks' type/timestamp/data)."""
    return json.dumps(
        {"type": event_type, "timestamp": iso(occurred_at), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def events_write(*, organization, built: list[Built], source: str, now: datetime) -> CollectResult:
    """Write the events not written yet and their deliveries (the caller holds a lock that
    serializes writers of ``source``). Returns what was created."""
    result = CollectResult()
    if not built:
        return result
    keys = {(b.type, b.key) for b in built}
    existing = set(
        Event.objects.filter(
            organization=organization,
            type__in={t for t, _ in keys},
            source_key__in={k for _, k in keys},
        ).values_list("type", "source_key")
    )
    fresh: list[Event] = []
    for b in built:
        if (b.type, b.key) in existing:
            continue
        existing.add((b.type, b.key))
        fresh.append(
            Event(
                organization=organization,
                type=b.type,
                source_key=b.key[:120],
                source=source,
                source_id=b.source_id,
                body=payload_body(b.type, b.data, b.occurred_at),
                occurred_at=b.occurred_at,
            )
        )
    if not fresh:
        return result
    Event.objects.bulk_create(fresh)
    result.events = len(fresh)
    result.deliveries = deliveries_fan_out(organization=organization, events=fresh, now=now)
    return result


def deliveries_fan_out(*, organization, events: list[Event], now: datetime) -> int:
    subscriptions = list(Subscription.objects.filter(organization=organization, enabled=True))
    deliveries = [
        Delivery(
            organization=organization,
            subscription=subscription,
            event=event,
            next_attempt_at=now,
            window_started_at=now,
        )
        for event in events
        for subscription in subscriptions
        if event.type in subscription.event_types
    ]
    if deliveries:
        Delivery.objects.bulk_create(deliveries)
        transaction.on_commit(lambda: task_named("partners.deliver_due").delay())
    return len(deliveries)


def cursor_locked(organization, source: Source, now: datetime) -> SourceCursor:
    """The locked cursor; a new one starts at the source's present (no history is sent)."""
    cursor = (
        SourceCursor.objects.select_for_update()
        .filter(organization=organization, source=source.name)
        .first()
    )
    if cursor is not None:
        return cursor
    start = SourceCursor(organization=organization, source=source.name)
    if source.time_field is None:
        start.position = source.queryset().aggregate(m=Max("pk"))["m"] or 0
    else:
        start.position_time = now
    SourceCursor.objects.bulk_create([start], ignore_conflicts=True)
    return SourceCursor.objects.select_for_update().get(
        organization=organization, source=source.name
    )


def _by_id(organization, source: Source, cursor: SourceCursor, now: datetime) -> CollectResult:
    window = list(
        source.queryset()
        .filter(pk__gt=cursor.position)
        .order_by("pk")
        .values_list("pk", flat=True)[:WINDOW_MAX]
    )
    result = CollectResult()
    if window:
        done = set(
            Event.objects.filter(
                organization=organization,
                source=source.name,
                source_id__gte=window[0],
                source_id__lte=window[-1],
            ).values_list("source_id", flat=True)
        )
        todo = [pk for pk in window if pk not in done]
        for chunk in chunked(todo, BUILD_CHUNK):
            rows = list(source.queryset().filter(pk__in=chunk).order_by("pk"))
            part = events_write(
                organization=organization, built=source.build(rows), source=source.name, now=now
            )
            result.events += part.events
            result.deliveries += part.deliveries
    cursor_advance(
        cursor,
        seen=window[-1] if window else None,
        truncated=len(window) == WINDOW_MAX,
        now=now,
        settle=settle_window(),
    )
    return result


def _connection_changes(organization, source: Source, rows: list) -> list:
    """The rows whose status differs from the one last seen (entering "Needs attention" once)."""
    if not source.repeats or not rows:
        return rows
    model = source.name
    states = {
        s.object_id: s
        for s in ConnectionState.objects.filter(
            organization=organization, model=model, object_id__in=[r.pk for r in rows]
        )
    }
    changed = []
    for row in rows:
        state = states.get(row.pk)
        if state is not None and state.status == row.status:
            continue
        changed.append(row)
        ConnectionState.objects.update_or_create(
            organization=organization,
            model=model,
            object_id=row.pk,
            defaults={"status": row.status},
        )
    return changed


def _by_time(organization, source: Source, cursor: SourceCursor, now: datetime) -> CollectResult:
    assert source.time_field is not None
    since = cursor.position_time or now
    rows = list(
        source.queryset()
        .filter(**{f"{source.time_field}__gt": since})
        .order_by(source.time_field, "pk")[:WINDOW_MAX]
    )
    if not source.repeats:
        done = set(
            Event.objects.filter(
                organization=organization,
                source=source.name,
                source_id__in=[r.pk for r in rows],
            ).values_list("source_id", flat=True)
        )
        rows = [r for r in rows if r.pk not in done]
    result = CollectResult()
    for chunk in chunked(_connection_changes(organization, source, rows), BUILD_CHUNK):
        part = events_write(
            organization=organization, built=source.build(chunk), source=source.name, now=now
        )
        result.events += part.events
        result.deliveries += part.deliveries
    settled = now - settle_window()
    if len(rows) == WINDOW_MAX:
        settled = min(settled, getattr(rows[-1], source.time_field))
    if settled > since:
        cursor.position_time = settled
        cursor.save()
    return result


def collect(*, organization, now: datetime | None = None) -> CollectResult:
    """Read every source of one organization once. Safe to run twice at once: each source's
    cursor row is locked for its pass, and the event key makes a second read a no-op."""
    total = CollectResult()
    for source in [*all_sources(), *connection_sources()]:
        with transaction.atomic():
            moment = now or timezone.now()
            cursor = cursor_locked(organization, source, moment)
            reader = _by_id if source.time_field is None else _by_time
            part = reader(organization, source, cursor, moment)
        total.events += part.events
        total.deliveries += part.deliveries
    return total
