"""Partner webhooks' part of deleting a candidate's personal data (``candidates.erasure``; this
module registers itself when ``PartnersConfig.ready`` imports it).

An event about the candidate (it names them as its ``candidate``, or it is an opt-out of one of
their addresses) keeps its row, type, times and ids, so Settings → Webhooks' history and counts
stay; its payload's personal texts — names, addresses, subjects, message text, booking titles,
reasons, and any other text that quotes the candidate — become the marker. A delivery still
waiting is sent later with the erased payload (the signature is made at send time), never with
the personal one. The delivery log's copies of what was sent become the erased payload, and what
the receiver answered is replaced (it may echo the payload).
"""

from __future__ import annotations

import json

from django.db.models import JSONField, Q
from django.db.models.functions import Cast

from candidates.erasure import (
    ERASED,
    ErasurePart,
    candidate_addresses,
    quoted_texts,
    register_eraser,
)

from .models import DeliveryAttempt, Event

# Payload keys whose text is personal whichever event carries them.
PERSONAL_KEYS = frozenset(
    {"first_name", "last_name", "to", "from", "address", "subject", "body", "title", "reason"}
    | {"exit_reason"}
)


def _erased(value, *, quoted: set[str], key: str = ""):
    """``value`` with its personal texts replaced (recursively)."""
    if isinstance(value, dict):
        return {k: _erased(v, quoted=quoted, key=k) for k, v in value.items()}
    if isinstance(value, list):
        return [_erased(item, quoted=quoted) for item in value]
    personal = key in PERSONAL_KEYS or any(text in str(value).lower() for text in quoted)
    return ERASED if isinstance(value, str) and value and personal else value


def partners_erase(*, organization, candidate) -> ErasurePart:
    addresses = candidate_addresses(candidate)
    # Texts that, wherever they appear in a payload, quote the candidate.
    quoted = {text.lower() for text in quoted_texts(candidate)}
    about = Q(payload__data__candidate__id=candidate.pk)
    for address in addresses:
        about |= Q(payload__data__address=address) | Q(body__icontains=address)
    events = list(
        Event.objects.filter(organization=organization)
        .annotate(payload=Cast("body", JSONField()))
        .filter(about)
        .only("pk", "body")
    )
    for event in events:
        payload = json.loads(event.body)
        payload["data"] = _erased(payload.get("data"), quoted=quoted)
        # Written as the collector writes a body (collector.payload_body).
        event.body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        event.save(update_fields=["body"])
        DeliveryAttempt.objects.filter(organization=organization, delivery__event=event).update(
            request_body=event.body
        )
    attempts = DeliveryAttempt.objects.filter(
        organization=organization, delivery__event__in=[event.pk for event in events]
    )
    logged = attempts.count()
    attempts.exclude(response_body="").update(response_body=ERASED)
    return ErasurePart(counts={"partner_events": len(events), "partner_attempts": logged})


register_eraser("partners", partners_erase)
