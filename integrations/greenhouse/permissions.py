"""The Harvest permissions RecruitFlow needs, named exactly as Greenhouse's Dev Center shows them.

Greenhouse grants Harvest keys per endpoint ("Configure → Dev Center → API Credential
Management → Manage permissions"), grouped by resource. ``resource`` and ``name`` below are the
group and the checkbox label, so "Test connection" can say precisely which box to tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProbeKind = Literal["list", "retrieve", "write"]


@dataclass(frozen=True)
class RequiredPermission:
    resource: str
    name: str
    why: str
    method: str
    # Path templates: ``{candidate_id}``/``{application_id}`` are filled from a listed record, or
    # with a non-existent id (0) when nothing is listed.
    v1_path: str
    v3_path: str | None
    kind: ProbeKind = "list"

    @property
    def label(self) -> str:
        return f"{self.resource} → {self.name}"


REQUIRED_PERMISSIONS: tuple[RequiredPermission, ...] = (
    RequiredPermission(
        "Candidates",
        "GET: List Candidates",
        "to sync candidates (names, e-mails, phone numbers, tags)",
        "GET",
        "/v1/candidates",
        "/v3/candidates",
    ),
    RequiredPermission(
        "Candidates",
        "GET: Retrieve Candidate",
        "to refresh one candidate when a webhook arrives",
        "GET",
        "/v1/candidates/{candidate_id}",
        "/v3/candidates/{candidate_id}",
        "retrieve",
    ),
    RequiredPermission(
        "Candidates",
        "PATCH: Edit Candidate",
        "to write the video interview link into a candidate custom field",
        "PATCH",
        "/v1/candidates/{candidate_id}",
        None,
        "write",
    ),
    RequiredPermission(
        "Candidates",
        "POST: Add Attachment",
        "to attach SMS transcripts and interview files to the candidate",
        "POST",
        "/v1/candidates/{candidate_id}/attachments",
        None,
        "write",
    ),
    RequiredPermission(
        "Candidates",
        "POST: Add Note",
        "to log journey steps (texts sent, bookings) on the activity feed",
        "POST",
        "/v1/candidates/{candidate_id}/activity_feed/notes",
        None,
        "write",
    ),
    RequiredPermission(
        "Candidates",
        "POST: Add E-mail",
        "to copy e-mails sent to candidates onto the activity feed",
        "POST",
        "/v1/candidates/{candidate_id}/activity_feed/emails",
        None,
        "write",
    ),
    RequiredPermission(
        "Applications",
        "GET: List Applications",
        "to sync which stage each candidate is in (this triggers journeys)",
        "GET",
        "/v1/applications",
        "/v3/applications",
    ),
    RequiredPermission(
        "Applications",
        "GET: Retrieve Application",
        "to refresh one application when a stage-change webhook arrives",
        "GET",
        "/v1/applications/{application_id}",
        "/v3/applications/{application_id}",
        "retrieve",
    ),
    RequiredPermission(
        "Activity Feed",
        "GET: Retrieve Activity Feed",
        "to avoid writing the same note twice",
        "GET",
        "/v1/candidates/{candidate_id}/activity_feed",
        "/v3/notes",
    ),
    RequiredPermission(
        "Jobs",
        "GET: List Jobs",
        "to offer jobs as journey criteria and show job names",
        "GET",
        "/v1/jobs",
        "/v3/jobs",
    ),
    RequiredPermission(
        "Job Stages",
        "GET: List job stages",
        "to offer stages as journey triggers",
        "GET",
        "/v1/job_stages",
        "/v3/job_stages",
    ),
    RequiredPermission(
        "Departments",
        "GET: List Departments",
        "to offer departments as journey criteria",
        "GET",
        "/v1/departments",
        "/v3/departments",
    ),
    RequiredPermission(
        "Offices",
        "GET: List Offices",
        "to pick the candidate's time zone and offer offices as criteria",
        "GET",
        "/v1/offices",
        "/v3/offices",
    ),
    RequiredPermission(
        "Users",
        "GET: List Users",
        "to match recruiters and coordinators to RecruitFlow users",
        "GET",
        "/v1/users",
        "/v3/users",
    ),
    RequiredPermission(
        "User Roles",
        "GET: List User Roles",
        "to tell recruiters, coordinators and hiring managers apart",
        "GET",
        "/v1/user_roles",
        "/v3/user_roles",
    ),
    RequiredPermission(
        "Custom Fields",
        "GET: Get custom fields",
        "to find the candidate field that holds the video interview link",
        "GET",
        "/v1/custom_fields/candidate",
        "/v3/custom_fields",
    ),
    RequiredPermission(
        "Sources",
        "GET: List sources",
        "to offer application sources as journey criteria",
        "GET",
        "/v1/sources",
        "/v3/sources",
    ),
    RequiredPermission(
        "Tags",
        "GET: List candidate tags",
        "to offer candidate tags as journey criteria",
        "GET",
        "/v1/tags/candidate",
        "/v3/tags",
    ),
)


def permission_for(method: str, path: str) -> RequiredPermission | None:
    """The permission a Harvest request needs (by method and path, ids in any segment; a
    prefix before ``/v1``/``/v3`` is ignored), so an error can name the exact checkbox to
    tick; None for requests not listed here."""
    segments = [s for s in path.split("/") if s]
    for perm in REQUIRED_PERMISSIONS:
        if perm.method != method.upper():
            continue
        for template in (perm.v1_path, perm.v3_path):
            wanted = [s for s in (template or "").split("/") if s]
            tail = segments[-len(wanted) :] if wanted and len(segments) >= len(wanted) else []
            if tail and all(
                w == s or (w.startswith("{") and w.endswith("}"))
                for w, s in zip(wanted, tail, strict=True)
            ):
                return perm
    return None
