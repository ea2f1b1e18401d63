"""Fake TextUs Next API (JSON-LD) with signed webhooks, as a WSGI application.

Mount the app anywhere (the sandbox server uses ``/textus``); point the API host
(``https://next.textus.com``) at ``{sandbox}/textus``.

Default credentials
    ``Authorization: Bearer textus-sandbox-token`` (user ``/users/sandbox``; every account).
    Accounts ``acme-talent`` (``+13035550100``) and ``acme-sales`` (``+13035550101``).
    Missing/unknown token → 401, an account the token cannot use → 403, unknown account → 404;
    errors are Hydra JSON-LD ``{"@type":"hydra:Error","hydra:title","hydra:description"}``.
    ``Accept`` must allow ``application/vnd.textus+jsonld`` (``*/*``/absent ok, else 406).

API
    ``POST /{account}/messages {"to": "+1…" | [...], "body"}`` → 201 Message (one recipient) or
    202 without body (several; opted-out recipients are skipped).  Opted-out recipient (single)
    → 422; invalid number / blank body → 422.  ``POST /messages {"from": <account phone>, …}``.
    ``GET /messages/{id}``.  ``GET /{account}/opt_outs{?q,exact[]}``,
    ``GET /{account}/opt_outs/{phone}`` (404 if none), ``PUT /{account}/opt_outs/{phone}`` → 201
    (200 when it already existed).  Rate limit 1,000 requests / 5 min per token:
    ``X-RateLimit-Limit/Remaining/Reset`` (epoch s) on every response, 429 + ``Retry-After``.

Delivery simulation and webhooks
    ``deliveryState`` ``pending`` → ``delivered`` after :attr:`TextUsState.delivery_delay`
    (``failed`` for numbers ending ``0000`` / ``0006`` or per :meth:`TextUsState.set_outcome`).
    Per-account webhook (:meth:`TextUsState.configure_webhook`) gets ``WebhookDelivery``
    JSON-LD bodies (``message.delivered|failed|received``, ``contact.opted_out|opted_in``) signed
    ``X-TextUs-Signature: hex HMAC-SHA256(secret, raw body)``.  Inbound: :meth:`text_from`; a
    single-word STOP-type reply opts the contact out (``createdVia: "keyword"``) and START/YES/
    UNSTOP opts them back in.

Sandbox control (no auth) under ``/_sandbox/``
    ``/_sandbox/`` phones, ``/_sandbox/phone/<E.164>`` conversation + reply form.  JSON:
    ``GET|POST api/config {account?, webhook_url, secret, events, rate_limit, delivery_delay}``,
    ``POST api/inbound {from, body, account?}``, ``POST api/outcomes {phone, state}``,
    ``GET api/messages``, ``GET api/deliveries``, ``GET|POST|DELETE api/faults``,
    ``POST api/reset``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
import urllib.parse

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import Faults, WebhookDispatcher, WindowLimiter, esc, redirect
from integrations.sandbox.phone import (
    Scheduler,
    conversation_html,
    is_e164,
    iso_z,
    keyword,
    page,
    phone_href,
)

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
_B62 = string.ascii_letters + string.digits


def textus_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _id(n: int = 6) -> str:
    return "".join(secrets.choice(_B62) for _ in range(n))


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


class TextUsState:
    """Accounts, messages, opt-outs and webhooks of the fake.

    Operations: :meth:`send` (what the API does), :meth:`text_from` (a contact replies),
    :meth:`opt_out` / :meth:`opt_in`.  Configuration: :meth:`configure_webhook`,
    :meth:`add_token`, :meth:`add_account`, :meth:`set_rate_limit`, :meth:`set_outcome`,
    :meth:`inject_fault`, :meth:`reset`.  Records: :attr:`messages`, :attr:`opt_outs`,
    :attr:`deliveries`.  Tests: :meth:`wait_idle`.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        rate_limit: int | None = 1000,
        rate_window: float = 300.0,
        delivery_delay: float = 0.2,
        retry_delays: list[float] | None = None,
        retry_scale: float = 1 / 60,
    ):
        self.lock = threading.RLock()
        self.default_token = token
        self.delivery_delay = delivery_delay
        self.limiter = WindowLimiter(rate_limit, rate_window)
        self.faults = Faults()
        self.scheduler = Scheduler("sandbox-textus")
        self.deliveries: list[dict] = []
        self.dispatcher = WebhookDispatcher(
            self.deliveries,
            retry_delays if retry_delays is not None else [30, 300, 1800],
            retry_scale,
            is_success=lambda code: 200 <= code < 300,
            user_agent="TextUs-Webhooks/1.0 (sandbox)",
        )
        self._install_defaults()

    def _install_defaults(self) -> None:
        self.tokens: dict[str, dict] = {
            self.default_token: {"user": "/users/sandbox", "name": "Sandbox API", "accounts": None}
        }
        self.accounts: dict[str, dict] = {}
        for slug, phone in DEFAULT_ACCOUNTS.items():
            self.add_account(slug, phone)
        self.messages: dict[str, dict] = {}
        self.conversations: dict[tuple[str, str], dict] = {}
        self.opt_outs: dict[tuple[str, str], dict] = {}
        self.outcomes: dict[str, str] = {}

    def reset(self) -> None:
        with self.lock:
            self.scheduler.cancel_all()
            self.dispatcher.cancel_all()
            self.deliveries.clear()
            self.faults.clear()
            self.limiter.reset()
            self._install_defaults()

    # configuration ------------------------------------------------------------------------------
    def add_account(self, slug: str, phone: str) -> dict:
        with self.lock:
            acct = {
                "slug": slug,
                "phone": phone,
                "integration": _id(8),
                "webhook_url": None,
                "secret": None,
                "events": set(ALL_ACTIONS),
            }
            self.accounts[slug] = acct
            return acct

    def add_token(self, token: str, accounts: list[str] | None = None, user: str = "/users/api"):
        with self.lock:
            self.tokens[token] = {
                "user": user,
                "name": user.rsplit("/", 1)[-1],
                "accounts": set(accounts) if accounts is not None else None,
            }

    def configure_webhook(
        self,
        url: str | None,
        secret: str | None = None,
        account: str = "acme-talent",
        events: list[str] | None = None,
    ) -> dict:
        """Point ``account``'s webhook integration at ``url``, signed with ``secret``
        (generated when omitted); ``events`` defaults to every action."""
        with self.lock:
            acct = self.accounts[account]
            acct["webhook_url"] = url
            acct["secret"] = secret or secrets.token_hex(16)
            acct["events"] = set(events) if events else set(ALL_ACTIONS)
            return self._acct_json(acct)

    def _acct_json(self, acct: dict) -> dict:
        return {
            "account": acct["slug"],
            "phone": acct["phone"],
            "webHook": f"/integrations/{acct['integration']}",
            "webhook_url": acct["webhook_url"],
            "secret": acct["secret"],
            "events": sorted(acct["events"]),
        }

    def set_rate_limit(self, limit: int | None, window: float | None = None) -> None:
        self.limiter.limit = limit
        if window:
            self.limiter.window = float(window)
        self.limiter.reset()

    def set_outcome(self, phone: str, state: str = "delivered") -> None:
        with self.lock:
            self.outcomes[phone] = state

    def inject_fault(self, status: int | None = 500, count: int = 1, delay: float = 0.0) -> dict:
        return self.faults.add("/", status, count, delay)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            if (
                self.scheduler.wait_idle(left)
                and self.dispatcher.wait_idle(max(0.01, deadline - time.monotonic()))
                and not self.scheduler.busy()
            ):
                return True
        return False

    # records ------------------------------------------------------------------------------------
    def _conversation(self, account: str, phone: str) -> dict:
        key = (account, phone)
        conv = self.conversations.get(key)
        if conv is None:
            conv = {
                "@type": "Conversation",
                "id": f"/conversations/{_id(8)}",
                "phoneNumber": phone,
                "formattedPhoneNumber": formatted(phone),
                "account": f"/accounts/{account}",
                "assignedContact": {
                    "@type": "Contact",
                    "id": f"/contacts/{_id(8)}",
                    "name": None,
                    "phones": {"members": [{"phoneNumber": phone}]},
                    "blocked": False,
                },
                "status": "open",
                "unreadCount": 0,
            }
            self.conversations[key] = conv
        return conv

    def _message(self, account: str, phone: str, body: str, direction: str, state: str,
                 sender: dict) -> dict:  # fmt: skip
        now = time.time()
        conv = self._conversation(account, phone)
        mid = _id(6)
        msg = {
            "@context": "/contexts/Message",
            "@type": "Message",
            "id": f"/messages/{mid}",
            "body": body,
            "direction": direction,
            "deliveryState": state,
            "conversation": conv["id"],
            "sender": sender,
            "attachments": {"@type": "Collection", "members": [], "totalItems": 0},
            "retryAllowed": False,
            "source": "api" if direction == "out" else "contact",
            "createdAt": iso_z(now),
            "latestEventAt": iso_z(now),
            "timelinePosition": iso_z(now),
            "_account": account,
            "_phone": phone,
            "_ts": now,
        }
        self.messages[mid] = msg
        return msg

    @staticmethod
    def public(msg: dict) -> dict:
        return {k: v for k, v in msg.items() if not k.startswith("_")}

    def _opt_out_json(self, account: str, phone: str) -> dict | None:
        rec = self.opt_outs.get((account, phone))
        if rec is None:
            return None
        return {
            "@context": "/contexts/OptOut",
            "@type": "OptOut",
            "id": f"/{account}/opt_outs/{urllib.parse.quote(phone, safe='')}",
            "phoneNumber": phone,
            "formattedPhoneNumber": formatted(phone),
            "createdAt": iso_z(rec["at"]),
            "createdVia": rec["via"],
            "user": rec["user"],
            "originatingAccount": f"/accounts/{account}",
        }

    # operations ---------------------------------------------------------------------------------
    def send(self, account: str, to, body, user: str = "/users/sandbox") -> list[dict]:
        """What ``POST /{account}/messages`` does; raises :class:`TextUsError` (422)."""
        many = isinstance(to, list)
        raw_list = to if many else [to]
        if not raw_list or raw_list == [None]:
            raise TextUsError(422, "to: This value should not be blank.")
        phones = []
        for raw in raw_list:
            phone = normalize_phone(raw)
            if phone is None:
                raise TextUsError(422, f"to: {raw!r} is not a valid phone number.")
            phones.append(phone)
        if not isinstance(body, str) or not body.strip():
            raise TextUsError(422, "body: This value should not be blank.")
        if len(body) > 1600:
            raise TextUsError(
                422, "body: This value is too long. It should have 1600 characters or less."
            )
        sent = []
        with self.lock:
            acct = self.accounts[account]
            if not many and (account, phones[0]) in self.opt_outs:
                raise TextUsError(
                    422,
                    f"The contact {phones[0]} has opted out of text messages from this account; "
                    "the message was not sent.",
                )
            sender = {"@type": "User", "id": user, "name": self._user_name(user)}
            for phone in phones:
                if (account, phone) in self.opt_outs:
                    continue
                msg = self._message(account, phone, body, "out", "pending", sender)
                sent.append(msg)
                state = self.outcomes.get(phone) or (
                    "failed" if phone.endswith(FAIL_SUFFIXES) else "delivered"
                )
                self.scheduler.call_later(
                    self.delivery_delay, self._finish, msg["id"].rsplit("/", 1)[-1], state
                )
            _ = acct
        return sent

    def _user_name(self, user: str) -> str:
        for t in self.tokens.values():
            if t["user"] == user:
                return t["name"]
        return user

    def _finish(self, mid: str, state: str) -> None:
        with self.lock:
            msg = self.messages.get(mid)
            if msg is None or msg["deliveryState"] != "pending":
                return
            msg["deliveryState"] = state
            msg["latestEventAt"] = iso_z(time.time())
            if state == "failed":
                msg["retryAllowed"] = True
            action = "message.delivered" if state == "delivered" else "message.failed"
            self._deliver(msg["_account"], action, msg["_phone"], message=msg)

    def text_from(self, phone: str, body: str, account: str = "acme-talent") -> dict:
        """A contact texts ``body`` to ``account``; STOP-type words opt them out."""
        norm = normalize_phone(phone)
        if norm is None:
            raise ValueError(f"{phone!r} is not a phone number")
        with self.lock:
            conv = self._conversation(account, norm)
            sender = dict(conv["assignedContact"])
            sender.pop("phones", None)
            msg = self._message(account, norm, body, "in", "received", sender)
            msg["_keyword"] = keyword(body)
            self._deliver(account, "message.received", norm, message=msg)
            if msg["_keyword"] == "STOP":
                self.opt_out(account, norm, via="keyword")
            elif msg["_keyword"] == "START":
                self.opt_in(account, norm)
            return msg

    def opt_out(self, account: str, phone: str, via: str = "api", user: str | None = None):
        """Record an opt-out (fires ``contact.opted_out``); returns (record, created)."""
        with self.lock:
            if (account, phone) in self.opt_outs:
                return self._opt_out_json(account, phone), False
            self.opt_outs[(account, phone)] = {"at": time.time(), "via": via, "user": user}
            rec = self._opt_out_json(account, phone)
            self._deliver(account, "contact.opted_out", phone, optOut=rec)
            return rec, True

    def opt_in(self, account: str, phone: str) -> bool:
        with self.lock:
            if self.opt_outs.pop((account, phone), None) is None:
                return False
            self._deliver(account, "contact.opted_in", phone)
            return True

    def _deliver(self, account: str, action: str, phone: str, **extra) -> None:
        acct = self.accounts[account]
        if not acct["webhook_url"] or action not in acct["events"]:
            return
        conv = self._conversation(account, phone)
        hook = f"/integrations/{acct['integration']}"
        payload = {
            "@context": "/contexts/WebhookDelivery",
            "@type": "WebhookDelivery",
            "id": f"{hook}/deliveries/{_id(10)}",
            "timestamp": iso_z(time.time()),
            "action": action,
            "webHook": hook,
            "account": f"/accounts/{account}",
            "conversation": conv,
            "contact": conv["assignedContact"],
        }
        for k, v in extra.items():
            payload[k] = self.public(v) if k == "message" else v
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "X-TextUs-Signature": textus_signature(acct["secret"], body),
        }
        self.dispatcher.submit({"action": action, "account": account}, acct["webhook_url"],
                               body, headers)  # fmt: skip

    def conversation_items(self, phone: str) -> list[dict]:
        with self.lock:
            return [m for m in self.messages.values() if m["_phone"] == phone]

    def phones(self) -> list[str]:
        with self.lock:
            seen: dict[str, float] = {}
            for m in self.messages.values():
                seen[m["_phone"]] = m["_ts"]
            return sorted(seen, key=lambda p: -seen[p])


