"""The per-account send rate: how many messages a provider account is handed per second, so
a big campaign queues in order instead of meeting the provider's 429s.

Counted in one-second windows in the shared cache (Redis in production, so every worker counts
against the same window): each send takes the next number of its account's current window.
Within the account's rate it goes now; past it, it is told how long to wait — to the window its
number falls in — so the senders past the limit spread over the next seconds in the order they
came instead of all trying again at once. A batch of sends takes its numbers together: one
round trip to Redis for all of them, whatever their accounts. Rates per vendor:
``MESSAGING_SEND_RATE_PER_S``."""

from __future__ import annotations

import time
from collections.abc import Mapping

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

KEY = "messaging:send-rate:{account}:{window}"
# A window's counter outlives its second long enough for late increments to find it.
KEY_TTL_S = 10


def rate_for(identifier: str) -> float | None:
    """Messages per second one account of vendor ``identifier`` is handed (None: no limit)."""
    rates = settings.MESSAGING_SEND_RATE_PER_S
    rate = rates.get(identifier, rates.get("*"))
    return float(rate) if rate else None


def _take(counts: Mapping[str, int]) -> dict[str, int]:
    """Add ``counts[key]`` to each counter (created when missing); each counter's new value.
    On Redis one pipelined round trip (INCRBY and EXPIRE per key; Django's ``incr`` costs two
    round trips and ``add`` a third); on another cache ``add`` and ``incr`` per key."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        keys = {key: cache.make_and_validate_key(key) for key in counts}
        client = cache._cache.get_client(None, write=True)  # type: ignore[attr-defined]
        pipeline = client.pipeline(transaction=False)
        for key, count in counts.items():
            pipeline.incrby(keys[key], count)
            pipeline.expire(keys[key], KEY_TTL_S)
        return dict(zip(counts, pipeline.execute()[::2], strict=True))
    taken = {}
    for key, count in counts.items():
        cache.add(key, 0, timeout=KEY_TTL_S)
        try:
            taken[key] = cache.incr(key, count)
        except ValueError:  # the counter expired between add and incr
            cache.add(key, 0, timeout=KEY_TTL_S)
            taken[key] = cache.incr(key, count)
    return taken


def send_waits(
    wanted: Mapping[str, tuple[float | None, int]], *, now: float | None = None
) -> dict[str, list[float]]:
    """For each ``account: (rate, count)``, the waits of ``count`` sends of the account one
    after another, as that many :func:`send_wait` calls would answer them, the numbers of all
    taken in one cache round trip: 0 for each send that may go now, else the seconds until the
    window its turn falls in."""
    now = time.time() if now is None else now
    window = int(now)
    limited = {account: (rate, count) for account, (rate, count) in wanted.items() if rate}
    last = _take(
        {
            KEY.format(account=account, window=window): count
            for account, (_, count) in limited.items()
        }
    )
    waits = {account: [0.0] * count for account, (rate, count) in wanted.items() if not rate}
    for account, (rate, count) in limited.items():
        first = last[KEY.format(account=account, window=window)] - count + 1
        waits[account] = [
            _wait(number, rate, window, now) for number in range(first, first + count)
        ]
    return waits


def send_wait(account: str, rate: float | None, *, now: float | None = None) -> float:
    """0 when one more send of ``account`` may go now; otherwise the seconds until the
    window its turn falls in (the send did not take a place: ask again then)."""
    return send_waits({account: (rate, 1)}, now=now)[account][0]


def _wait(number: int, rate: float, window: int, now: float) -> float:
    if number <= rate:
        return 0.0
    # The (number - rate)th send past the limit waits for the start of the window where its
    # turn is, plus its place within that window.
    over = number - rate - 1
    return (window + 1 - now) + over / rate
