"""The one webhook intake, for every vendor: verify → store once → answer → apply in a task →
sweep → Reprocess.

1. **Verify** (the endpoint, before anything is stored): find the organization by the URL's
   token and check the vendor's signature over the raw body. A forged or unsigned request is
   refused and nothing is stored.
2. **Store once**: :func:`store` writes a :class:`~integrations.models.WebhookDelivery` with the
   raw body, the URL and the headers worth keeping, once per vendor event id (``event_id``); a
   replay stores nothing and returns the stored row. The apply task is queued after commit; a
   broker that refuses it is logged, never raised (the row is committed, the sweep queues it).
3. **Answer**: the endpoint answers the vendor as soon as :func:`store` returned.
4. **Apply** (:func:`apply`, run by the task ``integrations.tasks.webhook_delivery_apply``; an
   endpoint may also call it inline after the row is committed, to save the task's latency):
   the row is locked (``skip_locked``: whoever holds it applies it, the other call does
   nothing). The task applies up to :data:`APPLY_BATCH` deliveries: its own, then the
   organization's other received deliveries of the same vendor that no other task holds, all
   claimed under one ``skip_locked`` lock and each record in its own savepoint (a task whose
   delivery another one already applied is a one-query no-op); the deliveries of a batch
   share a :class:`Batch` (what the handlers read once, and what to do once they are all
   applied and committed). The vendor's ``integrations.<vendor>.webhooks.parse_stored`` turns
   the body into vendor-neutral records, and each record goes to the handler registered for
   its type (:func:`register`), in its own savepoint, inside the organization's scope. When
   every delivery of a batch holds one record of a type with a together handler
   (:func:`register_together`), that handler first applies what it can of them at once.
   A transient :class:`~integrations.http.ProviderError` (or an unexpected error) leaves the
   delivery failed with a time to try again; a ``ValueError`` (a body or record that cannot be
   read) or a permanent provider error fails it for good with the reason.
5. **Sweep** (:func:`sweep`, beat): queues every delivery whose task was lost or whose retry is
   due; after :data:`MAX_ATTEMPTS` it gives up and keeps the last error.
6. **Reprocess** (:func:`reprocess`, the admin's action): back to received, queued again.

Handlers are registered by the domain apps in their ``AppConfig.ready()``::

    from integrations import intake
    from integrations.messaging import InboundSMS

    def inbound_sms(record: InboundSMS, context: intake.Context) -> bool:
        ...  # apply it; True when something was applied, False when there was nothing to do

    intake.register(InboundSMS, inbound_sms)

A handler may raise :class:`Ignored` to say why a record has nothing to apply (the delivery is
then ``ignored`` with that reason, unless another record applied). ``context.shared`` is a dict
the handlers of one delivery share (e.g. a lazily made adapter), and ``context.on_finish(fn)``
runs ``fn`` once the delivery's records are applied (e.g. to write call records);
``context.batch.shared`` and ``context.batch.on_finish(fn)`` are the same for every delivery
the task applies together (e.g. the mirror's writer, and announcing its stage changes once
every delivery committed).

A new endpoint (say SendGrid Inbound Parse) needs: its vendor's ``parse_stored`` returning
records, a handler registered for the record type, and in the view, after verifying::

    delivery, created = intake.store(
        organization=org, provider="sendgrid", kind="inbound_parse", event_id=message_id,
        raw_body=request.body, url=public_url, headers=kept_headers,
    )
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, router, transaction
from django.db.models import Case, F, Q, When
from django.utils import timezone

from integrations.http_errors import ProviderError
from integrations.intake_handlers import (
    ApplyAlone,
    Batch,
    Context,
    Ignored,
    handler_for,
    register,
    register_together,
    together_handler_for,
)
from integrations.models import WebhookDelivery
from integrations.registry import UnknownProvider, available
from recruitflow.inserts import insert_returning_pk, insert_returning_pk_if
from recruitflow.tasks import task_named
from recruitflow.tenancy import scopes_disabled, tenant_scope

logger = logging.getLogger(__name__)

State = WebhookDelivery.State
APPLY_TASK = "integrations.tasks.webhook_delivery_apply"
# A delivery still received this long after it arrived lost its task (the broker refused it, or
# the worker died): the sweep queues it. ``WEBHOOK_LOST_AFTER_SECONDS`` (the drills shorten it).
LOST_AFTER = timedelta(minutes=2)
# A delivery that failed on a transient error waits 1, 2, 4 … minutes (at most about two hours)
# before the sweep queues it again; after this many attempts it failed for good.
RETRY_BASE = timedelta(minutes=1)
MAX_ATTEMPTS = 8
SWEEP_BATCH = 1000
# The apply task applies its own delivery and up to this many in all of the organization's
# other received deliveries of the same vendor: a burst of webhooks costs a few tasks, each
# reading the vendor's connection and the mirror's maps once and announcing its stage changes
# to Journeys in one task. A burst of 1,000 (bench/webhooks.py --burst) was applied 1.0–2.0 s
# sooner in batches of up to 100 than of up to 25, its last text out 0.4–1.7 s sooner; 200 did
# no better than 100, and a bigger batch holds its first deliveries' journeys back longer.
APPLY_BATCH = 100
# While an apply task of an organization's vendor waits in the queue, the deliveries stored
# meanwhile publish none of their own: it claims them (its mark, in the shared cache, lives at
# most this long; a task takes it away just before it claims).
WAITING_MARK_S = 60
ERROR_LIMIT = 4000


# --------------------------------------------------------------------------------------------
# Parsing: the vendor's reader
# --------------------------------------------------------------------------------------------


def parse_stored(
    provider: str, *, raw_body: str, url: str, received_at: datetime, event_id: str = ""
) -> list:
    """The records in a stored delivery of ``provider``, parsed by that vendor's integration:
    the messaging records of :mod:`integrations.messaging`, the ATS events of
    :mod:`integrations.events`, the calendar records of :mod:`integrations.calendars`.
    ``event_id`` is the vendor's id of the delivery.

    Raises :class:`UnknownProvider` for a vendor without stored webhooks, and the vendor's
    ``InvalidPayload`` (a ``ValueError``) for a body it cannot read."""
    if provider not in available():
        raise UnknownProvider(f"No provider called {provider!r}.")
    module = importlib.import_module(f"integrations.{provider}.webhooks")
    parse = getattr(module, "parse_stored", None)
    if parse is None:
        raise UnknownProvider(f"integrations.{provider}.webhooks has no parse_stored.")
    return parse(raw_body, url=url, received_at=received_at, event_id=event_id)


# --------------------------------------------------------------------------------------------
# Handlers (integrations.intake_handlers)
# --------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------
# Storing
# --------------------------------------------------------------------------------------------

_NUL = "\x00"


def without_nul(value):
    """``value`` with NUL characters taken out of every string in it: PostgreSQL text and
    jsonb columns cannot hold them, and nothing signed needs them again (the signature was
    checked over the bytes received)."""
    if isinstance(value, str):
        return value.replace(_NUL, "")
    if isinstance(value, Mapping):
        return {without_nul(str(key)): without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(item) for item in value]
    return value


def fit_id(value: str | None, max_length: int) -> str:
    """An identifier for a column of ``max_length``: itself when it fits, else a digest of it
    (still the same for the same identifier, so deduplication keeps working)."""
    value = without_nul(value or "")
    if len(value) <= max_length:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def body_digest(raw_body: bytes) -> str:
    """An event id for a vendor that sends none: the same body is the same delivery."""
    return "sha256:" + hashlib.sha256(raw_body).hexdigest()


def queue_apply(organization_id: int, delivery_id: int, provider: str = "") -> bool:
    """Ask a worker to apply a stored delivery. A broker that refuses is logged, not raised:
    the delivery is committed, so the sweep queues it later and the vendor still gets its 2xx.

    With ``provider`` and a cache the web and the workers share (Redis), nothing is published
    while an apply task of the organization's vendor is still waiting in the queue: that task
    claims this delivery with its batch (it takes its mark away just before its claim, which
    sees every delivery committed before the mark was found). A burst of 1,000 webhooks
    publishes a few dozen tasks instead of 1,000 that would mostly find their delivery
    applied."""
    mark = _waiting_mark(organization_id, provider)
    if mark:
        try:
            if not cache.add(mark, delivery_id, timeout=WAITING_MARK_S):
                return True
        except Exception:  # no shared cache to ask: publish, as without one
            logger.warning("Could not read the apply tasks' waiting mark", exc_info=True)
            mark = None
    try:
        task_named(APPLY_TASK).delay(organization_id, delivery_id)
    except Exception:
        if mark:
            cache.delete(mark)
        logger.warning(
            "Could not queue webhook delivery %s; the sweep will queue it",
            delivery_id,
            exc_info=True,
        )
        return False
    return True


def _waiting_mark(organization_id: int, provider: str) -> str | None:
    """The cache key that says an apply task of the organization's vendor waits in the queue;
    None when there is none to share (no vendor given, or a cache private to each process)."""
    if not provider or "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        return None
    return f"intake:apply-waiting:{organization_id}:{provider}"


class SourceChanged(Exception):
    """What a delivery was verified with changed before it was stored; nothing was stored."""


def store(
    *,
    organization,
    provider: str,
    kind: str = "",
    event_id: str = "",
    raw_body: bytes | str,
    url: str = "",
    headers: Mapping[str, str] | None = None,
    ignore: bool = False,
    error: str = "",
    only_while: tuple[str, list] | None = None,
) -> tuple[WebhookDelivery, bool]:
    """Store a delivery whose signature the endpoint verified, and queue its apply task after
    commit. Returns ``(delivery, created)``; ``created`` is False for a replay (the same
    ``event_id`` of this vendor for this organization): nothing is written or queued, and the
    stored row is returned (the sweep still applies it if it never was).

    ``ignore`` stores it as ignored (a ping, an event nobody handles); ``error`` stores it as
    failed for good with that reason (a signed body the endpoint could not read: kept for
    support, nothing lost). An empty ``event_id`` is never deduplicated.

    ``only_while``: a condition (a ``SELECT`` and its values) the delivery is stored under, in
    the same statement: when it finds no row (what the endpoint verified the delivery with has
    changed since it read it), nothing is stored and :class:`SourceChanged` is raised."""
    now = timezone.now()
    body = raw_body.decode("utf-8", errors="replace") if isinstance(raw_body, bytes) else raw_body
    if error:
        state, next_at, processed = State.FAILED, None, now
    elif ignore:
        state, next_at, processed = State.IGNORED, None, now
    else:
        state, next_at, processed = State.RECEIVED, now + lost_after(), None
    event_id = fit_id(event_id, 200)
    # One INSERT: outside a transaction it commits by itself (a replay's IntegrityError leaves
    # nothing to roll back); inside one, in a savepoint.
    inside = transaction.get_connection(router.db_for_write(WebhookDelivery)).in_atomic_block
    delivery = WebhookDelivery(
        organization=organization,
        provider=provider,
        kind=without_nul(kind)[:60],
        event_id=event_id,
        url=without_nul(url),
        headers=without_nul(dict(headers or {})),
        raw_body=without_nul(body),
        received_at=now,
        state=state,
        error=without_nul(error)[:ERROR_LIMIT],
        next_attempt_at=next_at,
        processed_at=processed,
    )
    with tenant_scope(organization):
        try:
            with transaction.atomic() if inside else contextlib.nullcontext():
                # One statement written once: building the ORM's INSERT on every POST was a
                # sixth of a burst's endpoint CPU.
                if only_while is None:
                    insert_returning_pk(delivery)
                elif not insert_returning_pk_if(delivery, *only_while):
                    raise SourceChanged
        except IntegrityError:
            if not event_id:
                raise
            stored = WebhookDelivery.objects.get(
                organization=organization, provider=provider, event_id=event_id
            )
            return stored, False
    if state == State.RECEIVED:
        transaction.on_commit(
            functools.partial(queue_apply, organization.pk, delivery.pk, provider)
        )
    return delivery, True


# --------------------------------------------------------------------------------------------
# Applying
# --------------------------------------------------------------------------------------------


def lost_after() -> timedelta:
    """How long a received delivery waits for its task before the sweep queues it."""
    seconds = getattr(settings, "WEBHOOK_LOST_AFTER_SECONDS", None)
    return LOST_AFTER if seconds is None else timedelta(seconds=seconds)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after the ``attempts``-th failed try, at most about two hours."""
    return RETRY_BASE * 2 ** min(max(attempts - 1, 0), 7)


