"""Cronofy callbacks: signature checks and parsing (no Django).

Every Cronofy callback — push notifications and Enterprise Connect authorization results — is
signed the same way: ``Cronofy-HMAC-SHA256`` is the Base64 HMAC-SHA256 of the raw body keyed
with the application's client secret. While a client secret is being rotated Cronofy signs with
every active secret and sends the values comma-separated; we accept the request when any value
matches the current or the previous secret we hold.

Notifications carry no event data and no id: a ``change`` says "read what changed since
``changes_since``". They may be delivered more than once, so dedupe on
:func:`dedupe_key` (channel and ``changes_since``). A stored notification becomes the
vendor-neutral :class:`integrations.calendars.CalendarChanged` (:func:`parse_stored`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from integrations.base import parse_iso_datetime
from integrations.calendars import CalendarChanged, CalendarErasureRequested

SIGNATURE_HEADER = "Cronofy-HMAC-SHA256"
KNOWN_TYPES = frozenset(
    {
        "verification",
        "change",
        "profile_disconnected",
        "conferencing_profile_disconnected",
        "profile_initial_sync_completed",
        "gdpr_requested",
    }
)

# The types whose stored notification becomes a record to apply (parse_stored); the others are
# kept as ignored.
APPLIED_TYPES = frozenset(
    {"change", "profile_disconnected", "conferencing_profile_disconnected", "gdpr_requested"}
)


class InvalidSignature(Exception):
    """The callback is not provably from Cronofy; the message says why and what to check."""


class InvalidPayload(ValueError):
    """The (authentic) callback body is not what Cronofy documents."""


def signature(raw_body: bytes, secret: str) -> str:
    """The ``Cronofy-HMAC-SHA256`` value for ``raw_body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(raw_body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """True when any comma-separated value of ``header`` is the HMAC of the exact body bytes
    under any of ``secrets``. Never raises for a bad or missing header."""
    if not header:
        return False
    offered = [value.strip().encode() for value in header.split(",") if value.strip()]
    expected = [signature(raw_body, secret).encode() for secret in secrets if secret]
    return any(hmac.compare_digest(o, e) for o in offered for e in expected)


def check_signature(
    raw_body: bytes, header: str | None, *, secret: str, previous_secret: str = ""
) -> None:
    """Raise :class:`InvalidSignature` with the reason unless the request is authentic."""
    if not secret:
        raise InvalidSignature(
            "Cronofy is not set up for this organization: add the application's client secret "
            "in Settings → Calendars."
        )
    if not header or not header.strip():
        raise InvalidSignature(
            f"The request has no {SIGNATURE_HEADER} header, so it was not sent by Cronofy."
        )
    if not verify_signature(raw_body, header, [secret, previous_secret]):
        raise InvalidSignature(
            f"The {SIGNATURE_HEADER} signature matches neither the client secret stored in "
            "Settings → Calendars nor the previous one. If the client secret was "
            "changed in the Cronofy developer dashboard, paste the new one there (keep the old "
            "one as the previous secret until the change is complete)."
        )


# --------------------------------------------------------------------------------------------
# Push notifications
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """One push notification. ``type`` may be one we do not know yet: log and ignore those."""

    type: str
    channel_id: str
    changes_since: datetime | None = None
    callback_url: str = ""
    calendar_ids: tuple[str, ...] = ()
    raw: Mapping = field(default_factory=dict, repr=False, compare=False)

    @property
    def known(self) -> bool:
        return self.type in KNOWN_TYPES

    @property
    def applies(self) -> bool:
        """Whether the stored notification has something to apply (see :func:`parse_stored`)."""
        return self.type in APPLIED_TYPES

    @property
    def is_change(self) -> bool:
        return self.type == "change"


def _load(raw_body: bytes) -> Mapping:
    try:
        data = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidPayload(f"The callback body is not JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise InvalidPayload("The callback body is not a JSON object.")
    return data


def parse_notification(raw_body: bytes) -> Notification:
    """The notification in an (already verified) push request."""
    data = _load(raw_body)
    notification = data.get("notification")
    channel = data.get("channel") or {}
    if not isinstance(notification, Mapping) or not notification.get("type"):
        raise InvalidPayload(
            "The callback has no notification.type: it is not a push notification."
        )
    if not isinstance(channel, Mapping) or not channel.get("channel_id"):
        raise InvalidPayload("The push notification names no channel.channel_id.")
    since = notification.get("changes_since")
    changes_since = parse_iso_datetime(since) if isinstance(since, str) else None
    if notification["type"] == "change" and changes_since is None:
        raise InvalidPayload("A change notification needs changes_since (an ISO 8601 time).")
    if not isinstance(notification["type"], str):
        raise InvalidPayload('notification.type must be a string such as "change".')
    if not isinstance(channel["channel_id"], str | int):
        raise InvalidPayload('channel.channel_id must be a string such as "chn_…".')
    if since is not None and not isinstance(since, str):
        raise InvalidPayload("notification.changes_since must be an ISO 8601 time string.")
    filters = channel.get("filters")
    if filters is None:
        filters = {}
    if not isinstance(filters, Mapping):
        raise InvalidPayload(
            'channel.filters must be an object such as {"calendar_ids": ["cal_…"]}.'
        )
    calendar_ids = filters.get("calendar_ids")
    if calendar_ids is None:
        calendar_ids = []
    if not isinstance(calendar_ids, list) or not all(isinstance(c, str) for c in calendar_ids):
        raise InvalidPayload("channel.filters.calendar_ids must be a list of calendar id strings.")
    callback_url = channel.get("callback_url")
    if callback_url is not None and not isinstance(callback_url, str):
        raise InvalidPayload("channel.callback_url must be a string.")
    return Notification(
        type=notification["type"],
        channel_id=str(channel["channel_id"]),
        changes_since=changes_since,
        callback_url=callback_url or "",
        calendar_ids=tuple(calendar_ids),
        raw=data,
    )


def dedupe_key(notification: Notification) -> str:
    """What identifies a delivery (Cronofy sends no id; redeliveries repeat these)."""
    since = notification.changes_since.isoformat() if notification.changes_since else "-"
    return f"{notification.channel_id}:{notification.type}:{since}"


def parse_stored(
    raw_body: str, *, url: str, received_at: datetime, event_id: str = ""
) -> list[CalendarChanged | CalendarErasureRequested]:
    """A stored push notification as vendor-neutral records: a ``change`` (read the calendar's
    changes), a ``profile_disconnected`` or a ``conferencing_profile_disconnected`` (the
    account's video conferencing lost its credentials; the calendar itself still works);
    a ``gdpr_requested`` (the account's owner asked Cronofy to delete their data: we delete
    ours); nothing for the other types (a channel's verification, types we do not know)."""
    notification = parse_notification(raw_body.encode("utf-8"))
    if notification.type == "gdpr_requested":
        return [CalendarErasureRequested(channel_id=notification.channel_id)]
    if notification.type == "profile_disconnected":
        return [CalendarChanged(channel_id=notification.channel_id, disconnected=True)]
    if notification.type == "conferencing_profile_disconnected":
        return [CalendarChanged(channel_id=notification.channel_id, conferencing_disconnected=True)]
    if notification.is_change:
        return [
            CalendarChanged(
                channel_id=notification.channel_id, changes_since=notification.changes_since
            )
        ]
    return []


# --------------------------------------------------------------------------------------------
# Enterprise Connect: the result of authorizing one person's calendar by e-mail
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceAccountAuthorization:
    """``code`` to redeem (with the callback URL as ``redirect_uri``), or why it failed."""

    state: str = ""
    code: str = ""
    error: str = ""
    error_key: str = ""
    error_description: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.code) and not self.error

    @property
    def reason(self) -> str:
        """The failure in words for the recruiter."""
        detail = self.error_description or self.error_key or self.error or "no reason given"
        return f"Cronofy could not authorize the calendar through Enterprise Connect: {detail}."


def parse_service_account_callback(raw_body: bytes) -> ServiceAccountAuthorization:
    """The (already verified) result POSTed to a service-account authorization's callback_url:
    ``{"authorization": {"code", "state"}}`` or ``{"authorization": {"error", "error_key",
    "error_description", "state"}}``."""
    data = _load(raw_body)
    result = data.get("authorization")
    if not isinstance(result, Mapping):
        raise InvalidPayload("The callback has no authorization object.")
    parsed = ServiceAccountAuthorization(
        state=str(result.get("state") or ""),
        code=str(result.get("code") or ""),
        error=str(result.get("error") or ""),
        error_key=str(result.get("error_key") or ""),
        error_description=str(result.get("error_description") or ""),
    )
    if not parsed.code and not parsed.error:
        raise InvalidPayload("The authorization result has neither a code nor an error.")
    return parsed
