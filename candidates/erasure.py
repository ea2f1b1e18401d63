"""Deleting one candidate's personal data (an erasure request), in every app that holds some.

candidates owns the registry and the candidate's own row. Each higher app that keeps personal
data about a candidate (messages, bookings, recordings…) registers an *eraser* from its
``AppConfig.ready()`` with :func:`register_eraser`, since candidates never imports them.
:func:`erase_candidate` runs every eraser, then empties the candidate's own fields and the
texts of their timeline, in one transaction with the candidate row locked.

Rows stay (a message keeps its channel, direction, status and times; a booking its times), so
every count and chart stays true: only what identifies or describes the person is replaced by
:data:`ERASED` or emptied. The erasure itself is recorded (:class:`CandidateErasure`: who asked,
when, counts of what was emptied) and shown on the timeline, with nothing of the candidate.
The candidate's ATS id stays, so the next sync recognises the row and leaves it erased
(``MirrorWriter.upsert_candidates`` skips erased candidates) instead of creating it again.

The vendors' webhook bodies the intake stored, the errors of calls to vendors that quote the
candidate (integrations, below candidates, so it registers no eraser) and the partner API's
stored answers that quote them (accounts' ``IdempotencyRecord``) are emptied last, found by the
candidate's ATS id, their addresses and what the erasers report as identifying them
(:attr:`ErasurePart.identifiers`: the address a message went to, its provider id).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiKey, IdempotencyRecord
from integrations.erasure import provider_call_errors_erase, webhook_deliveries_erase

from . import timeline
from .models import Candidate, CandidateErasure, TimelineEvent

# What replaces a personal text that must keep a value (a name, an address, a message body).
ERASED = "[erased]"


@dataclass
class ErasurePart:
    """What one eraser did: how many rows of each kind it emptied (``{"messages": 12}``) and
    what it could not do, in words for the admin (a calendar service that refused a removal).
    ``identifiers``: what names the candidate in a vendor's webhook body that the candidate row
    does not hold (the address a message went to, its provider id), read before emptying."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    identifiers: set[str] = field(default_factory=set)


# An eraser: ``eraser(*, organization, candidate) -> ErasurePart``. It runs inside the erasure's
# transaction, in the organization's scope, and must be safe to run again on an erased candidate.
Eraser = Callable[..., ErasurePart]

_ERASERS: dict[str, Eraser] = {}


def register_eraser(name: str, eraser: Eraser) -> None:
    """Add an app's eraser (from its ``AppConfig.ready()``); ``name`` is the app's label.
    Registering a name again with another function is a programming error."""
    existing = _ERASERS.get(name)
    if existing is not None and existing is not eraser:
        raise ValueError(f"An eraser named {name!r} is already registered: {existing!r}.")
    _ERASERS[name] = eraser


def registered_erasers() -> tuple[str, ...]:
    """The names of the registered erasers, in the order they run."""
    return tuple(_ERASERS)


CANDIDATE_FIELDS_EMPTIED = {
    "first_name": ERASED,
    "last_name": "",
    "emails": [],
    "phones": [],
    "primary_email": "",
    "mobile_phone": "",
    "can_email": False,
    "tags": [],
    "time_zone": "",
    "time_zone_source": "",
}


def candidate_addresses(candidate: Candidate) -> set[str]:
    """The candidate's e-mail addresses and phone numbers, as the candidate row holds them."""
    found = {candidate.primary_email, candidate.mobile_phone}
    for entry in [*(candidate.emails or []), *(candidate.phones or [])]:
        found.add(entry.get("value", "") if isinstance(entry, dict) else str(entry))
    return {value for value in found if value and value != ERASED}


def quoted_texts(candidate: Candidate) -> set[str]:
    """What quotes the candidate wherever it appears in a text: their addresses and, while it is
    still there, their full name."""
    texts = candidate_addresses(candidate)
    if candidate.first_name and candidate.last_name and candidate.erased_at is None:
        texts.add(candidate.full_name)
    return texts