API_MAP = Map(
    [
        Rule("/messages", methods=["POST"], endpoint="send_without_account"),
        Rule("/messages/<mid>", methods=["GET"], endpoint="get_message"),
        Rule("/<account>/messages", methods=["POST"], endpoint="send"),
        Rule("/<account>/opt_outs", methods=["GET"], endpoint="opt_outs"),
        Rule("/<account>/opt_outs/<phone>", methods=["GET", "PUT"], endpoint="opt_out"),
    ],
    strict_slashes=False,
)

SANDBOX_MAP = Map(
    [
        Rule("/_sandbox/", methods=["GET"], endpoint="ui_index"),
        Rule("/_sandbox/phone/<phone>", methods=["GET"], endpoint="ui_phone"),
        Rule("/_sandbox/phone/<phone>/reply", methods=["POST"], endpoint="ui_reply"),
        Rule("/_sandbox/api/config", methods=["GET", "POST"], endpoint="api_config"),
        Rule("/_sandbox/api/inbound", methods=["POST"], endpoint="api_inbound"),
        Rule("/_sandbox/api/outcomes", methods=["POST"], endpoint="api_outcomes"),
        Rule("/_sandbox/api/messages", methods=["GET"], endpoint="api_messages"),
        Rule("/_sandbox/api/deliveries", methods=["GET"], endpoint="api_deliveries"),
        Rule("/_sandbox/api/faults", methods=["GET", "POST", "DELETE"], endpoint="api_faults"),
        Rule("/_sandbox/api/reset", methods=["POST"], endpoint="api_reset"),
    ]
)


