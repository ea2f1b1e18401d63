"""The calendar capability interface and the records calendar adapters exchange.

The docstrings of :class:`CalendarProvider` are the contract scheduling relies on. No Django
here: adapters are plain classes; the Django layer turns a stored connection into a
:class:`CalendarAccount`, passes an ``on_tokens`` callback that persists refreshed tokens, and
stores what comes out.

Events are keyed by *our* id (``event_id``): the first upsert of an id creates the event, later
ones update it, deleting an unknown id succeeds. So every write may be retried safely.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal

from integrations.http import (
    AuthError,
    CallRecord,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    Unreachable,
    ValidationFailed,
)

__all__ = [
    "AccountProfile",
    "Attendee",
    "AuthError",
    "BusyInterval",
    "CalendarAccount",
    "CalendarChanged",
    "CalendarErasureRequested",
    "CalendarEvent",
    "CalendarInfo",
    "CalendarProvider",
    "CallRecord",
    "Channel",
    "Conference",
    "ConferenceRequest",
    "EventChange",
    "NotFound",
    "OAuthTokens",
    "PermissionDenied",
    "ProviderError",
    "RateLimited",
    "TransientError",
    "Unreachable",
    "ValidationFailed",
]

BusyStatus = Literal["busy", "tentative"]


# --------------------------------------------------------------------------------------------
# Records (all datetimes timezone-aware)
# --------------------------------------------------------------------------------------------


@dataclass
class CalendarAccount:
    """One person's connected calendar account, as an adapter needs it.

    Mutable on purpose: when the adapter refreshes the tokens it updates this object and calls
    the ``on_tokens`` callback it was given, so the caller can persist the new ones (refresh
    tokens may rotate: the old one stops working once a new one is issued).
    ``label`` names the person in error messages ("ana@acme.com"); ``calendar_id`` is where our
    events go; ``tzid`` is the zone all-day free/busy dates are read in.
    """

    label: str
    access_token: str
    refresh_token: str = ""
    expires_at: datetime | None = None
    calendar_id: str = ""
    sub: str = ""
    tzid: str = "Etc/UTC"


@dataclass(frozen=True)
class OAuthTokens:
    """What a code exchange or refresh returned. ``sub`` identifies the calendar account (for
    a service account: ``service_account_id``); ``profile_*`` the linked calendar profile."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    scope: str = ""
    sub: str = ""
    profile_id: str = ""
    profile_name: str = ""
    provider_name: str = ""
    service_account_id: str = ""


@dataclass(frozen=True)
class CalendarInfo:
    calendar_id: str
    name: str
    profile_id: str = ""
    profile_name: str = ""
    provider_name: str = ""
    readonly: bool = False
    primary: bool = False
    deleted: bool = False

    @property
    def writable(self) -> bool:
        return not (self.readonly or self.deleted)


@dataclass(frozen=True)
class AccountProfile:
    """Who the token belongs to and which calendars it reaches."""

    sub: str
    email: str = ""
    name: str = ""
    tzid: str = ""
    calendars: tuple[CalendarInfo, ...] = ()

    def default_calendar(self) -> CalendarInfo | None:
        """The primary writable calendar, else the first writable one."""
        writable = [c for c in self.calendars if c.writable]
        primary = [c for c in writable if c.primary]
        return (primary or writable or [None])[0]


@dataclass(frozen=True)
class BusyInterval:
    """Time the person is not available. ``all_day`` blocks came as dates and were read in the
    account's zone."""

    start: datetime
    end: datetime
    status: BusyStatus = "busy"
    calendar_id: str = ""
    all_day: bool = False


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""


@dataclass(frozen=True)
class ConferenceRequest:
    """What an upserted event asks of the calendar service's conferencing: without
    ``join_url``, create a new conference with the account's default conferencing profile (the
    service does it asynchronously: read :meth:`CalendarProvider.event_conference` for the
    join URL); with ``join_url``, show that existing meeting as the event's conference."""

    join_url: str = ""
    provider_description: str = ""

    @property
    def create(self) -> bool:
        return not self.join_url


@dataclass(frozen=True)
class Conference:
    """An event's conference as the calendar service reports it. ``pending``: asked for and
    not created yet (the service keeps trying, e.g. while the conferencing profile is
    disconnected)."""

    pending: bool = False
    join_url: str = ""
    provider: str = ""

    @property
    def ready(self) -> bool:
        return bool(self.join_url) and not self.pending


@dataclass(frozen=True, kw_only=True)
class CalendarEvent:
    """An event we own in someone's calendar, keyed by our ``event_id`` (ASCII, ≤ 64 chars)."""

    event_id: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    location: str = ""
    url: str = ""
    attendees: Sequence[Attendee] = ()
    tzid: str = "Etc/UTC"
    reminder_minutes: Sequence[int] = ()
    # None: leave the event's conference as it is (a reschedule keeps the same conference).
    conference: ConferenceRequest | None = None