def quoting(candidate: Candidate, *fields: str) -> Q:
    """Rows one of whose ``fields`` quotes the candidate (see :func:`quoted_texts`); none when
    nothing is left to quote."""
    found = Q(pk__in=[])
    for text in quoted_texts(candidate):
        for name in fields:
            found |= Q(**{f"{name}__icontains": text})
    return found


def _erase_vendor_copies(
    *, organization, candidate: Candidate, identifiers: set[str]
) -> ErasurePart:
    identifiers = (identifiers | candidate_addresses(candidate)) - {ERASED}
    emptied = webhook_deliveries_erase(
        organization=organization,
        identifiers=identifiers,
        ats_provider=candidate.provider,
        ats_id=candidate.external_id,
    )
    errors = provider_call_errors_erase(organization=organization, identifiers=identifiers)
    answers = _erase_api_answers(
        organization=organization, candidate=candidate, identifiers=identifiers
    )
    return ErasurePart(
        counts={
            "webhook_deliveries": emptied,
            "provider_call_errors": errors,
            "api_answers": answers,
        }
    )


# What a replayed API answer that quoted an erased candidate returns instead.
API_ANSWER_EMPTIED = json.dumps(
    {"detail": "This stored answer was emptied: the candidate's personal data was deleted."}
).encode()


def _erase_api_answers(*, organization, candidate: Candidate, identifiers: set[str]) -> int:
    """The partner API's stored answers (``Idempotency-Key`` replays, kept a day) that quote the
    candidate (a message sent to them, their record): each is replaced by a short note."""
    texts = quoted_texts(candidate) | {text for text in identifiers if len(text) >= 6}
    quoted = {text.lower().encode() for text in texts}
    if not quoted:
        return 0
    answers = IdempotencyRecord.objects.filter(organization=organization).exclude(
        body=API_ANSWER_EMPTIED
    )
    ids = [
        pk
        for pk, body in answers.values_list("pk", "body").iterator()
        if any(text in bytes(body).lower() for text in quoted)
    ]
    return IdempotencyRecord.objects.filter(pk__in=ids).update(
        body=API_ANSWER_EMPTIED, content_type="application/json"
    )


def _erase_own(*, organization, candidate: Candidate) -> ErasurePart:
    """The candidate's own fields, and their timeline's texts (each entry keeps its kind and
    time; its summary becomes the kind's label)."""
    for name, value in CANDIDATE_FIELDS_EMPTIED.items():
        setattr(candidate, name, value)
    candidate.save(update_fields=[*CANDIDATE_FIELDS_EMPTIED, "synced_at"])
    # The records of earlier erasures hold nothing of the candidate: they stay as they are.
    events = TimelineEvent.objects.filter(organization=organization, candidate=candidate).exclude(
        kind=timeline.PERSONAL_DATA_ERASED
    )
    emptied = 0
    for kind in events.values_list("kind", flat=True).distinct().order_by():
        emptied += events.filter(kind=kind).update(
            summary=timeline.get(kind).label, detail="", data={}
        )
    return ErasurePart(counts={"timeline_entries": emptied})


def confirmation_text(candidate: Candidate) -> str:
    """What an admin types to confirm: the candidate's name, or DELETE when there is no name
    (or it is already erased)."""
    named = (candidate.first_name or candidate.last_name) and candidate.erased_at is None
    return candidate.full_name if named else "DELETE"


def who_asked(record: CandidateErasure) -> str:
    """Who asked for an erasure, in words (the team member or the API key)."""
    if record.api_key is None and record.requested_by is None:
        return "a former team member"
    return _who(record.api_key or record.requested_by)


def _who(requested_by) -> str:
    if isinstance(requested_by, ApiKey):
        return f"the API key “{requested_by.name}”"
    if requested_by is None:
        return "RecruitFlow"
    return (requested_by.get_full_name() or "").strip() or requested_by.email


