"""All mutable state of the fake Cronofy: clients, users and their calendars, tokens,
channels, deliveries, limits and faults."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from integrations.sandbox._common import Faults, WebhookDispatcher, WindowLimiter
from integrations.sandbox.cronofy.authorization import AuthorizationMixin
from integrations.sandbox.cronofy.channels import ChannelsMixin
from integrations.sandbox.cronofy.conferencing import ConferencingMixin
from integrations.sandbox.cronofy.contract import (
    DATA_CENTERS,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_USERS,
    MEETINGS,
    MINUTE_LIMIT,
    RETRY_DELAYS,
    SECOND_LIMIT,
    iso,
    parse_time,
    stable_id,
)
from integrations.sandbox.cronofy.events import EventsMixin

# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


class CronofyState(AuthorizationMixin, EventsMixin, ChannelsMixin, ConferencingMixin):
    """Everything the fake knows; thread-safe through :attr:`lock`.

    ``anchor`` is the date busy blocks are seeded around (default: today, UTC); ``seed`` makes
    them reproducible. ``retry_scale`` shrinks notification retry delays.
    """

    def __init__(
        self,
        *,
        seed: int = 1,
        anchor: date | None = None,
        token_lifetime: float = 3600,
        service_account_token_lifetime: float = 1800,
        page_size: int = 50,
        retry_scale: float = 1 / 60,
        rate_per_second: int | None = SECOND_LIMIT,
        rate_per_minute: int | None = MINUTE_LIMIT,
        conferencing_delay: float = 0,
    ):
        self.lock = threading.RLock()
        self.seed = seed
        self.anchor = anchor or datetime.now(UTC).date()
        self.defaults = {
            "token_lifetime": token_lifetime,
            "service_account_token_lifetime": service_account_token_lifetime,
            "page_size": page_size,
            "rate_per_second": rate_per_second,
            "rate_per_minute": rate_per_minute,
            # Seconds before a requested conference has its join URL (reads say pending).
            "conferencing_delay": conferencing_delay,
        }
        self.retry_scale = retry_scale
        self.deliveries: list[dict] = []
        self.dispatcher = WebhookDispatcher(
            self.deliveries,
            RETRY_DELAYS,
            retry_scale,
            is_success=lambda status: 200 <= status < 300,
            user_agent="Cronofy",
        )
        self.faults = Faults()
        self.reset()

    # setup -------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.dispatcher.cancel_all()
            self.deliveries.clear()
            self.faults.clear()
            self.config = dict(self.defaults)
            self._limiters()
            self.clients: dict[str, dict] = {
                DEFAULT_CLIENT_ID: {"secrets": [DEFAULT_CLIENT_SECRET]}
            }
            self.users: dict[str, dict] = {}
            self.events: dict[str, dict] = {}  # event_uid -> event
            self.codes: dict[str, dict] = {}
            self.access_tokens: dict[str, dict] = {}
            self.refresh_tokens: dict[str, dict] = {}
            self.service_accounts: dict[str, dict] = {}
            self.channels: dict[str, dict] = {}
            self.pages: dict[str, dict] = {}
            self.writes: list[dict] = []
            for email, name, zone, dc in DEFAULT_USERS:
                self.add_user(email, name=name, zone=zone, data_center=dc)

    def _limiters(self) -> None:
        self.per_second = WindowLimiter(self.config["rate_per_second"], 1.0)
        self.per_minute = WindowLimiter(self.config["rate_per_minute"], 60.0)

    def configure(self, **values) -> dict:
        with self.lock:
            for key, value in values.items():
                if key not in self.config:
                    raise ValueError(f"Unknown setting {key!r}")
                self.config[key] = value
            self._limiters()
            return dict(self.config)

    def add_client(self, client_id: str, client_secret: str) -> None:
        with self.lock:
            self.clients[client_id] = {"secrets": [client_secret]}

    def set_client_secrets(self, client_id: str, secrets_: list[str]) -> None:
        """Active secrets, newest first: notifications carry one HMAC per secret."""
        if not secrets_:
            raise ValueError("A client needs at least one secret")
        with self.lock:
            self.clients[client_id]["secrets"] = list(secrets_)

    def check_client(self, client_id: str | None, client_secret: str | None) -> bool:
        client = self.clients.get(client_id or "")
        return bool(client and client_secret and client_secret in client["secrets"])

    def add_user(
        self, email: str, *, name: str = "", zone: str = "Europe/London", data_center: str = "us"
    ) -> dict:
        email = email.strip().lower()
        if data_center not in DATA_CENTERS:
            raise ValueError(f"Unknown data center {data_center!r}")
        ZoneInfo(zone)
        with self.lock:
            sub = stable_id("acc_", email)
            user = {
                "email": email,
                "name": name or email.split("@")[0].replace(".", " ").title(),
                "zone": zone,
                "data_center": data_center,
                "sub": sub,
                "profile_id": stable_id("pro_", email),
                "provider_name": "google",
                "calendars": [
                    {
                        "calendar_id": stable_id("cal_", email, "primary"),
                        "calendar_name": name or email,
                        "calendar_readonly": False,
                        "calendar_deleted": False,
                        "calendar_primary": True,
                    },
                    {
                        "calendar_id": stable_id("cal_", email, "holidays"),
                        "calendar_name": "Holidays",
                        "calendar_readonly": True,
                        "calendar_deleted": False,
                        "calendar_primary": False,
                    },
                ],
            }
            self.users[email] = user
            self._seed_events(user)
            return user

    def _seed_events(self, user: dict) -> None:
        rng = random.Random(f"{self.seed}:{user['email']}:{self.anchor.isoformat()}")
        zone = ZoneInfo(user["zone"])
        calendar_id = user["calendars"][0]["calendar_id"]
        created = datetime(self.anchor.year, self.anchor.month, self.anchor.day, tzinfo=UTC)
        for offset in range(-7, 43):
            day = self.anchor + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            if rng.random() < 0.04:
                self._store_event(
                    user,
                    calendar_id,
                    summary="Out of office",
                    start=day.isoformat(),
                    end=(day + timedelta(days=1)).isoformat(),
                    all_day=True,
                    uid=stable_id("evt_external_", user["email"], day.isoformat(), "ooo"),
                    created=created.timestamp(),
                )
                continue
            taken: list[tuple[int, int]] = []
            for number in range(rng.randint(2, 5)):
                length = rng.choice((30, 30, 45, 60, 60, 90))
                begin = rng.randrange(9 * 60, 18 * 60 - length + 1, 15)
                if any(begin < e and begin + length > s for s, e in taken):
                    continue
                taken.append((begin, begin + length))
                local = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
                start = local + timedelta(minutes=begin)
                self._store_event(
                    user,
                    calendar_id,
                    summary=rng.choice(MEETINGS),
                    start=start.timestamp(),
                    end=(start + timedelta(minutes=length)).timestamp(),
                    uid=stable_id("evt_external_", user["email"], day.isoformat(), str(number)),
                    tentative=rng.random() < 0.1,
                    created=created.timestamp(),
                )

    def _store_event(
        self,
        user: dict,
        calendar_id: str,
        *,
        summary: str,
        start,
        end,
        uid: str,
        all_day: bool = False,
        tentative: bool = False,
        created: float | None = None,
    ) -> dict:
        if all_day:
            start_ts, _ = parse_time(start, user["zone"])
            end_ts, _ = parse_time(end, user["zone"])
        else:
            start_ts, end_ts = float(start), float(end)
        now = time.time() if created is None else created
        event = {
            "event_uid": uid,
            "event_id": None,
            "client_id": None,
            "sub": user["sub"],
            "calendar_id": calendar_id,
            "summary": summary,
            "description": "",
            "location": None,
            "attendees": [],
            "start": start if all_day else start_ts,
            "end": end if all_day else end_ts,
            "start_ts": start_ts,
            "end_ts": end_ts,
            "all_day": all_day,
            "tzid": user["zone"],
            "transparency": "opaque",
            "participation_status": "tentative" if tentative else "accepted",
            "deleted": False,
            "created": now,
            "updated": now,
            "conferencing": None,
            "conference_due": None,
        }
        self.events[uid] = event
        return event

    # lookups -----------------------------------------------------------------------------
    def user(self, email: str) -> dict:
        try:
            return self.users[email.strip().lower()]
        except KeyError:
            raise KeyError(f"No sandbox user {email!r}") from None

    def user_by_sub(self, sub: str) -> dict | None:
        return next((u for u in self.users.values() if u["sub"] == sub), None)

    def calendar(self, user: dict, calendar_id: str) -> dict | None:
        return next((c for c in user["calendars"] if c["calendar_id"] == calendar_id), None)

    def managed_event(self, sub: str, calendar_id: str, client_id: str, event_id: str):
        uid = stable_id("evt_managed_", client_id, sub, calendar_id, event_id)
        return self.events.get(uid), uid

    def events_of(self, email: str, *, include_deleted: bool = True) -> list[dict]:
        """The person's events, earliest first: ``start``/``end`` as Cronofy writes them
        (``…Z`` or a date), ``start_ts``/``end_ts`` as epoch seconds."""
        sub = self.user(email)["sub"]
        with self.lock:
            mine = [e for e in self.events.values() if e["sub"] == sub]
            for event in mine:
                self.settle_conference(event)
            events = [self.snapshot(e) for e in mine if include_deleted or not e["deleted"]]
        return sorted(events, key=lambda e: e["start_ts"])

    @staticmethod
    def snapshot(event: dict) -> dict:
        out = dict(event)
        if not event["all_day"]:
            out["start"], out["end"] = iso(event["start_ts"]), iso(event["end_ts"])
        return out
