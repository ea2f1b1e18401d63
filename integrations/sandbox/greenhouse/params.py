"""Request parsing shared by the Harvest endpoints."""

from __future__ import annotations

import json

from werkzeug.wrappers import Request

from integrations.sandbox.atsdata import parse_iso
from integrations.sandbox.greenhouse.contract import ApiError, validation_error

# ---------------------------------------------------------------------------------------------
# HTTP layer
# ---------------------------------------------------------------------------------------------


def int_param(args, name: str, default: int | None = None) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise validation_error(name, "Must be an integer") from None


def time_param(args, name: str) -> float | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise validation_error(name, "Must be an ISO-8601 timestamp") from None


def in_window(ts: float | None, after: float | None, before: float | None) -> bool:
    if after is not None and (ts is None or ts < after):
        return False
    return not (before is not None and (ts is None or ts >= before))


def read_json(request: Request) -> dict:
    data = request.get_data(cache=True)
    if not data:
        return {}
    try:
        body = json.loads(data)
    except ValueError:
        raise ApiError(400, {"message": "Malformed JSON body"}) from None
    if not isinstance(body, dict):
        raise ApiError(400, {"message": "Expected a JSON object"})
    return body
