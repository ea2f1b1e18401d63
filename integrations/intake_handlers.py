"""The webhook intake's handlers (:mod:`integrations.intake`): what the domain apps register
for the record types the vendors' readers return, and what the handlers of one delivery, and
of the deliveries one task applies together, share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integrations.models import WebhookDelivery

logger = logging.getLogger("integrations.intake")


class Ignored(Exception):  # noqa: N818 (a verdict, not a failure)
    """Raised by a handler: this record has nothing to apply, for the reason given."""


def _run_finishers(finishers: list[Callable[[], object]], what: str) -> None:
    for fn in finishers:
        try:
            fn()
        except Exception:
            logger.exception("Finishing %s failed", what)
    finishers.clear()


@dataclass
class Batch:
    """What the deliveries one task applies together (one organization, one vendor) share:
    ``shared`` holds what is read once for all of them (e.g. the ATS connection and the
    mirror's writer), and ``on_finish(fn)`` runs ``fn`` once every delivery of the batch was
    applied and committed (e.g. to announce their stage changes in one task)."""

    organization: Any
    provider: str
    shared: dict = field(default_factory=dict)
    _finishers: list[Callable[[], object]] = field(default_factory=list)

    def on_finish(self, fn: Callable[[], object]) -> None:
        self._finishers.append(fn)

    def finish(self) -> None:
        _run_finishers(self._finishers, f"a batch of {self.provider} webhook deliveries")


@dataclass
class Context:
    """What the handlers of one delivery share while it is applied; ``batch`` is what the
    deliveries applied with it share."""

    delivery: WebhookDelivery
    organization: Any
    batch: Batch
    shared: dict = field(default_factory=dict)
    _finishers: list[Callable[[], object]] = field(default_factory=list)

    def on_finish(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` once every record of the delivery was applied (even when one failed)."""
        self._finishers.append(fn)

    def finish(self) -> None:
        _run_finishers(self._finishers, f"webhook delivery {self.delivery.pk}")


Handler = Callable[[Any, Context], bool | None]
_HANDLERS: dict[type, Handler] = {}


def _register(handlers: dict, record_type: type, handler) -> None:
    existing = handlers.get(record_type)
    if existing is not None and existing is not handler:
        raise ValueError(f"{record_type.__name__} already has a handler: {existing!r}.")
    handlers[record_type] = handler


def _registered_for(handlers: dict, record):
    """The handler registered for ``record``'s type or the nearest of its base classes."""
    return next((handlers[k] for k in type(record).__mro__ if k in handlers), None)


def register(record_type: type, handler: Handler) -> None:
    """Apply records of ``record_type`` (and its subclasses) with ``handler(record, context)``.
    One handler per type: registering another for the same type is a mistake and raises."""
    _register(_HANDLERS, record_type, handler)


def handler_for(record) -> Handler | None:
    return _registered_for(_HANDLERS, record)


class ApplyAlone(Exception):  # noqa: N818 (a verdict, not a failure)
    """Raised by a together handler (:func:`register_together`) that finds, once it has read
    the mirror, that the batch must be applied one delivery at a time after all: what it
    wrote is rolled back, and nothing is logged."""


# ``handler(items)``: ``items`` is a list of (record, context), one per delivery of a batch, in
# the batch's order; returns {delivery pk: applied?} for the deliveries it applied.
TogetherHandler = Callable[[list[tuple[Any, "Context"]]], dict[int, bool]]
_TOGETHER: dict[type, TogetherHandler] = {}


def register_together(record_type: type, handler: TogetherHandler) -> None:
    """Apply the records of ``record_type`` of a batch's deliveries together, when every
    delivery of the batch holds one such record: ``handler(items)`` writes what it can for all
    of them at once (one statement per table instead of one per delivery) and returns which
    deliveries it applied; the rest are applied one at a time afterwards, with
    :func:`register`'s handler. It may take only deliveries that touch nothing another
    delivery of ``items`` touches (their order does not matter then), and it raises to leave
    them all to the one-at-a-time path (its savepoint is rolled back first)."""
    _register(_TOGETHER, record_type, handler)


def together_handler_for(record) -> TogetherHandler | None:
    return _registered_for(_TOGETHER, record)
