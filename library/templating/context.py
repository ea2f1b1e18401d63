"""Merge context: the merge fields' values for one candidate, read from the ATS mirror, or
sample values for previews without a candidate."""

from __future__ import annotations

from collections.abc import Callable
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


def merge_context(*, organization, candidate, application=None, extra: dict | None = None) -> dict:
    """The merge fields for one candidate, as plain dicts, from the ATS mirror: the given
    application (default: the candidate's most recently active one) with its job, stage, first
    office and department and the job's recruiter. Two queries. ``extra`` sets fields the
    caller knows (``scheduling_link``, ``interview_link``, or a ``recruiter`` dict); unknown
    keys are refused."""
    first_name, last_name = candidate.first_name or "", candidate.last_name or ""
    context: dict[str, Any] = {
        "candidate": {
            "first_name": first_name,
            "last_name": last_name,
            "full_name": f"{first_name} {last_name}".strip(),
        },
        "company": {"name": organization.name},
        "opt_out_text": _opt_out_text(organization),
    }
    applications = Application.objects.filter(
        organization=organization, candidate_id=candidate.pk, deleted_at__isnull=True
    )
    if application is not None:
        applications = applications.filter(pk=application.pk)
    job = OuterRef("job_id")
    recruiters = AtsUser.objects.filter(organization=organization, recruiting_jobs=job).order_by(
        "name", "id"
    )
    row = (
        applications.annotate(
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
        .order_by(F("last_activity_at").desc(nulls_last=True), "-id")
        .values(
            "job__name",
            "stage__name",
            "stage_name",
            "office_name",
            "department_name",
            "recruiter_name",
            "recruiter_email",
        )
        .first()
    )
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
