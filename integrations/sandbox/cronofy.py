"""Fake Cronofy calendar API with OAuth, Enterprise Connect and signed push notifications.

Mount the app anywhere (the sandbox server uses ``/cronofy``). One mount serves every data
center: ``{mount}`` plays ``api.cronofy.com`` *and* ``app.cronofy.com`` (US), ``{mount}/uk``
plays ``api-uk``/``app-uk`` and so on for ``de``, ``au``, ``ca``, ``sg``. An account lives in
one data center: its tokens are refused (401) by the others.

Default credentials
    OAuth client ``sandbox-cronofy-client`` / secret ``CRN_sandbox_cronofy_secret`` (the secret
    also signs notifications). Users (password-less: pick one on the authorize page):
    ``ana.interviewer@sandbox.test`` (Europe/London), ``ben.hiring@sandbox.test``
    (America/New_York), ``chloe.panel@sandbox.test`` (Europe/Berlin) in ``us``, and
    ``dev.uk@sandbox.test`` (Europe/London) in ``uk``. Each has one primary calendar holding
    seeded busy blocks (seeded by e-mail: 09:00–18:00 local meetings on weekdays, the odd
    tentative one and all-day "Out of office", from a week before the anchor date to six weeks
    after it).

Authorization (as docs.cronofy.com/developers/api/authorization)
    ``GET /oauth/authorize?response_type=code&client_id&redirect_uri&scope&state`` shows a
    sign-in page; choosing a user and *Allow* redirects to ``redirect_uri?code=…&state=…``,
    *Deny* to ``?error=access_denied``. Unknown client or no redirect_uri → 400 page; no scope,
    an unknown scope or another response_type → redirect with ``error``.
    ``POST /oauth/token`` (JSON or form, client_id + client_secret in the body):
    ``authorization_code`` (single use, 5 minutes, same redirect_uri) →
    ``{token_type, access_token, expires_in, refresh_token, scope, account_id, sub,
    linking_profile{provider_name, profile_id, profile_name}}``; ``refresh_token`` → new tokens,
    and the refresh token **rotates** (the old one is dead). Failures: 400 ``{"error":
    "invalid_grant"|"invalid_client"|"unsupported_grant_type"|"invalid_request",
    "error_description"}``. ``POST /oauth/token/revoke``.
    Enterprise Connect: ``GET /enterprise_connect/oauth/authorize?…&scope=service_account/…
    &delegated_scope=…`` (the domain ``sandbox.test``), code → service-account tokens
    (``service_account_id``, 30 minutes). ``POST /v1/service_account_authorizations``
    (service-account token; one ``{email, callback_url, scope, state}`` or a batch) → 202, then
    a signed POST to ``callback_url``: ``{"authorization": {"code", "state"}}`` or
    ``{"authorization": {"error", "error_key", "error_description", "state"}}``. The code is
    redeemed at ``/oauth/token`` with the callback_url as ``redirect_uri``.

API (``Authorization: Bearer <access token>``; 401 unknown or expired token, 403 missing scope)
    ``GET /v1/userinfo``, ``GET /v1/account``, ``GET /v1/calendars``.
    ``GET /v1/free_busy?tzid=…&from=&to=&include_managed=&calendar_ids[]=`` (tzid required;
    dates read in tzid, ``to`` exclusive; defaults 42 days back / 201 ahead; managed events
    only with include_managed) and ``GET /v1/events`` (also ``last_modified``,
    ``include_deleted``, ``only_managed``) are paged (``page_size``, default 50):
    ``{"pages": {"current", "total", "next_page"}, …}``, next pages at ``…/pages/<token>``.
    ``POST /v1/calendars/{calendar_id}/events`` upserts by ``event_id`` (202, empty body);
    ``DELETE /v1/calendars/{calendar_id}/events`` with ``{"event_id"}`` or ``{"event_uid"}``
    (202, also when already gone). Invalid data → 422 ``{"errors": {field: [{"key",
    "description"}]}}``. ``GET|POST /v1/channels``, ``DELETE /v1/channels/{id}``: a new channel
    gets a ``verification`` notification; changes not made through the API (see the controls)
    send ``{"notification": {"type": "change", "changes_since"}, "channel": {…}}`` with
    ``Cronofy-HMAC-SHA256`` = base64 HMAC-SHA256 of the body with each active client secret,
    comma-separated. Non-2xx answers are retried (delays × ``retry_scale``).
    Rate limits per client and data center: 50 requests a second, 500 a minute → 429.
    Everything lives in memory: a restarted sandbox starts from the seeded calendars again.

Sandbox control (no auth) under ``{mount}/_sandbox/``
    ``/_sandbox/`` users, calendars and deliveries; ``/_sandbox/users/<email>`` the calendar
    with *Delete as interviewer* buttons. JSON: ``GET|POST api/config {token_lifetime,
    page_size, rate_per_second, rate_per_minute}``, ``POST api/clients {client_id,
    client_secret}``, ``POST api/clients/<id>/secrets {secrets: [...]}`` (rotation),
    ``GET|POST api/users``, ``GET api/users/<email>/events``, ``POST api/users/<email>/events
    {summary, start, end}`` (a busy block added by the person), ``POST
    api/users/<email>/events/delete {event_id | event_uid}`` and ``…/events/update {event_id |
    event_uid, start?, end?, summary?}`` (changes made by the person, as in their calendar
    app: channels are notified), ``POST api/users/<email>/expire_tokens``, ``GET api/channels``,
    ``GET api/deliveries``, ``GET|POST|DELETE api/faults {status, count, match?}``,
    ``POST api/reset``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import secrets
import threading
import time
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import (
    Faults,
    WebhookDispatcher,
    WindowLimiter,
    esc,
    json_response,
    redirect,
)
from integrations.sandbox.phone import page

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


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


class CronofyState:
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
            events = [
                self.snapshot(e)
                for e in self.events.values()
                if e["sub"] == sub and (include_deleted or not e["deleted"])
            ]
        return sorted(events, key=lambda e: e["start_ts"])

    @staticmethod
    def snapshot(event: dict) -> dict:
        out = dict(event)
        if not event["all_day"]:
            out["start"], out["end"] = iso(event["start_ts"]), iso(event["end_ts"])
        return out

    # tokens ------------------------------------------------------------------------------
    def issue_code(self, **info) -> str:
        code = secrets.token_urlsafe(24)[:32]
        with self.lock:
            self.codes[code] = {**info, "exp": time.time() + CODE_TTL_S}
        return code

    def _issue_tokens(self, grant: dict) -> dict:
        service = grant["kind"] == "service_account"
        lifetime = self.config["service_account_token_lifetime" if service else "token_lifetime"]
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        record = {key: grant[key] for key in ("kind", "client_id", "sub", "scope", "data_center")}
        self.access_tokens[access] = {**record, "exp": time.time() + float(lifetime)}
        self.refresh_tokens[refresh] = dict(record)
        body = {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": int(lifetime),
            "refresh_token": refresh,
            "scope": grant["scope"],
        }
        if service:
            body["service_account_id"] = grant["sub"]
        else:
            user = self.user_by_sub(grant["sub"])
            body.update(
                account_id=grant["sub"],
                sub=grant["sub"],
                linking_profile={
                    "provider_name": user["provider_name"],
                    "profile_id": user["profile_id"],
                    "profile_name": user["email"],
                },
            )
        return body

    def token_request(self, form: dict, data_center: str) -> dict:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        with self.lock:
            if not self.check_client(client_id, client_secret):
                raise oauth_error("invalid_client", "The client_id or client_secret is not valid")
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                info = self.codes.pop(form.get("code") or "", None)
                if info is None or info["exp"] < time.time() or info["client_id"] != client_id:
                    raise oauth_error(
                        "invalid_grant", "The code is unknown, has expired or was already used"
                    )
                if info["data_center"] != data_center:
                    raise oauth_error("invalid_grant", "The code was issued by another data center")
                if (form.get("redirect_uri") or "") != info["redirect_uri"]:
                    raise oauth_error(
                        "invalid_grant", "redirect_uri does not match the authorization request"
                    )
                self.writes.append({"op": "token", "grant": "authorization_code"})
                return self._issue_tokens(info)
            if grant_type == "refresh_token":
                info = self.refresh_tokens.get(form.get("refresh_token") or "")
                if info is None or info["client_id"] != client_id:
                    raise oauth_error("invalid_grant", "The refresh_token is unknown or revoked")
                if info["data_center"] != data_center:
                    raise oauth_error(
                        "invalid_grant", "The refresh_token belongs to another data center"
                    )
                del self.refresh_tokens[form["refresh_token"]]  # rotation: single use
                self.writes.append({"op": "token", "grant": "refresh_token"})
                return self._issue_tokens(info)
            if not grant_type:
                raise oauth_error("invalid_request", "grant_type is required")
            raise oauth_error("unsupported_grant_type", f"{grant_type} is not supported")

    def revoke(self, form: dict) -> None:
        with self.lock:
            if not self.check_client(form.get("client_id"), form.get("client_secret")):
                raise oauth_error("invalid_client", "The client_id or client_secret is not valid")
            token = form.get("token") or ""
            info = self.access_tokens.pop(token, None) or self.refresh_tokens.pop(token, None)
            if info:
                for store in (self.access_tokens, self.refresh_tokens):
                    for key in [k for k, v in store.items() if v["sub"] == info["sub"]]:
                        del store[key]

    def expire_tokens(self, email: str) -> int:
        sub = self.user(email)["sub"]
        with self.lock:
            expired = 0
            for info in self.access_tokens.values():
                if info["sub"] == sub:
                    info["exp"] = 0
                    expired += 1
            return expired

    def authenticate(self, token: str | None, data_center: str) -> dict:
        with self.lock:
            info = self.access_tokens.get(token or "")
            if info is None or info["exp"] < time.time() or info["data_center"] != data_center:
                raise CronofyError(401, None, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return dict(info)

    def rate_limit(self, client_id: str, data_center: str) -> None:
        key = f"{client_id}:{data_center}"
        allowed_second = self.per_second.hit(key)[0]
        allowed_minute = self.per_minute.hit(key)[0]
        if not (allowed_second and allowed_minute):
            raise CronofyError(429, None)

    # reading -----------------------------------------------------------------------------
    def query(self, token: dict, args, kind: str) -> list[dict]:
        """Items for free_busy or events (all pages), sorted by start."""
        user = self.user_by_sub(token["sub"])
        tzid = args.get("tzid")
        if not tzid:
            raise field_error(422, "tzid", "errors.required", "tzid must be specified")
        _zone(tzid)  # 422 for an unknown zone
        now = time.time()
        explicit = bool(args.get("from") or args.get("to"))
        try:
            lo = parse_time(args["from"], tzid)[0] if args.get("from") else now - 42 * 86400
        except (ValueError, KeyError):
            raise field_error(422, "from", "errors.invalid", "from must be a date") from None
        try:
            hi = parse_time(args["to"], tzid)[0] if args.get("to") else now + 201 * 86400
        except (ValueError, KeyError):
            raise field_error(422, "to", "errors.invalid", "to must be a date") from None
        calendar_ids = set(args.getlist("calendar_ids[]"))
        include_managed = truthy(args.get("include_managed", "false"))
        only_managed = truthy(args.get("only_managed", "false"))
        include_deleted = truthy(args.get("include_deleted", "false"))
        last_modified = None
        if args.get("last_modified"):
            try:
                last_modified = parse_time(args["last_modified"])[0]
            except ValueError:
                raise field_error(
                    422, "last_modified", "errors.invalid", "last_modified must be a time"
                ) from None
        items = []
        with self.lock:
            for event in self.events.values():
                if event["sub"] != user["sub"]:
                    continue
                if calendar_ids and event["calendar_id"] not in calendar_ids:
                    continue
                managed = event["client_id"] == token["client_id"]
                if (managed and not include_managed and not only_managed) or (
                    only_managed and not managed
                ):
                    continue
                if event["deleted"] and (kind == "free_busy" or not include_deleted):
                    continue
                if last_modified is not None and event["updated"] < last_modified:
                    continue
                # Managed events are not held to the default window, only to an explicit one.
                if (explicit or not managed) and not (
                    event["start_ts"] < hi and event["end_ts"] > lo
                ):
                    continue
                if kind == "free_busy" and event["transparency"] == "transparent":
                    continue
                items.append((event["start_ts"], self._render(event, kind, managed)))
        items.sort(key=lambda pair: pair[0])
        return [item for _, item in items]

    @staticmethod
    def _render(event: dict, kind: str, managed: bool) -> dict:
        start = event["start"] if event["all_day"] else iso(event["start_ts"])
        end = event["end"] if event["all_day"] else iso(event["end_ts"])
        if kind == "free_busy":
            status = "tentative" if event["participation_status"] == "tentative" else "busy"
            return {
                "calendar_id": event["calendar_id"],
                "start": start,
                "end": end,
                "free_busy_status": status,
            }
        item = {
            "calendar_id": event["calendar_id"],
            "event_uid": event["event_uid"],
            "summary": event["summary"],
            "description": event["description"],
            "start": start,
            "end": end,
            "deleted": event["deleted"],
            "created": iso(event["created"]),
            "updated": iso(event["updated"]),
            "participation_status": event["participation_status"],
            "transparency": event["transparency"],
            "status": "cancelled" if event["deleted"] else "confirmed",
            "attendees": event["attendees"],
            "categories": [],
            "recurring": False,
            "event_private": False,
            "options": {"delete": True, "update": True, "change_participation_status": True},
        }
        if event["location"]:
            item["location"] = event["location"]
        if managed:
            item["event_id"] = event["event_id"]
        return item

    def paged(self, token: dict, items: list[dict], key: str, base: str) -> dict:
        size = max(1, int(self.config["page_size"]))
        chunks = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
        total = len(chunks)
        with self.lock:
            tokens = [secrets.token_hex(12) for _ in range(total)]
            for number in range(1, total):
                self.pages[tokens[number]] = {
                    "sub": token["sub"],
                    "key": key,
                    "current": number + 1,
                    "total": total,
                    "items": chunks[number],
                    "next": tokens[number + 1] if number + 1 < total else None,
                    "base": base,
                }
        return self._page(key, 1, total, chunks[0], tokens[1] if total > 1 else None, base)

    @staticmethod
    def _page(key, current, total, items, next_token, base) -> dict:
        pages = {"current": current, "total": total}
        if next_token:
            pages["next_page"] = f"{base}/v1/{key}/pages/{next_token}"
        return {"pages": pages, key: items}

    def next_page(self, token: dict, key: str, page_token: str) -> dict:
        with self.lock:
            stored = self.pages.get(page_token)
            if stored is None or stored["sub"] != token["sub"] or stored["key"] != key:
                raise CronofyError(404, None)
            return self._page(
                key,
                stored["current"],
                stored["total"],
                stored["items"],
                stored["next"],
                stored["base"],
            )

    # writing through the API ---------------------------------------------------------------
    def upsert(self, token: dict, calendar_id: str, body) -> None:
        user = self.user_by_sub(token["sub"])
        calendar = self.calendar(user, calendar_id)
        if calendar is None or calendar["calendar_deleted"]:
            raise CronofyError(404, None)
        if not isinstance(body, dict):
            raise field_error(422, "event_id", "errors.required", "event_id must be specified")
        errors: dict[str, list] = {}

        def problem(name: str, key: str, description: str) -> None:
            errors.setdefault(name, []).append({"key": key, "description": description})

        event_id = body.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            problem("event_id", "errors.required", "event_id must be specified")
        elif len(event_id) > 64 or not event_id.isascii():
            problem("event_id", "errors.invalid", "event_id must be up to 64 ASCII characters")
        summary = body.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            problem("summary", "errors.required", "summary must be specified")
        elif len(summary) > 1024:
            problem("summary", "errors.too_long", "summary must be at most 1024 characters")
        description = body.get("description") or ""
        if not isinstance(description, str) or len(description) > 4096:
            problem("description", "errors.too_long", "description must be at most 4096 characters")
        tzid = body.get("tzid") or "Etc/UTC"
        times = {}
        for name in ("start", "end"):
            if body.get(name) in (None, ""):
                problem(name, "errors.required", f"{name} must be specified")
                continue
            try:
                times[name] = parse_time(body[name], tzid)
            except (ValueError, ZoneInfoNotFoundError):
                problem(
                    name, "errors.invalid", f"{name} must be a time such as 2026-01-19T09:00:00Z"
                )
        if len(times) == 2 and times["end"][0] <= times["start"][0]:
            problem("end", "errors.must_be_after_start", "end must be after start")
        if calendar["calendar_readonly"]:
            problem("calendar_id", "errors.calendar_readonly", "The calendar is read-only")
        attendees = body.get("attendees") or {}
        invite = attendees.get("invite", []) if isinstance(attendees, dict) else None
        if invite is None or any(
            not isinstance(a, dict) or "@" not in str(a.get("email", "")) for a in invite
        ):
            problem("attendees", "errors.invalid", "attendees.invite must list {email} objects")
        if errors:
            raise CronofyError(422, {"errors": errors})
        with self.lock:
            event, uid = self.managed_event(user["sub"], calendar_id, token["client_id"], event_id)
            all_day = times["start"][1]
            stored = self._store_event(
                user,
                calendar_id,
                summary=summary,
                start=body["start"] if all_day else times["start"][0],
                end=body["end"] if all_day else times["end"][0],
                uid=uid,
                all_day=all_day,
            )
            if event is not None:
                stored["created"] = event["created"]
            stored.update(
                event_id=event_id,
                client_id=token["client_id"],
                description=description,
                location=body.get("location") or None,
                attendees=[
                    {
                        "email": a["email"],
                        "display_name": a.get("display_name", ""),
                        "status": "needs_action",
                    }
                    for a in invite
                ],
                transparency=body.get("transparency") or "opaque",
                tzid=tzid,
            )
            self.writes.append({"op": "upsert", "event_id": event_id, "calendar_id": calendar_id})

    def delete(self, token: dict, calendar_id: str, body) -> None:
        user = self.user_by_sub(token["sub"])
        if self.calendar(user, calendar_id) is None:
            raise CronofyError(404, None)
        body = body if isinstance(body, dict) else {}
        with self.lock:
            if body.get("event_id"):
                event, _ = self.managed_event(
                    user["sub"], calendar_id, token["client_id"], str(body["event_id"])
                )
            elif body.get("event_uid"):
                event = self.events.get(str(body["event_uid"]))
                if event is not None and event["calendar_id"] != calendar_id:
                    event = None
            else:
                raise field_error(422, "event_id", "errors.required", "event_id must be specified")
            if event is not None and not event["deleted"]:
                event["deleted"] = True
                event["updated"] = time.time()
            self.writes.append({"op": "delete", "calendar_id": calendar_id, **body})

    # changes made by the person (their calendar app, not our API) --------------------------
    def add_busy(self, email: str, *, summary: str, start, end, calendar_id: str = "") -> dict:
        user = self.user(email)
        with self.lock:
            start_ts, all_day = (
                parse_time(start, user["zone"])
                if isinstance(start, str)
                else (float(start.timestamp() if isinstance(start, datetime) else start), False)
            )
            end_ts = (
                parse_time(end, user["zone"])[0]
                if isinstance(end, str)
                else float(end.timestamp() if isinstance(end, datetime) else end)
            )
            if end_ts <= start_ts:
                raise ValueError("end must be after start")
            calendar_id = calendar_id or user["calendars"][0]["calendar_id"]
            event = self._store_event(
                user,
                calendar_id,
                summary=summary,
                start=start if all_day else start_ts,
                end=end if all_day else end_ts,
                uid="evt_external_" + secrets.token_hex(10),
                all_day=all_day,
            )
            self._notify(user, event)
            return self.snapshot(event)

    def _find(self, user: dict, event_id: str | None, event_uid: str | None) -> dict:
        for event in self.events.values():
            if event["sub"] != user["sub"]:
                continue
            if (event_uid and event["event_uid"] == event_uid) or (
                event_id and event["event_id"] == event_id
            ):
                return event
        raise KeyError(f"No event {event_id or event_uid!r} in {user['email']}'s calendar")

    def delete_as_user(
        self, email: str, *, event_id: str | None = None, event_uid: str | None = None
    ) -> dict:
        """The person deletes an event in their calendar app (e.g. the interview we booked)."""
        user = self.user(email)
        with self.lock:
            event = self._find(user, event_id, event_uid)
            if not event["deleted"]:
                event["deleted"] = True
                event["updated"] = time.time()
                self._notify(user, event)
            return self.snapshot(event)

    def update_as_user(
        self,
        email: str,
        *,
        event_id: str | None = None,
        event_uid: str | None = None,
        start=None,
        end=None,
        summary: str | None = None,
    ) -> dict:
        """The person moves or renames an event in their calendar app."""
        user = self.user(email)
        with self.lock:
            event = self._find(user, event_id, event_uid)
            if start is not None:
                event["start_ts"] = parse_time(start)[0]
                event["start"] = event["start_ts"]
            if end is not None:
                event["end_ts"] = parse_time(end)[0]
                event["end"] = event["end_ts"]
            if summary is not None:
                event["summary"] = summary
            event["all_day"] = False if start is not None or end is not None else event["all_day"]
            event["updated"] = time.time()
            self._notify(user, event)
            return self.snapshot(event)

    # channels ------------------------------------------------------------------------------
    def create_channel(self, token: dict, body) -> dict:
        user = self.user_by_sub(token["sub"])
        body = body if isinstance(body, dict) else {}
        callback_url = body.get("callback_url")
        if not isinstance(callback_url, str) or not callback_url:
            raise field_error(
                422, "callback_url", "errors.required", "callback_url must be specified"
            )
        if not callback_url.startswith(("http://", "https://")):
            raise field_error(
                422, "callback_url", "errors.invalid", "callback_url must be an HTTP or HTTPS URL"
            )
        filters = body.get("filters") or {}
        calendar_ids = list(filters.get("calendar_ids") or [])
        for calendar_id in calendar_ids:
            if self.calendar(user, calendar_id) is None:
                raise field_error(
                    422,
                    "filters.calendar_ids",
                    "errors.unknown_calendar",
                    f"{calendar_id} is not a calendar of this account",
                )
        with self.lock:
            mine = [c for c in self.channels.values() if c["sub"] == user["sub"]]
            if len(mine) >= CHANNEL_LIMIT:
                raise field_error(
                    422,
                    "callback_url",
                    "errors.too_many_channels",
                    f"An account may have at most {CHANNEL_LIMIT} channels",
                )
            channel_id = "chn_" + secrets.token_hex(12)
            channel = {
                "channel_id": channel_id,
                "callback_url": callback_url,
                "filters": {
                    "calendar_ids": calendar_ids,
                    "only_managed": bool(filters.get("only_managed")),
                }
                if filters
                else {},
                "sub": user["sub"],
                "client_id": token["client_id"],
                "data_center": token["data_center"],
                "last_notified": time.time(),
            }
            self.channels[channel_id] = channel
        self._deliver(channel, {"notification": {"type": "verification"}})
        return {"channel": self._channel_json(channel)}

    @staticmethod
    def _channel_json(channel: dict) -> dict:
        out = {"channel_id": channel["channel_id"], "callback_url": channel["callback_url"]}
        if channel["filters"]:
            out["filters"] = channel["filters"]
        return out

    def list_channels(self, token: dict) -> dict:
        with self.lock:
            return {
                "channels": [
                    self._channel_json(c)
                    for c in self.channels.values()
                    if c["sub"] == token["sub"] and c["client_id"] == token["client_id"]
                ]
            }

    def close_channel(self, token: dict, channel_id: str) -> None:
        with self.lock:
            channel = self.channels.get(channel_id)
            if channel is None or channel["sub"] != token["sub"]:
                raise CronofyError(404, None)
            del self.channels[channel_id]

    def _notify(self, user: dict, event: dict) -> None:
        for channel in list(self.channels.values()):
            if channel["sub"] != user["sub"]:
                continue
            filters = channel["filters"]
            if filters.get("calendar_ids") and event["calendar_id"] not in filters["calendar_ids"]:
                continue
            if filters.get("only_managed") and event["client_id"] != channel["client_id"]:
                continue
            since = channel["last_notified"]
            channel["last_notified"] = event["updated"]
            self._deliver(
                channel, {"notification": {"type": "change", "changes_since": iso(since)}}
            )

    def _deliver(self, channel: dict, payload: dict) -> None:
        body = json.dumps({**payload, "channel": self._channel_json(channel)}).encode()
        self._post_signed(
            channel["client_id"],
            channel["callback_url"],
            body,
            {"channel_id": channel["channel_id"], "type": payload["notification"]["type"]},
        )

    def _post_signed(self, client_id: str, url: str, body: bytes, entry: dict) -> None:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Cronofy-HMAC-SHA256": sign(body, self.clients[client_id]["secrets"]),
        }
        self.dispatcher.submit(dict(entry), url, body, headers)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        return self.dispatcher.wait_idle(timeout)

    # Enterprise Connect --------------------------------------------------------------------
    def service_account_authorizations(self, token: dict, body) -> None:
        if token["kind"] != "service_account":
            raise CronofyError(403, None)
        service = self.service_accounts[token["sub"]]
        body = body if isinstance(body, dict) else {}
        entries = body.get("service_account_authorizations")
        if entries is not None and any(k in body for k in ("email", "callback_url")):
            raise field_error(
                422,
                "service_account_authorizations",
                "errors.invalid",
                "Use either one authorization or a batch, not both",
            )
        batch = entries if entries is not None else [body]
        if not isinstance(batch, list) or not 1 <= len(batch) <= 50:
            raise field_error(
                422,
                "service_account_authorizations",
                "errors.invalid",
                "A batch holds 1 to 50 authorizations",
            )
        for entry in batch:
            for name in ("email", "callback_url", "scope"):
                if not isinstance(entry, dict) or not entry.get(name):
                    raise field_error(422, name, "errors.required", f"{name} must be specified")
            asked = set(str(entry["scope"]).split())
            if not asked <= service["delegated"]:
                raise field_error(
                    422,
                    "scope",
                    "errors.not_delegated",
                    "scope must be within the delegated_scope the administrator granted",
                )
        for entry in batch:
            email = str(entry["email"]).strip().lower()
            user = self.users.get(email)
            state = entry.get("state") or body.get("state")
            if (
                user is None
                or not email.endswith("@" + service["domain"])
                or user["data_center"] != token["data_center"]
            ):
                result = {
                    "error": "access_denied",
                    "error_key": "unknown_account",
                    "error_description": (
                        f"No calendar for {email} in the domain {service['domain']}"
                    ),
                }
            else:
                code = self.issue_code(
                    kind="account",
                    client_id=token["client_id"],
                    sub=user["sub"],
                    scope=entry["scope"],
                    redirect_uri=entry["callback_url"],
                    data_center=token["data_center"],
                )
                result = {"code": code}
            if state is not None:
                result["state"] = state
            payload = json.dumps({"authorization": result}).encode()
            self._post_signed(
                token["client_id"],
                entry["callback_url"],
                payload,
                {"type": "service_account_authorization", "email": email},
            )


# --------------------------------------------------------------------------------------------
# The WSGI app
# --------------------------------------------------------------------------------------------

API_ROUTES = [
    ("GET", re.compile(r"^/v1/userinfo$"), "userinfo"),
    ("GET", re.compile(r"^/v1/account$"), "account"),
    ("GET", re.compile(r"^/v1/calendars$"), "calendars"),
    ("GET", re.compile(r"^/v1/free_busy$"), "free_busy"),
    ("GET", re.compile(r"^/v1/free_busy/pages/(?P<page>\w+)$"), "free_busy_page"),
    ("GET", re.compile(r"^/v1/events$"), "events"),
    ("GET", re.compile(r"^/v1/events/pages/(?P<page>\w+)$"), "events_page"),
    ("POST", re.compile(r"^/v1/calendars/(?P<calendar_id>[^/]+)/events$"), "upsert"),
    ("DELETE", re.compile(r"^/v1/calendars/(?P<calendar_id>[^/]+)/events$"), "delete"),
    ("GET", re.compile(r"^/v1/channels$"), "list_channels"),
    ("POST", re.compile(r"^/v1/channels$"), "create_channel"),
    ("DELETE", re.compile(r"^/v1/channels/(?P<channel_id>[^/]+)$"), "close_channel"),
    ("POST", re.compile(r"^/v1/service_account_authorizations$"), "service_account"),
]


def _body(request: Request) -> dict:
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


class CronofyApp:
    """WSGI application: the API and app hosts of every data center, plus the controls."""

    def __init__(self, state: CronofyState | None = None):
        self.state = state or CronofyState()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except CronofyError as exc:
            if exc.body is None:
                response = Response("", status=exc.status)
                for key, value in exc.headers.items():
                    response.headers[key] = value
            else:
                response = json_response(exc.body, exc.status, exc.headers)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox"):
            return self.sandbox(request, path)
        data_center, prefix = "us", ""
        parts = path.split("/", 2)
        if len(parts) > 1 and parts[1] in DATA_CENTERS and parts[1] != "us":
            data_center, prefix = parts[1], "/" + parts[1]
            path = "/" + (parts[2] if len(parts) > 2 else "")
        base = request.host_url.rstrip("/") + request.script_root + prefix
        fault = self.state.faults.take(path)
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["status"]:
                raise CronofyError(int(fault["status"]), None)
        if path.rstrip("/") == "/oauth/authorize":
            return self.authorize(request, data_center, base, enterprise=False)
        if path.rstrip("/") == "/enterprise_connect/oauth/authorize":
            return self.authorize(request, data_center, base, enterprise=True)
        if path == "/oauth/token" and request.method == "POST":
            form = _body(request)
            self.state.rate_limit(str(form.get("client_id")), data_center)
            return json_response(self.state.token_request(form, data_center))
        if path == "/oauth/token/revoke" and request.method == "POST":
            self.state.revoke(_body(request))
            return Response("", status=200)
        for method, pattern, name in API_ROUTES:
            match = pattern.match(path)
            if match and request.method == method:
                header = request.headers.get("Authorization", "")
                token = header[7:].strip() if header.lower().startswith("bearer ") else None
                info = self.state.authenticate(token, data_center)
                self.state.rate_limit(info["client_id"], data_center)
                return getattr(self, f"api_{name}")(request, info, base, **match.groupdict())
        raise CronofyError(404, None)

    # OAuth pages -------------------------------------------------------------------------
    def authorize(self, request: Request, data_center: str, base: str, *, enterprise: bool):
        st = self.state
        args = request.form if request.method == "POST" else request.args
        client_id, redirect_uri = args.get("client_id"), args.get("redirect_uri")
        title = "Sandbox Cronofy — Enterprise Connect" if enterprise else "Sandbox Cronofy"
        if client_id not in st.clients:
            return Response(
                page(
                    title,
                    "<p class='bad'>Unknown client_id: the application is not registered.</p>",
                ),
                status=400,
                mimetype="text/html",
            )
        if not redirect_uri or not redirect_uri.startswith(("http://", "https://")):
            return Response(
                page(title, "<p class='bad'>redirect_uri is missing or not an HTTP(S) URL.</p>"),
                status=400,
                mimetype="text/html",
            )
        state_value = args.get("state")
        sep = "&" if "?" in redirect_uri else "?"

        def back(**params) -> Response:
            if state_value is not None:
                params["state"] = state_value
            return redirect(f"{redirect_uri}{sep}{urllib.parse.urlencode(params)}", 302)

        if args.get("response_type") != "code":
            return back(error="unsupported_response_type")
        scope = (args.get("scope") or "").split()
        allowed = SERVICE_ACCOUNT_SCOPES if enterprise else SCOPES
        if not scope or not set(scope) <= allowed:
            return back(error="invalid_scope")
        delegated = (args.get("delegated_scope") or "").split()
        if enterprise and (not delegated or not set(delegated) <= SCOPES):
            return back(error="invalid_scope")
        if request.method == "GET":
            return self.authorize_page(request, data_center, enterprise, title)
        if args.get("decision") != "allow":
            return back(error="access_denied")
        if enterprise:
            domain = args.get("domain") or ENTERPRISE_DOMAIN
            service_id = stable_id("ser_", domain, data_center, client_id)
            with st.lock:
                st.service_accounts[service_id] = {
                    "domain": domain,
                    "delegated": set(delegated),
                    "data_center": data_center,
                }
            code = st.issue_code(
                kind="service_account",
                client_id=client_id,
                sub=service_id,
                scope=" ".join(scope),
                redirect_uri=redirect_uri,
                data_center=data_center,
            )
            return back(code=code)
        email = (args.get("email") or "").strip().lower()
        user = st.users.get(email)
        if user is None or user["data_center"] != data_center:
            return Response(
                page(title, f"<p class='bad'>No account {esc(email)} in this data center.</p>"),
                status=400,
                mimetype="text/html",
            )
        code = st.issue_code(
            kind="account",
            client_id=client_id,
            sub=user["sub"],
            scope=" ".join(scope),
            redirect_uri=redirect_uri,
            data_center=data_center,
        )
        return back(code=code)

    def authorize_page(self, request: Request, data_center: str, enterprise: bool, title: str):
        hidden = "".join(
            f"<input type='hidden' name='{esc(k)}' value='{esc(v)}'>"
            for k, v in request.args.items(multi=True)
        )
        if enterprise:
            choice = (
                f"<p>Authorize a service account for the domain <b>{ENTERPRISE_DOMAIN}</b> "
                f"(data center <b>{esc(data_center)}</b>). Calendars of every person in the "
                "domain may then be connected without asking them.</p>"
                f"<input type='hidden' name='domain' value='{ENTERPRISE_DOMAIN}'>"
            )
        else:
            users = [u for u in self.state.users.values() if u["data_center"] == data_center]
            options = "".join(
                f"<p><label><input type='radio' name='email' value='{esc(u['email'])}'"
                f"{' checked' if n == 0 else ''}> {esc(u['name'])} &lt;{esc(u['email'])}&gt; "
                f"<span class='muted'>({esc(u['zone'])})</span></label></p>"
                for n, u in enumerate(users)
            )
            choice = (
                f"<p>Sign in to connect your calendar (data center <b>{esc(data_center)}</b>). "
                f"The application asks for: <code>{esc(request.args.get('scope'))}</code></p>"
                + (options or "<p class='muted'>No sandbox users in this data center.</p>")
            )
        body = (
            f"<form method='post'>{hidden}{choice}"
            "<p><button type='submit' name='decision' value='allow'>Allow</button> "
            "<button type='submit' name='decision' value='deny'>Deny</button></p></form>"
        )
        return Response(page(title, body), mimetype="text/html")

    # API ---------------------------------------------------------------------------------
    def api_userinfo(self, request, token, base):
        st = self.state
        if token["kind"] == "service_account":
            service = st.service_accounts[token["sub"]]
            return json_response(
                {
                    "sub": token["sub"],
                    "cronofy.type": "service_account",
                    "cronofy.service_account.domain": service["domain"],
                }
            )
        user = st.user_by_sub(token["sub"])
        return json_response(
            {
                "sub": user["sub"],
                "cronofy.type": "account",
                "email": user["email"],
                "name": user["name"],
                "zoneinfo": user["zone"],
                "cronofy.data": {
                    "authorization": {"scope": token["scope"], "status": "active"},
                    "profiles": [
                        {
                            "provider_name": user["provider_name"],
                            "profile_id": user["profile_id"],
                            "profile_name": user["email"],
                            "profile_connected": True,
                            "profile_initial_sync_required": False,
                            "calendars": [self._calendar_json(user, c) for c in user["calendars"]],
                        }
                    ],
                },
            }
        )

    def api_account(self, request, token, base):
        user = self._account_user(token)
        return json_response(
            {
                "account": {
                    "account_id": user["sub"],
                    "email": user["email"],
                    "name": user["name"],
                    "default_tzid": user["zone"],
                }
            }
        )

    def _account_user(self, token) -> dict:
        if token["kind"] != "account":
            raise CronofyError(403, None)
        return self.state.user_by_sub(token["sub"])

    @staticmethod
    def _calendar_json(user: dict, calendar: dict) -> dict:
        return {
            "provider_name": user["provider_name"],
            "profile_id": user["profile_id"],
            "profile_name": user["email"],
            **calendar,
            "permission_level": "sandbox" if calendar["calendar_readonly"] else "unrestricted",
        }

    def _need(self, token: dict, what: str) -> None:
        if token["kind"] != "account":
            raise CronofyError(403, None)
        if not set(token["scope"].split()) & NEEDS[what]:
            raise CronofyError(403, None)

    def api_calendars(self, request, token, base):
        self._need(token, "calendars")
        user = self.state.user_by_sub(token["sub"])
        return json_response(
            {"calendars": [self._calendar_json(user, c) for c in user["calendars"]]}
        )

    def api_free_busy(self, request, token, base):
        self._need(token, "free_busy")
        items = self.state.query(token, request.args, "free_busy")
        return json_response(self.state.paged(token, items, "free_busy", base))

    def api_free_busy_page(self, request, token, base, page):
        self._need(token, "free_busy")
        return json_response(self.state.next_page(token, "free_busy", page))

    def api_events(self, request, token, base):
        self._need(token, "events")
        items = self.state.query(token, request.args, "events")
        return json_response(self.state.paged(token, items, "events", base))

    def api_events_page(self, request, token, base, page):
        self._need(token, "events")
        return json_response(self.state.next_page(token, "events", page))

    def api_upsert(self, request, token, base, calendar_id):
        self._need(token, "write")
        self.state.upsert(token, calendar_id, _body(request))
        return Response("", status=202)

    def api_delete(self, request, token, base, calendar_id):
        self._need(token, "delete")
        self.state.delete(token, calendar_id, _body(request))
        return Response("", status=202)

    def api_list_channels(self, request, token, base):
        self._account_user(token)
        return json_response(self.state.list_channels(token))

    def api_create_channel(self, request, token, base):
        self._account_user(token)
        return json_response(self.state.create_channel(token, _body(request)))

    def api_close_channel(self, request, token, base, channel_id):
        self._account_user(token)
        self.state.close_channel(token, channel_id)
        return Response("", status=202)

    def api_service_account(self, request, token, base):
        self.state.service_account_authorizations(token, _body(request))
        return Response("", status=202)

    # sandbox controls --------------------------------------------------------------------
    def sandbox(self, request: Request, path: str) -> Response:
        rest = path[len("/_sandbox") :].strip("/")
        try:
            if rest.startswith("api/"):
                return self.control(request, rest[4:])
            return self.screen(request, rest)
        except KeyError as exc:
            return json_response({"error": str(exc.args[0] if exc.args else exc)}, 404)
        except (ValueError, TypeError, ZoneInfoNotFoundError) as exc:
            return json_response({"error": str(exc)}, 400)

    def control(self, request: Request, rest: str) -> Response:
        st = self.state
        body = _body(request) if request.method in ("POST", "DELETE") else {}
        parts = [urllib.parse.unquote(p) for p in rest.split("/") if p]
        if parts == ["config"]:
            if request.method == "POST":
                return json_response(st.configure(**body))
            return json_response(st.config)
        if parts == ["clients"] and request.method == "POST":
            st.add_client(body["client_id"], body["client_secret"])
            return json_response({"ok": True}, 201)
        if len(parts) == 3 and parts[0] == "clients" and parts[2] == "secrets":
            st.set_client_secrets(parts[1], list(body["secrets"]))
            return json_response({"ok": True})
        if parts == ["users"]:
            if request.method == "POST":
                user = st.add_user(
                    body["email"],
                    name=body.get("name", ""),
                    zone=body.get("zone", "Europe/London"),
                    data_center=body.get("data_center", "us"),
                )
                return json_response(self._user_json(user), 201)
            return json_response([self._user_json(u) for u in st.users.values()])
        if len(parts) >= 3 and parts[0] == "users" and parts[2] == "events":
            email = parts[1]
            action = parts[3] if len(parts) > 3 else None
            if action is None and request.method == "GET":
                return json_response([self._event_json(e) for e in st.events_of(email)])
            if action is None:
                event = st.add_busy(
                    email, summary=body.get("summary", "Busy"), start=body["start"], end=body["end"]
                )
                return json_response(self._event_json(event), 201)
            if action == "delete":
                event = st.delete_as_user(
                    email, event_id=body.get("event_id"), event_uid=body.get("event_uid")
                )
                return json_response(self._event_json(event))
            if action == "update":
                event = st.update_as_user(
                    email,
                    event_id=body.get("event_id"),
                    event_uid=body.get("event_uid"),
                    start=body.get("start"),
                    end=body.get("end"),
                    summary=body.get("summary"),
                )
                return json_response(self._event_json(event))
        if len(parts) == 3 and parts[0] == "users" and parts[2] == "expire_tokens":
            return json_response({"expired": st.expire_tokens(parts[1])})
        if parts == ["channels"]:
            with st.lock:
                return json_response([dict(channel) for channel in st.channels.values()])
        if parts == ["deliveries"]:
            return json_response(list(st.deliveries))
        if parts == ["writes"]:
            return json_response(list(st.writes))
        if parts == ["faults"]:
            if request.method == "POST":
                rule = st.faults.add(
                    body.get("match", "/v1/"),
                    body.get("status", 500),
                    int(body.get("count", 1)),
                    float(body.get("delay", 0)),
                )
                return json_response(rule, 201)
            if request.method == "DELETE":
                st.faults.clear()
            return json_response(st.faults.rules)
        if parts == ["reset"] and request.method == "POST":
            st.reset()
            return json_response({"ok": True})
        raise KeyError(f"No control {rest!r}")

    @staticmethod
    def _user_json(user: dict) -> dict:
        return {
            k: user[k]
            for k in ("email", "name", "zone", "data_center", "sub", "profile_id", "calendars")
        }

    @staticmethod
    def _event_json(event: dict) -> dict:
        out = CronofyState.snapshot(event)
        del out["start_ts"], out["end_ts"]
        for key in ("created", "updated"):
            out[key] = iso(event[key])
        return out

    def screen(self, request: Request, rest: str) -> Response:
        st = self.state
        base = f"{request.script_root}/_sandbox"
        parts = [urllib.parse.unquote(p) for p in rest.split("/") if p]
        if not parts:
            return self.index_screen(base)
        if len(parts) == 2 and parts[0] == "users" and request.method == "GET":
            return self.user_screen(base, parts[1])
        if (
            len(parts) == 5
            and parts[0] == "users"
            and parts[2] == "events"
            and parts[4] == "delete"
            and request.method == "POST"
        ):
            st.delete_as_user(parts[1], event_uid=parts[3])
            return redirect(f"{base}/users/{urllib.parse.quote(parts[1])}")
        if (
            len(parts) == 3
            and parts[0] == "users"
            and parts[2] == "busy"
            and request.method == "POST"
        ):
            user = st.user(parts[1])
            zone = ZoneInfo(user["zone"])
            start = datetime.fromisoformat(request.form["start"]).replace(tzinfo=zone)
            minutes = int(request.form.get("minutes") or 60)
            st.add_busy(
                parts[1],
                summary=request.form.get("summary") or "Busy",
                start=start,
                end=start + timedelta(minutes=minutes),
            )
            return redirect(f"{base}/users/{urllib.parse.quote(parts[1])}")
        return Response("Not found", status=404)

    def index_screen(self, base: str) -> Response:
        st = self.state

        def attempts(delivery: dict) -> str:
            return ", ".join(str(a["http_status"] or a["error"]) for a in delivery["attempts"])

        with st.lock:
            users = list(st.users.values())
            channels = list(st.channels.values())
            deliveries = list(st.deliveries)[-30:]
        rows = "".join(
            f"<tr><td><a href='{esc(base)}/users/{esc(urllib.parse.quote(u['email']))}'>"
            f"{esc(u['name'])}</a></td><td>{esc(u['email'])}</td><td>{esc(u['zone'])}</td>"
            f"<td>{esc(u['data_center'])}</td><td><code>{esc(u['sub'])}</code></td></tr>"
            for u in users
        )
        channel_rows = (
            "".join(
                f"<tr><td><code>{esc(c['channel_id'])}</code></td><td>{esc(c['callback_url'])}</td>"
                f"<td>{esc((st.user_by_sub(c['sub']) or {}).get('email'))}</td></tr>"
                for c in channels
            )
            or "<tr><td colspan='3' class='muted'>No channels.</td></tr>"
        )
        delivery_rows = (
            "".join(
                f"<tr><td>{esc(d.get('type'))}</td><td>{esc(d['url'])}</td>"
                f"<td>{esc(d['status'])}</td><td>{esc(attempts(d))}</td></tr>"
                for d in reversed(deliveries)
            )
            or "<tr><td colspan='4' class='muted'>Nothing sent yet.</td></tr>"
        )
        body = (
            f"<p class='muted'>OAuth client <code>{DEFAULT_CLIENT_ID}</code> / "
            f"<code>{DEFAULT_CLIENT_SECRET}</code>. Busy blocks seeded around "
            f"{st.anchor.isoformat()}.</p>"
            "<h2>People</h2><table><tr><th>Name</th><th>E-mail</th><th>Zone</th><th>Data center"
            f"</th><th>sub</th></tr>{rows}</table>"
            "<h2>Notification channels</h2><table><tr><th>Channel</th><th>Callback</th>"
            f"<th>Account</th></tr>{channel_rows}</table>"
            "<h2>Recent notifications</h2><table><tr><th>Type</th><th>To</th><th>Status</th>"
            f"<th>Attempts</th></tr>{delivery_rows}</table>"
        )
        return Response(page("Sandbox Cronofy", body), mimetype="text/html")

    def user_screen(self, base: str, email: str) -> Response:
        st = self.state
        user = st.user(email)
        zone = ZoneInfo(user["zone"])
        now = time.time()
        events = [
            e
            for e in st.events_of(email)
            if e["end_ts"] > now - 86400 and e["start_ts"] < now + 15 * 86400
        ]
        quoted = esc(urllib.parse.quote(user["email"]))
        rows = []
        for e in events:
            start = datetime.fromtimestamp(e["start_ts"], zone)
            end = datetime.fromtimestamp(e["end_ts"], zone)
            when = (
                f"{start:%a %d %b} (all day)"
                if e["all_day"]
                else f"{start:%a %d %b %H:%M}–{end:%H:%M} {start:%Z}"
            )
            kind = "ours (managed)" if e["event_id"] else ""
            action = (
                "<span class='muted'>deleted</span>"
                if e["deleted"]
                else f"<form method='post' class='inline' "
                f"action='{esc(base)}/users/{quoted}/events/"
                f"{esc(e['event_uid'])}/delete'><button type='submit'>Delete as {esc(user['name'])}"
                "</button></form>"
            )
            rows.append(
                f"<tr><td>{esc(when)}</td><td>{esc(e['summary'])}</td><td>{esc(kind)}</td>"
                f"<td>{action}</td></tr>"
            )
        table = "".join(rows) or "<tr><td colspan='4' class='muted'>No events.</td></tr>"
        body = (
            f"<p><a href='{esc(base)}/'>← all people</a></p>"
            f"<p>{esc(user['email'])} · {esc(user['zone'])} · data center "
            f"{esc(user['data_center'])}</p>"
            f"<form method='post' action='{esc(base)}/users/{quoted}/busy'>"
            "<label>Add a busy block at "
            "<input type='datetime-local' name='start' required></label> "
            "<label>for <input type='number' name='minutes' value='60' min='5'> minutes</label> "
            "<input name='summary' placeholder='Summary' aria-label='Summary'> "
            "<button type='submit'>Add</button></form>"
            "<table><tr><th>When</th><th>Summary</th><th></th><th></th></tr>"
            f"{table}</table>"
        )
        return Response(page(f"Calendar — {user['name']}", body), mimetype="text/html")
