"""Sending: the outbox row (held for quiet hours or queued), releasing held messages,
wiring the sandbox number."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from candidates.models import Candidate
from integrations.messaging import (
    E164,
    ProviderError,
    sms_segments,
)
from messaging import selectors, timeline_kinds
from messaging.email_consent import (
    CAN_EMAIL_OFF_REASON,
    email_is_locked,
    email_opt_out_reason,
    normalize_email,
)
from messaging.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    MessageStatus,
)
from messaging.quiet_hours import ZoneGuess, next_window_opening
from messaging.send_context import send_context
from messaging.services.common import (
    DELIVERY_BATCH,
    CannotSend,
    _channel_label,
    _enqueue,
    _local,
    _opt_out_reason,
    _timeline,
    messages_enqueue,
)
from recruitflow.inserts import insert_params, inserted_fields, run_prepared
from recruitflow.tenancy import scopes_disabled

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """What :func:`message_send` reads for each message, read once for a batch of sends of one
    organization (:func:`messages_prepared`)."""

    organization_id: int
    keys: frozenset[str]
    existing: dict[str, Message]
    candidates: frozenset[int]
    locked: set[tuple[str, str]]
    zones: dict[int, ZoneGuess]
    windows: dict[str, tuple | None]


_PREPARED: ContextVar[_Prepared | None] = ContextVar("messaging_sends_prepared", default=None)


@contextmanager
def messages_prepared(
    *, organization, candidates: Iterable[Candidate], idempotency_keys: Iterable[str] = ()
) -> Iterator[None]:
    """Sends of ``organization`` to ``candidates`` inside the block (``message_send``, each as
    before: its own checks and its own writes) read what they check from one read per kind for
    all of them: the messages already sent with ``idempotency_keys``, the opt-out ledgers of the
    candidates' addresses, their time zones and the organization's quiet-hours windows.

    The caller runs each send of the block in a transaction or savepoint of its own (the
    journey executor's step savepoint): a prepared send opens none of its own, a second
    savepoint per message being two more round trips. Safe against what changes meanwhile: a
    message sent under one of the keys by someone else meets the key's unique constraint (the
    ``IntegrityError`` rolls back the caller's savepoint, whose retry finds that message), and
    an opt-out recorded after the read cancels the queued or held messages it concerns and is
    read again before every delivery."""
    candidates = list(candidates)
    keys = frozenset(key for key in idempotency_keys if key)
    prepared = _Prepared(
        organization_id=organization.pk,
        keys=keys,
        existing={
            m.idempotency_key: m
            for m in Message.objects.filter(organization=organization, idempotency_key__in=keys)
        }
        if keys
        else {},
        candidates=frozenset(c.pk for c in candidates),
        locked=selectors.locked_addresses(
            organization=organization,
            phones={(c.mobile_phone or "").strip() for c in candidates},
            emails={(c.primary_email or "").strip() for c in candidates},
        ),
        zones=selectors.candidate_time_zones(organization=organization, candidates=candidates),
        windows=_windows(organization) if candidates else {},
    )
    token = _PREPARED.set(prepared)
    try:
        yield
    finally:
        _PREPARED.reset(token)


def _windows(organization) -> dict[str, tuple | None]:
    """Each channel's quiet-hours window (the organization's send context)."""
    preferences = send_context(organization).preferences()
    return {channel: preferences.window(channel) for channel in Channel.values}


def _window(organization, channel: str, prepared: _Prepared | None) -> tuple | None:
    return (prepared.windows if prepared is not None else _windows(organization))[channel]


def _prepared_for(organization, candidate: Candidate) -> _Prepared | None:
    prepared = _PREPARED.get()
    if (
        prepared is None
        or prepared.organization_id != organization.pk
        or candidate.pk not in prepared.candidates
    ):
        return None
    return prepared


def _existing(organization, idempotency_key: str, prepared: _Prepared | None) -> Message | None:
    if prepared is not None and idempotency_key in prepared.keys:
        return prepared.existing.get(idempotency_key)
    return Message.objects.filter(
        organization=organization, idempotency_key=idempotency_key
    ).first()


def _text_locked(organization, phone: str, prepared: _Prepared | None) -> bool:
    if prepared is not None:
        return (Channel.SMS, phone) in prepared.locked
    return selectors.is_locked(organization, phone)


def _email_locked(organization, email: str, prepared: _Prepared | None) -> bool:
    if prepared is not None:
        return (Channel.EMAIL, normalize_email(email)) in prepared.locked
    return email_is_locked(organization, email)


def _zone(organization, candidate: Candidate, prepared: _Prepared | None) -> ZoneGuess:
    if prepared is not None:
        return prepared.zones[candidate.pk]
    return selectors.candidate_time_zone(organization=organization, candidate=candidate)


def _conversation_touched(organization, candidate: Candidate, now: datetime) -> int:
    """The id of the candidate's conversation, its last message now: one upsert on the
    one-conversation-per-candidate constraint, whether the conversation existed or not."""
    (conversation,) = Conversation.objects.bulk_create(
        [Conversation(organization=organization, candidate=candidate, last_message_at=now)],
        update_conflicts=True,
        unique_fields=["organization", "candidate"],
        update_fields=["last_message_at"],
    )
    return conversation.pk


def _message_inserted(message: Message, *, organization, candidate: Candidate, now) -> None:
    """Insert the unsaved ``message`` into its candidate's conversation, the conversation's
    last message now (created if the candidate had none), and set both ids. On Postgres one
    statement, written once and prepared once per database session (the ORM building the
    upsert and the insert cost more CPU than the database spends on them)."""
    db = router.db_for_write(Message)
    connection = connections[db]
    if connection.vendor != "postgresql":
        message.conversation_id = _conversation_touched(organization, candidate, now)
        message.save(force_insert=True, using=db)
        return
    conversation = Conversation(organization=organization, candidate=candidate, last_message_at=now)
    params = insert_params(conversation, connection)
    params += [
        value
        for field, value in zip(
            inserted_fields(Message), insert_params(message, connection), strict=True
        )
        if field.name != "conversation"
    ]
    with connection.cursor() as cursor:
        message.pk, message.conversation_id = run_prepared(cursor, _message_sql(db), params)
    message._state.adding, message._state.db = False, db


@functools.cache
def _message_sql(db: str) -> str:
    """:func:`_message_inserted`'s statement: the conversation's upsert on the
    one-conversation-per-candidate constraint, and the message's insert naming it."""
    quote = connections[db].ops.quote_name
    conversation_fields = inserted_fields(Conversation)
    message_fields = inserted_fields(Message)
    columns = {field.name: quote(field.column) for field in conversation_fields}
    touched = columns["last_message_at"]
    unique = f"{columns['organization']}, {columns['candidate']}"
    values = ", ".join(
        "(SELECT id FROM conversation)" if field.name == "conversation" else "%s"
        for field in message_fields
    )
    return (
        f"WITH conversation AS (INSERT INTO {quote(Conversation._meta.db_table)} "  # noqa: S608
        f"({', '.join(columns.values())}) "
        f"VALUES ({', '.join(['%s'] * len(conversation_fields))}) "
        f"ON CONFLICT ({unique}) DO UPDATE SET {touched} = EXCLUDED.{touched} RETURNING id) "
        f"INSERT INTO {quote(Message._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in message_fields)}) VALUES ({values}) "
        f"RETURNING {quote(Message._meta.pk.column)}, "
        f"{quote(Message._meta.get_field('conversation').column)}"
    )


