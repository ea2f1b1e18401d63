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

from integrations.base import (
    ExtApplication,
    ExtCandidate,
    ExtDepartment,
    ExtJob,
    ExtOffice,
    parse_iso_datetime,
)
from integrations.events import (
    ApplicationChanged,
    ApplicationDeleted,
    AtsEvent,
    CandidateChanged,
    CandidateDeleted,
    CandidatesMerged,
)
from integrations.greenhouse.provider import (
    application_from_payload,
    candidate_from_payload,
    department_from_payload,
    job_from_payload,
    office_from_payload,
)

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
    # The application's job as the payload describes it, with its offices and departments.
    job: ExtJob | None = None
    offices: list[ExtOffice] = field(default_factory=list)
    departments: list[ExtDepartment] = field(default_factory=list)
    supported: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def _str_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value is None else str(value)


def _envelope(raw_body: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(raw_body, Mapping):
        envelope = raw_body
    else:
        try:
            envelope = json.loads(raw_body)
        except (TypeError, ValueError) as exc:
            raise InvalidPayload("The webhook body is not JSON.") from exc
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("action"), str):
        raise InvalidPayload("The webhook body has no action.")
    return envelope


def parse_action(raw_body: bytes | str | Mapping[str, Any]) -> str:
    """The envelope's ``action``: all the endpoint needs before it stores a delivery (the
    payload itself is checked when the stored event is processed)."""
    return _envelope(raw_body)["action"]


def _is_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value > 0) or (
        isinstance(value, str) and value.isdigit()
    )


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


def _check_object_list(problems: list[str], where: str, value: Any, what: str) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(
        isinstance(item, Mapping) and _is_id(item.get("id")) for item in value
    ):
        problems.append(
            f"{where} must be a list of {what} objects, each with a numeric id "
            f"(got {_shown(value)})"
        )


def _check_date(problems: list[str], where: str, value: Any) -> None:
    if value in (None, ""):
        return
    if not isinstance(value, str) or parse_iso_datetime(value) is None:
        problems.append(f"{where} must be an ISO 8601 date-time or null (got {_shown(value)})")


def payload_problems(payload: Mapping[str, Any], *, action: str = "") -> list[str]:
    """What is wrong with the shape of an application/candidate payload, in words that name
    the field; empty when it can be mapped. A signed body can still be malformed (a bug or a
    test on the sender's side): it must fail loudly, never become junk rows."""
    problems: list[str] = []
    app = payload.get("application")
    if app is not None:
        where = "payload.application"
        if not isinstance(app, Mapping):
            return [f"{where} must be an object (got {_shown(app)})"]
        if not _is_id(app.get("id")):
            problems.append(f"{where}.id must be a numeric id (got {_shown(app.get('id'))})")
        _check_object_list(problems, f"{where}.jobs", app.get("jobs"), "job")
        for index, job in enumerate(app.get("jobs") or []):
            if isinstance(job, Mapping):
                for key, what in (("offices", "office"), ("departments", "department")):
                    _check_object_list(problems, f"{where}.jobs[{index}].{key}", job.get(key), what)
        stage = app.get("current_stage")
        if stage is not None and not (isinstance(stage, Mapping) and _is_id(stage.get("id"))):
            problems.append(
                f"{where}.current_stage must be an object with a numeric id, or null "
                f"(got {_shown(stage)})"
            )
        status = app.get("status")
        if status is not None and not isinstance(status, str):
            problems.append(f"{where}.status must be a string (got {_shown(status)})")
        for key in ("applied_at", "last_activity_at", "rejected_at"):
            _check_date(problems, f"{where}.{key}", app.get(key))
        candidate = app.get("candidate")
        if candidate is not None and not (
            isinstance(candidate, Mapping) and _is_id(candidate.get("id"))
        ):
            problems.append(
                f"{where}.candidate must be an object with a numeric id (got {_shown(candidate)})"
            )
        # A deleted application is named by its id alone: there is nothing else to map.
        if (
            candidate is None
            and not _is_id(app.get("candidate_id"))
            and action != "delete_application"
        ):
            problems.append(f"{where} names no candidate (candidate.id or candidate_id)")
    candidate = payload.get("candidate")
    if candidate is not None and not (
        isinstance(candidate, Mapping) and _is_id(candidate.get("id"))
    ):
        problems.append(
            f"payload.candidate must be an object with a numeric id (got {_shown(candidate)})"
        )
    for key in ("email_addresses", "phone_numbers"):
        for where, holder in (
            ("payload.candidate", candidate),
            ("payload.application.candidate", app.get("candidate") if app else None),
        ):
            value = holder.get(key) if isinstance(holder, Mapping) else None
            if value is not None and not isinstance(value, list):
                problems.append(f"{where}.{key} must be a list (got {_shown(value)})")
    return problems


