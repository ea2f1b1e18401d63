"""The outbox worker: claim due writes (``skip_locked``), write each through the ATS adapter,
settle ambiguous failures by reading the ATS back, retry with backoff, and flag the ATS
connection when a write fails for a reason a person must fix.

A write is sent once per attempt. A 429/503 proves the ATS did nothing (the HTTP client resends
those itself, paced by the ATS's rate-limit headers); a 5xx or a timeout after the request left
may have landed, so the row is marked ``ambiguous`` and its next attempt first looks for the
row's marker on the candidate (notes and e-mails; files by name) and writes only if it is not
there; a candidate custom field (the video interview's link) is set to the same value again. A
retry never writes twice.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.base import Activity
from integrations.connections import (
    CallRecorder,
    ats_connection_for,
    provider_for,
    provider_identifier,
)
from integrations.http import (
    AuthError,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from integrations.models import ConnectionStatus
from recruitflow.tenancy import scopes_disabled
from writeback.models import ActivityWrite, WriteKind, WriteStatus
from writeback.selectors import is_paused, rules_for
from writeback.services import attachment_producer, with_marker

logger = logging.getLogger(__name__)

# last_error of a connection this worker flagged starts with this (and is cleared by the next
# write that succeeds).
ATTENTION_PREFIX = "ATS activity: "


def _setting(name: str, default):
    return getattr(settings, name, default)


def backoff(attempts: int) -> timedelta:
    """``WRITEBACK_RETRY_BASE_SECONDS`` (30 s), then twice as long each time, at most an hour."""
    base = _setting("WRITEBACK_RETRY_BASE_SECONDS", 30)
    return timedelta(seconds=min(3600, base * 2 ** max(0, attempts - 1)))


# --------------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------------


def writes_claim_due(*, limit: int = 50, now: datetime | None = None) -> list[tuple[int, int]]:
    """Claim up to ``limit`` due pending writes across organizations (pending → writing, in the
    same transaction as the ``select_for_update(skip_locked=True)``, so concurrent workers take
    different rows). Returns ``[(organization_id, write_id)]`` oldest due first."""
    now = now or timezone.now()
    with scopes_disabled(), transaction.atomic():
        rows = list(
            ActivityWrite.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=WriteStatus.PENDING,
                next_attempt_at__lte=now,
                organization__is_active=True,
            )
            .order_by("next_attempt_at", "id")
            .values_list("organization_id", "pk")[:limit]
        )
        if rows:
            ActivityWrite.objects.filter(pk__in=[pk for _, pk in rows]).update(
                status=WriteStatus.WRITING, claimed_at=now, attempts=F("attempts") + 1
            )
    return rows


def writes_recover_stale(*, now: datetime | None = None) -> int:
    """Writes still ``writing`` long after their claim lost their worker, possibly mid-POST:
    back to pending, ambiguous (so the next attempt looks before it writes)."""
    now = now or timezone.now()
    timeout = timedelta(seconds=_setting("WRITEBACK_CLAIM_TIMEOUT_SECONDS", 300))
    with scopes_disabled():
        return ActivityWrite.objects.filter(
            status=WriteStatus.WRITING, claimed_at__lt=now - timeout
        ).update(status=WriteStatus.PENDING, ambiguous=True, next_attempt_at=now)


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------


class _Outcome:
    """What happened to one row, applied with a conditional UPDATE (only a row still
    ``writing`` changes, so a pause that came in meanwhile wins)."""

    @staticmethod
    def apply(row: ActivityWrite, **fields) -> bool:
        fields.setdefault("claimed_at", None)
        done = ActivityWrite.objects.filter(pk=row.pk, status=WriteStatus.WRITING).update(**fields)
        for name, value in fields.items():
            setattr(row, name, value)
        return bool(done)


def _flag_connection(connection, message: str) -> None:
    connection.status = ConnectionStatus.ERROR
    connection.last_error = (ATTENTION_PREFIX + message)[:2000]
    connection.save(update_fields=["status", "last_error", "updated_at"])


def _clear_flag(connection) -> None:
    """A write went through: the flag this worker set goes, unless a write still fails for
    the reason it names (a key may allow notes but not files: a note must not hide that)."""
    if connection.status == ConnectionStatus.ERROR and connection.last_error.startswith(
        ATTENTION_PREFIX
    ):
        reason = connection.last_error[len(ATTENTION_PREFIX) :]
        if ActivityWrite.objects.filter(
            organization_id=connection.organization_id,
            status=WriteStatus.FAILED,
            reason__startswith=reason,
        ).exists():
            return
        connection.status = ConnectionStatus.CONNECTED
        connection.last_error = ""
        connection.save(update_fields=["status", "last_error", "updated_at"])


def _permanent_reason(exc: ProviderError) -> str:
    if isinstance(exc, NotFound):
        return (
            "the candidate is not in the ATS any more (deleted or merged there), so nothing "
            f"can be written to them ({exc.message})"
        )
    if isinstance(exc, ValidationFailed) and exc.code in (
        "missing_on_behalf_of",
        "missing_perform_as",
    ):
        return f"no acting ATS user: {exc.message}"
    return exc.message


def _activity(row: ActivityWrite, *, external_id: str, acting_user_id: str | None) -> Activity:
    return Activity(
        # A reply that came by e-mail is an e-mail too (the reader gives it its addresses).
        kind="email"
        if row.kind == WriteKind.EMAIL or (row.kind == WriteKind.REPLY and row.email_from)
        else "note",
        candidate_external_id=external_id,
        subject=row.subject,
        body=with_marker(row.body, row.marker),
        marker=row.marker,
        visibility=row.visibility or "private",  # type: ignore[arg-type]
        acting_user_id=acting_user_id,
        email_to=row.email_to,
        email_from=row.email_from,
    )


def _write_one(provider, organization, row: ActivityWrite, acting: str | None) -> str | None:
    """One write (after looking for an earlier one when the last try was ambiguous); returns
    the ATS's id of what is now there."""
    candidate = row.candidate
    if row.kind == WriteKind.ATTACHMENT:
        if row.ambiguous:
            found = provider.find_file(candidate.external_id, row.filename)
            if found:
                return found
        data = bytes(row.data) if row.data is not None else None
        if data is None:
            data = attachment_producer(row.producer)(
                organization=organization, candidate=candidate, write=row
            )
        return (
            provider.attach_file(
                candidate.external_id,
                row.filename,
                data,
                row.content_type or "application/octet-stream",
                acting_user_id=acting,
            )
            or row.filename
        )
    if row.kind == WriteKind.LINK_FIELD:
        # Setting a field to the same value changes nothing: after an ambiguous failure the
        # write simply happens again (no marker to look for in a field).
        return provider.write_candidate_link_field(
            candidate.external_id, row.subject, row.body, acting_user_id=acting
        )
    if row.ambiguous:
        found = provider.find_activity(candidate.external_id, row.marker)
        if found:
            return found
    activity = _activity(row, external_id=candidate.external_id, acting_user_id=acting)
    return provider.write_activity(activity) or ""


