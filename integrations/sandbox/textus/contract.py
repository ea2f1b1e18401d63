"""What the fake TextUs promises: the sandbox token and accounts, the JSON-LD media type,
webhook actions, phone formats and the error shape."""

from __future__ import annotations

import json
import re
import secrets
import string

from werkzeug.wrappers import Response

from integrations.sandbox.phone import is_e164

DEFAULT_TOKEN = "textus-sandbox-token"


DEFAULT_ACCOUNTS = {"acme-talent": "+13035550100", "acme-sales": "+13035550101"}


MEDIA_TYPE = "application/vnd.textus+jsonld"


ALL_ACTIONS = (
    "message.received",
    "message.delivered",
    "message.failed",
    "contact.opted_out",
    "contact.opted_in",
)


FAIL_SUFFIXES = ("0000", "0006")


_ALPHABET = string.ascii_letters + string.digits


def random_id(n: int = 6) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def normalize_phone(value) -> str | None:
    """E.164 from ``+13035550100``, ``3035550100`` or ``(303) 555-0100``; None if invalid."""
    if not isinstance(value, str):
        return None
    raw = value.strip()
    if is_e164(raw):
        return raw
    digits = re.sub(r"[\s().\-]", "", raw)
    if digits.startswith("+") and is_e164(digits):
        return digits
    if digits.isdigit() and len(digits) == 10 and digits[0] not in "01":
        return "+1" + digits
    if digits.isdigit() and len(digits) == 11 and digits[0] == "1":
        return "+" + digits
    return None


def formatted(phone: str) -> str:
    if phone.startswith("+1") and len(phone) == 12:
        return f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"
    return phone


class TextUsError(Exception):
    def __init__(self, status: int, description: str, headers: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}

    @property
    def body(self) -> dict:
        return {
            "@context": "/contexts/Error",
            "@type": "hydra:Error",
            "hydra:title": "An error occurred",
            "hydra:description": self.description,
        }


def jsonld(data, status: int = 200, headers: dict | None = None) -> Response:
    resp = Response(
        json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        status=status,
        content_type=f"{MEDIA_TYPE}; charset=utf-8",
    )
    for k, v in (headers or {}).items():
        resp.headers[k] = str(v)
    return resp
