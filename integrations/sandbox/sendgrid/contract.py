"""What the fake SendGrid promises: the sandbox key, error shapes, limits and the engagement
and suppression kinds."""

from __future__ import annotations

import base64
import re
import secrets

DEFAULT_API_KEY = "SG.sandbox-key"


HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.{}"


BAD_AUTH = {
    "errors": [
        {
            "field": None,
            "message": "The provided authorization grant is invalid, expired, or revoked",
        }
    ]
}


EMAIL_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


MAX_BYTES = 30 * 1024 * 1024


ENGAGEMENT = {
    "open",
    "click",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
    "group_resubscribe",
}


SUPPRESSING = {"bounce": "Bounced Address", "spamreport": "Spam Reporting Address",
               "unsubscribe": "Unsubscribed Address"}  # fmt: skip


class SendGridError(Exception):
    def __init__(self, status: int, errors: list[dict], headers: dict | None = None):
        super().__init__(errors[0]["message"] if errors else str(status))
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def error_item(message: str, field: str | None, help_key: str | None = None) -> dict:
    return {
        "message": message,
        "field": field,
        "help": HELP.format(help_key or field) if (help_key or field) else None,
    }


def b64id(n: int = 16) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(n)).decode().rstrip("=")