@dataclass(frozen=True)
class CalendarChanged:
    """A calendar provider's push notification, vendor-neutral: something changed in the
    calendar behind ``channel_id`` since ``changes_since`` (the notification carries no event
    data: read the changes). ``disconnected`` instead says the person's calendar account no
    longer lets us read it (the connection needs attention); ``conferencing_disconnected``
    that the account can no longer create video conferences (its conferencing profile lost
    its credentials), while its calendar still works."""

    channel_id: str
    changes_since: datetime | None = None
    disconnected: bool = False
    conferencing_disconnected: bool = False


@dataclass(frozen=True)
class CalendarErasureRequested:
    """The person behind the calendar account of ``channel_id`` asked the calendar provider to
    delete their data (a GDPR erasure request): forget everything we hold of that account."""

    channel_id: str


@dataclass(frozen=True)
class EventChange:
    """An event that changed since a notification's ``changes_since``.

    ``event_id`` is set for events we manage (our id), ``event_uid`` for every event.
    ``deleted`` is True when the event was removed (e.g. the interviewer deleted our interview).
    """

    event_uid: str
    event_id: str | None
    calendar_id: str
    deleted: bool
    start: datetime | None
    end: datetime | None
    summary: str = ""
    updated: datetime | None = None
    conference: Conference | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Channel:
    """A push-notification channel: changes to the account are POSTed to ``callback_url``."""

    channel_id: str
    callback_url: str
    calendar_ids: tuple[str, ...] = ()
    only_managed: bool = False


# --------------------------------------------------------------------------------------------
# The interface
# --------------------------------------------------------------------------------------------


class CalendarProvider(abc.ABC):
    """A calendar service for one organization (its application credentials).

    Every per-person method takes the person's :class:`CalendarAccount`. Adapters refresh an
    expired access token by themselves (once per call) and report new tokens through their
    ``on_tokens`` callback. Errors are :class:`ProviderError` subclasses: ``permanent`` ones
    (AuthError: the person must reconnect; PermissionDenied: a missing permission or plan;
    ValidationFailed: our data was refused; NotFound) need a person, RateLimited /
    TransientError / Unreachable may be retried later.
    """

    identifier: ClassVar[str]
    display_name: ClassVar[str]

    # -- connecting a person ---------------------------------------------------------------

    @abc.abstractmethod
    def authorization_url(self, *, redirect_uri: str, state: str, scope: str = "") -> str:
        """Where to send the person's browser to grant calendar access (OAuth code flow)."""

    @abc.abstractmethod
    def exchange_code(self, *, code: str, redirect_uri: str) -> OAuthTokens:
        """Trade an authorization code for tokens; ``redirect_uri`` must equal the one used."""

    @abc.abstractmethod
    def refresh(self, refresh_token: str) -> OAuthTokens:
        """New tokens from a refresh token (the returned refresh token replaces the old one)."""

    @abc.abstractmethod
    def account_profile(self, account: CalendarAccount) -> AccountProfile:
        """Who the account is and which calendars it has."""

    # -- reading and writing ---------------------------------------------------------------

    @abc.abstractmethod
    def free_busy(
        self, account: CalendarAccount, start: datetime, end: datetime
    ) -> list[BusyInterval]:
        """Busy and tentative time overlapping ``[start, end)``, clipped to it, sorted; all
        pages read. Includes the events we manage (booked interviews are busy time)."""

    @abc.abstractmethod
    def upsert_event(self, account: CalendarAccount, event: CalendarEvent) -> None:
        """Create or update our event ``event.event_id`` in the account's calendar."""

    @abc.abstractmethod
    def delete_event(self, account: CalendarAccount, event_id: str) -> None:
        """Delete our event; succeeds when it is already gone."""

    def event_conference(
        self, account: CalendarAccount, event_id: str, start: datetime, end: datetime
    ) -> Conference | None:
        """The conference of our event ``event_id`` (which takes place in ``[start, end)``),
        as the service reports it now; None when the event has none (or is not found). A
        service that cannot create conferences answers None."""
        return None

    @abc.abstractmethod
    def changed_events(self, account: CalendarAccount, since: datetime) -> list[EventChange]:
        """Events created, changed or deleted since ``since`` (what a change notification
        asks us to read), including deleted ones and the ones we manage."""

    # -- push notifications ----------------------------------------------------------------

    @abc.abstractmethod
    def create_channel(
        self,
        account: CalendarAccount,
        callback_url: str,
        *,
        calendar_ids: Sequence[str] = (),
        only_managed: bool = False,
    ) -> Channel:
        """Ask for change notifications to ``callback_url``."""

    @abc.abstractmethod
    def list_channels(self, account: CalendarAccount) -> list[Channel]:
        """The account's open channels."""

    @abc.abstractmethod
    def close_channel(self, account: CalendarAccount, channel_id: str) -> None:
        """Stop a channel."""
