"""Stored provider callbacks: store raw once, then apply each record in its own savepoint."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations import intake
from integrations.messaging import (
    DeliveryUpdate,
    InboundSMS,
    OptOutChange,
)
from messaging.models import (
    ProviderWebhookEvent,
)
from messaging.services.inbound import (
    inbound_sms_accept,
    message_status_route,
    opt_out_change_apply,
)
from recruitflow.tenancy import scopes_disabled, tenant_scope

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Stored provider callbacks
# --------------------------------------------------------------------------------------------


def webhook_event_store(
    *,
    organization,
    provider: str,
    kind: str,
    dedupe_key: str,
    url: str,
    headers: dict,
    raw_body: bytes,
    error: str = "",
) -> tuple[ProviderWebhookEvent, bool]:
    """Store a verified callback as received. ``(event, False)`` when the provider already
    delivered it (same ``dedupe_key``): nothing new is written."""
    dedupe_key = _fit_id(dedupe_key, 200)
    try:
        with transaction.atomic():
            event = ProviderWebhookEvent.objects.create(
                organization=organization,
                provider=provider,
                kind=kind,
                dedupe_key=dedupe_key,
                url=_without_nul(url),
                headers=_without_nul(headers),
                # NUL cannot be stored in a text column (PostgreSQL); nothing signed needs it
                # again, the signature having been checked over the bytes received.
                raw_body=_without_nul(raw_body.decode("utf-8", errors="replace")),
                received_at=timezone.now(),
                error=_without_nul(error),
            )
        return event, True
    except IntegrityError:
        event = ProviderWebhookEvent.objects.get(
            organization=organization, provider=provider, dedupe_key=dedupe_key
        )
        return event, False


def callback_records(event: ProviderWebhookEvent) -> list:
    """The records in a stored callback, parsed by its provider's integration."""
    return intake.parse_stored(
        event.provider, raw_body=event.raw_body, url=event.url, received_at=event.received_at
    )


_NUL = "\x00"


def _without_nul(value):
    """``value`` with NUL characters taken out of every string in it: PostgreSQL text and
    jsonb columns cannot hold them, and no message or address needs one."""
    if isinstance(value, str):
        return value.replace(_NUL, "")
    if isinstance(value, dict):
        return {_without_nul(str(key)): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(item) for item in value]
    return value


def _fit_id(value: str | None, max_length: int) -> str:
    """A provider identifier for a column of ``max_length``: itself when it fits, else a
    digest of it — still the same for the same identifier, so deduplication keeps working."""
    value = _without_nul(value or "")
    if len(value) <= max_length:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _fit_text(value: str | None, max_length: int) -> str:
    return _without_nul(value or "")[:max_length]


def _callback_record_fitted(record):
    """``record`` fitted to the columns it is stored in (identifiers longer than their column
    digested, codes and addresses cut, NULs removed), so one odd value cannot fail it."""
    if isinstance(record, DeliveryUpdate):
        our_id = str(record.our_message_id or "")
        return replace(
            record,
            provider_message_id=_fit_id(record.provider_message_id, 100),
            our_message_id=our_id if our_id.isdigit() and len(our_id) <= 18 else None,
            error_code=_fit_text(record.error_code, 40) or None,
            error_message=_without_nul(record.error_message),
            event_id=_fit_id(record.event_id, 200) or None,
            recipient=_fit_text(record.recipient, 254) or None,
            raw=_without_nul(dict(record.raw)),
        )
    if isinstance(record, InboundSMS):
        return replace(
            record,
            provider_message_id=_fit_id(record.provider_message_id, 100),
            from_e164=_fit_text(record.from_e164, 254),
            to_e164=_fit_text(record.to_e164, 254),
            body=_without_nul(record.body),
            raw=_without_nul(dict(record.raw)),
        )
    if isinstance(record, OptOutChange):
        return replace(
            record, phone=_fit_text(record.phone, 32), sender=_without_nul(record.sender)
        )
    return record


def _callback_record_apply(*, organization, record, provider: str) -> None:
    if isinstance(record, DeliveryUpdate):
        message_status_route(organization=organization, update=record)
    elif isinstance(record, InboundSMS):
        inbound_sms_accept(organization=organization, inbound=record, provider=provider)
    elif isinstance(record, OptOutChange):
        opt_out_change_apply(organization=organization, change=record)


def _callback_apply(*, organization, event: ProviderWebhookEvent) -> list[str]:
    """Apply each record of a stored callback in its own savepoint, so one that fails (a
    value the database refuses, a bug) leaves the others applied. Returns what failed."""
    failures = []
    records = callback_records(event)
    for number, record in enumerate(records, start=1):
        try:
            with transaction.atomic():
                _callback_record_apply(
                    organization=organization,
                    record=_callback_record_fitted(record),
                    provider=event.provider,
                )
        except Exception as exc:
            logger.exception("Record %s of provider callback %s failed", number, event.pk)
            failures.append(f"record {number} of {len(records)}: {type(exc).__name__}: {exc}")
    return failures


def webhook_event_apply(*, organization, event_id: int) -> bool:
    """Apply a stored callback, once: a second call (a provider retry, the retry task) finds
    it processed and does nothing. Records are applied one by one; when some fail, the others
    stay applied, the event keeps the errors and stays unprocessed, and False is returned so it
    is tried again (applied records are recognised by their ids and not applied twice)."""
    try:
        with transaction.atomic():
            event = ProviderWebhookEvent.objects.select_for_update().get(
                organization=organization, pk=event_id
            )
            if event.processed_at is not None:
                return True
            failures = _callback_apply(organization=organization, event=event)
            if failures:
                ProviderWebhookEvent.objects.filter(pk=event.pk).update(
                    error=_without_nul("; ".join(failures))[:2000],
                    attempts=F("attempts") + 1,
                )
                return False
            ProviderWebhookEvent.objects.filter(pk=event.pk).update(
                processed_at=timezone.now(), error="", attempts=F("attempts") + 1
            )
        return True
    except Exception as exc:  # the row keeps the error; the caller schedules another try
        logger.exception("Applying provider callback %s failed", event_id)
        ProviderWebhookEvent.objects.filter(organization=organization, pk=event_id).update(
            error=_without_nul(f"{type(exc).__name__}: {exc}")[:2000],
            attempts=F("attempts") + 1,
        )
        return False


def webhook_events_reprocess(*, event_ids) -> int:
    """Staff's "reprocess" (the Django admin): apply stored callbacks again, each in its own
    organization. Records already applied are recognised by their ids (message events,
    inbound message ids, the opt-out ledger's state) and change nothing. Crosses organizations
    on purpose. Returns how many applied completely."""
    with scopes_disabled():
        events = list(
            ProviderWebhookEvent.objects.filter(pk__in=list(event_ids)).select_related(
                "organization"
            )
        )
    applied = 0
    for event in events:
        with tenant_scope(event.organization):
            ProviderWebhookEvent.objects.filter(pk=event.pk).update(processed_at=None)
            applied += webhook_event_apply(organization=event.organization, event_id=event.pk)
    return applied
