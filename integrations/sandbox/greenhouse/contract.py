"""What the fake Greenhouse promises: v1 grants, v3 scopes, sandbox credentials, error bodies."""

from __future__ import annotations

ALL_V1_PERMISSIONS = [
    "GET: List Candidates",
    "GET: Retrieve Candidate",
    "PATCH: Edit Candidate",
    "POST: Add Candidate",
    "POST: Add Attachment",
    "POST: Add Application",
    "POST: Add Note",
    "POST: Add E-mail",
    "GET: List Applications",
    "GET: Retrieve Application",
    "POST: Advance Application",
    "POST: Move Application",
    "POST: Reject Application",
    "POST: Unreject Application",
    "POST: Hire Application",
    "GET: Retrieve Activity Feed",
    "GET: List Jobs",
    "GET: Retrieve Job",
    "GET: List job stages",
    "GET: List job stages for job",
    "GET: Retrieve job stage",
    "GET: List Departments",
    "GET: Retrieve Department",
    "GET: List Offices",
    "GET: Retrieve Office",
    "GET: List Users",
    "GET: Retrieve User",
    "GET: List User Roles",
    "GET: Get custom fields",
    "GET: List sources",
    "GET: List candidate tags",
    "GET: List tags applied to candidate",
]


V3_RESOURCES = [
    "departments",
    "offices",
    "jobs",
    "job_stages",
    "users",
    "user_roles",
    "custom_fields",
    "sources",
    "tags",
    "candidates",
    "applications",
    "notes",
]


ALL_V3_SCOPES = [f"harvest:{r}:list" for r in V3_RESOURCES] + ["harvest:notes:create"]


DEFAULT_V1_KEY = "sandbox-harvest-key"


LIMITED_V1_KEY = "sandbox-harvest-limited"


DEFAULT_V3_CLIENT_ID = "sandbox-client-id"


DEFAULT_V3_CLIENT_SECRET = "sandbox-client-secret"


NOT_FOUND = {"message": "Resource not found"}


BAD_AUTH = {"message": "Invalid Basic Auth credentials"}


NO_PERMISSION = {"message": "This API Key does not have permission for this endpoint"}


ATTACHMENT_CONTENT_TYPES = {
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/plain",
    "application/rtf",
    "text/rtf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "application/vnd.oasis.opendocument.text",
}


# Attachments sent as content up to this size are kept across restarts of the sandbox.
PERSISTED_ATTACHMENT_BYTES = 2 * 1024 * 1024


CURSOR_ERROR = {"errors": ["When passing a cursor, do not include other query params."]}


class ApiError(Exception):
    def __init__(self, status: int, body, headers: dict | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(
        422, {"message": "Validation error", "errors": [{"message": message, "field": field}]}
    )
