"""Vendors' webhooks, read by the vendor: a stored delivery becomes vendor-neutral records.

Each vendor whose callbacks are stored raw has ``integrations.<vendor>.webhooks.parse_stored(
raw_body, *, url, received_at)``, which turns the body it sent into the records of
:mod:`integrations.messaging` (``DeliveryUpdate``, ``InboundSMS``, ``OptOutChange``) or the ATS
events of :mod:`integrations.events` (``ApplicationChanged``, ``CandidateDeleted``…). The domain
asks :func:`parse_stored` with the vendor's identifier stored on the row and never names a vendor
itself. The vendor module is imported on first use, as :mod:`integrations.registry` does for
adapters.
"""

from __future__ import annotations

import importlib
from datetime import datetime

from integrations.registry import UnknownProvider, available


def parse_stored(
    provider: str, *, raw_body: str, url: str, received_at: datetime, event_id: str = ""
) -> list:
    """The records in a stored delivery of ``provider``, parsed by that vendor's integration:
    the messaging records of :mod:`integrations.messaging`, or the ATS events of
    :mod:`integrations.events`. ``event_id`` is the vendor's id of the delivery.

    Raises :class:`UnknownProvider` for a vendor without stored webhooks, and the vendor's
    ``InvalidPayload`` (a ``ValueError``) for a body it cannot read."""
    if provider not in available():
        raise UnknownProvider(f"No provider called {provider!r}.")
    module = importlib.import_module(f"integrations.{provider}.webhooks")
    parse = getattr(module, "parse_stored", None)
    if parse is None:
        raise UnknownProvider(f"integrations.{provider}.webhooks has no parse_stored.")
    return parse(raw_body, url=url, received_at=received_at, event_id=event_id)
