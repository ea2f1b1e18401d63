"""A provider's answer to a send, written: the message row's "sent" with the provider's id,
its message event and its timeline entry — on Postgres as one statement with the next message's
claim (:func:`mark_sent_statement`), elsewhere with the ORM (:func:`mark_sent_at_once`)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Field
from django.utils import timezone

from candidates.models import TimelineEvent
from messaging import timeline_kinds
from messaging.models import Message, MessageEvent, MessageStatus
from messaging.services.common import _channel_label, _timeline_entry
from recruitflow.inserts import insert_params, insert_select_sql, run_prepared


def _sent_fields(provider_identifier: str, result, now: datetime) -> dict[str, Any]:
    """What a message's row says once its provider accepted it."""
    fields = {
        "provider": provider_identifier,
        "provider_message_id": result.provider_message_id,
        "sent_at": now,
        "status": MessageStatus.SENT,
        "status_updated_at": now,
        "error_code": "",
        "error_message": "",
    }
    from_address = str(result.raw.get("from") or "")
    if from_address:
        fields["from_address"] = from_address
    return fields


# The answer is written "at once" only over a message still waiting for it: no callback got
# there first and nothing of the answer is recorded yet.
AWAITING_ANSWER = {
    "status__in": [MessageStatus.SENDING, MessageStatus.UNKNOWN],
    "provider_message_id": "",
    "sent_at__isnull": True,
}


def _sent_event(message: Message, result, now: datetime) -> MessageEvent:
    return MessageEvent(
        organization_id=message.organization_id,
        message=message,
        status=MessageStatus.SENT,
        raw=dict(result.raw),
        occurred_at=now,
    )


def mark_sent_at_once(message: Message, *, provider_identifier: str, result) -> bool:
    """sending/unknown → sent with the provider's answer, when no callback got there first and
    nothing of the answer is recorded yet (one UPDATE); False otherwise."""
    now = timezone.now()
    fields = _sent_fields(provider_identifier, result, now)
    if not Message.objects.filter(pk=message.pk, **AWAITING_ANSWER).update(**fields):
        return False
    for name, value in fields.items():
        setattr(message, name, value)
    _sent_event(message, result, now).save()
    return True


def mark_sent_statement(
    organization, message: Message, *, provider_identifier: str, result, claim: Message | None
) -> tuple[bool, datetime | None]:
    """Postgres: :func:`mark_sent_at_once`, its timeline entry and ``claim``'s claim as one
    statement (one round trip, atomic without a transaction of its own). Whether the answer
    was written, and when ``claim`` was claimed (None when it was not queued any more)."""
    now = timezone.now()
    fields = _sent_fields(provider_identifier, result, now)
    timeline = _sent_timeline_entry(organization, message)
    sql = _answer_sql(tuple(fields), timeline is not None, claim is not None)
    columns = _message_fields()
    params = [columns[name].get_db_prep_save(value, connection) for name, value in fields.items()]
    params += [organization.pk, message.pk, MessageStatus.SENDING, MessageStatus.UNKNOWN]
    params += insert_params(_sent_event(message, result, now), connection)
    if timeline is not None:
        params += insert_params(timeline, connection)
    if claim is not None:
        params += [MessageStatus.SENDING, now, organization.pk, claim.pk, MessageStatus.QUEUED]
    with connection.cursor() as cursor:
        sent, claimed = run_prepared(cursor, sql, params)
    if sent:
        for name, value in fields.items():
            setattr(message, name, value)
    return bool(sent), (now if claimed else None)


@functools.cache
def _answer_sql(fields: tuple[str, ...], timeline: bool, claim: bool) -> str:
    """The statement of :func:`mark_sent_statement` for its shape (built once): the answer's
    UPDATE over a message still awaiting it (``AWAITING_ANSWER``), the event and the timeline
    entry inserted only when it matched, the next message's claim."""
    quote = connection.ops.quote_name
    table = quote(Message._meta.db_table)

    def column(name: str) -> str:
        return quote(_message_fields()[name].column)

    assignments = ", ".join(f"{column(name)} = %s" for name in fields)
    parts = [
        f"sent AS (UPDATE {table} SET {assignments} WHERE {column('organization')} = %s "  # noqa: S608
        f"AND {column('id')} = %s AND {column('status')} IN (%s, %s) "
        f"AND {column('provider_message_id')} = '' AND {column('sent_at')} IS NULL RETURNING 1)",
        f"event AS ({_insert_sql(MessageEvent, 'sent')})",
    ]
    if timeline:
        parts.append(f"timeline AS ({_insert_sql(TimelineEvent, 'sent')})")
    if claim:
        attempts = column("attempts")
        parts.append(
            f"claimed AS (UPDATE {table} SET {column('status')} = %s, "  # noqa: S608
            f"{column('status_updated_at')} = %s, {attempts} = {attempts} + 1 "
            f"WHERE {column('organization')} = %s AND {column('id')} = %s "
            f"AND {column('status')} = %s RETURNING 1)"
        )
    claimed = "(SELECT count(*) FROM claimed)" if claim else "0"
    return f"WITH {', '.join(parts)} SELECT (SELECT count(*) FROM sent), {claimed}"  # noqa: S608


@functools.cache
def _message_fields() -> dict[str, Field]:
    return {field.name: field for field in Message._meta.concrete_fields}


def _insert_sql(model, gate: str) -> str:
    """``INSERT`` of one row of ``model`` for each row of ``gate`` (one row or none)."""
    return f"{insert_select_sql(model, connection)} FROM {gate}"


def _sent_timeline_entry(organization, message: Message) -> TimelineEvent | None:
    return _timeline_entry(
        organization=organization,
        candidate_id=message.candidate_id,
        kind=timeline_kinds.MESSAGE_SENT,
        summary=f"{_channel_label(message.channel)} sent: {message.subject or message.body}",
        message_id=message.pk,
        channel=message.channel,
        source=message.source,
    )


def sent_timeline(organization, message: Message) -> None:
    entry = _sent_timeline_entry(organization, message)
    if entry is not None:
        entry.save()
