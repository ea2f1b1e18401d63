"""Greenhouse webhooks: signature check over the raw body and event parsing.

Greenhouse signs the exact bytes it sends (with ``\\u003c``-style escapes), so verification must
run on the raw request body before any JSON parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from integrations.base import ExtApplication, ExtCandidate
from integrations.greenhouse.provider import application_from_payload, candidate_from_payload

SIGNATURE_HEADER = "Signature"
EVENT_ID_HEADER = "Greenhouse-Event-ID"

SUPPORTED_ACTIONS = frozenset(
    {
        "candidate_stage_change",
        "new_candidate_application",
        "new_prospect_application",
        "application_updated",
        "hire_candidate",
        "unhire_candidate",
        "reject_candidate",
        "unreject_candidate",
        "merge_candidate",
        "delete_candidate",
        "delete_application",
        "update_candidate",
        "ping",
    }
)


class InvalidPayload(ValueError):
    """The body is not a Greenhouse webhook envelope."""


def compute_signature(raw_body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, header_value: str | None, secret: str) -> bool:
    """True when ``header_value`` ("sha256 <hex>") is the HMAC-SHA256 of the raw body."""
    if not header_value or not secret:
        return False
    algorithm, _, digest = header_value.strip().partition(" ")
    if algorithm.lower() != "sha256" or not digest:
        return False
    expected = compute_signature(raw_body, secret)
    return hmac.compare_digest(expected.encode("ascii"), digest.strip().lower().encode("ascii"))


@dataclass(frozen=True)
class GreenhouseEvent:
    """A parsed webhook. ``application``/``candidate`` are set when the payload carries them;
    ``merged_into`` is the surviving candidate id of a merge; ``deleted_*`` name what is gone."""

    action: str
    event_id: str | None = None
    application: ExtApplication | None = None
    candidate: ExtCandidate | None = None
    merged_into: str | None = None
    deleted_candidate_id: str | None = None
    deleted_application_id: str | None = None
    job_ids: list[str] = field(default_factory=list)
    supported: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def _str_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value is None else str(value)


def parse_event(raw_body: bytes | str | Mapping[str, Any], *, event_id: str | None = None):
    """Parse a webhook body (raw bytes, text or decoded dict) into a :class:`GreenhouseEvent`."""
    if isinstance(raw_body, Mapping):
        envelope = raw_body
    else:
        try:
            envelope = json.loads(raw_body)
        except (TypeError, ValueError) as exc:
            raise InvalidPayload("The webhook body is not JSON.") from exc
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("action"), str):
        raise InvalidPayload("The webhook body has no action.")
    action = envelope["action"]
    payload = envelope.get("payload") or {}
    if not isinstance(payload, Mapping):
        raise InvalidPayload("The webhook payload is not an object.")

    application = candidate = None
    merged_into = deleted_candidate = deleted_application = None
    job_ids: list[str] = []

    app_data = payload.get("application")
    if isinstance(app_data, Mapping) and app_data.get("id") is not None:
        cand_data = app_data.get("candidate")
        cand_id = _str_id(cand_data)
        application = application_from_payload(app_data, candidate_id=cand_id)
        job_ids = [i for i in (_str_id(j) for j in app_data.get("jobs") or []) if i]
        if isinstance(cand_data, Mapping) and cand_data.get("id") is not None:
            candidate = candidate_from_payload(cand_data)
    cand_data = payload.get("candidate")
    if candidate is None and isinstance(cand_data, Mapping) and cand_data.get("id") is not None:
        candidate = candidate_from_payload(cand_data)

    person = payload.get("person")
    if action == "merge_candidate":
        merged_into = _str_id(payload.get("new_candidate_id")) or _str_id(
            (person or {}).get("new_candidate_id") if isinstance(person, Mapping) else None
        )
        loser = _str_id(person) or _str_id(payload.get("old_candidate_id"))
        if loser and candidate is None:
            candidate = ExtCandidate(
                external_id=loser,
                first_name=(person or {}).get("first_name") or "",
                last_name=(person or {}).get("last_name") or "",
                merged_into=merged_into,
            )
        elif candidate is not None:
            candidate = ExtCandidate(**{**candidate.__dict__, "merged_into": merged_into})
    elif action == "delete_candidate":
        deleted_candidate = (
            _str_id(person)
            or _str_id(payload.get("candidate_id"))
            or (candidate.external_id if candidate else None)
        )
    elif action == "delete_application":
        deleted_application = (
            (application.external_id if application else None)
            or _str_id(payload.get("application_id"))
            or _str_id(payload.get("application"))
        )

    return GreenhouseEvent(
        action=action,
        event_id=event_id,
        application=application,
        candidate=candidate,
        merged_into=merged_into,
        deleted_candidate_id=deleted_candidate,
        deleted_application_id=deleted_application,
        job_ids=job_ids,
        supported=action in SUPPORTED_ACTIONS,
        raw=envelope,
    )