@dataclass
class _Outcome:
    applied: bool = False
    ignored: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    retry: bool = False


def _apply_records(context: Context, records: list) -> _Outcome:
    outcome = _Outcome()
    for number, record in enumerate(records, start=1):
        handler = handler_for(record)
        if handler is None:
            continue
        where = f"record {number} of {len(records)}" if len(records) > 1 else "the record"
        try:
            with transaction.atomic():
                outcome.applied = bool(handler(record, context)) or outcome.applied
        except Ignored as exc:
            outcome.ignored.append(str(exc))
        except ProviderError as exc:
            outcome.failures.append(f"{where}: {exc}")
            outcome.retry = outcome.retry or not exc.permanent
        except ValueError as exc:  # a record that cannot be applied as it is: for good
            outcome.failures.append(f"{where}: {exc}")
        except Exception as exc:  # a database hiccup, a bug: kept and tried again later
            logger.exception(
                "Applying %s of webhook delivery %s failed", where, context.delivery.pk
            )
            outcome.failures.append(f"{where}: {type(exc).__name__}: {exc}")
            outcome.retry = True
    return outcome


_DUE = Q(state=State.RECEIVED) | Q(state=State.FAILED, next_attempt_at__isnull=False)


def _records_of(delivery: WebhookDelivery) -> list:
    """The records of a stored delivery, read by its vendor's reader (:func:`parse_stored`)."""
    return parse_stored(
        delivery.provider,
        raw_body=delivery.raw_body,
        url=delivery.url,
        received_at=delivery.received_at,
        event_id=delivery.event_id,
    )


