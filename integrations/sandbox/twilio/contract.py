"""What the fake Twilio promises: sandbox credentials and numbers, outcomes, error codes and
the public fields of a Message."""

from __future__ import annotations

import re
from datetime import UTC, datetime

DEFAULT_ACCOUNT_SID = "ACsandbox00000000000000000000000000"


DEFAULT_AUTH_TOKEN = "sandbox-auth-token"


DEFAULT_SERVICE_SID = "MGsandbox00000000000000000000000000"


DEFAULT_SERVICE_NUMBER = "+15005550100"


DEFAULT_NUMBER = "+15005550199"


API_VERSION = "2010-04-01"


TWIML_MESSAGE_RE = re.compile(r"<Message\b[^>]*>(.*?)</Message>", re.S)


DEFAULT_OUTCOMES = {
    "0000": ("undelivered", 30003),
    "0005": ("undelivered", 30005),
    "0006": ("failed", 30006),
    "0007": ("undelivered", 30007),
}


ERROR_MESSAGES = {
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    21610: "Attempt to send to unsubscribed recipient",
}


TERMINAL = {"delivered", "undelivered", "failed", "read", "canceled", "received"}


AUTO_REPLIES = {
    "STOP": "You have successfully been unsubscribed. You will not receive any more messages "
    "from this number. Reply START to resubscribe.",
    "START": "You have successfully been re-subscribed to messages from this number. Reply HELP "
    "for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "HELP": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}


PUBLIC_FIELDS = (
    "account_sid",
    "api_version",
    "body",
    "date_created",
    "date_sent",
    "date_updated",
    "direction",
    "error_code",
    "error_message",
    "from",
    "messaging_service_sid",
    "num_media",
    "num_segments",
    "price",
    "price_unit",
    "sid",
    "status",
    "subresource_uris",
    "to",
    "uri",
)


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    @property
    def body(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


def parse_date(value: str) -> float | None:
    value = value.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"):
        try:
            dt = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
