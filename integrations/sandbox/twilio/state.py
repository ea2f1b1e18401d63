"""All mutable state of the fake Twilio: the account, numbers, messages, opt-outs,
outcomes, faults and callbacks."""

from __future__ import annotations

import hmac
import threading
import time

from integrations.sandbox._common import Faults
from integrations.sandbox.phone import Scheduler, rfc2822
from integrations.sandbox.twilio.callbacks import CallbacksMixin
from integrations.sandbox.twilio.contract import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_NUMBER,
    DEFAULT_OUTCOMES,
    DEFAULT_SERVICE_NUMBER,
    DEFAULT_SERVICE_SID,
)
from integrations.sandbox.twilio.messages import MessagesMixin
from integrations.sandbox.twilio.numbers import NumbersMixin


class TwilioState(NumbersMixin, CallbacksMixin, MessagesMixin):
    """All mutable state of the fake plus the operations tests and the control API use.

    Inbound: :meth:`text_from`.  Configuration: :meth:`configure`, :meth:`set_outcome`,
    :meth:`inject_fault`, :meth:`add_number`, :meth:`add_api_key`, :meth:`reset`.
    Scheduled messages: :meth:`release_scheduled`.  Records: :attr:`messages` (sid → dict),
    :attr:`callbacks` (every webhook attempt), :attr:`opt_outs`.  Tests: :meth:`wait_idle`,
    :meth:`conversation`, :meth:`is_opted_out`.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        sent_delay: float = 0.05,
        delivery_delay: float = 0.2,
        inbound_url: str | None = None,
        status_callback: str | None = None,
        callback_retries: int = 0,
    ):
        self.lock = threading.RLock()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent_delay = sent_delay
        self.delivery_delay = delivery_delay
        self.inbound_url = inbound_url
        self.status_callback = status_callback
        self.callback_retries = callback_retries
        self.scheduler = Scheduler("sandbox-twilio")
        self.faults = Faults()
        self._install_defaults()

    def _install_defaults(self) -> None:
        self.available = True
        self.api_keys: dict[str, str] = {}
        self.services: dict[str, dict] = {
            DEFAULT_SERVICE_SID: {
                "sid": DEFAULT_SERVICE_SID,
                "friendly_name": "Sandbox Messaging Service",
                "numbers": [DEFAULT_SERVICE_NUMBER],
                "inbound_url": None,
                "status_callback": None,
            }
        }
        self.numbers: dict[str, dict] = {}
        self.add_number(DEFAULT_SERVICE_NUMBER, DEFAULT_SERVICE_SID)
        self.add_number(DEFAULT_NUMBER)
        self.outcomes: dict[str, tuple[str, int | None]] = {}
        self.suffix_outcomes = dict(DEFAULT_OUTCOMES)
        self.messages: dict[str, dict] = {}
        self.callbacks: list[dict] = []
        self.opt_outs: dict[tuple[str, str], dict] = {}
        self.duplicate_final_callback = False

    def reset(self) -> None:
        with self.lock:
            self.scheduler.cancel_all()
            self.faults.clear()
            self._install_defaults()

    # configuration -------------------------------------------------------------------------------
    def configure(self, **kw) -> dict:
        """Set any of ``inbound_url, status_callback, sent_delay, delivery_delay, available,
        callback_retries, duplicate_final_callback, auth_token``."""
        allowed = {
            "inbound_url",
            "status_callback",
            "sent_delay",
            "delivery_delay",
            "available",
            "callback_retries",
            "duplicate_final_callback",
            "auth_token",
        }
        with self.lock:
            for k, v in kw.items():
                if k not in allowed:
                    raise ValueError(f"unknown setting {k}")
                if k in ("sent_delay", "delivery_delay"):
                    v = float(v)
                elif k == "callback_retries":
                    v = int(v)
                elif k in ("available", "duplicate_final_callback"):
                    v = bool(v)
                setattr(self, k, v)
            return self.config()

    def config(self) -> dict:
        return {
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "inbound_url": self.inbound_url,
            "status_callback": self.status_callback,
            "sent_delay": self.sent_delay,
            "delivery_delay": self.delivery_delay,
            "available": self.available,
            "callback_retries": self.callback_retries,
            "duplicate_final_callback": self.duplicate_final_callback,
            "services": self.services,
            "numbers": self.numbers,
        }

    def add_number(
        self, number: str, service: str | None = None, inbound_url: str | None = None
    ) -> dict:
        """Put ``number`` on the account (in ``service`` when given); texts to it go to
        ``inbound_url`` (its ``SmsUrl``)."""
        with self.lock:
            now = time.time()
            entry = {
                "service": service,
                "inbound_url": inbound_url,
                "sid": self._new_sid("PN"),
                "friendly_name": number,
                "sms_method": "POST",
                "status_callback": None,
                "date_created": rfc2822(now),
                "date_updated": rfc2822(now),
            }
            self.numbers[number] = entry
            if service:
                svc = self.services.setdefault(
                    service,
                    {
                        "sid": service,
                        "friendly_name": service,
                        "numbers": [],
                        "inbound_url": None,
                        "status_callback": None,
                    },
                )
                if number not in svc["numbers"]:
                    svc["numbers"].append(number)
            return entry

    def add_api_key(self, key_sid: str, secret: str) -> None:
        with self.lock:
            self.api_keys[key_sid] = secret

    def set_outcome(self, phone: str, status: str = "delivered", error_code: int | None = None):
        """Final status for texts to ``phone``: delivered | undelivered | failed."""
        with self.lock:
            self.outcomes[phone] = (status, error_code)

    def inject_fault(self, status: int | None = 500, count: int = 1, delay: float = 0.0,
                     match: str = "create") -> dict:  # fmt: skip
        """Next ``count`` requests matching ``match`` (``"create"``, or a prefix of
        ``"<METHOD> <path>"``) answer ``status`` (500 / 503 / 429 → 20429); ``status=None``
        only sleeps ``delay`` then proceeds (a timeout after the message was created)."""
        return self.faults.add(match, status, count, delay)

    # helpers --------------------------------------------------------------------------------------
    def wait_idle(self, timeout: float = 5.0) -> bool:
        return self.scheduler.wait_idle(timeout)

    def check_auth(self, username: str | None, password: str | None) -> bool:
        if not username or password is None:
            return False
        if username == self.account_sid:
            return hmac.compare_digest(password, self.auth_token)
        secret = self.api_keys.get(username)
        return secret is not None and hmac.compare_digest(password, secret)

    def _block_key(self, sender: str | None, service: str | None) -> str:
        if service:
            return service
        num = self.numbers.get(sender or "")
        if num and num.get("service"):
            return num["service"]
        return sender or ""

    def is_opted_out(self, phone: str, sender: str | None = None, service: str | None = None):
        with self.lock:
            return (self._block_key(sender, service), phone) in self.opt_outs