def _apply_locked(batch: Batch, locked: WebhookDelivery) -> dict:
    """Apply one delivery of ``batch`` whose row this transaction locked: each of its records
    in its own savepoint (a failing one rolls back itself alone), then its state written.
    Returns what was written to the row."""
    now = timezone.now()
    attempts = locked.attempts + 1
    state, error, retry_at = State.PROCESSED, "", None
    try:
        records = _records_of(locked)
    except (ValueError, UnknownProvider) as exc:
        records, state, error = [], State.FAILED, f"The body cannot be read: {exc}"
    except Exception as exc:  # a bug in a vendor's reader: kept, tried again, then given up
        logger.exception("Reading webhook delivery %s failed", locked.pk)
        records, state = [], State.FAILED
        error = f"Reading the body failed: {type(exc).__name__}: {exc}"
        if attempts < MAX_ATTEMPTS:
            retry_at = now + retry_delay(attempts)
    if state == State.PROCESSED:
        context = Context(delivery=locked, organization=batch.organization, batch=batch)
        try:
            outcome = _apply_records(context, records)
        finally:
            context.finish()
        if outcome.failures:
            state, error = State.FAILED, "; ".join(outcome.failures)
            if outcome.retry and attempts < MAX_ATTEMPTS:
                retry_at = now + retry_delay(attempts)
            elif outcome.retry:
                error = f"Gave up after {attempts} attempts. {error}"
        elif not outcome.applied:
            state, error = State.IGNORED, "; ".join(outcome.ignored)
    written = {
        "state": state,
        "error": without_nul(error)[:ERROR_LIMIT],
        "attempts": attempts,
        "next_attempt_at": retry_at,
        "processed_at": timezone.now(),
    }
    WebhookDelivery.objects.filter(pk=locked.pk).update(**written)
    return written