def _skip(*, organization, candidate, channel: str, reason: str, source: str) -> CannotSend:
    with transaction.atomic():
        _timeline(
            organization=organization,
            candidate=candidate,
            kind=timeline_kinds.MESSAGE_SKIPPED,
            summary=f"{_channel_label(channel)} not sent: {reason}",
            channel=channel,
            source=source,
            reason=reason,
        )
    return CannotSend(reason)


def message_send(
    *,
    organization,
    candidate: Candidate,
    channel: str,
    body: str,
    subject: str = "",
    html: str = "",
    source: str,
    sent_by=None,
    idempotency_key: str = "",
    at: datetime | None = None,
    respect_quiet_hours: bool = True,
    attachments: list[dict] | None = None,
) -> Message:
    """Queue a text or e-mail to ``candidate`` (the outbox row is committed before any provider
    call). Outside the quiet-hours window the row is ``held`` until the window opens. ``at`` is
    the earliest send time (default now). Raises :class:`CannotSend` with the reason when the
    candidate has no address or opted out (recorded as ``message_skipped`` on the timeline).
    An e-mail is refused the same way when the ATS forbids e-mailing the candidate
    (``can_email``) or the address is on the e-mail opt-out ledger.
    The same ``idempotency_key`` returns the first Message. ``attachments`` (e-mail only):
    ``[{"filename", "mimetype", "content"}]`` with text content."""
    prepared = _prepared_for(organization, candidate)
    if idempotency_key:
        existing = _existing(organization, idempotency_key, prepared)
        if existing is not None:
            return existing
    if channel == Channel.SMS:
        to_address = (candidate.mobile_phone or "").strip()
        if not E164.match(to_address):
            raise _skip(
                organization=organization,
                candidate=candidate,
                channel=channel,
                reason="No mobile number"
                if not to_address
                else f"{to_address} is not a full international mobile number",
                source=source,
            )
        if _text_locked(organization, to_address, prepared):
            raise _skip(
                organization=organization,
                candidate=candidate,
                channel=channel,
                reason=_opt_out_reason(organization, to_address),
                source=source,
            )
    elif channel == Channel.EMAIL:
        to_address = (candidate.primary_email or "").strip()
        if not to_address:
            raise _skip(
                organization=organization,
                candidate=candidate,
                channel=channel,
                reason="No email address",
                source=source,
            )
        if not candidate.can_email:
            raise _skip(
                organization=organization,
                candidate=candidate,
                channel=channel,
                reason=CAN_EMAIL_OFF_REASON,
                source=source,
            )
        if _email_locked(organization, to_address, prepared):
            raise _skip(
                organization=organization,
                candidate=candidate,
                channel=channel,
                reason=email_opt_out_reason(organization, to_address),
                source=source,
            )
    else:
        raise ValueError(f"Unknown channel {channel!r}.")

    now = timezone.now()
    earliest = max(at, now) if at else now
    hold_until, zone_guess = None, None
    window = _window(organization, channel, prepared)
    if respect_quiet_hours and window is not None:
        zone_guess = _zone(organization, candidate, prepared)
        start, end, days = window
        hold_until = next_window_opening(
            now=earliest, zone=zone_guess.zone, start=start, end=end, days=days
        )
    if hold_until is None and earliest > now:
        hold_until = earliest
    encoding, segments = "", 0
    if channel == Channel.SMS:
        encoding, segments, _ = sms_segments(body)

    try:
        # A prepared send runs in its caller's savepoint (see messages_prepared).
        with transaction.atomic(savepoint=prepared is None):
            message = Message(
                organization=organization,
                candidate=candidate,
                channel=channel,
                direction=Direction.OUTBOUND,
                to_address=to_address,
                subject=subject,
                body=body,
                html=html,
                attachments=list(attachments or []) if channel == Channel.EMAIL else [],
                status=MessageStatus.HELD if hold_until else MessageStatus.QUEUED,
                hold_until=hold_until,
                idempotency_key=idempotency_key,
                segments=segments,
                encoding=encoding,
                sent_by=sent_by,
                source=source,
                status_updated_at=now,
            )
            _message_inserted(message, organization=organization, candidate=candidate, now=now)
            if hold_until:
                zone = zone_guess.zone if zone_guess else "UTC"
                _timeline(
                    organization=organization,
                    candidate=candidate,
                    kind=timeline_kinds.MESSAGE_HELD,
                    summary=f"{_channel_label(channel)} held until "
                    f"{_local(hold_until, zone)} ({zone}): quiet hours",
                    detail=f"Candidate's time zone: {zone_guess.evidence}" if zone_guess else "",
                    message_id=message.pk,
                    hold_until=hold_until.isoformat(),
                )
            else:
                _enqueue(message)
    except IntegrityError:
        if not idempotency_key or prepared is not None:
            raise
        # A concurrent call with the same key won the race: theirs is the message.
        return Message.objects.get(organization=organization, idempotency_key=idempotency_key)
    return message


