"""All mutable state of the fake TextUs: accounts, tokens, conversations, messages,
opt-outs, outcomes, limits and faults, and the operations on them."""

from __future__ import annotations

import threading
import time
import urllib.parse

from integrations.sandbox._common import Faults, WebhookDispatcher, WindowLimiter
from integrations.sandbox.phone import Scheduler, iso_z, keyword
from integrations.sandbox.textus.contract import (
    ALL_ACTIONS,
    DEFAULT_ACCOUNTS,
    DEFAULT_TOKEN,
    FAIL_SUFFIXES,
    TextUsError,
    formatted,
    normalize_phone,
    random_id,
)
from integrations.sandbox.textus.webhooks import WebhooksMixin


class TextUsState(WebhooksMixin):
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
                "integration": random_id(8),
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
                "id": f"/conversations/{random_id(8)}",
                "phoneNumber": phone,
                "formattedPhoneNumber": formatted(phone),
                "account": f"/accounts/{account}",
                "assignedContact": {
                    "@type": "Contact",
                    "id": f"/contacts/{random_id(8)}",
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
        mid = random_id(6)
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

    def conversation_items(self, phone: str) -> list[dict]:
        with self.lock:
            return [m for m in self.messages.values() if m["_phone"] == phone]

    def phones(self) -> list[str]:
        with self.lock:
            seen: dict[str, float] = {}
            for m in self.messages.values():
                seen[m["_phone"]] = m["_ts"]
            return sorted(seen, key=lambda p: -seen[p])