def _apply_together(batch: Batch, rows: list[WebhookDelivery]) -> dict[int, dict]:
    """Apply what the together handler of the batch's records (:func:`register_together`)
    takes of ``rows``, in one savepoint, and write those rows' states in one statement per
    state. Returns what was written to each row it applied. Takes nothing when a delivery of
    the batch cannot be read, holds more than one record or a record of another kind (applied
    one at a time, they keep their order), or when the handler fails: each delivery is then
    applied alone, and one that fails keeps its own error and retry."""
    if len(rows) < 2:
        return {}
    items: list[tuple[Any, Context]] = []
    handler = None
    for row in rows:
        try:
            records = _records_of(row)
        except Exception:  # reported by the one-at-a-time path
            return {}
        found = together_handler_for(records[0]) if len(records) == 1 else None
        if found is None or (handler is not None and found is not handler):
            return {}
        handler = found
        items.append(
            (records[0], Context(delivery=row, organization=batch.organization, batch=batch))
        )
    assert handler is not None
    now = timezone.now()
    try:
        with transaction.atomic():
            done = handler(items)
            for state, pks in (
                (State.PROCESSED, [pk for pk, applied in done.items() if applied]),
                (State.IGNORED, [pk for pk, applied in done.items() if not applied]),
            ):
                if pks:
                    WebhookDelivery.objects.filter(pk__in=pks).update(
                        state=state,
                        error="",
                        attempts=F("attempts") + 1,
                        next_attempt_at=None,
                        processed_at=now,
                    )
    except ApplyAlone:
        return {}
    except Exception:
        logger.warning(
            "Applying %s %s webhook deliveries together failed; applying each alone",
            len(rows),
            batch.provider,
            exc_info=True,
        )
        return {}
    finally:
        for _, context in items:
            context.finish()
    attempts = {row.pk: row.attempts + 1 for row in rows}
    return {
        pk: {
            "state": State.PROCESSED if applied else State.IGNORED,
            "error": "",
            "attempts": attempts[pk],
            "next_attempt_at": None,
            "processed_at": now,
        }
        for pk, applied in done.items()
    }