def messages_release_held(*, now: datetime | None = None) -> int:
    """Beat, every minute: held messages whose hold has passed go back to queued and are
    enqueued, up to :data:`DELIVERY_BATCH` of an organization released in one transaction and
    handed to one delivery task once it commits. Crosses organizations on purpose. Returns how
    many were released."""
    now = now or timezone.now()
    released = 0
    with scopes_disabled():
        due: dict[int, list[int]] = {}
        for pk, organization_id in (
            Message.objects.filter(status=MessageStatus.HELD, hold_until__lte=now)
            .order_by("pk")
            .values_list("pk", "organization_id")
        ):
            due.setdefault(organization_id, []).append(pk)
        for organization_id, ids in due.items():
            for start in range(0, len(ids), DELIVERY_BATCH):
                with transaction.atomic():
                    claimed = list(
                        Message.objects.select_for_update()
                        .filter(
                            pk__in=ids[start : start + DELIVERY_BATCH], status=MessageStatus.HELD
                        )
                        .order_by("pk")
                        .values_list("pk", flat=True)
                    )
                    if not claimed:
                        continue
                    Message.objects.filter(pk__in=claimed).update(
                        status=MessageStatus.QUEUED, status_updated_at=now
                    )
                    messages_enqueue(organization_id=organization_id, message_ids=claimed)
                released += len(claimed)
    return released


def sandbox_sms_wire(*, organization) -> dict | None:
    """Point the sandbox number ``organization`` texts from at its owner's incoming-text URL
    (creating the number on the sandbox account first), through the sandbox vendor's
    phone-number API — what an admin does for a real number in the vendor's console.
    The owner is the tree's root on the default sandbox, else the organization whose texting
    settings point at the sandbox (see ``selectors.sandbox_sms_sender``).

    Run before every text sent through the sandbox (the sandbox keeps its numbers in memory, so
    a restart forgets them; the check is one local call). Never raises: a sandbox that cannot
    be reached is logged, and the send that follows reports it. Returns the number's record,
    or None when texting does not run on the sandbox or the sandbox did not answer.
    """
    sender = selectors.sandbox_sms_sender(organization)
    if sender is None:
        return None
    owner, number = sender
    provider = selectors.sms_provider_for(organization)
    inbound_url = selectors.incoming_text_url(organization=owner, provider=provider.identifier)
    try:
        return provider.configure_incoming_number(number, sms_url=inbound_url, provision=True)
    except ProviderError as exc:
        logger.warning("Could not wire the sandbox number %s to %s: %s", number, inbound_url, exc)
        return None
