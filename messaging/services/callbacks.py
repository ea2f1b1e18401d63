"""Provider callbacks, applied from the one webhook intake (:mod:`integrations.intake`): the
handlers of the vendor-neutral messaging records (``DeliveryUpdate``, ``InboundSMS``,
``OptOutChange``), registered in ``MessagingConfig.ready``. Each record is fitted to the columns
it is stored in, so one odd value cannot fail it; the intake applies each in its own savepoint,
so one that fails leaves the others applied. Applying a record twice changes nothing (message
events, inbound message ids and the opt-out ledger recognise what they already hold)."""

from __future__ import annotations

from dataclasses import replace

from integrations import intake
from integrations.messaging import DeliveryUpdate, InboundSMS, OptOutChange
from messaging.services.inbound import (
    inbound_sms_accept,
    message_status_route,
    opt_out_change_apply,
)


def _fit_text(value: str | None, max_length: int) -> str:
    return intake.without_nul(value or "")[:max_length]


def _callback_record_fitted(record):
    """``record`` fitted to the columns it is stored in (identifiers longer than their column
    digested, codes and addresses cut, NULs removed), so one odd value cannot fail it."""
    if isinstance(record, DeliveryUpdate):
        our_id = str(record.our_message_id or "")
        return replace(
            record,
            provider_message_id=intake.fit_id(record.provider_message_id, 100),
            our_message_id=our_id if our_id.isdigit() and len(our_id) <= 18 else None,
            error_code=_fit_text(record.error_code, 40) or None,
            error_message=intake.without_nul(record.error_message),
            event_id=intake.fit_id(record.event_id, 200) or None,
            recipient=_fit_text(record.recipient, 254) or None,
            raw=intake.without_nul(dict(record.raw)),
        )
    if isinstance(record, InboundSMS):
        return replace(
            record,
            provider_message_id=intake.fit_id(record.provider_message_id, 100),
            from_e164=_fit_text(record.from_e164, 254),
            to_e164=_fit_text(record.to_e164, 254),
            body=intake.without_nul(record.body),
            raw=intake.without_nul(dict(record.raw)),
        )
    if isinstance(record, OptOutChange):
        return replace(
            record, phone=_fit_text(record.phone, 32), sender=intake.without_nul(record.sender)
        )
    return record


def delivery_update_apply(record: DeliveryUpdate, context: intake.Context) -> bool:
    """A provider's delivery status (or e-mail event) for one of our messages."""
    message_status_route(organization=context.organization, update=_callback_record_fitted(record))
    return True


def inbound_sms_apply(record: InboundSMS, context: intake.Context) -> bool:
    """A text a candidate sent to one of the organization's numbers."""
    inbound_sms_accept(
        organization=context.organization,
        inbound=_callback_record_fitted(record),
        provider=context.delivery.provider,
    )
    return True


def opt_out_change_apply_record(record: OptOutChange, context: intake.Context) -> bool:
    """An opt-out (or opt-in) the provider recorded for a phone number."""
    opt_out_change_apply(organization=context.organization, change=_callback_record_fitted(record))
    return True


def register_handlers() -> None:
    """Hand the intake this app's handlers (``MessagingConfig.ready``)."""
    intake.register(DeliveryUpdate, delivery_update_apply)
    intake.register(InboundSMS, inbound_sms_apply)
    intake.register(OptOutChange, opt_out_change_apply_record)