@dataclass
class WriterSession:
    """What writing for one organization needs, built once per beat tick and reused across
    its batches, so the adapter's pacing (the ATS's rate-limit window) carries over: the
    rules, the ATS connection, the adapter made as the acting user, and the call recorder."""

    organization: Any
    rules: Any
    connection: Any = None
    provider: Any = None
    recorder: CallRecorder | None = None
    identifier: str = ""
    acting: str | None = None
    refusal: tuple[str, str] | None = None  # (status, reason) every row gets instead

    def flush(self) -> None:
        if self.recorder is not None:
            self.recorder.flush()


def writer_open(*, organization, **http_kwargs) -> WriterSession:
    """The organization's writer session (see :class:`WriterSession`)."""
    rules = rules_for(organization).rules
    session = WriterSession(organization=organization, rules=rules)
    if not rules.enabled:
        session.refusal = (WriteStatus.RULE_OFF, "ATS activity is off")
        return session
    connection = ats_connection_for(organization)
    if connection is None:
        session.refusal = (
            WriteStatus.FAILED,
            "no ATS is connected (Settings → Integrations)",
        )
        return session
    session.connection = connection
    session.identifier = provider_identifier(connection)
    session.acting = rules.acting_user_external_id or connection.acting_user_id or None
    writer = copy.copy(connection)
    writer.acting_user_id = session.acting or ""
    session.recorder = CallRecorder(organization=organization, provider=session.identifier)
    http_kwargs.setdefault("max_wait", _setting("WRITEBACK_MAX_RATE_WAIT_SECONDS", 30))
    http_kwargs.setdefault("timeout", (5, _setting("WRITEBACK_HTTP_TIMEOUT_SECONDS", 30)))
    try:
        session.provider = provider_for(writer, recorder=session.recorder, **http_kwargs)
    except (ProviderError, ValueError) as exc:
        session.refusal = (WriteStatus.FAILED, str(exc))
    return session


