"""What the fake Lever promises: sandbox credentials, limits, the error shape and request
parsing shared by every part."""

from __future__ import annotations

import json

from werkzeug.wrappers import Request

DEFAULT_API_KEY = "sandbox-lever-key"

# A key made without the note and file write permissions: Lever answers its note and file
# writes with 403 (the account's settings do not allow the operation).
LIMITED_API_KEY = "sandbox-lever-limited"

# The write permissions the fake enforces, by endpoint: an API key's grants, or an OAuth
# token's scopes, must hold the one its write needs.
WRITE_PERMISSIONS = {
    "create_note": "notes:write:admin",
    "upload_file": "files:write:admin",
}

# The read scopes the fake enforces on OAuth tokens, by endpoint: a token must hold the one its
# note or file read needs (API keys' reads are not checked).
READ_SCOPES = {
    "list_notes": "notes:read:admin",
    "list_files": "files:read:admin",
    "download_file": "files:read:admin",
}


DEFAULT_CLIENT_ID = "sandbox-lever-client"


DEFAULT_CLIENT_SECRET = "sandbox-lever-secret"


MAX_FILE_BYTES = 30 * 1024 * 1024

# Uploaded files up to this size are kept across restarts of the sandbox (in its saved state).
PERSISTED_FILE_BYTES = 2 * 1024 * 1024


HIRED_REASON_TEXT = "Hired"


class LeverError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def forbidden(permission: str) -> LeverError:
    """Lever's 403 with its ``{code, message}`` body. The status and the body's shape are
    documented; the code and wording of a missing permission are not [U]."""
    return LeverError(
        403,
        "ForbiddenError",
        f"Your API credentials do not have permission for this operation ({permission}). "
        "Ask a Super Admin to grant it.",
    )


def bad_request(message: str) -> LeverError:
    return LeverError(400, "BadRequestError", message)


def not_found(kind: str, ident) -> LeverError:
    return LeverError(404, "ResourceNotFound", f"{kind} {ident} was not found")


def read_json(request: Request) -> dict:
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    return body


def ms_param(args, name: str) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be a timestamp in milliseconds") from None
