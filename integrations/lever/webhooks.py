"""Lever webhooks: signature = HMAC-SHA256(signature token, token + str(triggeredAt)).

Lever signs only ``token`` and ``triggeredAt``, not the body, so callers must also reject
replays (cache ``token``) and stale deliveries (:func:`is_stale`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.base import from_epoch_ms
from integrations.events import ApplicationDeleted, ApplicationToRead, AtsEvent, CandidateDeleted

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


# How old a delivery may be: Lever's token is the replay key, kept as long as this.
DELIVERY_MAX_AGE = timedelta(minutes=5)


def delivery_refusal(
    body: Mapping[str, Any],
    signature_token: str,
    *,
    now: datetime | None = None,
    max_age: timedelta = DELIVERY_MAX_AGE,
) -> str | None:
    """Why a decoded delivery must be refused (forged or stale), or None when it is genuine."""
    token, triggered, signature = body.get("token"), body.get("triggeredAt"), body.get("signature")
    if not verify_signature(token, triggered, signature, signature_token or ""):
        return "The signature does not match."
    if not isinstance(triggered, (int, float)) or is_stale(
        int(triggered), now=now, max_age=max_age
    ):
        return "The delivery is too old (or from the future)."
    return None


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


# The events about an opportunity that we apply (Lever's "test" delivery is a candidateHired
# with empty data, and names no opportunity).
OPPORTUNITY_EVENTS = frozenset(
    {"candidateStageChange", "candidateArchiveChange", "candidateHired", "applicationCreated"}
)


def parse_stored(
    raw_body: str, *, event_id: str, url: str = "", received_at=None
) -> list[AtsEvent]:
    """A stored delivery as vendor-neutral events (:mod:`integrations.events`); empty for one
    we do not apply. Lever signs only ``token`` and ``triggeredAt``, so the body's data is not
    trusted: the opportunity is read from Lever (:class:`ApplicationToRead`), and only the stage
    a move reports is taken, at the signed time."""
    parsed = parse_event(json.loads(raw_body))
    opportunity, at = parsed.opportunity_id, parsed.triggered_at
    if parsed.event == "candidateDeleted" and opportunity:
        return [
            CandidateDeleted(event_id=event_id, occurred_at=at, candidate_id=opportunity),
            ApplicationDeleted(event_id=event_id, occurred_at=at, application_id=opportunity),
        ]
    if parsed.event not in OPPORTUNITY_EVENTS or not opportunity:
        return []
    return [
        ApplicationToRead(
            event_id=event_id,
            occurred_at=at,
            application_id=opportunity,
            reported_stage_id=parsed.to_stage_id
            if parsed.event == "candidateStageChange"
            else None,
            new_application=parsed.event == "applicationCreated",
        )
    ]
