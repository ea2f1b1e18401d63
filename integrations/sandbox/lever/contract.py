"""What the fake Lever promises: sandbox credentials, limits, the error shape and request
parsing shared by every part."""

from __future__ import annotations

import json

from werkzeug.wrappers import Request

DEFAULT_API_KEY = "sandbox-lever-key"


DEFAULT_CLIENT_ID = "sandbox-lever-client"


DEFAULT_CLIENT_SECRET = "sandbox-lever-secret"


MAX_FILE_BYTES = 30 * 1024 * 1024


HIRED_REASON_TEXT = "Hired"


class LeverError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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
