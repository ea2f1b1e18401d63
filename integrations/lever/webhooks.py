"""Lever webhooks: signature = HMAC-SHA256(signature token, token + str(triggeredAt)).

Lever signs only ``token`` and ``triggeredAt``, not the body, so callers must also reject
replays (cache ``token``) and stale deliveries (:func:`is_stale`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.base import from_epoch_ms

DEFAULT_MAX_AGE = timedelta(minutes=30)
EVENTS = frozenset(
    {
        "applicationCreated",
        "candidateHired",
        "candidateStageChange",
        "candidateArchiveChange",
        "candidateDeleted",
        "interviewCreated",
        "interviewUpdated",
        "interviewDeleted",
        "contactCreated",
        "contactUpdated",
    }
)


class InvalidPayload(ValueError):
    """The body is not a Lever webhook delivery."""


def compute_signature(token: str, triggered_at: int | str, signature_token: str) -> str:
    message = f"{token}{triggered_at}".encode()
    return hmac.new(signature_token.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signature(
    token: str | None, triggered_at: int | str | None, signature: str | None, signature_token: str
) -> bool:
    """Constant-time check of a delivery's ``signature``."""
    if not token or triggered_at is None or not signature or not signature_token:
        return False
    expected = compute_signature(token, triggered_at, signature_token)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("ascii"))


def is_stale(
    triggered_at_ms: int | None, now: datetime | None = None, max_age: timedelta = DEFAULT_MAX_AGE
) -> bool:
    """True when the delivery was triggered longer than ``max_age`` ago (or too far ahead).

    Lever retries failed deliveries with growing gaps, so keep ``max_age`` above the retry
    window you want to honour; a stale delivery is dropped and the poll catches up.
    """
    if triggered_at_ms is None:
        return True
    now = now or datetime.now(UTC)
    triggered = from_epoch_ms(triggered_at_ms)
    assert triggered is not None
    skew = timedelta(minutes=5)
    return triggered < now - max_age or triggered > now + skew


@dataclass(frozen=True)
class LeverEvent:
    event: str
    event_id: str | None
    token: str | None
    triggered_at: datetime | None
    opportunity_id: str | None = None
    contact_id: str | None = None
    from_stage_id: str | None = None
    to_stage_id: str | None = None
    supported: bool = True
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)


def parse_event(body: Mapping[str, Any]) -> LeverEvent:
    """Parse a decoded delivery body; the Lever "test" request (``data: {}``) parses too."""
    if not isinstance(body, Mapping) or not isinstance(body.get("event"), str):
        raise InvalidPayload("The webhook body has no event.")
    data = body.get("data") or {}
    if not isinstance(data, Mapping):
        raise InvalidPayload("The webhook data is not an object.")
    triggered = body.get("triggeredAt")

    def text(key: str) -> str | None:
        value = data.get(key)
        return None if value in (None, "") else str(value)

    return LeverEvent(
        event=body["event"],
        event_id=None if body.get("id") is None else str(body["id"]),
        token=body.get("token"),
        triggered_at=from_epoch_ms(triggered) if isinstance(triggered, (int, float)) else None,
        opportunity_id=text("opportunityId") or text("candidateId"),
        contact_id=text("contactId"),
        from_stage_id=text("fromStageId"),
        to_stage_id=text("toStageId"),
        supported=body["event"] in EVENTS,
        data=data,
    )