def apply(*, delivery_id: int, organization=None, batch_size: int = 1) -> WebhookDelivery | None:
    """Apply a stored delivery, once, and with ``batch_size`` > 1 up to ``batch_size - 1`` of
    its organization's other received deliveries of the same vendor with it (oldest first),
    sharing what they read once (:class:`Batch`). Safe to run twice and concurrently: the
    batch's rows are claimed with one ``select_for_update(skip_locked=True)`` and held until
    they are all applied, so two calls at once apply different deliveries and a delivery held
    by another call is left to it; each record is applied in its own savepoint, so a failing
    delivery keeps its own error and retry and rolls back nobody else's. Only a received
    delivery, or ``delivery_id`` when it failed with a time to try again, is applied. A
    delivery another call already applied costs one query. ``organization``: the
    delivery's, when the caller has it. Returns the row of ``delivery_id`` as it is
    afterwards (None when there is no such row)."""
    if organization is None:
        with scopes_disabled():
            row = (
                WebhookDelivery.objects.filter(pk=delivery_id)
                .select_related("organization")
                .first()
            )
    else:
        with tenant_scope(organization):
            row = WebhookDelivery.objects.filter(pk=delivery_id).first()
        if row is not None:
            row.organization = organization
    if row is None:
        return None
    # A task (batch_size > 1) that finds its vendor's waiting mark takes it away and claims
    # whatever is received, even when its own delivery was applied meanwhile: deliveries stored
    # while it waited published no task of their own (:func:`queue_apply`). From the mark's
    # removal on they do, unless this claim sees them.
    mark = _waiting_mark(row.organization_id, row.provider) if batch_size > 1 else None
    waited_for = mark is not None and cache.delete(mark)
    due = row.state == State.RECEIVED or (row.state == State.FAILED and row.next_attempt_at)
    if not due and not waited_for:
        return row
    organization = row.organization
    claim = Q(_DUE, pk=row.pk)
    if batch_size > 1:
        claim |= Q(state=State.RECEIVED, provider=row.provider)
    batch = Batch(organization=organization, provider=row.provider)
    written = None
    applied = 0
    with tenant_scope(organization):
        try:
            with transaction.atomic():
                claimed = (
                    WebhookDelivery.objects.select_for_update(skip_locked=True)
                    .filter(claim)
                    .order_by(Case(When(pk=row.pk, then=0), default=1), "received_at", "pk")
                )
                rows = list(claimed[:batch_size])
                together = _apply_together(batch, rows)
                for locked in rows:
                    done = together.get(locked.pk) or _apply_locked(batch, locked)
                    applied += 1
                    if locked.pk == row.pk:
                        written = done
        finally:
            batch.finish()
        if batch_size > 1 and applied == batch_size:
            _queue_rest(organization.pk, row.provider)
    if written is None:  # applied, or being applied, by another call
        with tenant_scope(organization):
            row.refresh_from_db()
    else:
        for name, value in written.items():
            setattr(row, name, value)
    return row


