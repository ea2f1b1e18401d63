"""Rate limits of the public scheduling link: how often one address, and one link, may submit.

A public link creates candidates and sends e-mail for anyone who fills it in, so submissions are
counted in the cache (like the sign-in throttles): per client IP across every link, and per link
across every visitor. A window opens with the first submission and lasts the rate's duration;
once a window holds its allowance, further submissions are refused until it closes, and the
refusal says how long that is.

Rates are written ``<count>/<duration>`` with the duration in seconds, minutes, hours or days
(``8/10m``, ``120/1h``), the form allauth's sign-in rate limits use.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

RATE = re.compile(r"^\s*(?P<count>\d+)\s*/\s*(?P<amount>\d*)\s*(?P<unit>[smhd])\s*$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


@dataclass(frozen=True)
class Refusal:
    """A submission over a limit: which one (``"ip"`` or ``"link"``) and how long to wait."""

    scope: str
    retry_after: int  # seconds

    @property
    def wait_words(self) -> str:
        """``"1 minute"``, ``"7 minutes"``, ``"2 hours"``: rounded up, never "0"."""
        minutes = max(1, math.ceil(self.retry_after / 60))
        if minutes < 120:
            return f"{minutes} minute" + ("" if minutes == 1 else "s")
        hours = math.ceil(minutes / 60)
        return f"{hours} hours"


def parse_rate(value: str, *, setting: str) -> Rate:
    match = RATE.match(str(value or ""))
    if match is None or int(match["count"]) < 1:
        raise ImproperlyConfigured(
            f"{setting}={value!r} is not a rate. Write it as <count>/<duration>, e.g. 8/10m "
            "(8 per 10 minutes) or 120/1h; the unit is s, m, h or d."
        )
    amount = int(match["amount"] or 1)
    return Rate(count=int(match["count"]), seconds=max(1, amount * UNIT_SECONDS[match["unit"]]))


def client_ip(http_request) -> str:
    """The visitor's address as the sign-in throttles see it (allauth honours
    ``ALLAUTH_TRUSTED_PROXY_COUNT`` / ``ALLAUTH_TRUSTED_CLIENT_IP_HEADER`` behind a proxy)."""
    from allauth.account.adapter import get_adapter

    try:
        return get_adapter().get_client_ip(http_request)
    except Exception:  # no usable address (a misconfigured proxy count): one shared bucket
        return http_request.META.get("REMOTE_ADDR") or "unknown"


def _hit(*, scope: str, ident: str, rate: Rate, now: float) -> int | None:
    """Count one submission; ``None`` when allowed, else the seconds until the window ends."""
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    key = f"scheduling:public-link:{scope}:{rate.count}/{rate.seconds}:{digest}"
    # The window opens with its first submission; both keys expire with it. The stored start
    # decides too, so a window is over on time even where the cache keeps keys a little longer.
    started = cache.get(f"{key}:start")
    if started is not None and now >= started + rate.seconds:
        cache.delete_many([f"{key}:start", f"{key}:count"])
    cache.add(f"{key}:start", now, timeout=rate.seconds)
    cache.add(f"{key}:count", 0, timeout=rate.seconds)
    try:
        count = cache.incr(f"{key}:count")
    except ValueError:  # expired between add and incr: a new window
        cache.set(f"{key}:count", 1, timeout=rate.seconds)
        cache.set(f"{key}:start", now, timeout=rate.seconds)
        count = 1
    if count <= rate.count:
        return None
    started = cache.get(f"{key}:start", now)
    return max(1, math.ceil(started + rate.seconds - now))


def submission_check(http_request, *, link_token: str, now: float | None = None) -> Refusal | None:
    """Count one submission of the public link ``link_token`` from this visitor; a
    :class:`Refusal` when the visitor's address or the link is over its limit."""
    now = time.time() if now is None else now
    per_ip = parse_rate(
        settings.SCHEDULING_PUBLIC_LINK_RATE_PER_IP, setting="SCHEDULING_PUBLIC_LINK_RATE_PER_IP"
    )
    per_link = parse_rate(
        settings.SCHEDULING_PUBLIC_LINK_RATE_PER_LINK,
        setting="SCHEDULING_PUBLIC_LINK_RATE_PER_LINK",
    )
    wait = _hit(scope="ip", ident=client_ip(http_request), rate=per_ip, now=now)
    if wait is not None:
        return Refusal("ip", wait)
    wait = _hit(scope="link", ident=link_token, rate=per_link, now=now)
    if wait is not None:
        return Refusal("link", wait)
    return None


def confirmation_allowed(*, candidate_id: int, now: float | None = None) -> bool:
    """Whether another confirmation e-mail may go to this candidate now: a few an hour, so a
    public form cannot be used to flood someone's inbox."""
    now = time.time() if now is None else now
    rate = Rate(count=CONFIRMATIONS_PER_HOUR, seconds=3600)
    return _hit(scope="confirm", ident=str(candidate_id), rate=rate, now=now) is None


CONFIRMATIONS_PER_HOUR = 3
