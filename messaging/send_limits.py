"""The per-account send rate: how many messages a provider account is handed per second, so
a big campaign queues in order instead of meeting the provider's 429s.

Counted in one-second windows in the shared cache (Redis in production, so every worker counts
against the same window): each send takes the next number of its account's current window.
Within the account's rate it goes now; past it, it is told how long to wait — to the window its
number falls in — so the senders past the limit spread over the next seconds in the order they
came instead of all trying again at once. Rates per vendor: ``MESSAGING_SEND_RATE_PER_S``."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

KEY = "messaging:send-rate:{account}:{window}"
# A window's counter outlives its second long enough for late increments to find it.
KEY_TTL_S = 10


def rate_for(identifier: str) -> float | None:
    """Messages per second one account of vendor ``identifier`` is handed (None: no limit)."""
    rates = settings.MESSAGING_SEND_RATE_PER_S
    rate = rates.get(identifier, rates.get("*"))
    return float(rate) if rate else None


def _take(key: str) -> int:
    cache.add(key, 0, timeout=KEY_TTL_S)
    try:
        return cache.incr(key)
    except ValueError:  # the counter expired between add and incr
        cache.add(key, 0, timeout=KEY_TTL_S)
        return cache.incr(key)


def send_wait(account: str, rate: float | None, *, now: float | None = None) -> float:
    """0 when one more send of ``account`` may go now; otherwise the seconds until the
    window its turn falls in (the send did not take a place: ask again then)."""
    if not rate:
        return 0.0
    now = time.time() if now is None else now
    window = int(now)
    number = _take(KEY.format(account=account, window=window))
    if number <= rate:
        return 0.0
    # The (number - rate)th send past the limit waits for the start of the window where its
    # turn is, plus its place within that window.
    over = number - rate - 1
    return (window + 1 - now) + over / rate