def parse_event(raw_body: bytes | str | Mapping[str, Any], *, event_id: str | None = None):
    """Parse a webhook body (raw bytes, text or decoded dict) into a :class:`GreenhouseEvent`.

    Raises :class:`InvalidPayload` naming every field of the wrong shape."""
    envelope = _envelope(raw_body)
    action = envelope["action"]
    payload = envelope.get("payload") or {}
    if not isinstance(payload, Mapping):
        raise InvalidPayload("The webhook payload is not an object.")
    problems = payload_problems(payload, action=action)
    if problems:
        raise InvalidPayload("The webhook payload has the wrong shape: " + "; ".join(problems))

    application = candidate = None
    merged_into = deleted_candidate = deleted_application = None
    job_ids: list[str] = []

    job = None
    offices: dict[str, ExtOffice] = {}
    departments: dict[str, ExtDepartment] = {}
    app_data = payload.get("application")
    if isinstance(app_data, Mapping) and app_data.get("id") is not None:
        cand_data = app_data.get("candidate")
        cand_id = _str_id(cand_data)
        application = application_from_payload(app_data, candidate_id=cand_id)
        job_ids = [i for i in (_str_id(j) for j in app_data.get("jobs") or []) if i]
        job_data = next(
            (j for j in app_data.get("jobs") or [] if _str_id(j) == application.job_external_id),
            None,
        )
        if job_data is not None:
            # The same mapper as the poll, so the job keeps its offices and departments.
            job = job_from_payload(job_data)
            for item in job_data.get("offices") or []:
                offices.setdefault(str(item["id"]), office_from_payload(item))
            for item in job_data.get("departments") or []:
                departments.setdefault(str(item["id"]), department_from_payload(item))
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
        job=job,
        offices=list(offices.values()),
        departments=list(departments.values()),
        supported=action in SUPPORTED_ACTIONS,
        raw=envelope,
    )


# The actions that describe an application as it is now (and the ones that create one).
APPLICATION_ACTIONS = frozenset(
    {
        "candidate_stage_change",
        "new_candidate_application",
        "new_prospect_application",
        "application_updated",
        "hire_candidate",
        "unhire_candidate",
        "reject_candidate",
        "unreject_candidate",
    }
)
NEW_APPLICATION_ACTIONS = frozenset({"new_candidate_application", "new_prospect_application"})


def parse_stored(
    raw_body: str, *, event_id: str, url: str = "", received_at=None
) -> list[AtsEvent]:
    """A stored delivery as vendor-neutral events (:mod:`integrations.events`); empty for a
    ping or an action we do not apply. Greenhouse signs the whole body, so its data is used
    as it is. Raises :class:`InvalidPayload` naming every field of the wrong shape."""
    parsed = parse_event(raw_body, event_id=event_id)
    action = parsed.action
    if action in APPLICATION_ACTIONS and parsed.application is not None:
        raw_jobs = ((parsed.raw.get("payload") or {}).get("application") or {}).get("jobs") or []
        raw_job: Mapping[str, Any] = (
            next((j for j in raw_jobs if str(j.get("id")) == parsed.job.external_id), {})
            if parsed.job is not None
            else {}
        )
        return [
            ApplicationChanged(
                event_id=event_id,
                occurred_at=parsed.application.last_activity_at,
                application=parsed.application,
                candidate=parsed.candidate,
                new_application=action in NEW_APPLICATION_ACTIONS,
                job=parsed.job,
                job_name=next(
                    (str(j.get("name") or "") for j in raw_jobs if isinstance(j, dict)), ""
                ),
                offices=parsed.offices,
                departments=parsed.departments,
                job_offices_known="offices" in raw_job,
                job_departments_known="departments" in raw_job,
            )
        ]
    if action == "merge_candidate" and parsed.candidate and parsed.merged_into:
        return [
            CandidatesMerged(
                event_id=event_id, loser=parsed.candidate, winner_id=parsed.merged_into
            )
        ]
    if action == "delete_candidate" and parsed.deleted_candidate_id:
        return [CandidateDeleted(event_id=event_id, candidate_id=parsed.deleted_candidate_id)]
    if action == "delete_application" and parsed.deleted_application_id:
        return [ApplicationDeleted(event_id=event_id, application_id=parsed.deleted_application_id)]
    if action == "update_candidate" and parsed.candidate is not None:
        return [CandidateChanged(event_id=event_id, candidate=parsed.candidate)]
    return []
