"""The record of each attempt (:class:`CallRecord`) and the rate-limit helpers: a client-side
:class:`RateLimiter` and the parsing of ``Retry-After``/``X-RateLimit-Reset``.

No Django imports here: the module must import without settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

EPOCH_THRESHOLD = 1e9  # a Retry-After/X-RateLimit-Reset above this is a Unix timestamp
# --------------------------------------------------------------------------------------------
# Call log
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, as handed to ``on_call``. ``status`` is None when no response came."""

    method: str
    url: str
    path: str
    status: int | None
    duration_ms: int
    attempt: int
    error: str | None
    started_at: datetime


# --------------------------------------------------------------------------------------------
# Rate limiting helpers
# --------------------------------------------------------------------------------------------


class RateLimiter:
    """Client-side token bucket: ``rate_per_s`` steady, up to ``burst`` at once.

    Used for vendors that publish a limit but send no rate-limit headers (Lever: 10/s, burst 20).
    Thread-safe; ``acquire()`` blocks (via the injected ``sleep``) until a token is available.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate = float(rate_per_s)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self) -> float:
        """Take one token, waiting if needed. Returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                # The epsilon stops float rounding from leaving us a hair short forever.
                if self._tokens >= 1 - 1e-6:
                    self._tokens = max(0.0, self._tokens - 1)
                    return waited
                wait = max((1 - self._tokens) / self.rate, 1e-3)
            self._sleep(wait)
            waited += wait


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta seconds, epoch seconds or HTTP-date.

    Greenhouse documented an epoch timestamp before March 2024 and seconds since, so a number
    above 1e9 is read as an epoch.
    """
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    if number > EPOCH_THRESHOLD:
        return max(0.0, number - now)
    return max(0.0, number)


def parse_reset(value: str | None, *, now: float) -> float | None:
    """``X-RateLimit-Reset`` as an absolute epoch (accepts epoch or seconds-from-now)."""
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if number > EPOCH_THRESHOLD else now + max(0.0, number)
