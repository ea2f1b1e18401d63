"""The vendors' copies of a candidate's personal data kept by the webhook intake: each stored
:class:`~integrations.models.WebhookDelivery` keeps the raw body a vendor sent (an ATS webhook
names the candidate and their addresses, a Twilio inbound text carries the phone number and the
text, a SendGrid inbound e-mail or event carries the addresses).

``candidates.erasure`` calls :func:`webhook_deliveries_erase` while it deletes a candidate's
personal data (integrations sits below candidates and imports nothing of it), with what
identifies the candidate in a vendor's body: their ATS id, their addresses and the provider ids
of their messages. A matching delivery keeps its row (provider, kind, times, state), so the
intake's history and counts stay; its body is emptied, and one not yet applied is not applied
any more (there is nothing left to apply). The log of calls to the vendors
(:class:`~integrations.models.ProviderCall`) keeps no bodies, but an error may quote what the
vendor refused (a phone number): such an error is replaced by :data:`ERASED_ERROR`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from django.db.models import Q

from .models import ProviderCall, WebhookDelivery

ERASED_NOTE = "Body emptied: the candidate's personal data was deleted."
ERASED_ERROR = "Error text emptied: it quoted a candidate whose personal data was deleted."
# Shorter needles would match unrelated bodies (an id "12" is in many of them).
MIN_NEEDLE = 6
# Where an ATS body names a candidate by id.
CANDIDATE_ID_KEYS = ("candidate_id", "candidateId")


def _spellings(needle: str) -> set[str]:
    """A value as it appears in a JSON body and in a form-encoded one (Twilio, SendGrid)."""
    return {needle, quote_plus(needle), quote(needle, safe="")}


def _needles(identifiers: Iterable[str]) -> list[str]:
    return sorted(
        {
            spelled
            for identifier in identifiers
            if len(identifier.strip()) >= MIN_NEEDLE
            for spelled in _spellings(identifier.strip())
        }
    )


def _names_candidate(value, external_id: str) -> bool:
    """Whether a parsed ATS body names the candidate ``external_id`` (as the ``id`` of a
    ``candidate`` object, or as a ``candidate_id``)."""
    if isinstance(value, list):
        return any(_names_candidate(item, external_id) for item in value)
    if not isinstance(value, dict):
        return False
    for key, item in value.items():
        if key in CANDIDATE_ID_KEYS and str(item) == external_id:
            return True
        if key == "candidate" and isinstance(item, dict) and str(item.get("id")) == external_id:
            return True
        if _names_candidate(item, external_id):
            return True
    return False


def _ats_matches(*, organization, provider: str, external_id: str) -> list[int]:
    if not provider or not external_id:
        return []
    found = []
    rows = WebhookDelivery.objects.filter(
        organization=organization, provider=provider, raw_body__contains=external_id
    ).values_list("pk", "raw_body")
    for pk, body in rows.iterator():
        try:
            parsed = json.loads(body)
        except ValueError:
            continue
        if _names_candidate(parsed, external_id):
            found.append(pk)
    return found


def webhook_deliveries_erase(
    *, organization, identifiers: Iterable[str], ats_provider: str = "", ats_id: str = ""
) -> int:
    """Empty every stored delivery of ``organization`` whose body holds one of ``identifiers``
    (addresses, provider message ids; any spelling: as sent in JSON or form-encoded) or is an
    ``ats_provider`` webhook about the candidate ``ats_id``. Returns how many were emptied."""
    needles = _needles(identifiers)
    query = Q(pk__in=_ats_matches(organization=organization, provider=ats_provider,
                                  external_id=ats_id))  # fmt: skip
    for needle in needles:
        query |= Q(raw_body__icontains=needle)
    rows = WebhookDelivery.objects.filter(organization=organization).filter(query)
    ids = list(rows.exclude(raw_body="", error=ERASED_NOTE).values_list("pk", flat=True))
    waiting = (WebhookDelivery.State.RECEIVED, WebhookDelivery.State.FAILED)
    WebhookDelivery.objects.filter(pk__in=ids, state__in=waiting).update(
        state=WebhookDelivery.State.IGNORED, next_attempt_at=None
    )
    return WebhookDelivery.objects.filter(pk__in=ids).update(raw_body="", error=ERASED_NOTE)


def provider_call_errors_erase(*, organization, identifiers: Iterable[str]) -> int:
    """Replace the error text of every call of ``organization`` to a vendor that quotes one of
    ``identifiers``; returns how many were replaced."""
    needles = _needles(identifiers)
    if not needles:
        return 0
    quoting = Q()
    for needle in needles:
        quoting |= Q(error__icontains=needle)
    return (
        ProviderCall.objects.filter(organization=organization)
        .filter(quoting)
        .update(error=ERASED_ERROR)
    )
