"""Merge context: the merge fields' values for one candidate, read from the ATS mirror, or
sample values for previews without a candidate."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db.models import F, OuterRef, Subquery

from candidates.models import Application, AtsUser, Department, Office

from .merge_fields import FIELDS_BY_PATH, GROUPS, MERGE_FIELDS, TOP_LEVEL
from .rendering import _complete

# The organization's opt-out footer is one of its messaging preferences (Settings → Messaging).
# Messaging sits above the Library, so it hands the Library a function that reads it when the
# app starts (``messaging.apps``); until then ``{{ opt_out_text }}`` renders empty.
_opt_out_source: Callable[[Any], str] | None = None


def provide_opt_out_text(source: Callable[[Any], str]) -> None:
    """Set the function that gives an organization's opt-out text (``source(organization)``)."""
    global _opt_out_source
    _opt_out_source = source


def _opt_out_text(organization) -> str:
    return _opt_out_source(organization) if _opt_out_source is not None else ""


_ROW_FIELDS = (
    "job__name",
    "stage__name",
    "stage_name",
    "office_name",
    "department_name",
    "recruiter_name",
    "recruiter_email",
)


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """What :func:`merge_contexts_prepared` read for the calls inside its block."""

    organization_id: int
    opt_out_text: str
    rows: dict[int, dict]  # application id → its row (candidate_id and _ROW_FIELDS)


_PREPARED: ContextVar[_Prepared | None] = ContextVar("merge_contexts_prepared", default=None)


def _with_mirror_values(applications, organization):
    """``applications`` annotated with the first office and department of their job and the
    job's recruiter (by name, then id)."""
    job = OuterRef("job_id")
    recruiters = AtsUser.objects.filter(organization=organization, recruiting_jobs=job).order_by(
        "name", "id"
    )
    return applications.annotate(
        office_name=Subquery(
            Office.objects.filter(organization=organization, jobs=job)
            .order_by("name", "id")
            .values("name")[:1]
        ),
        department_name=Subquery(
            Department.objects.filter(organization=organization, jobs=job)
            .order_by("name", "id")
            .values("name")[:1]
        ),
        recruiter_name=Subquery(recruiters.values("name")[:1]),
        recruiter_email=Subquery(recruiters.values("email")[:1]),
    )


@contextmanager
def merge_contexts_prepared(
    *, organization, application_ids: Iterable[int | None]
) -> Iterator[None]:
    """:func:`merge_context` calls inside the block for one of ``application_ids`` (a batch of
    journey steps' runs) take that application's row from one read for all of them, and the
    organization's opt-out text read once: two queries for the batch instead of two per call.
    Calls for other applications, or without one, read as usual."""
    ids = {pk for pk in application_ids if pk}
    rows = (
        _with_mirror_values(
            Application.objects.filter(
                organization=organization, pk__in=ids, deleted_at__isnull=True
            ),
            organization,
        ).values("id", "candidate_id", *_ROW_FIELDS)
        if ids
        else []
    )
    prepared = _Prepared(
        organization_id=organization.pk,
        opt_out_text=_opt_out_text(organization),
        rows={row["id"]: row for row in rows},
    )
    token = _PREPARED.set(prepared)
    try:
        yield
    finally:
        _PREPARED.reset(token)


def _row(organization, candidate, application, prepared: _Prepared | None) -> dict | None:
    if prepared is not None and application is not None and application.pk in prepared.rows:
        row = prepared.rows[application.pk]
        return row if row["candidate_id"] == candidate.pk else None
    applications = Application.objects.filter(
        organization=organization, candidate_id=candidate.pk, deleted_at__isnull=True
    )
    if application is not None:
        applications = applications.filter(pk=application.pk)
    return (
        _with_mirror_values(applications, organization)
        .order_by(F("last_activity_at").desc(nulls_last=True), "-id")
        .values(*_ROW_FIELDS)
        .first()
    )


def merge_context(*, organization, candidate, application=None, extra: dict | None = None) -> dict:
    """The merge fields for one candidate, as plain dicts, from the ATS mirror: the given
    application (default: the candidate's most recently active one) with its job, stage, first
    office and department and the job's recruiter. Two queries (none inside
    :func:`merge_contexts_prepared` for one of its applications). ``extra`` sets fields the
    caller knows (``scheduling_link``, ``interview_link``, or a ``recruiter`` dict); unknown
    keys are refused."""
    prepared = _PREPARED.get()
    if prepared is not None and prepared.organization_id != organization.pk:
        prepared = None
    first_name, last_name = candidate.first_name or "", candidate.last_name or ""
    context: dict[str, Any] = {
        "candidate": {
            "first_name": first_name,
            "last_name": last_name,
            "full_name": f"{first_name} {last_name}".strip(),
        },
        "company": {"name": organization.name},
        "opt_out_text": prepared.opt_out_text
        if prepared is not None
        else _opt_out_text(organization),
    }
    row = _row(organization, candidate, application, prepared)
    if row:
        context["job"] = {"name": row["job__name"]}
        context["stage"] = {"name": row["stage__name"] or row["stage_name"]}
        context["office"] = {"name": row["office_name"]}
        context["department"] = {"name": row["department_name"]}
        context["recruiter"] = {"name": row["recruiter_name"], "email": row["recruiter_email"]}
    return _with_extra(_complete(context), extra)


def _with_extra(context: dict, extra: dict | None) -> dict:
    for key, value in (extra or {}).items():
        if key in GROUPS and isinstance(value, dict):
            unknown = set(value) - set(GROUPS[key])
            if unknown:
                raise ValueError(f"Unknown merge fields {key}.{', '.join(sorted(unknown))}.")
            context[key] = {
                **context[key],
                **{k: "" if v is None else str(v) for k, v in value.items()},
            }
        elif key in TOP_LEVEL:
            context[key] = "" if value is None else str(value)
        else:
            raise ValueError(f"Unknown merge field {key!r}.")
    return context


def sample_context(organization, *, extra: dict | None = None) -> dict:
    """Sample values for previews without a candidate; the company and the opt-out text are
    the organization's own."""
    context: dict[str, Any] = {}
    for merge_field in MERGE_FIELDS:
        if len(merge_field.parts) == 2:
            group, key = merge_field.parts
            context.setdefault(group, {})[key] = merge_field.sample
        else:
            context[merge_field.path] = merge_field.sample
    context["company"]["name"] = organization.name
    context["opt_out_text"] = _opt_out_text(organization)
    return _with_extra(_complete(context), extra)


def sample_links() -> dict[str, str]:
    """The example links a preview shows for links that exist only once a message is sent."""
    return {path: FIELDS_BY_PATH[path].sample for path in ("scheduling_link", "interview_link")}