def writes_execute(
    *, organization, write_ids: list[int], session: WriterSession | None = None, **http_kwargs
) -> int:
    """Write the claimed rows of one organization; returns how many are now in the ATS.
    ``session`` (from :func:`writer_open`) is reused when given, else one is opened."""
    rows = list(
        ActivityWrite.objects.filter(pk__in=write_ids, status=WriteStatus.WRITING)
        .select_related("candidate")
        .order_by("next_attempt_at", "id")
    )
    if not rows:
        return 0
    own_session = session is None
    if session is None:
        session = writer_open(organization=organization, **http_kwargs)
    try:
        return _write_rows(session, rows)
    finally:
        session.flush()
        if own_session:
            session.recorder = None


def _write_rows(session: WriterSession, rows: list[ActivityWrite]) -> int:
    organization = session.organization
    if session.refusal is not None:
        status, reason = session.refusal
        for row in rows:
            _Outcome.apply(row, status=status, reason=reason)
        return 0
    provider, connection, identifier = session.provider, session.connection, session.identifier
    written = 0
    for index, row in enumerate(rows):
        candidate = row.candidate
        if is_paused(organization=organization, candidate_id=candidate.pk):
            _Outcome.apply(
                row, status=WriteStatus.PAUSED, reason="paused for this candidate",
                next_attempt_at=None,
            )  # fmt: skip
            continue
        if candidate.provider != identifier or candidate.deleted_at is not None:
            _Outcome.apply(
                row,
                status=WriteStatus.FAILED,
                reason="the candidate is not in the connected ATS (deleted, or from another ATS)",
            )
            continue
        try:
            external_id = _write_one(provider, organization, row, session.acting)
        except RateLimited as exc:
            # Stop this batch: the rest would only draw more 429s. They go back as due.
            wait = timedelta(seconds=exc.retry_after or 10)
            for rest in rows[index:]:
                _Outcome.apply(
                    rest,
                    status=WriteStatus.PENDING,
                    next_attempt_at=timezone.now() + wait,
                    reason="the ATS asked us to slow down",
                    attempts=F("attempts") - (0 if rest is row else 1),
                )
            break
        except ProviderError as exc:
            if isinstance(exc, TransientError) or not exc.permanent:
                _retry_later(row, exc)
                continue
            reason = _permanent_reason(exc)
            _Outcome.apply(row, status=WriteStatus.FAILED, reason=reason[:2000])
            # A write this kind of connection cannot make at all (a file over Harvest v3) fails
            # with the reason but leaves the connection alone: syncing and every other write
            # still work, so it does not need attention.
            if isinstance(exc, (PermissionDenied, AuthError, NotFound, ValidationFailed)):
                _flag_connection(connection, reason)
            continue
        except Exception as exc:  # a bug or a producer failure: keep the row, retry later
            logger.exception("ATS write %s of organization %s crashed", row.pk, organization.pk)
            _retry_later(row, exc)
            continue
        if _Outcome.apply(
            row,
            status=WriteStatus.WRITTEN,
            external_id=str(external_id or "")[:200],
            provider=identifier,
            written_at=timezone.now(),
            reason="",
            ambiguous=False,
            next_attempt_at=None,
        ):
            written += 1
    if written:
        _clear_flag(connection)
    return written


def _retry_later(row: ActivityWrite, exc: Exception) -> None:
    """A failure that may pass: again after a backoff, ambiguous (the POST may have landed).
    After ``WRITEBACK_MAX_ATTEMPTS`` tries the row fails and waits for Retry."""
    message = exc.message if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
    ambiguous = not (isinstance(exc, ProviderError) and exc.status in (429, 503))
    if row.attempts >= _setting("WRITEBACK_MAX_ATTEMPTS", 8):
        _Outcome.apply(
            row,
            status=WriteStatus.FAILED,
            reason=f"gave up after {row.attempts} tries: {message}"[:2000],
            ambiguous=row.ambiguous or ambiguous,
        )
        return
    _Outcome.apply(
        row,
        status=WriteStatus.PENDING,
        next_attempt_at=timezone.now() + backoff(row.attempts),
        reason=f"will retry: {message}"[:2000],
        ambiguous=row.ambiguous or ambiguous,
    )