COUNT_WORDS = {
    "messages": ("message", "messages"),
    "message_events": ("delivery update", "delivery updates"),
    "bookings": ("booking", "bookings"),
    "scheduling_requests": ("scheduling request", "scheduling requests"),
    "calendar_events_removed": ("calendar event removed", "calendar events removed"),
    "video_interviews": ("video interview", "video interviews"),
    "recording_files": ("recording file deleted", "recording files deleted"),
    "reviews": ("review note", "review notes"),
    "ats_writes": ("ATS write", "ATS writes"),
    "ats_writes_stopped": ("ATS write stopped", "ATS writes stopped"),
    "partner_events": ("partner webhook event", "partner webhook events"),
    "partner_attempts": ("partner webhook delivery log", "partner webhook delivery logs"),
    "notifications": ("notification", "notifications"),
    "webhook_deliveries": ("stored vendor webhook", "stored vendor webhooks"),
    "provider_call_errors": ("vendor call error", "vendor call errors"),
    "api_answers": ("stored API answer", "stored API answers"),
    "journey_reasons": ("journey reason", "journey reasons"),
    "bulk_action_details": ("bulk action detail", "bulk action details"),
    "timeline_entries": ("timeline entry", "timeline entries"),
}


def describe_counts(counts: dict[str, int]) -> str:
    """``"12 messages, 1 booking, 6 recording files deleted"`` (kinds with none left out)."""
    parts = []
    for key, number in counts.items():
        if not number:
            continue
        one, many = COUNT_WORDS.get(key, (key.replace("_", " "), key.replace("_", " ")))
        parts.append(f"{number} {one if number == 1 else many}")
    return ", ".join(parts) or "nothing else held personal data"


@transaction.atomic
def erase_candidate(*, organization, candidate: Candidate, requested_by) -> CandidateErasure:
    """Delete ``candidate``'s personal data in every app and record who asked (a user, or the
    :class:`~accounts.models.ApiKey` of a partner call). The rows the ATS merged into this
    candidate (the same person's older records, whose page leads here) are erased too, each
    with its own record. Running it again on an erased candidate empties whatever arrived since
    (a new message) and records that run too. Returns the record of ``candidate``."""
    locked = Candidate.objects.select_for_update().get(organization=organization, pk=candidate.pk)
    merged, seen = [], {locked.pk}
    pending = [locked.pk]
    while pending:  # merges may chain: A into B into C
        rows = list(
            Candidate.objects.select_for_update()
            .filter(organization=organization, merged_into_id__in=pending)
            .exclude(pk__in=seen)
        )
        merged += rows
        seen |= {row.pk for row in rows}
        pending = [row.pk for row in rows]
    now = timezone.now()
    for row in merged:
        _erase_one(organization=organization, candidate=row, requested_by=requested_by, now=now)
    record = _erase_one(
        organization=organization, candidate=locked, requested_by=requested_by, now=now
    )
    candidate.refresh_from_db()
    return record


def _erase_one(*, organization, candidate: Candidate, requested_by, now) -> CandidateErasure:
    counts: dict[str, int] = {}
    problems: list[str] = []
    parts = [eraser(organization=organization, candidate=candidate) for eraser in _ERASERS.values()]
    identifiers = set().union(*(part.identifiers for part in parts))
    parts.append(
        _erase_vendor_copies(
            organization=organization, candidate=candidate, identifiers=identifiers
        )
    )
    parts.append(_erase_own(organization=organization, candidate=candidate))
    for part in parts:
        for key, number in part.counts.items():
            counts[key] = counts.get(key, 0) + number
        problems += part.problems
    candidate.erased_at = now
    candidate.save(update_fields=["erased_at"])
    api_key = requested_by if isinstance(requested_by, ApiKey) else None
    record = CandidateErasure.objects.create(
        organization=organization,
        candidate=candidate,
        requested_by=None if api_key is not None else requested_by,
        api_key=api_key,
        erased_at=now,
        counts=counts,
        problems=problems,
    )
    TimelineEvent.objects.create(
        organization=organization,
        candidate=candidate,
        kind=timeline.PERSONAL_DATA_ERASED,
        summary=f"Personal data deleted by {_who(requested_by)}",
        detail=f"Emptied: {describe_counts(counts)}. The rows stay, so counts stay."
        + (f" Not done: {' '.join(problems)}" if problems else ""),
        data={"erasure_id": record.pk, "counts": counts},
        occurred_at=now,
    )
    return record