def _queue_rest(organization_id: int, provider: str) -> None:
    """After a full batch: a task for the vendor's deliveries still received, if any (their
    own tasks may not have been published: :func:`queue_apply`)."""
    rest = (
        WebhookDelivery.objects.filter(state=State.RECEIVED, provider=provider)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if rest is not None:
        queue_apply(organization_id, rest, provider)


# --------------------------------------------------------------------------------------------
# Sweep and reprocess
# --------------------------------------------------------------------------------------------


def sweep(*, now: datetime | None = None) -> int:
    """Queue every delivery (all organizations, every vendor) that is due: still received past
    :data:`LOST_AFTER` (its task was lost), or failed on a transient error whose wait is over.
    Each is claimed by a conditional UPDATE of ``next_attempt_at`` (two sweeps at once queue it
    once; applying is idempotent besides) and pushed back by the wait of its next attempt, so a
    broker that keeps refusing does not make the sweep queue it every run. A delivery that
    already had :data:`MAX_ATTEMPTS` fails for good with its last error. Returns how many were
    queued. Crosses organizations on purpose (beat fan-out)."""
    now = now or timezone.now()
    queued = 0
    with scopes_disabled():
        due = WebhookDelivery.objects.filter(
            state__in=[State.RECEIVED, State.FAILED],
            next_attempt_at__lte=now,
            organization__is_active=True,
        ).order_by("next_attempt_at")
        for pk, organization_id, attempts, due_at, error in due.values_list(
            "pk", "organization_id", "attempts", "next_attempt_at", "error"
        )[:SWEEP_BATCH]:
            claim = WebhookDelivery.objects.filter(pk=pk, next_attempt_at=due_at)
            if attempts >= MAX_ATTEMPTS:
                claim.update(
                    state=State.FAILED,
                    next_attempt_at=None,
                    processed_at=now,
                    error=f"Gave up after {attempts} attempts. {error}".strip()[:ERROR_LIMIT],
                )
                continue
            claimed = claim.update(next_attempt_at=now + retry_delay(attempts + 1))
            if claimed and queue_apply(organization_id, pk):
                queued += 1
    return queued


def reprocess(*, delivery_ids: Iterable[int]) -> int:
    """Staff's Reprocess (the admin): the deliveries go back to received, with their attempts
    and error cleared, and are queued after commit (the sweep still catches any the broker
    refuses). Applying a delivery twice changes nothing: the handlers recognise what they
    already applied by the vendor's ids. Crosses organizations on purpose. Returns how many."""
    now = timezone.now()
    with scopes_disabled():
        rows = list(
            WebhookDelivery.objects.filter(pk__in=list(delivery_ids)).values_list(
                "pk", "organization_id"
            )
        )
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            state=State.RECEIVED,
            error="",
            processed_at=None,
            attempts=0,
            next_attempt_at=now + lost_after(),
        )
    for pk, organization_id in rows:
        transaction.on_commit(functools.partial(queue_apply, organization_id, pk))
    return len(rows)


def latest(*, organization, provider: str) -> WebhookDelivery | None:
    """The organization's latest stored delivery from ``provider`` (for its Settings card)."""
    return (
        WebhookDelivery.objects.filter(organization=organization, provider=provider)
        .order_by("-received_at", "-id")
        .first()
    )


__all__ = [
    "APPLY_BATCH",
    "ApplyAlone",
    "Batch",
    "Context",
    "Ignored",
    "apply",
    "body_digest",
    "fit_id",
    "handler_for",
    "latest",
    "parse_stored",
    "queue_apply",
    "register",
    "register_together",
    "reprocess",
    "store",
    "sweep",
    "without_nul",
]
