"""Cronofy adapter: :class:`CalendarProvider` over ``pycronofy`` (see ``client.py``).

One instance per organization (its Cronofy application); the people are
:class:`CalendarAccount` objects. Access tokens are refreshed before they expire and once more
when Cronofy answers 401; new tokens go to ``on_tokens(account, tokens)`` (or a
``token_refresher`` that does the refresh under a lock, for workers sharing a connection —
Cronofy may rotate the refresh token, and a rotated one works once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrations.base import parse_iso_datetime
from integrations.calendars import (
    AccountProfile,
    BusyInterval,
    CalendarAccount,
    CalendarEvent,
    CalendarInfo,
    CalendarProvider,
    Channel,
    Conference,
    EventChange,
    OAuthTokens,
)
from integrations.cronofy.client import (
    DEFAULT_SCOPE,
    DEFAULT_TIMEOUT,
    SERVICE_ACCOUNT_SCOPE,
    CronofyClient,
)
from integrations.cronofy.webhooks import (
    Notification,
    ServiceAccountAuthorization,
    check_signature,
    parse_notification,
    parse_service_account_callback,
    verify_signature,
)
from integrations.http import AuthError, CallRecord, ValidationFailed
from integrations.registry import register

T = TypeVar("T")
REFRESH_MARGIN = timedelta(minutes=2)


def _config(config: Any, key: str, default: Any = "") -> Any:
    if isinstance(config, Mapping):
        return config.get(key, default) or default
    return getattr(config, key, default) or default


def _zone(tzid: str) -> ZoneInfo:
    try:
        return ZoneInfo(tzid or "Etc/UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Etc/UTC")


def parse_cronofy_time(value: Any, zone: ZoneInfo) -> tuple[datetime | None, bool]:
    """``(aware datetime, all_day)`` from a Cronofy time: ``…Z``, a date (midnight in ``zone``)
    or ``{"time": …, "tzid": …}``."""
    if isinstance(value, Mapping):
        return parse_cronofy_time(value.get("time"), _zone(str(value.get("tzid") or zone.key)))
    if not isinstance(value, str) or not value:
        return None, False
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, tzinfo=zone), True
    return parse_iso_datetime(value), False


def parse_conference(value: Any) -> Conference | None:
    """An event's ``conferencing`` as read from Cronofy: ``{"pending": true}`` while Cronofy
    creates the conference (asynchronously, after the 202 of the upsert; it keeps retrying
    while the conferencing profile's credentials fail), then ``{"provider_description",
    "join_url"}`` (``provider_name`` in some answers). None when the event has none."""
    if not isinstance(value, Mapping) or not value:
        return None
    if value.get("pending"):
        return Conference(pending=True)
    join_url = value.get("join_url")
    if not isinstance(join_url, str) or not join_url.startswith(("https://", "http://")):
        return None
    provider = value.get("provider_description") or value.get("provider_name") or ""
    return Conference(join_url=join_url, provider=str(provider))


@register("cronofy")
class CronofyProvider(CalendarProvider):
    """Cronofy for one organization.

    ``config`` (mapping or object): ``client_id``, ``client_secret``, ``previous_client_secret``
    (accepted on callbacks during a secret rotation), ``data_center`` (us, uk, de, au, ca, sg),
    ``api_base_url`` / ``app_base_url`` (overrides, for the sandbox).
    """

    identifier = "cronofy"
    display_name = "Cronofy"

    def __init__(
        self,
        config: Any,
        *,
        on_tokens: Callable[[CalendarAccount, OAuthTokens], Any] | None = None,
        token_refresher: Callable[[CalendarAccount], Any] | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_attempts: int = 3,
        on_call: Callable[[CallRecord], Any] | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = CronofyClient(
            client_id=_config(config, "client_id"),
            client_secret=_config(config, "client_secret"),
            data_center=_config(config, "data_center", "us"),
            api_base_url=_config(config, "api_base_url"),
            app_base_url=_config(config, "app_base_url"),
            timeout=timeout,
            max_attempts=max_attempts,
            on_call=on_call,
            sleep=sleep,
        )
        self.previous_client_secret = _config(config, "previous_client_secret")
        self.on_tokens = on_tokens
        self.token_refresher = token_refresher
        self.clock = clock

    # -- authorization ---------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, scope: str = "") -> str:
        return self.client.sdk().user_auth_link(
            redirect_uri, scope=scope or DEFAULT_SCOPE, state=state
        )

    def enterprise_connect_url(
        self, *, redirect_uri: str, state: str, delegated_scope: str = DEFAULT_SCOPE
    ) -> str:
        """Where an administrator authorizes a service account for the whole domain."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client.client_id,
                "redirect_uri": redirect_uri,
                "scope": SERVICE_ACCOUNT_SCOPE,
                "delegated_scope": delegated_scope,
                "state": state,
            }
        )
        return f"{self.client.app_base}/enterprise_connect/oauth/authorize?{query}"

    def _tokens(self, data: Mapping) -> OAuthTokens:
        profile = data.get("linking_profile") or {}
        return OAuthTokens(
            access_token=str(data["access_token"]),
            refresh_token=str(data.get("refresh_token") or ""),
            expires_at=self.clock() + timedelta(seconds=int(data.get("expires_in") or 3600)),
            scope=str(data.get("scope") or ""),
            sub=str(data.get("sub") or data.get("account_id") or ""),
            profile_id=str(profile.get("profile_id") or ""),
            profile_name=str(profile.get("profile_name") or ""),
            provider_name=str(profile.get("provider_name") or ""),
            service_account_id=str(data.get("service_account_id") or ""),
        )

    def exchange_code(self, *, code: str, redirect_uri: str) -> OAuthTokens:
        """For a person's code, an administrator's Enterprise Connect code, or a service-account
        authorization code (whose ``redirect_uri`` is the callback URL)."""
        data = self.client.token_request(
            grant_type="authorization_code", code=code, redirect_uri=redirect_uri
        )
        return self._tokens(data)

    def refresh(self, refresh_token: str) -> OAuthTokens:
        if not refresh_token:
            raise AuthError("There is no refresh token: connect the calendar again.")
        return self._tokens(
            self.client.token_request(grant_type="refresh_token", refresh_token=refresh_token)
        )

    def revoke(self, account: CalendarAccount) -> None:
        """Withdraw our access to the account (disconnecting it)."""
        self.client.sdk(account.access_token).revoke_authorization()

    def authorize_with_service_account(
        self,
        service_account: CalendarAccount,
        *,
        email: str,
        callback_url: str,
        state: str,
        scope: str = DEFAULT_SCOPE,
    ) -> None:
        """Ask Cronofy for access to ``email``'s calendar through Enterprise Connect. The answer
        comes later as a signed POST to ``callback_url`` (see
        :meth:`parse_service_account_callback`)."""
        self._call(
            service_account,
            lambda sdk: sdk.authorize_with_service_account(email, scope, callback_url, state),
        )

    # -- the token dance -------------------------------------------------------------------

    def reconnect_error(self, account: CalendarAccount, cause: Exception | None = None):
        """The error telling whoever reads it that ``account`` must be connected again."""
        detail = f" ({cause})" if cause else ""
        return AuthError(
            f"Cronofy no longer accepts the calendar connection of {account.label}{detail}. "
            f"{account.label} needs to connect their calendar again."
        )

    def refresh_account(self, account: CalendarAccount) -> None:
        """Refresh ``account``'s tokens in place and report them."""
        if self.token_refresher is not None:
            self.token_refresher(account)
            return
        if not account.refresh_token:
            raise self.reconnect_error(account)
        try:
            tokens = self.refresh(account.refresh_token)
        except AuthError as exc:
            raise self.reconnect_error(account, exc) from exc
        account.access_token = tokens.access_token
        account.refresh_token = tokens.refresh_token or account.refresh_token
        account.expires_at = tokens.expires_at
        if self.on_tokens is not None:
            self.on_tokens(account, tokens)

    def _call(self, account: CalendarAccount, operation: Callable[[Any], T]) -> T:
        if not account.access_token:
            raise self.reconnect_error(account)
        if account.expires_at is not None and account.expires_at - REFRESH_MARGIN <= self.clock():
            self.refresh_account(account)
        try:
            return operation(self.client.sdk(account.access_token))
        except AuthError as first:
            if not account.refresh_token and self.token_refresher is None:
                raise self.reconnect_error(account, first) from first
            self.refresh_account(account)
            try:
                return operation(self.client.sdk(account.access_token))
            except AuthError as again:
                raise self.reconnect_error(account, again) from again

    # -- reading ---------------------------------------------------------------------------

    def account_profile(self, account: CalendarAccount) -> AccountProfile:
        info = self._call(account, lambda sdk: sdk.userinfo())
        calendars = []
        data = info.get("cronofy.data") or {}
        for profile in data.get("profiles") or []:
            for calendar in profile.get("calendars") or []:
                calendars.append(
                    CalendarInfo(
                        calendar_id=str(calendar["calendar_id"]),
                        name=str(calendar.get("calendar_name") or ""),
                        profile_id=str(profile.get("profile_id") or ""),
                        profile_name=str(profile.get("profile_name") or ""),
                        provider_name=str(profile.get("provider_name") or ""),
                        readonly=bool(calendar.get("calendar_readonly")),
                        primary=bool(calendar.get("calendar_primary")),
                        deleted=bool(calendar.get("calendar_deleted")),
                    )
                )
        return AccountProfile(
            sub=str(info.get("sub") or ""),
            email=str(info.get("email") or ""),
            name=str(info.get("name") or ""),
            tzid=str(info.get("zoneinfo") or ""),
            calendars=tuple(calendars),
        )

    def free_busy(
        self, account: CalendarAccount, start: datetime, end: datetime
    ) -> list[BusyInterval]:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("free_busy needs timezone-aware start and end.")
        zone = _zone(account.tzid)
        # Cronofy takes dates (read in tzid, ``to`` exclusive): ask for whole days around the
        # range, then clip.
        first = start.astimezone(zone).date()
        last = end.astimezone(zone).date() + timedelta(days=1)
        items = self._call(
            account,
            lambda sdk: list(
                sdk.read_free_busy(
                    from_date=first, to_date=last, tzid=zone.key, include_managed=True
                )
            ),
        )
        out = []
        for item in items:
            status = item.get("free_busy_status")
            if status == "free":
                continue
            begin, all_day = parse_cronofy_time(item.get("start"), zone)
            finish, _ = parse_cronofy_time(item.get("end"), zone)
            if begin is None or finish is None or finish <= start or begin >= end:
                continue
            out.append(
                BusyInterval(
                    start=max(begin, start),
                    end=min(finish, end),
                    status="tentative" if status == "tentative" else "busy",
                    calendar_id=str(item.get("calendar_id") or ""),
                    all_day=all_day,
                )
            )
        out.sort(key=lambda block: (block.start, block.end))
        return out

    def changed_events(self, account: CalendarAccount, since: datetime) -> list[EventChange]:
        zone = _zone(account.tzid)
        items = self._call(
            account,
            lambda sdk: list(
                sdk.read_events(
                    last_modified=since,
                    include_deleted=True,
                    include_managed=True,
                    tzid="Etc/UTC",
                )
            ),
        )
        changes = []
        for item in items:
            begin, _ = parse_cronofy_time(item.get("start"), zone)
            finish, _ = parse_cronofy_time(item.get("end"), zone)
            changes.append(
                EventChange(
                    event_uid=str(item.get("event_uid") or ""),
                    event_id=str(item["event_id"]) if item.get("event_id") else None,
                    calendar_id=str(item.get("calendar_id") or ""),
                    deleted=bool(item.get("deleted")),
                    start=begin,
                    end=finish,
                    summary=str(item.get("summary") or ""),
                    updated=parse_iso_datetime(item.get("updated")),
                    conference=parse_conference(item.get("conferencing")),
                    raw=dict(item),
                )
            )
        return changes

    # -- writing ---------------------------------------------------------------------------

    def _calendar_id(self, account: CalendarAccount) -> str:
        if not account.calendar_id:
            raise ValidationFailed(
                f"No calendar is chosen for {account.label}'s interviews: connect their "
                "calendar again so one is picked."
            )
        return account.calendar_id

    def upsert_event(self, account: CalendarAccount, event: CalendarEvent) -> None:
        if event.end <= event.start:
            raise ValidationFailed(
                f"The event {event.event_id} ends before it starts; nothing was sent."
            )
        body: dict[str, Any] = {
            "event_id": event.event_id,
            "summary": event.summary,
            "description": event.description,
            "start": event.start,
            "end": event.end,
            "tzid": event.tzid or "Etc/UTC",
            "transparency": "opaque",
        }
        conference = event.conference
        # Cronofy fills the location with the conference's join URL where the calendar has no
        # conferencing field of its own, and asks that it is left blank for that.
        if event.location and not (conference is not None and conference.create):
            body["location"] = {"description": event.location}
        if event.url:
            body["url"] = event.url
        if conference is not None and conference.create:
            body["conferencing"] = {"profile_id": "default"}
        elif conference is not None:
            body["conferencing"] = {
                "profile_id": "explicit",
                "provider_description": conference.provider_description or "Video meeting",
                "join_url": conference.join_url,
            }
        if event.attendees:
            body["attendees"] = {
                "invite": [{"email": a.email, "display_name": a.name} for a in event.attendees]
            }
        if event.reminder_minutes:
            body["reminders"] = [{"minutes": int(m)} for m in event.reminder_minutes]
        calendar_id = self._calendar_id(account)
        self._call(account, lambda sdk: sdk.upsert_event(calendar_id, dict(body)))

    def event_conference(
        self, account: CalendarAccount, event_id: str, start: datetime, end: datetime
    ) -> Conference | None:
        """Cronofy answers an upsert with 202 and no body: the conference details appear on
        reads of the event, so read our events of the days around it and find ours."""
        calendar_id = self._calendar_id(account)
        first = start.astimezone(UTC).date() - timedelta(days=1)
        last = end.astimezone(UTC).date() + timedelta(days=2)
        items = self._call(
            account,
            lambda sdk: list(
                sdk.read_events(
                    calendar_ids=(calendar_id,),
                    from_date=first,
                    to_date=last,
                    tzid="Etc/UTC",
                    only_managed=True,
                    include_managed=True,
                )
            ),
        )
        for item in items:
            if item.get("event_id") == event_id and not item.get("deleted"):
                return parse_conference(item.get("conferencing"))
        return None

    def delete_event(self, account: CalendarAccount, event_id: str) -> None:
        calendar_id = self._calendar_id(account)
        self._call(account, lambda sdk: sdk.delete_event(calendar_id, event_id))

    # -- push notifications ----------------------------------------------------------------

    @staticmethod
    def _channel(data: Mapping) -> Channel:
        filters = data.get("filters") or {}
        return Channel(
            channel_id=str(data["channel_id"]),
            callback_url=str(data.get("callback_url") or ""),
            calendar_ids=tuple(filters.get("calendar_ids") or ()),
            only_managed=bool(filters.get("only_managed")),
        )

    def create_channel(
        self,
        account: CalendarAccount,
        callback_url: str,
        *,
        calendar_ids: Sequence[str] = (),
        only_managed: bool = False,
    ) -> Channel:
        data = self._call(
            account,
            lambda sdk: sdk.create_notification_channel(
                callback_url, calendar_ids=tuple(calendar_ids), only_managed=only_managed
            ),
        )
        return self._channel(data)

    def list_channels(self, account: CalendarAccount) -> list[Channel]:
        data = self._call(account, lambda sdk: sdk.list_notification_channels())
        return [self._channel(item) for item in data]

    def close_channel(self, account: CalendarAccount, channel_id: str) -> None:
        self._call(account, lambda sdk: sdk.close_notification_channel(channel_id))

    # -- callbacks -------------------------------------------------------------------------

    @property
    def webhook_secrets(self) -> list[str]:
        return [s for s in (self.client.client_secret, self.previous_client_secret) if s]

    def verify_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        """True when the callback is signed with the current or previous client secret."""
        return verify_signature(raw_body, _header(headers), self.webhook_secrets)

    def check_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> None:
        """Like :meth:`verify_webhook` but raises ``InvalidSignature`` saying what is wrong."""
        check_signature(
            raw_body,
            _header(headers),
            secret=self.client.client_secret,
            previous_secret=self.previous_client_secret,
        )

    def parse_notification(self, raw_body: bytes) -> Notification:
        return parse_notification(raw_body)

    def parse_service_account_callback(self, raw_body: bytes) -> ServiceAccountAuthorization:
        return parse_service_account_callback(raw_body)


def _header(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Cronofy-HMAC-SHA256")
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == "cronofy-hmac-sha256":
            return candidate
    return None
