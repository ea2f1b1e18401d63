"""What the fake Cronofy promises: credentials, data centers, scopes, limits, error shapes,
and the time, signing and id helpers every part uses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.wrappers import Request

DEFAULT_CLIENT_ID = "sandbox-cronofy-client"


DEFAULT_CLIENT_SECRET = "CRN_sandbox_cronofy_secret"


DATA_CENTERS = ("us", "uk", "de", "au", "ca", "sg")


ENTERPRISE_DOMAIN = "sandbox.test"


DEFAULT_USERS = (
    ("ana.interviewer@sandbox.test", "Ana Interviewer", "Europe/London", "us"),
    ("ben.hiring@sandbox.test", "Ben Hiring", "America/New_York", "us"),
    ("chloe.panel@sandbox.test", "Chloé Panel", "Europe/Berlin", "us"),
    ("dev.uk@sandbox.test", "Dev Patel", "Europe/London", "uk"),
)


SCOPES = frozenset(
    {
        "read_account",
        "list_calendars",
        "read_events",
        "create_event",
        "delete_event",
        "read_free_busy",
        "create_calendar",
        "change_participation_status",
        "read_only",
        "write_only",
        "read_write",
        "free_busy",
        "free_busy_write",
    }
)


SERVICE_ACCOUNT_SCOPES = frozenset(
    {
        "service_account/accounts/manage",
        "service_account/accounts/unrestricted_access",
        "service_account/resources/manage",
        "service_account/resources/unrestricted_access",
    }
)


# Which granted scopes allow what.
NEEDS = {
    "free_busy": {
        "read_free_busy",
        "read_events",
        "read_only",
        "read_write",
        "free_busy",
        "free_busy_write",
    },
    "events": {"read_events", "read_only", "read_write"},
    "write": {"create_event", "write_only", "read_write", "free_busy_write"},
    "delete": {"delete_event", "write_only", "read_write", "free_busy_write"},
    "calendars": {
        "list_calendars",
        "read_account",
        "read_events",
        "read_only",
        "read_write",
        "free_busy",
        "free_busy_write",
        "read_free_busy",
    },
}


MEETINGS = (
    "Team stand-up",
    "1:1",
    "Pipeline review",
    "Customer call",
    "Hiring sync",
    "Design review",
    "Lunch",
    "Interview debrief",
    "Quarterly planning",
)


CODE_TTL_S = 300


CHANNEL_LIMIT = 128


SECOND_LIMIT, MINUTE_LIMIT = 50, 500


RETRY_DELAYS = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600]


TZID_RE = re.compile(r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)*$")


class CronofyError(Exception):
    def __init__(self, status: int, body=None, headers: dict | None = None):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def field_error(status: int, field: str, key: str, description: str) -> CronofyError:
    """Cronofy's 422 shape: ``{"errors": {field: [{"key", "description"}]}}``."""
    return CronofyError(status, {"errors": {field: [{"key": key, "description": description}]}})


def oauth_error(error: str, description: str, status: int = 400) -> CronofyError:
    return CronofyError(status, {"error": error, "error_description": description})


def iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value, tzid: str | None = None) -> tuple[float, bool]:
    """``(epoch, all_day)`` from a Cronofy time: ``…Z``/offset string, ``YYYY-MM-DD`` (a date,
    read in ``tzid``) or ``{"time": …, "tzid": …}``."""
    if isinstance(value, dict):
        return parse_time(value.get("time"), value.get("tzid") or tzid)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("missing")
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        zone = ZoneInfo(tzid or "Etc/UTC")
        return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp(), True
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return parsed.timestamp(), False


def truthy(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def sign(body: bytes, secrets_: list[str]) -> str:
    """The ``Cronofy-HMAC-SHA256`` header for ``body``: one HMAC per active secret."""
    return ",".join(
        base64.b64encode(hmac.new(s.encode(), body, hashlib.sha256).digest()).decode()
        for s in secrets_
    )


def stable_id(prefix: str, *parts: str, length: int = 24) -> str:
    digest = hashlib.sha1(":".join(parts).encode()).hexdigest()  # noqa: S324 - ids, not security
    return prefix + digest[:length]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise field_error(
            422, "tzid", "errors.unknown_tzid", f"{name} is not a known tzid"
        ) from None


def read_body(request: Request) -> dict:
    """A JSON or form body as a dict (Cronofy accepts both)."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return request.form.to_dict()
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise CronofyError(
            400, {"error": "invalid_request", "error_description": "Malformed JSON"}
        ) from None
    return data if isinstance(data, dict) else {"_": data}