class TextUsApp:
    """WSGI application: the TextUs Next API subset plus the sandbox phone screens."""

    def __init__(self, state: TextUsState | None = None):
        self.state = state or TextUsState()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except TextUsError as exc:
            response = jsonld(exc.body, exc.status, exc.headers)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox"):
            return self.sandbox(request)
        st = self.state
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        with st.lock:
            tok = st.tokens.get(token) if token else None
        if tok is None:
            raise TextUsError(401, "Invalid or missing API token.")
        allowed, limit, remaining, reset = st.limiter.hit(token)
        rl = {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining,
              "X-RateLimit-Reset": int(reset)}  # fmt: skip
        if not allowed:
            rl["Retry-After"] = max(1, int(reset - time.time() + 0.999))
            raise TextUsError(429, "Rate limit exceeded. Try again later.", rl)
        try:
            response = self._route(request, tok)
        except TextUsError as exc:
            exc.headers = {**rl, **exc.headers}
            raise
        for k, v in rl.items():
            response.headers[k] = str(v)
        return response

    def _route(self, request: Request, tok: dict) -> Response:
        st = self.state
        accept = request.headers.get("Accept", "")
        if accept and not any(
            a in accept for a in (MEDIA_TYPE, "*/*", "application/*", "application/json")
        ):
            raise TextUsError(406, f"Not acceptable: use Accept: {MEDIA_TYPE}")
        fault = st.faults.take(request.path)
        if fault:
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["status"]:
                raise TextUsError(int(fault["status"]), "Internal server error (injected).")
        adapter = API_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            raise TextUsError(404, "Not Found") from None
        account = values.get("account")
        if account is not None:
            with st.lock:
                if account not in st.accounts:
                    raise TextUsError(404, f"Account {account} not found.")
            if tok["accounts"] is not None and account not in tok["accounts"]:
                raise TextUsError(403, f"Access denied to account {account}.")
        return getattr(self, f"api_{endpoint}")(request, tok, **values)

    def _json(self, request: Request) -> dict:
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            raise TextUsError(400, "Invalid JSON body.")
        return data

    def _send(self, account: str, data: dict, tok: dict) -> Response:
        msgs = self.state.send(account, data.get("to"), data.get("body"), tok["user"])
        if isinstance(data.get("to"), list):
            return Response("", status=202)
        return jsonld(self.state.public(msgs[0]), 201)

    def api_send(self, request, tok, account):
        return self._send(account, self._json(request), tok)

    def api_send_without_account(self, request, tok):
        data = self._json(request)
        st = self.state
        frm = normalize_phone(data.get("from")) if data.get("from") else None
        with st.lock:
            match = [a for a in st.accounts.values() if frm and a["phone"] == frm]
        if not match:
            raise TextUsError(422, "from: No account with this phone number is available.")
        slug = match[0]["slug"]
        if tok["accounts"] is not None and slug not in tok["accounts"]:
            raise TextUsError(403, f"Access denied to account {slug}.")
        return self._send(slug, data, tok)

    def api_get_message(self, request, tok, mid):
        with self.state.lock:
            msg = self.state.messages.get(mid)
            if msg is None:
                raise TextUsError(404, "Not Found")
            return jsonld(self.state.public(msg))

    def api_opt_outs(self, request, tok, account):
        st = self.state
        q = re.sub(r"\D", "", request.args.get("q", ""))
        exact = {
            normalize_phone(v) for k, v in request.args.items(multi=True) if k.startswith("exact")
        }
        with st.lock:
            phones = sorted(p for (a, p) in st.opt_outs if a == account)
            if q and len(q) >= 3:
                phones = [p for p in phones if q in p]
            if exact - {None}:
                phones = [p for p in phones if p in exact]
            members = [st._opt_out_json(account, p) for p in phones]
        base = f"/{account}/opt_outs"
        return jsonld(
            {
                "@context": "/contexts/OptOut",
                "@type": "hydra:Collection",
                "id": base,
                "members": members,
                "totalItems": len(members),
                "view": {"id": base, "first": base, "next": None, "previous": None},
            }
        )

    def api_opt_out(self, request, tok, account, phone):
        st = self.state
        norm = normalize_phone(urllib.parse.unquote(phone))
        if norm is None:
            raise TextUsError(404 if request.method == "GET" else 422, "Invalid phone number.")
        if request.method == "GET":
            with st.lock:
                rec = st._opt_out_json(account, norm)
            if rec is None:
                raise TextUsError(404, "Not Found")
            return jsonld(rec)
        rec, created = st.opt_out(account, norm, via="api", user=tok["user"])
        return jsonld(rec, 201 if created else 200)

    # sandbox ------------------------------------------------------------------------------------
    def sandbox(self, request: Request) -> Response:
        adapter = SANDBOX_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return jsonld({"error": "not found"}, 404)
        try:
            return getattr(self, f"sb_{endpoint}")(request, **values)
        except (KeyError, ValueError) as exc:
            return jsonld({"error": str(exc)}, 400)

    def sb_api_config(self, request):
        st = self.state
        if request.method == "POST":
            b = request.get_json(silent=True) or {}
            account = b.get("account", "acme-talent")
            if "rate_limit" in b:
                st.set_rate_limit(b["rate_limit"], b.get("rate_window"))
            if "delivery_delay" in b:
                st.delivery_delay = float(b["delivery_delay"])
            if "webhook_url" in b or "secret" in b:
                st.configure_webhook(
                    b.get("webhook_url"), b.get("secret"), account, b.get("events")
                )
        with st.lock:
            return jsonld(
                {
                    "accounts": [st._acct_json(a) for a in st.accounts.values()],
                    "rate_limit": st.limiter.limit,
                    "rate_window": st.limiter.window,
                    "delivery_delay": st.delivery_delay,
                }
            )

    def sb_api_inbound(self, request):
        b = request.get_json(silent=True) or {}
        msg = self.state.text_from(b["from"], b.get("body", ""), b.get("account", "acme-talent"))
        return jsonld(self.state.public(msg), 201)

    def sb_api_outcomes(self, request):
        b = request.get_json(silent=True) or {}
        self.state.set_outcome(b["phone"], b.get("state", "delivered"))
        return jsonld({"ok": True})

    def sb_api_messages(self, request):
        with self.state.lock:
            return jsonld(
                [
                    {**self.state.public(m), "account": m["_account"], "phone": m["_phone"]}
                    for m in self.state.messages.values()
                ]
            )

    def sb_api_deliveries(self, request):
        return jsonld(list(self.state.deliveries))

    def sb_api_faults(self, request):
        st = self.state
        if request.method == "POST":
            b = request.get_json(silent=True) or {}
            return jsonld(
                st.inject_fault(b.get("status", 500), int(b.get("count", 1)),
                                float(b.get("delay", 0))), 201)  # fmt: skip
        if request.method == "DELETE":
            st.faults.clear()
        return jsonld(st.faults.rules)

    def sb_api_reset(self, request):
        self.state.reset()
        return jsonld({"ok": True})

    def sb_ui_index(self, request):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        rows = []
        for p in st.phones():
            conv = st.conversation_items(p)
            last = conv[-1]
            opted = ", ".join(a for (a, ph) in st.opt_outs if ph == p)
            rows.append(
                f"<tr><td><a href='{esc(phone_href(base, p))}'>{esc(p)}</a></td>"
                f"<td>{len(conv)}</td><td>{esc(last['body'][:80])}</td>"
                f"<td>{esc(last['deliveryState'])}</td><td>{esc(opted) or '—'}</td></tr>"
            )
        table = (
            "<table><tr><th>Phone</th><th>Texts</th><th>Last text</th><th>State</th>"
            "<th>Opted out of</th></tr>" + "".join(rows) + "</table>"
            if rows
            else "<p class='muted'>No texts yet.</p>"
        )
        accts = "".join(
            f"<li>{esc(a['slug'])} {esc(a['phone'])} — webhook {esc(a['webhook_url'] or 'not set')}"
            "</li>"
            for a in st.accounts.values()
        )
        form = (
            f"<h3>Text in from a new number</h3><form method='post' action='{esc(base)}/phone/"
            "new/reply'><input name='from' placeholder='+15551234567' required> "
            "<input name='body' placeholder='Message' required> "
            "<button type='submit'>Send</button></form>"
        )
        return Response(
            page("Sandbox TextUs — phones", f"<ul>{accts}</ul>{table}{form}", "textus"),
            mimetype="text/html",
        )

    def sb_ui_phone(self, request, phone):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        items = [
            {
                "direction": "in" if m["direction"] == "out" else "out",
                "body": m["body"],
                "at": m["_ts"],
                "peer": m["_account"],
                "status": m["deliveryState"] if m["direction"] == "out" else "",
                "note": f"keyword {m['_keyword']}" if m.get("_keyword") else "",
            }
            for m in st.conversation_items(phone)
        ]
        senders = []
        for m in reversed(st.conversation_items(phone)):
            if m["_account"] not in senders:
                senders.append(m["_account"])
        for slug in st.accounts:
            if slug not in senders:
                senders.append(slug)
        html = conversation_html(
            phone, items, phone_href(base, phone) + "/reply", senders, f"{base}/"
        )
        return Response(page(f"Sandbox TextUs — {phone}", html, "textus"), mimetype="text/html")

    def sb_ui_reply(self, request, phone):
        base = f"{request.script_root}/_sandbox"
        if phone == "new":
            phone = (request.form.get("from") or "").strip()
        body = request.form.get("body") or ""
        norm = normalize_phone(phone)
        account = request.form.get("to") or "acme-talent"
        if norm is None or not body.strip() or account not in self.state.accounts:
            return redirect(f"{base}/")
        self.state.text_from(norm, body, account)
        return redirect(phone_href(base, norm))
