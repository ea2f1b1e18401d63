"""The Email Activity API's query language (``field="value" AND ...``) over stored mail."""

from __future__ import annotations

import re
import time

from integrations.sandbox.sendgrid.contract import SendGridError, error_item

_AND_RE = re.compile(r"\s+AND\s+", re.I)


_CONDITION_RE = re.compile(
    r"""^\(?\s*(?:unique_args\['(?P<arg>[^']+)'\]|(?P<field>[a-z_]+))\s*"""
    r"""(?:(?P<op>!=|=)\s*"(?P<value>[^"]*)"|LIKE\s*'(?P<prefix>[^'%]*)%')\s*\)?$""",
    re.I,
)


_ACTIVITY_FIELDS = {"msg_id", "to_email", "from_email", "subject", "status"}


def _activity_status(mail: dict, rcpt: dict) -> str:
    names = {e["event"] for e in mail["events"] if e["email"].lower() == rcpt["email"].lower()}
    if names & {"bounce", "dropped"}:
        return "not_delivered"
    if "delivered" in names:
        return "delivered"
    return "processed"


def _activity_row(mail: dict, rcpt: dict) -> dict:
    mine = [e for e in mail["events"] if e["email"].lower() == rcpt["email"].lower()]
    last = max((e["timestamp"] for e in mine), default=int(mail["received_at"]))
    return {
        "from_email": mail["from"]["email"],
        "msg_id": rcpt["sg_message_id"],
        "subject": rcpt["subject"],
        "to_email": rcpt["email"],
        "status": _activity_status(mail, rcpt),
        "opens_count": sum(1 for e in mine if e["event"] == "open"),
        "clicks_count": sum(1 for e in mine if e["event"] == "click"),
        "last_event_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last)),
    }


def _activity_condition(text: str):
    match = _CONDITION_RE.match(text.strip())
    field = (match.group("field") or "").lower() if match else ""
    if not match or (field and field not in _ACTIVITY_FIELDS):
        raise SendGridError(
            400, [error_item(f"invalid query: {text.strip()[:200]}", "query", "query")]
        )
    arg, op, value, prefix = (match.group(k) for k in ("arg", "op", "value", "prefix"))

    def check(row: dict, rcpt: dict) -> bool:
        actual = str(rcpt["custom_args"].get(arg, "")) if arg else str(row.get(field) or "")
        if prefix is not None:
            return actual.startswith(prefix)
        return (actual == value) if op == "=" else (actual != value)

    return check


class ActivityMixin:
    """Email Activity (part of :class:`SendGridState`)."""

    # email activity -----------------------------------------------------------------------------
    def activity(self, query: str, limit: int = 10) -> list[dict]:
        """The Email Activity API's ``GET /v3/messages``: recipients of stored (non-sandbox)
        mails matching ``query``, newest first.  Raises :class:`SendGridError`."""
        if not self.email_activity:
            raise SendGridError(403, [{"field": None, "message": "access forbidden"}])
        if not 1 <= limit <= 1000:
            raise SendGridError(
                400, [error_item("limit must be greater than 0 and at most 1000", "limit")]
            )
        conditions = [_activity_condition(part) for part in _AND_RE.split(query.strip())]
        rows = []
        with self.lock:
            for mail in sorted(self.mails.values(), key=lambda m: -m["received_at"]):
                if mail["sandbox_mode"]:
                    continue
                for rcpt in mail["recipients"]:
                    row = _activity_row(mail, rcpt)
                    if all(check(row, rcpt) for check in conditions):
                        rows.append(row)
        return rows[:limit]
